"""Retention and erasure of the candidate personal data the integration layer holds: inbound
webhook bodies and headers, write-back payloads, attempt errors and the remote mirror.

The rows themselves stay (ids, types, statuses, timestamps): a redacted ``WebhookEvent`` still
answers a repeated delivery as a duplicate, and a redacted ``Delivery`` still orders later ones.
Retention is counted like the assessments': per tenant, ``retention_days`` from when the data
reached us (``received_at``, ``created_at``, ``started_at``; ``synced_at`` for the mirror).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q, QuerySet, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from assessments.models import Assessment, AuditLog
from tenants.models import Tenant

from .models import (
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    RemoteApplication,
    RemoteCandidate,
    WebhookEvent,
    WebhookStatus,
)
from .identifiers import candidate_ids_in, identifiers_beside_email, phone_digits, text_mentions_phone
from .providers import provider_get
from .selectors import connection_for_source
from .services import remote_candidates_erase

logger = logging.getLogger(__name__)

ERASED_BODY = b'{"redacted":"candidate data erased on request"}'
EXPIRED_BODY = b'{"redacted":"retention period ended"}'
ERASED_NOTE = "candidate data erased on request"
EXPIRED_NOTE = "retention period ended"
PURGE_BATCH_SIZE = 500
SCAN_CHUNK_SIZE = 200
_FINAL_DELIVERY = (DeliveryStatus.SENT, DeliveryStatus.DEAD, DeliveryStatus.SUPERSEDED)
_UNFINISHED_EVENT = (WebhookStatus.RECEIVED, WebhookStatus.FAILED)


# --- erasure on request ----------------------------------------------------------------------------
_JSON_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")


def _unescaped(text: str) -> str:
    """``text`` with JSON's ``\\uXXXX`` and ``\\/`` escapes undone (pairs joined back into one
    character), so an address an encoder escaped is found like one it did not."""
    text = _JSON_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text).replace("\\/", "/")
    return text.encode("utf-16", "surrogatepass").decode("utf-16", errors="replace")


def _mentions(email: str, *texts: str) -> bool:
    """Whether any of ``texts`` quotes ``email`` (lower-cased), in any case, escaped or not."""
    return any(
        email in text.lower() or ("\\" in text and email in _unescaped(text).lower()) for text in texts if text
    )


def _event_rows(*, tenant: Tenant | None, exclude: Iterable[int] = ()):
    events = WebhookEvent.objects.filter(redacted_at__isnull=True)
    if tenant is not None:
        events = events.filter(connection__tenant=tenant)
    exclude = list(exclude)
    if exclude:
        events = events.exclude(pk__in=exclude)
    rows = events.order_by("id").values_list("id", "connection_id", "raw_body", "headers", "error")
    for pk, connection_id, raw_body, headers, error in rows.iterator(chunk_size=SCAN_CHUNK_SIZE):
        yield pk, connection_id, bytes(raw_body or b"").decode("utf-8", errors="replace"), headers, error


def _json_or_none(text: str):
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def _webhook_event_ids_mentioning(
    *, email: str, tenant: Tenant | None, candidate_ids: dict[int, set[str]], phones: set[str]
) -> list[int]:
    """Unredacted events (of ``tenant``'s connections, or all) about the candidate: their body,
    headers or error quote ``email``, or a phone of ``phones``, or their body names a candidate id
    of ``candidate_ids`` (per connection: ids are the ATS's). The ids and phone beside the address
    in the events that quote it count too. Bodies are bytes of any encoding, so the scan is in
    Python, a chunk at a time."""
    found = []
    for pk, connection_id, body, headers, error in _event_rows(tenant=tenant):
        if _mentions(email, body, json.dumps(headers or {}), error):
            found.append(pk)
            payload = _json_or_none(body)
            if payload is not None:
                ids, more_phones = identifiers_beside_email(payload, email)
                if connection_id is not None:
                    candidate_ids.setdefault(connection_id, set()).update(ids)
                phones.update(more_phones)
    if not any(candidate_ids.values()) and not phones:
        return found
    for pk, connection_id, body, headers, error in _event_rows(tenant=tenant, exclude=found):
        ids = candidate_ids.get(connection_id, set()) if connection_id is not None else set()
        payload = _json_or_none(body) if ids else None
        if (payload is not None and ids & candidate_ids_in(payload)) or text_mentions_phone(
            f"{body} {json.dumps(headers or {})} {error}", phones
        ):
            found.append(pk)
    return found


def _candidate_identifiers(
    *, email: str, tenant: Tenant | None, assessment_ids: list[int], phones: Iterable[str]
) -> tuple[dict[int, set[str]], set[str]]:
    """The candidate's ids in each ATS (per connection) and phone numbers (digits), from the mirror
    rows of the address and the erased assessments, read before anything is erased."""
    candidate_ids: dict[int, set[str]] = {}
    digits = {phone_digits(phone) for phone in phones}
    mirror = RemoteCandidate.objects.filter(email__iexact=email)
    if tenant is not None:
        mirror = mirror.filter(connection__tenant=tenant)
    for connection_id, remote_id, phone in mirror.values_list("connection_id", "remote_id", "phone"):
        candidate_ids.setdefault(connection_id, set()).add(remote_id)
        digits.add(phone_digits(phone))
    for source, remote_id in (
        Assessment.objects.filter(pk__in=assessment_ids).exclude(remote_candidate_id="").values_list(
            "source", "remote_candidate_id"
        )
    ):
        connection = connection_for_source(source=source)
        if connection is not None:
            candidate_ids.setdefault(connection.pk, set()).add(remote_id)
    digits.discard("")
    return candidate_ids, digits


def _remote_mirror_ids_erase(*, candidate_ids: dict[int, set[str]]) -> int:
    """Mirror rows of the candidate's ids (the address may differ there, or be missing)."""
    changed = 0
    for connection_id, ids in candidate_ids.items():
        if not ids:
            continue
        changed += RemoteApplication.objects.filter(
            connection_id=connection_id, remote_candidate_id__in=ids
        ).exclude(data={}).update(data={})
        deleted, _ = RemoteCandidate.objects.filter(connection_id=connection_id, remote_id__in=ids).delete()
        changed += deleted
    return changed


def _webhook_events_redact(*, ids: Iterable[int], body: bytes, note: str, now: datetime) -> int:
    """Replace body, headers and error text; an event not yet processed is closed as ignored (its
    body can no longer be parsed, and must not be: it would bring the candidate back)."""
    ids = list(ids)
    if not ids:
        return 0
    events = WebhookEvent.objects.filter(pk__in=ids, redacted_at__isnull=True)
    closed = events.filter(status__in=_UNFINISHED_EVENT).update(
        raw_body=body, headers={}, error=note, error_code="", status=WebhookStatus.IGNORED,
        processed_at=now, redacted_at=now,
    )
    return closed + events.update(raw_body=body, headers={}, error="", redacted_at=now)


def _pending_payloads_rebuild(*, deliveries: QuerySet[Delivery]) -> int:
    """A write-back still to go out (e.g. the "cancelled" the erasure itself queued) is needed by
    the ATS; its payload is made again by the provider from the erased assessment, so it carries
    nothing of the candidate. Without a provider, or if it no longer sends one, it is cleared."""
    changed = 0
    for delivery in deliveries.select_related("connection").order_by("id"):
        assessment = Assessment.objects.select_related("package").get(pk=delivery.assessment_id)
        try:
            spec = provider_get(delivery.connection.provider).delivery_for(
                connection=delivery.connection, assessment=assessment, to_status=delivery.assessment_status
            )
        except LookupError:
            spec = None
        payload = spec.payload if spec is not None else {}
        if payload != delivery.payload or delivery.last_error:
            Delivery.objects.filter(pk=delivery.pk).update(payload=payload, last_error="")
            changed += 1
    return changed


def _remote_mirror_text_erase(*, email: str, tenant: Tenant | None) -> int:
    """Mirror rows keyed by another address, or by none, whose data still quotes this one."""
    changed = 0
    for model in (RemoteCandidate, RemoteApplication):
        rows = model.objects.annotate(data_text=Cast("data", TextField())).filter(data_text__icontains=email)
        if tenant is not None:
            rows = rows.filter(connection__tenant=tenant)
        changed += model.objects.filter(pk__in=list(rows.values_list("pk", flat=True))).update(data={})
    return changed


def candidate_integration_data_erase(
    *, email: str, tenant: Tenant | None, assessment_ids: Iterable[int], phones: Iterable[str] = (),
    now: datetime | None = None,
) -> int:
    """Erase one candidate from the integration tables, inside the caller's transaction (the
    assessments' erasure): the mirror, the webhook events about them (quoting the address, or the
    ATS's candidate id, or their phone number: see ``integrations.identifiers``), and the payloads
    and errors of the erased assessments' write-backs. ``phones``: numbers the caller knew (the
    assessments' own, scrubbed by now). Returns the number of rows changed."""
    email = (email or "").strip().lower()
    if not email:
        raise ValueError("an e-mail address is required")
    now = now or timezone.now()
    assessment_ids = sorted(set(assessment_ids or ()))
    with transaction.atomic():
        candidate_ids, phone_set = _candidate_identifiers(
            email=email, tenant=tenant, assessment_ids=assessment_ids, phones=phones
        )
        event_ids = _webhook_event_ids_mentioning(
            email=email, tenant=tenant, candidate_ids=candidate_ids, phones=phone_set
        )
        changed = remote_candidates_erase(email=email, tenant=tenant)
        changed += _remote_mirror_ids_erase(candidate_ids=candidate_ids)
        changed += _remote_mirror_text_erase(email=email, tenant=tenant)
        changed += _webhook_events_redact(ids=event_ids, body=ERASED_BODY, note=ERASED_NOTE, now=now)
        if assessment_ids:
            deliveries = Delivery.objects.filter(assessment_id__in=assessment_ids)
            changed += deliveries.filter(status__in=_FINAL_DELIVERY, redacted_at__isnull=True).update(
                payload={}, last_error="", redacted_at=now
            )
            changed += _pending_payloads_rebuild(deliveries=deliveries.exclude(status__in=_FINAL_DELIVERY))
            changed += DeliveryAttempt.objects.filter(delivery__assessment_id__in=assessment_ids).exclude(
                error=""
            ).update(error="")
    logger.info("erased a candidate from %d integration rows", changed)
    return changed


# --- retention ------------------------------------------------------------------------------------
def _in_batches(queryset: QuerySet, *, apply) -> int:
    """Apply ``apply(ids_queryset)`` to ``queryset`` a batch at a time, each batch in its own
    transaction with its rows locked (rows another run holds are skipped, the next run takes
    them). ``apply`` must take the rows out of ``queryset``, or this would not end."""
    total = 0
    model = queryset.model
    while True:
        with transaction.atomic():
            ids = list(
                queryset.select_for_update(skip_locked=True, of=("self",))
                .order_by("id")
                .values_list("id", flat=True)[:PURGE_BATCH_SIZE]
            )
            if not ids:
                return total
            apply(model.objects.filter(pk__in=ids))
        total += len(ids)


def _expired_data_purge(*, connections: Q, cutoff: datetime, now: datetime) -> dict[str, int]:
    """Purge what ``connections`` (a filter on a row's ``connection``) hold from before ``cutoff``."""
    counts = {}
    counts["webhook_events"] = _in_batches(
        WebhookEvent.objects.filter(connections, received_at__lt=cutoff, redacted_at__isnull=True),
        apply=lambda rows: _webhook_events_redact(
            ids=rows.values_list("id", flat=True), body=EXPIRED_BODY, note=EXPIRED_NOTE, now=now
        ),
    )
    # A write-back of an assessment whose personal data is already gone (erased on request, or
    # purged by the assessments' retention) is cleared once final, whatever its age.
    purged = Q(assessment__personal_data_purged_at__isnull=False)
    counts["deliveries"] = _in_batches(
        Delivery.objects.filter(connections, status__in=_FINAL_DELIVERY, redacted_at__isnull=True).filter(
            Q(created_at__lt=cutoff) | purged
        ),
        apply=lambda rows: rows.update(payload={}, last_error="", redacted_at=now),
    )
    counts["delivery_attempts"] = _in_batches(
        DeliveryAttempt.objects.filter(
            Q(started_at__lt=cutoff) | Q(delivery__assessment__personal_data_purged_at__isnull=False)
        )
        .filter(delivery__in=Delivery.objects.filter(connections))
        .exclude(error=""),
        apply=lambda rows: rows.update(error=""),
    )
    counts["remote_candidates"] = _in_batches(
        RemoteCandidate.objects.filter(connections, synced_at__lt=cutoff), apply=lambda rows: rows.delete()
    )
    counts["remote_applications"] = _in_batches(
        RemoteApplication.objects.filter(connections, synced_at__lt=cutoff).exclude(data={}),
        apply=lambda rows: rows.update(data={}),
    )
    return counts


def integration_data_purge(*, now: datetime | None = None) -> int:
    """Purge every tenant's integration rows older than its ``retention_days``; returns the rows
    changed. Idempotent (redacted rows are skipped) and safe to run twice at once (rows are taken
    with ``SKIP LOCKED``). Events whose connection is gone follow the default retention period.
    Writes one audit row per run, with the counts per tenant."""
    now = now or timezone.now()
    per_tenant: dict[str, dict] = {}
    scopes = [
        (tenant.pk, tenant.retention_days, Q(connection__tenant=tenant)) for tenant in Tenant.objects.order_by("id")
    ]
    scopes.append((None, Tenant._meta.get_field("retention_days").default, Q(connection__isnull=True)))
    for tenant_id, retention_days, connections in scopes:
        counts = _expired_data_purge(connections=connections, cutoff=now - timedelta(days=retention_days), now=now)
        if any(counts.values()):
            per_tenant["none" if tenant_id is None else str(tenant_id)] = {"retention_days": retention_days, **counts}
            logger.info("integration retention: tenant %s: %s", tenant_id, counts)
    total = sum(n for counts in per_tenant.values() for key, n in counts.items() if key != "retention_days")
    AuditLog.objects.create(
        actor="retention", action="integration_data_purge", subject="integrations",
        detail={"count": total, "tenants": per_tenant},
    )
    return total
