"""Celery tasks of the integration layer: thin transports that call services."""

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task
def sync_all_connections() -> None:
    logger.info("sync_all_connections: the polling sync is not built yet")


@shared_task
def sweep_inbox() -> None:
    logger.info("sweep_inbox: webhook intake is not built yet")


@shared_task
def sweep_outbox() -> None:
    logger.info("sweep_outbox: the delivery outbox is not built yet")
