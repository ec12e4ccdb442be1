"""Reads of the integration layer: connections from assessment sources, stage mappings, due work."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet
from django.utils import timezone

from assessments.models import Assessment

from .models import (
    Connection,
    Delivery,
    DeliveryStatus,
    ErrorCode,
    StageMapping,
    SyncRun,
    SyncStatus,
    WebhookEvent,
    WebhookStatus,
)

SOURCE_PREFIX = "connection:"

# Inbound failures worth another try; domain errors (bad payload, unknown package) are not.
RETRYABLE_EVENT_ERRORS = (ErrorCode.INTERNAL, ErrorCode.REMOTE_ERROR, ErrorCode.TIMEOUT, ErrorCode.RATE_LIMITED)
MAX_EVENT_ATTEMPTS = 8


def connection_for_source(*, source: str) -> Connection | None:
    """The connection an assessment came through (``Connection.source_key``), or None."""
    if not source.startswith(SOURCE_PREFIX):
        return None
    pk = source.removeprefix(SOURCE_PREFIX)
    if not pk.isdigit():
        return None
    return Connection.objects.select_related("tenant").filter(pk=int(pk)).first()


def stage_mapping_matches(
    *, connection: Connection, remote_job_id: str, remote_stage_id: str, remote_sub_status: str = ""
) -> list[StageMapping]:
    """The active mappings for a stage, one per package to order (several packages may share a
    stage). Rows are taken from the most specific level that has any: the job's own rows beat the
    all-jobs default, and at each level rows for the exact sub-status beat rows for the stage as a
    whole. A "no interview" row (no package) at the winning level means nothing is ordered; a row
    whose package is inactive counts as absent."""
    if not remote_stage_id:
        return []
    rows = (
        StageMapping.objects.select_related("package")
        .filter(connection=connection, active=True, remote_stage_id=remote_stage_id)
        .filter(Q(package__isnull=True) | Q(package__active=True))
        .filter(Q(remote_job_id=remote_job_id) | Q(remote_job_id=""))
        .filter(Q(remote_sub_status=remote_sub_status) | Q(remote_sub_status=""))
        .order_by("id")
    )
    levels: dict[tuple[bool, bool], list[StageMapping]] = {}
    for row in rows:
        levels.setdefault((row.remote_job_id == "", row.remote_sub_status == ""), []).append(row)
    if not levels:
        return []
    best = levels[min(levels)]
    return [row for row in best if row.package_id is not None]


def stage_mapping_match(
    *, connection: Connection, remote_job_id: str, remote_stage_id: str, remote_sub_status: str = ""
) -> StageMapping | None:
    """The first of :func:`stage_mapping_matches` (for callers that order one package)."""
    matches = stage_mapping_matches(
        connection=connection, remote_job_id=remote_job_id, remote_stage_id=remote_stage_id,
        remote_sub_status=remote_sub_status,
    )
    return matches[0] if matches else None


def assessment_remote_refs(*, assessment: Assessment) -> dict[str, str]:
    """Ids the ATS gave us for this assessment's write-backs so far (oldest first, newest wins):
    those of sent deliveries and those a failed attempt kept of the calls it made before failing."""
    refs: dict[str, str] = {}
    for row in Delivery.objects.filter(assessment=assessment).exclude(remote_refs={}).order_by("id"):
        refs.update(row.remote_refs or {})
    return refs


def delivery_earlier_pending(*, delivery: Delivery) -> Delivery | None:
    """An earlier write-back of the same assessment still to go out (it must go first)."""
    return (
        Delivery.objects.filter(
            assessment_id=delivery.assessment_id, id__lt=delivery.id,
            status__in=(DeliveryStatus.PENDING, DeliveryStatus.FAILED),
        )
        .order_by("id")
        .first()
    )


def delivery_next_pending(*, delivery: Delivery) -> Delivery | None:
    return (
        Delivery.objects.filter(
            assessment_id=delivery.assessment_id, id__gt=delivery.id,
            status__in=(DeliveryStatus.PENDING, DeliveryStatus.FAILED),
        )
        .order_by("id")
        .first()
    )


def deliveries_due(*, now: dt.datetime | None = None, limit: int = 100) -> QuerySet[Delivery]:
    """Pending or failed write-backs whose time has come, the oldest first; at most one per
    assessment matters (the earliest), later ones wait for it."""
    now = now or timezone.now()
    return (
        Delivery.objects.filter(status__in=(DeliveryStatus.PENDING, DeliveryStatus.FAILED))
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .order_by("next_attempt_at", "id")[:limit]
    )


def webhook_events_to_requeue(*, now: dt.datetime | None = None, limit: int = 100) -> QuerySet[WebhookEvent]:
    """Events stored over a minute ago and still unprocessed, and retryable failures not tried for
    a while (the task's own retries come first)."""
    now = now or timezone.now()
    stale = Q(status=WebhookStatus.RECEIVED, received_at__lte=now - dt.timedelta(minutes=1))
    retryable = Q(
        status=WebhookStatus.FAILED, error_code__in=RETRYABLE_EVENT_ERRORS, attempts__lt=MAX_EVENT_ATTEMPTS,
        received_at__lte=now - dt.timedelta(minutes=10),
    )
    return WebhookEvent.objects.filter(stale | retryable).order_by("received_at")[:limit]


def sync_run_latest(*, connection: Connection) -> SyncRun | None:
    """The connection's most recent sync run (live or finished), or None."""
    return SyncRun.objects.filter(connection=connection).order_by("-started_at", "-id").first()


def sync_run_last_succeeded(*, connection: Connection) -> SyncRun | None:
    return SyncRun.objects.filter(connection=connection, status=SyncStatus.SUCCEEDED).order_by("-started_at", "-id").first()
