"""Celery tasks of the integration layer: thin transports that take ids, call one service, and
retry. Periodic ones take a lock so two beats (or a slow run) never overlap."""

import logging
import random

from celery import shared_task

from tenants.queueing import enqueue_now

from . import notifications, sync
from .deliveries import deliveries_enqueue_due, delivery_send_by_id
from .locks import periodic_lock as _periodic_lock
from .retention import integration_data_purge
from .selectors import MAX_EVENT_ATTEMPTS, webhook_events_to_requeue
from .webhooks import webhook_event_process, webhook_event_requeue

logger = logging.getLogger(__name__)

SWEEP_BATCH = 200


def _retry_countdown(retries: int) -> float:
    return random.uniform(0, min(600.0, 10.0 * 2**retries)) + 1.0


@shared_task(bind=True, acks_late=True, max_retries=MAX_EVENT_ATTEMPTS - 1)
def process_webhook_event(self, webhook_event_id: int) -> None:
    result = webhook_event_process(webhook_event_id=webhook_event_id)
    if result.retry is not None:
        raise self.retry(exc=result.retry, countdown=_retry_countdown(self.request.retries))


@shared_task(acks_late=True)
def process_webhook_events(webhook_event_ids: list[int]) -> None:
    """The intake's batch (``tenants.queueing.enqueue_batched_after_commit``): each event processed
    as ``process_webhook_event`` does; one that needs a retry is queued again on its own, so a
    failure never holds up or repeats the others. That task goes on as its own first retry would
    (the try made here counted): an event is tried as often, and as far apart, as with no batch."""
    for webhook_event_id in webhook_event_ids:
        result = webhook_event_process(webhook_event_id=webhook_event_id)
        if result.retry is not None:
            enqueue_now(process_webhook_event, webhook_event_id, countdown=_retry_countdown(0), retries=1)


@shared_task(acks_late=True)
def deliver(delivery_id: int) -> None:
    # Retries are the outbox's own (next_attempt_at + the sweeper), recorded as DeliveryAttempts.
    delivery_send_by_id(delivery_id=delivery_id)


@shared_task
def sweep_inbox() -> None:
    with _periodic_lock("sweep_inbox", ttl=300) as acquired:
        if not acquired:
            return
        events = list(webhook_events_to_requeue(limit=SWEEP_BATCH))
        for event in events:
            webhook_event_requeue(webhook_event=event)
        if events:
            logger.info("sweep_inbox: re-queued %d webhook events", len(events))


@shared_task
def sweep_outbox() -> None:
    with _periodic_lock("sweep_outbox", ttl=120) as acquired:
        if not acquired:
            return
        queued = deliveries_enqueue_due(limit=SWEEP_BATCH)
        if queued:
            logger.info("sweep_outbox: queued %d due deliveries", queued)


@shared_task
def sync_all() -> None:
    """The scheduled sync (celery-beat, every 3 hours by default): queues every due connection.
    Safe to fire twice: a second call finds the runs queued, or the connections not yet due."""
    with _periodic_lock("sync_all", ttl=300) as acquired:
        if not acquired:
            return
        runs = sync.sync_all()
        if runs:
            logger.info("sync_all: %d connection sync(s) queued", len(runs))


SYNC_BUSY_RETRIES = 5


# A sync may page for long (rate limits): its own time limits, far above the default 30 minutes;
# the reaper gives up on a run with no progress long before.
@shared_task(
    bind=True, acks_late=True, max_retries=SYNC_BUSY_RETRIES, soft_time_limit=4 * 3600, time_limit=4 * 3600 + 300
)
def sync_connection(self, sync_run_id: int) -> None:
    result = sync.sync_run_execute(sync_run_id=sync_run_id)
    if not result.busy:
        return
    run = result.run
    if run is not None and run.status == "running":
        return  # a second delivery of a run another live worker is executing: that one finishes it
    # Queued behind a process still holding the lock (e.g. a reaped run's stuck worker): wait for it.
    if self.request.retries < SYNC_BUSY_RETRIES:
        raise self.retry(countdown=60)
    sync.sync_run_give_up(sync_run_id=sync_run_id, message="another sync of this connection kept running")


@shared_task
def reap_sync_runs() -> None:
    reaped = sync.sync_runs_reap()
    if reaped:
        logger.info("reap_sync_runs: %d stale sync run(s) marked failed", reaped)


@shared_task(acks_late=True)
def notify_connection_needs_attention(connection_id: int) -> None:
    notifications.connection_attention_notify(connection_id=connection_id)


@shared_task(acks_late=True)
def purge_integration_data() -> None:
    # The service skips redacted rows and locks what it takes, so a second run is harmless; the
    # lock only saves it the work.
    with _periodic_lock("purge_integration_data", ttl=3600) as acquired:
        if not acquired:
            return
        changed = integration_data_purge()
        logger.info("purge_integration_data: %d rows redacted or removed", changed)
