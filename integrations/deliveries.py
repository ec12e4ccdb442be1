"""The outbox: write-backs of assessment changes to the ATS, queued with the change itself.

A ``Delivery`` row is created in the transaction that moved the assessment's status, sent by a task
after commit, retried with exponential backoff and full jitter (never sooner than the ATS's reset
header), ``dead`` after the last try and re-sendable from the admin. One assessment's deliveries go
out in order, so the ATS ends with the last status. Every write-back carries the assessment's full
state, so a newer delivery of the same assessment and channel *supersedes* an older one not yet
sent (``superseded``, never sent): a final result does not wait behind an earlier status's backoff.

A send never holds a worker process waiting for the ATS's rate limit: when our shared limiter has
no slot within ``SLOT_WAIT_SECONDS`` before anything was sent (``ratelimit.defer_when_busy``), the
delivery is *deferred* — not an attempt: its row keeps its status and attempts, its
``next_attempt_at`` moves to the key's next turn (``ratelimit.turn``: deferred sends come back
spaced at the rate, not all at once) and the task is queued again with that countdown.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import time

from django.db import transaction
from django.utils import timezone

from assessments.models import Assessment, Status
from tenants.queueing import enqueue_after_commit, enqueue_now

from . import ratelimit
from .errors import AuthFailed, ClientError, SlotBusy
from .mapping import score_rule_delivery_spec
from .models import ConnectionStatus, Delivery, DeliveryAttempt, DeliveryStatus, ErrorCode
from .providers import provider_get
from .selectors import connection_for_source, deliveries_due, delivery_earlier_pending, delivery_next_pending
from .services import connection_needs_attention

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BACKOFF_BASE_SECONDS = 30.0
BACKOFF_CAP_SECONDS = 3600.0
# A task may arrive this much before its attempt is due (countdowns are not exact)...
EARLY_ARRIVAL_SLACK_SECONDS = 1.0
# ...so the shortest backoff must be longer: a duplicate task right after a failure must not count
# as the next attempt.
BACKOFF_MIN_SECONDS = 5.0
# How long a delivery waiting for an earlier one of its assessment looks again (if not woken sooner).
ORDER_WAIT_SECONDS = 30.0
# The longest a send waits in its worker process for a rate slot before it is deferred instead...
SLOT_WAIT_SECONDS = 1.0
# ...and the shortest countdown of a deferral (all slots in flight: their answers are near).
DEFER_MIN_SECONDS = 0.5


def backoff_delay(*, attempts: int, retry_after: float | None = None) -> float:
    """Seconds before the next try after ``attempts`` failed ones: full jitter over an exponential
    ceiling, and never less than what the ATS asked for."""
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0))
    delay = random.uniform(BACKOFF_MIN_SECONDS, ceiling)
    return max(delay, retry_after or 0.0)


def delivery_create_for_status_change(*, assessment: Assessment, to_status: str) -> Delivery | None:
    """Queue the write-back a status change calls for. Runs inside the status change's
    transaction (a listener of ``assessment_status_changed``): the row commits or rolls back with
    it, and the send is queued only after commit."""
    connection = connection_for_source(source=assessment.source)
    if connection is None:
        return None
    if connection.status == ConnectionStatus.DISCONNECTED:
        logger.info("assessment %s: connection %s is disconnected, no write-back", assessment.pk, connection.pk)
        return None
    try:
        provider = provider_get(connection.provider)
    except LookupError:
        logger.error("assessment %s: no provider %r registered, no write-back", assessment.pk, connection.provider)
        return None
    specs = [provider.delivery_for(connection=connection, assessment=assessment, to_status=to_status)]
    if to_status == Status.COMPLETED:
        # A stage mapping's score rule: after the result (deliveries of one assessment go in order).
        move = score_rule_delivery_spec(connection=connection, assessment=assessment)
        if move is not None and not provider.supports_stage_move:
            logger.warning("assessment %s: the %s provider cannot move stages, score rule skipped",
                           assessment.pk, connection.provider)
            move = None
        specs.append(move)
    first = None
    for spec in specs:
        if spec is None:
            continue
        delivery = Delivery.objects.create(
            connection=connection, assessment=assessment, channel=spec.channel, assessment_status=to_status,
            payload=spec.payload, next_attempt_at=timezone.now(),
        )
        _supersede_older(delivery)
        _enqueue_after_commit(delivery.pk)
        first = first or delivery
    return first


def _supersede_older(delivery: Delivery) -> int:
    """Mark the older undelivered deliveries of ``delivery``'s assessment and channel superseded:
    ``delivery`` carries the newer full state. One a worker is sending right now (row locked) is
    left alone: it goes out first and ``delivery`` waits for it, so the order holds. Returns how
    many were superseded."""
    ids = list(
        Delivery.objects.select_for_update(skip_locked=True)
        .filter(
            assessment_id=delivery.assessment_id, channel=delivery.channel, id__lt=delivery.id,
            status__in=(DeliveryStatus.PENDING, DeliveryStatus.FAILED),
        )
        .values_list("id", flat=True)
    )
    if ids:
        Delivery.objects.filter(pk__in=ids, status__in=(DeliveryStatus.PENDING, DeliveryStatus.FAILED)).update(
            status=DeliveryStatus.SUPERSEDED, next_attempt_at=None, updated_at=timezone.now(),
            last_error=f"superseded by delivery {delivery.pk} ({delivery.assessment_status})",
        )
        logger.info("delivery %s supersedes %s of the same assessment", delivery.pk, ", ".join(map(str, ids)))
    return len(ids)


def _enqueue_after_commit(delivery_id: int, *, countdown: float | None = None) -> None:
    """Sending queued after commit; a broker that is down is logged (the outbox sweeper sends it)."""
    from .tasks import deliver  # tasks call this module's services

    enqueue_after_commit(deliver, delivery_id, countdown=countdown or None)


def _enqueue_now(delivery_id: int) -> bool:
    from .tasks import deliver

    return enqueue_now(deliver, delivery_id)


def delivery_send_by_id(*, delivery_id: int, now: dt.datetime | None = None) -> Delivery | None:
    """Send one delivery if it is due: locked (another worker holding it -> skip), early return if
    sent, dead or not due yet. Returns the row, or None when there was nothing to do."""
    now = now or timezone.now()
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("connection", "assessment")
            .filter(pk=delivery_id, status__in=(DeliveryStatus.PENDING, DeliveryStatus.FAILED))
            .first()
        )
        if delivery is None:
            return None
        if delivery.next_attempt_at and delivery.next_attempt_at > now + dt.timedelta(seconds=EARLY_ARRIVAL_SLACK_SECONDS):
            return None
        return delivery_send(delivery=delivery, now=now)


def delivery_send(*, delivery: Delivery, now: dt.datetime | None = None) -> Delivery:
    """Send a delivery the caller has locked: one attempt, recorded; then sent, failed (next try
    scheduled) or dead. Waits, without an attempt, while an earlier delivery of the same
    assessment is still to go out."""
    now = now or timezone.now()
    # Usually no earlier delivery of the assessment is left: one query tells, instead of two.
    earlier_exist = Delivery.objects.filter(
        assessment_id=delivery.assessment_id, id__lt=delivery.id, status__in=(DeliveryStatus.PENDING, DeliveryStatus.FAILED)
    ).exists()
    # An older state still waiting (e.g. in backoff after an outage) is replaced by this one.
    if earlier_exist:
        _supersede_older(delivery)
    earlier = delivery_earlier_pending(delivery=delivery) if earlier_exist else None
    if earlier is not None:
        delivery.next_attempt_at = max(earlier.next_attempt_at or now, now) + dt.timedelta(seconds=1)
        delivery.save(update_fields=["next_attempt_at", "updated_at"])
        logger.info("delivery %s waits for delivery %s of the same assessment", delivery.pk, earlier.pk)
        return delivery

    started = time.monotonic()
    status_code: int | None = None
    error: ClientError | Exception | None = None
    refs: dict[str, str] = {}
    try:
        # A savepoint: whatever the provider wrote is undone if it fails, and our transaction
        # stays usable for recording the attempt.
        with transaction.atomic(), ratelimit.defer_when_busy(SLOT_WAIT_SECONDS):
            result = provider_get(delivery.connection.provider).deliver(delivery)
        status_code, refs = result.status_code, dict(result.remote_refs)
    except SlotBusy as exc:
        return _defer(delivery, exc, now=now)
    except ClientError as exc:
        error, status_code = exc, exc.status_code
    except Exception as exc:  # a bug in a provider must not lose the delivery
        logger.exception("delivery %s raised", delivery.pk)
        error = exc
    if error is not None:
        # A write-back of several calls: the refs of the calls that went through before the failure
        # (``Provider.deliver``), kept so the retry does not repeat them.
        refs = dict(getattr(error, "remote_refs", None) or {})
    duration_ms = int((time.monotonic() - started) * 1000)

    code = (error.code if isinstance(error, ClientError) else ErrorCode.INTERNAL) if error else ""
    message = (error.message if isinstance(error, ClientError) else f"{type(error).__name__}: {error}") if error else ""
    DeliveryAttempt.objects.create(
        delivery=delivery, duration_ms=duration_ms, status_code=status_code, error_code=code, error=message[:2000]
    )
    delivery.attempts += 1
    delivery.last_status_code = status_code
    delivery.error_code = code
    delivery.last_error = message[:2000]
    delivery.remote_refs = {**(delivery.remote_refs or {}), **refs}
    if error is None:
        delivery.status = DeliveryStatus.SENT
        delivery.sent_at = timezone.now()
        delivery.next_attempt_at = None
        _wake_next(delivery)
    else:
        retryable = not isinstance(error, ClientError) or error.retryable
        if retryable and delivery.attempts < MAX_ATTEMPTS:
            delay = backoff_delay(
                attempts=delivery.attempts, retry_after=error.retry_after if isinstance(error, ClientError) else None
            )
            delivery.status = DeliveryStatus.FAILED
            delivery.next_attempt_at = now + dt.timedelta(seconds=delay)
            _enqueue_after_commit(delivery.pk, countdown=delay)
        else:
            delivery.status = DeliveryStatus.DEAD
            delivery.next_attempt_at = None
            _wake_next(delivery)
            if isinstance(error, AuthFailed):
                connection_needs_attention(
                    connection=delivery.connection, actor="outbox", reason=f"write-back refused: {message}"
                )
        logger.warning(
            "delivery %s attempt %s: %s %s -> %s", delivery.pk, delivery.attempts, code, status_code, delivery.status
        )
    if delivery.status in (DeliveryStatus.SENT, DeliveryStatus.DEAD) and delivery.assessment.personal_data_purged_at:
        # The candidate's data was erased while this write-back waited: keep no copy once it is done.
        delivery.payload, delivery.last_error, delivery.redacted_at = {}, "", timezone.now()
    delivery.save()
    return delivery


def _defer(delivery: Delivery, busy: SlotBusy, *, now: dt.datetime) -> Delivery:
    """No rate slot and nothing sent: come back at the key's next turn. Not an attempt (no
    ``DeliveryAttempt``, ``attempts`` and status unchanged); the task is queued again after commit."""
    earliest = max(busy.retry_after or 0.0, DEFER_MIN_SECONDS)
    delay = ratelimit.turn(busy.key, busy.rate, earliest=earliest) if busy.key and busy.rate else earliest
    delivery.next_attempt_at = now + dt.timedelta(seconds=delay)
    delivery.save(update_fields=["next_attempt_at", "updated_at"])
    _enqueue_after_commit(delivery.pk, countdown=delay)
    logger.info("delivery %s deferred %.1f s: %s", delivery.pk, delay, busy.message)
    return delivery


def _wake_next(delivery: Delivery) -> None:
    """The next delivery of the same assessment may go now: queue it after commit."""
    following = delivery_next_pending(delivery=delivery)
    if following is not None:
        # Never tried: it only waited for this one. (A failed one keeps its own backoff.)
        Delivery.objects.filter(pk=following.pk, status=DeliveryStatus.PENDING).update(next_attempt_at=timezone.now())
        _enqueue_after_commit(following.pk)


def delivery_resend(*, delivery: Delivery) -> bool:
    """The admin's "re-send now": a dead or failed delivery back to pending with a fresh set of
    attempts, queued after commit. Returns False (and changes nothing) for a sent delivery, or one
    a later delivery of the same assessment has already overtaken or superseded (re-sending it would
    overwrite the newer status in the ATS)."""
    with transaction.atomic():
        locked = Delivery.objects.select_for_update(of=("self",)).get(pk=delivery.pk)
        later = Delivery.objects.filter(assessment_id=locked.assessment_id, id__gt=locked.id)
        overtaken = (
            later.filter(status=DeliveryStatus.SENT).exists()
            # A newer full state of the same channel is on its way: re-sending would only go first.
            or later.filter(
                channel=locked.channel, status__in=(DeliveryStatus.PENDING, DeliveryStatus.FAILED)
            ).exists()
        )
        if locked.status in (DeliveryStatus.SENT, DeliveryStatus.SUPERSEDED) or overtaken:
            return False
        locked.status = DeliveryStatus.PENDING
        locked.attempts = 0
        locked.next_attempt_at = timezone.now()
        locked.save(update_fields=["status", "attempts", "next_attempt_at", "updated_at"])
        _enqueue_after_commit(locked.pk)
    return True


def delivery_release_held(*, delivery: Delivery, actor: str) -> bool:
    """The admin's "send a held write-back without its check": a write-back its provider holds
    because it could not tell whether an earlier try arrived (``Provider.delivery_release_held``),
    released for one try without that check and re-sent, after a person looked in the ATS and did
    not find it. False, changing nothing, when the delivery is not held, is redacted, or cannot be
    re-sent (``delivery_resend``)."""
    with transaction.atomic():
        locked = Delivery.objects.select_for_update(of=("self",)).select_related("connection").get(pk=delivery.pk)
        if locked.redacted_at or not provider_get(locked.connection.provider).delivery_release_held(locked):
            return False
        if not delivery_resend(delivery=locked):
            transaction.set_rollback(True)  # the release goes only with its re-send
            return False
    logger.warning(
        "delivery %s of connection %s released by %s: sent once without checking whether an earlier try arrived",
        delivery.pk, locked.connection_id, actor,
    )
    return True


def deliveries_enqueue_due(*, now: dt.datetime | None = None, limit: int = 100) -> int:
    """The outbox sweeper: queue a send for each due delivery, at most ``limit``; returns how many.
    Queuing twice is harmless: the task locks the row and skips what is sent or not due."""
    ids = list(deliveries_due(now=now, limit=limit).values_list("id", flat=True))
    return sum(_enqueue_now(delivery_id) for delivery_id in ids)
