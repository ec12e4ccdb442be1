"""Reads of the candidate flow, the sweepers and the report. (Package and list reads for the
recruiter UI and the ATS endpoints live in ``selectors_app.py``.)"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, DateTimeField, DurationField, ExpressionWrapper, F, Q, QuerySet, Value
from django.utils import timezone

from .engine import QuestionSpec
from .models import OPEN_STATUSES, Assessment, Question, Status
from .tokens import report_sign, token_digest, token_is_well_formed

REMINDER_BEFORE_EXPIRY = timedelta(hours=24)


def assessment_get_by_token(*, token: str) -> Assessment | None:
    if not token_is_well_formed(token):
        return None
    return (
        Assessment.objects.select_related("tenant", "package")
        .filter(token_hash=token_digest(token))
        .first()
    )


@dataclass(frozen=True)
class CandidateAccess:
    """What the candidate pages may show for a token: ``state`` is ``open`` (landing/questions),
    ``completed`` (thank-you only) or the reason the link is closed."""

    state: str
    assessment: Assessment | None = None

    @property
    def is_open(self) -> bool:
        return self.state == "open"


def assessment_candidate_access(*, token: str, now: datetime | None = None) -> CandidateAccess:
    now = now or timezone.now()
    assessment = assessment_get_by_token(token=token)
    if assessment is None or not assessment.tenant.active:
        return CandidateAccess("unknown")
    if assessment.status == Status.COMPLETED:
        return CandidateAccess("completed", assessment)
    if assessment.status == Status.EXPIRED or (
        assessment.status in OPEN_STATUSES and assessment.expires_at is not None and assessment.expires_at <= now
    ):
        return CandidateAccess("expired", assessment)
    if assessment.status == Status.CANCELLED:
        return CandidateAccess("cancelled", assessment)
    if assessment.status in (Status.INVITED, Status.IN_PROGRESS):
        return CandidateAccess("open", assessment)
    # ordered (no invitation sent yet) or failed
    return CandidateAccess("unavailable", assessment)


def assessment_question_specs(*, assessment: Assessment) -> list[QuestionSpec]:
    questions: QuerySet[Question] = assessment.package.questions.order_by("position", "id")
    return [
        QuestionSpec(
            id=q.id, position=q.position, text=q.text, rubric=tuple(q.rubric or ()), weight=q.weight,
            max_points=q.max_points,
        )
        for q in questions
    ]


def assessment_ids_due_expiry(*, now: datetime | None = None) -> list[int]:
    now = now or timezone.now()
    return list(
        Assessment.objects.filter(status__in=OPEN_STATUSES, expires_at__lte=now)
        .order_by("expires_at", "id")
        .values_list("id", flat=True)
    )


# An order whose invitation task never ran (broker down at commit, task lost) looks like this
# after a while: still ``ordered`` and nothing recorded since the order itself.
INVITATION_STUCK_AFTER = timedelta(minutes=15)


def assessment_ids_invitation_stuck(*, now: datetime | None = None, limit: int = 200) -> list[int]:
    now = now or timezone.now()
    return list(
        Assessment.objects.filter(
            status=Status.ORDERED, created_at__lte=now - INVITATION_STUCK_AFTER, expires_at__gt=now
        )
        .annotate(event_count=Count("events"))
        .filter(event_count__lte=1)
        .order_by("created_at", "id")
        .values_list("id", flat=True)[:limit]
    )


def _package_hours(field: str):
    """The package's ``field`` (hours) as an interval, for comparisons in SQL."""
    return ExpressionWrapper(F(f"package__{field}") * Value(timedelta(hours=1)), output_field=DurationField())


def assessment_reminder_due_filter(*, queryset: QuerySet[Assessment], now: datetime) -> QuerySet[Assessment]:
    """Due for the reminder before the deadline: the package's ``reminder_before_hours`` (24 by
    default; none when the package sets it empty) before ``expires_at``."""
    window = _package_hours("reminder_before_hours")
    return queryset.filter(
        status=Status.INVITED,
        reminded_at__isnull=True,
        package__reminder_before_hours__isnull=False,
        expires_at__gt=now,
    ).alias(remind_from=ExpressionWrapper(F("expires_at") - window, output_field=DateTimeField())).filter(
        remind_from__lte=now,
        invited_at__lt=F("remind_from"),
    )


def assessment_early_reminder_due_filter(*, queryset: QuerySet[Assessment], now: datetime) -> QuerySet[Assessment]:
    """Due for the "you have not started yet" reminder: invited ``reminder_after_hours`` ago (the
    package's), not started, not reminded at all yet, and not already inside the window of the
    reminder before the deadline (that one goes out instead)."""
    after = _package_hours("reminder_after_hours")
    before = _package_hours("reminder_before_hours")
    return (
        queryset.filter(
            status=Status.INVITED, early_reminded_at__isnull=True, reminded_at__isnull=True,
            package__reminder_after_hours__isnull=False, invited_at__isnull=False, expires_at__gt=now,
        )
        .alias(due_at=ExpressionWrapper(F("invited_at") + after, output_field=DateTimeField()),
               deadline_window=ExpressionWrapper(F("expires_at") - before, output_field=DateTimeField()))
        .filter(due_at__lte=now)
        .filter(Q(package__reminder_before_hours__isnull=True) | Q(deadline_window__gt=now))
    )


def assessment_ids_due_early_reminder(*, now: datetime | None = None) -> list[int]:
    now = now or timezone.now()
    return list(
        assessment_early_reminder_due_filter(queryset=Assessment.objects.all(), now=now)
        .order_by("invited_at", "id")
        .values_list("id", flat=True)
    )


def assessment_ids_due_reminder(*, now: datetime | None = None) -> list[int]:
    """Invited (not yet started) assessments expiring within their package's reminder window (24 h
    by default), never reminded, whose invitation went out earlier than that (a reminder right after the invitation only rotates the
    link the candidate just got)."""
    now = now or timezone.now()
    return list(
        assessment_reminder_due_filter(queryset=Assessment.objects.all(), now=now)
        .order_by("expires_at", "id")
        .values_list("id", flat=True)
    )


def assessment_report_url(*, assessment: Assessment) -> str:
    """Absolute, signed and expiring link to the report, for an ATS or an e-mail. Signed fresh on
    every call, so hand it out when needed rather than storing it."""
    return f"{settings.SITE_URL}/r/{report_sign(assessment_id=assessment.pk)}/"


def assessment_report_context(*, assessment: Assessment) -> dict:
    """Everything the report page shows, keyed for the template."""
    details = assessment.details or {}
    per_question = {q.get("question_id"): q for q in details.get("questions", []) if isinstance(q, dict)}
    rows = []
    for entry in assessment.transcript or []:
        if not isinstance(entry, dict):
            continue
        rows.append({"entry": entry, "score": per_question.get(entry.get("question_id"))})
    attachments = [
        a for a in (assessment.attachments or [])
        if isinstance(a, dict) and str(a.get("url", "")).startswith(("https://", "http://"))
    ]
    report_url = assessment.report_url if assessment.report_url.startswith(("https://", "http://")) else ""
    return {
        "assessment": assessment,
        "events": list(assessment.events.all()),
        "rows": rows,
        "engine_method": details.get("method", ""),
        "attachments": attachments,
        "external_report_url": report_url,
    }
