"""Celery tasks of the assessments app: thin transports that call services."""

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task
def purge_personal_data() -> None:
    logger.info("purge_personal_data: retention is not built yet")


@shared_task
def expire_assessments() -> None:
    logger.info("expire_assessments: expiry is not built yet")


@shared_task
def send_reminders() -> None:
    logger.info("send_reminders: reminders are not built yet")
