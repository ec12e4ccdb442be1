"""Retention and erasure of candidate personal data.

What counts as personal data of an assessment: the candidate snapshot (names, e-mail, phone), the
answers in the transcript, the summary (an engine may quote answers), attachments (recordings,
files), and any copy of the candidate's identifiers left in free text (status reason, order
options, event notes). Scores, status, package, remote ids and timestamps are kept, so reports and
ATS write-backs keep their meaning.

Retention is counted from ``created_at``: it is the moment the data reached us, it exists on
every assessment (completed_at does not), and it never moves. Open assessments are skipped until
they close (the expiry sweeper closes them within the package's ``expires_after_days``), so a
candidate is never cut off mid-interview.
"""

import hashlib
import logging
import re
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from tenants.models import Tenant

from .models import OPEN_STATUSES, Assessment, AssessmentEvent, AuditLog, Status
from .services import assessment_set_status
from .signals import candidate_erasure_requested

logger = logging.getLogger(__name__)

ERASED = "[erased]"
PURGE_BATCH_SIZE = 200
# Keys under which an engine may put the candidate's own words in ``details``.
_ANSWER_KEYS = frozenset({"answer", "answers", "quote", "quotes", "excerpt", "excerpts", "evidence"})


def email_digest(email: str) -> str:
    """SHA-256 of the normalised address: lets the audit log show "this address was erased"
    to someone who already knows the address, without storing it."""
    return hashlib.sha256(email.strip().lower().encode("utf-8")).hexdigest()


def _identifiers(assessment: Assessment) -> list[str]:
    values = {
        assessment.candidate_email, assessment.candidate_phone,
        assessment.candidate_first_name, assessment.candidate_last_name, assessment.candidate_name,
    }
    # Longest first, so "Ada Lovelace" is replaced whole before "Ada" is.
    return sorted((v.strip() for v in values if v and len(v.strip()) >= 2), key=len, reverse=True)


def _redact_text(text: str, identifiers: list[str]) -> str:
    # Whole words only, so erasing "Al" does not garble "Also" in an event note.
    for ident in identifiers:
        text = re.sub(rf"(?<!\w){re.escape(ident)}(?!\w)", ERASED, text, flags=re.IGNORECASE)
    return text


def _redact(value, identifiers: list[str]):
    """``value`` (JSON) with answer-like keys emptied and identifiers replaced in every string."""
    if isinstance(value, dict):
        return {k: ("" if k in _ANSWER_KEYS else _redact(v, identifiers)) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v, identifiers) for v in value]
    if isinstance(value, str):
        return _redact_text(value, identifiers)
    return value


def _assessment_scrub(*, assessment: Assessment, now: datetime) -> None:
    """Remove the personal data of one (locked) assessment and its events."""
    identifiers = _identifiers(assessment)
    transcript = [
        {**_redact({k: v for k, v in item.items() if k != "answer"}, identifiers), "answer": ""}
        for item in (assessment.transcript or [])
        if isinstance(item, dict)
    ]
    # update() on the row, not save(): only these columns change, whatever else a worker holds in memory.
    Assessment.objects.filter(pk=assessment.pk).update(
        candidate_first_name="",
        candidate_last_name="",
        candidate_email="",
        candidate_phone="",
        transcript=transcript,
        summary="",
        attachments=[],
        details=_redact(assessment.details or {}, identifiers),
        options=_redact(assessment.options or {}, identifiers),
        status_reason=_redact_text(assessment.status_reason or "", identifiers)[:300],
        personal_data_purged_at=now,
        updated_at=now,
    )
    if identifiers:
        for event in AssessmentEvent.objects.filter(assessment=assessment).exclude(note=""):
            note = _redact_text(event.note, identifiers)
            if note != event.note:
                AssessmentEvent.objects.filter(pk=event.pk).update(note=note)


def _purge_candidates(*, tenant: Tenant, now: datetime):
    cutoff = now - timedelta(days=tenant.retention_days)
    return (
        Assessment.objects.filter(tenant=tenant, personal_data_purged_at__isnull=True, created_at__lt=cutoff)
        .exclude(status__in=OPEN_STATUSES)
        .order_by("id")
    )


def personal_data_purge(*, now: datetime | None = None) -> int:
    """Purge every closed assessment older than its tenant's ``retention_days``; returns how many.

    Idempotent, and safe to run twice at once: rows are taken in batches with
    ``SELECT ... FOR UPDATE SKIP LOCKED``, so two runs share the work instead of repeating it."""
    now = now or timezone.now()
    total = 0
    for tenant in Tenant.objects.order_by("id"):
        while True:
            # One transaction per batch, with its audit row: a crash between batches leaves
            # nothing purged without a trace, and the next run carries on.
            with transaction.atomic():
                batch = list(
                    _purge_candidates(tenant=tenant, now=now).select_for_update(skip_locked=True, of=("self",))[
                        :PURGE_BATCH_SIZE
                    ]
                )
                if not batch:
                    break
                for assessment in batch:
                    _assessment_scrub(assessment=assessment, now=now)
                AuditLog.objects.create(
                    tenant=tenant,
                    actor="retention",
                    action="personal_data_purge",
                    subject=f"tenant:{tenant.pk}",
                    detail={
                        "retention_days": tenant.retention_days,
                        "count": len(batch),
                        "assessment_ids": [a.pk for a in batch],
                    },
                )
            total += len(batch)
            logger.info("purged personal data of %d assessments of tenant %s", len(batch), tenant.pk)
    return total


def candidate_erase(*, email: str, actor: str, tenant: Tenant | None = None) -> int:
    """Erase one candidate's personal data on request, in every assessment with that e-mail (of
    ``tenant``, or of every tenant) and, through ``candidate_erasure_requested``, in the tables of
    listening apps (the integrations mirror). Open assessments are cancelled first: an interview
    cannot go on without its candidate. Returns the number of assessments erased."""
    email = (email or "").strip().lower()
    if not email:
        raise ValueError("an e-mail address is required")
    now = timezone.now()
    digest = email_digest(email)
    with transaction.atomic():
        queryset = Assessment.objects.filter(candidate_email__iexact=email)
        if tenant is not None:
            queryset = queryset.filter(tenant=tenant)
        assessments = list(queryset.select_for_update(of=("self",)).order_by("id"))
        # Read before the scrub: listeners find the candidate's other records by phone too.
        phones = sorted({a.candidate_phone.strip() for a in assessments if a.candidate_phone.strip()})
        for assessment in assessments:
            if assessment.status in OPEN_STATUSES:
                # Through the status machine, so the ATS hears "cancelled" like any other change.
                assessment = assessment_set_status(
                    assessment=assessment, to_status=Status.CANCELLED, actor=actor,
                    reason="candidate data erased on request",
                )
            _assessment_scrub(assessment=assessment, now=now)
        responses = candidate_erasure_requested.send(
            sender=Assessment, email=email, email_sha256=digest, tenant=tenant, actor=actor,
            assessment_ids=[a.pk for a in assessments], phones=phones,
        )
        other_rows = sum(r for _, r in responses if isinstance(r, int))
        AuditLog.objects.create(
            tenant=tenant,
            actor=actor[:150],
            action="candidate_erase",
            subject=f"email-sha256:{digest}",
            detail={
                "assessments": len(assessments),
                "assessment_ids": [a.pk for a in assessments],
                "other_rows": other_rows,
                "scope": f"tenant:{tenant.pk}" if tenant else "all tenants",
            },
        )
    return len(assessments)
