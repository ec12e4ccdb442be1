"""Writes of the assessments domain: ordering, the status machine, invitations, the candidate's
answers and results. Every status change goes through :func:`assessment_set_status` (or its
locked helper), which records an event and announces the change inside the transaction."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.utils import timezone

from tenants.models import Tenant
from tenants.queueing import enqueue_after_commit

from .engine import get_engine
from .exceptions import (
    AssessmentError,
    AssessmentErrorCode,
    IllegalTransition,
    InvitationTemporaryFailure,
    InvitationUndeliverable,
)
from .invitations import NOT_STARTED, candidate_link, invitation_deliver
from .models import OPEN_STATUSES, Assessment, AssessmentEvent, Mode, Package, Status
from .selectors import (
    assessment_early_reminder_due_filter,
    assessment_question_specs,
    assessment_reminder_due_filter,
)
from .signals import assessment_status_changed
from .tokens import token_new

DEFAULT_EXPIRY = timedelta(days=7)
MAX_ANSWER_CHARS = 10_000

TRANSITIONS: dict[str, frozenset[str]] = {
    Status.ORDERED: frozenset({Status.INVITED, Status.FAILED, Status.EXPIRED, Status.CANCELLED}),
    Status.INVITED: frozenset({Status.IN_PROGRESS, Status.FAILED, Status.EXPIRED, Status.CANCELLED}),
    Status.IN_PROGRESS: frozenset({Status.COMPLETED, Status.FAILED, Status.EXPIRED, Status.CANCELLED}),
    Status.COMPLETED: frozenset(),
    Status.FAILED: frozenset(),
    Status.EXPIRED: frozenset(),
    Status.CANCELLED: frozenset(),
}


@dataclass(frozen=True)
class CandidateSnapshot:
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    phone: str = ""


# --- locking and the status machine -------------------------------------------------------------


def _assessment_lock(*, assessment_id: int) -> Assessment:
    """The row, locked until the surrounding transaction ends (two workers, or a worker and a
    candidate, may race on the same assessment)."""
    return Assessment.objects.select_for_update(of=("self",)).select_related("tenant", "package").get(pk=assessment_id)


def _event_record(*, assessment: Assessment, actor: str, note: str, from_status: str = "", to_status: str = "") -> None:
    AssessmentEvent.objects.create(
        assessment=assessment, from_status=from_status, to_status=to_status, actor=actor[:100], note=note
    )


def _status_move(
    *, locked: Assessment, to_status: str, actor: str, reason: str = "", at: datetime | None = None,
    extra_fields: Iterable[str] = (),
) -> Assessment:
    """Move a row already locked by the caller. Saves the status, its timestamp and
    ``extra_fields`` in one UPDATE, then records and announces the change."""
    from_status = locked.status
    if to_status not in TRANSITIONS.get(from_status, frozenset()):
        raise IllegalTransition(from_status, to_status)
    now = timezone.now()
    locked.status = to_status
    locked.status_reason = reason[:300]
    fields = {"status", "status_reason", "updated_at", *extra_fields}
    if to_status == Status.INVITED:
        locked.invited_at = now
        fields.add("invited_at")
    elif to_status == Status.IN_PROGRESS:
        locked.started_at = at or locked.started_at or now
        fields.add("started_at")
    elif to_status == Status.COMPLETED:
        locked.completed_at = at or now
        fields.add("completed_at")
    locked.save(update_fields=sorted(fields))
    _event_record(assessment=locked, actor=actor, note=reason, from_status=from_status, to_status=to_status)
    # Sent inside the transaction: a listener's rows (an outbox Delivery) commit or roll back with
    # the status change.
    assessment_status_changed.send(
        sender=Assessment, assessment=locked, from_status=from_status, to_status=to_status, actor=actor
    )
    return locked


def assessment_set_status(*, assessment: Assessment, to_status: str, actor: str, reason: str = "") -> Assessment:
    """Move ``assessment`` to ``to_status`` or raise IllegalTransition. Returns the fresh row."""
    with transaction.atomic():
        locked = _assessment_lock(assessment_id=assessment.pk)
        return _status_move(locked=locked, to_status=to_status, actor=actor, reason=reason)


def assessment_cancel(*, assessment: Assessment, actor: str, reason: str = "") -> Assessment:
    """Cancel an open assessment; cancelling one already cancelled is a no-op."""
    with transaction.atomic():
        locked = _assessment_lock(assessment_id=assessment.pk)
        if locked.status == Status.CANCELLED:
            return locked
        return _status_move(locked=locked, to_status=Status.CANCELLED, actor=actor, reason=reason or "cancelled")


def assessment_expire(
    *, assessment_id: int, now: datetime | None = None, actor: str = "system:expiry"
) -> Assessment | None:
    """Expire one assessment if it is still open and past its deadline; None if there was nothing
    to do (already closed, deadline moved, or another worker holds it)."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = (
            Assessment.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(pk=assessment_id, status__in=OPEN_STATUSES, expires_at__lte=now)
            .first()
        )
        if locked is None:
            return None
        return _status_move(locked=locked, to_status=Status.EXPIRED, actor=actor, reason="deadline passed")


MAX_DEADLINE = timedelta(days=365)


def assessment_extend_deadline(*, assessment: Assessment, expires_at: datetime, actor: str) -> Assessment:
    """Move the deadline of an open assessment to ``expires_at`` (an aware time in the future, at
    most a year ahead). The reminders become due again against the new deadline."""
    if timezone.is_naive(expires_at):
        raise AssessmentError(AssessmentErrorCode.INVALID_ORDER, "the new deadline needs a time zone")
    now = timezone.now()
    if expires_at <= now:
        raise AssessmentError(AssessmentErrorCode.INVALID_ORDER, "the new deadline must be in the future")
    if expires_at > now + MAX_DEADLINE:
        raise AssessmentError(AssessmentErrorCode.INVALID_ORDER, "the new deadline must be within a year")
    with transaction.atomic():
        locked = _assessment_lock(assessment_id=assessment.pk)
        if locked.status not in OPEN_STATUSES:
            raise IllegalTransition(locked.status, locked.status, "only an open assessment has a deadline to extend")
        previous = locked.expires_at
        locked.expires_at = expires_at
        locked.reminded_at = None
        locked.save(update_fields=["expires_at", "reminded_at", "updated_at"])
        _event_record(assessment=locked, actor=actor, note=(
            f"deadline moved from {previous.astimezone(dt_timezone.utc):%Y-%m-%d %H:%M} UTC to {expires_at.astimezone(dt_timezone.utc):%Y-%m-%d %H:%M} UTC"
            if previous else f"deadline set to {expires_at.astimezone(dt_timezone.utc):%Y-%m-%d %H:%M} UTC"))
        return locked


# --- ordering -----------------------------------------------------------------------------------


def _order_existing(*, tenant: Tenant, source: str, remote_order_id: str, remote_application_id: str,
                    package: Package) -> Assessment | None:
    existing = None
    if remote_order_id:
        existing = Assessment.objects.filter(source=source, remote_order_id=remote_order_id).first()
    if existing is None and remote_application_id:
        # One application never gets two live interviews of the same package, whichever way they
        # were asked for (a stage trigger, then an explicit order with its own id, or vice versa).
        existing = Assessment.objects.filter(
            source=source, remote_application_id=remote_application_id, package=package, status__in=OPEN_STATUSES
        ).first()
    if existing is None:
        return None
    if existing is not None and existing.tenant_id != tenant.pk:
        # ``source`` is meant to be unique per ordering party; a clash across tenants is a bug
        # upstream, and answering with another tenant's assessment would leak it.
        raise AssessmentError(AssessmentErrorCode.SOURCE_CONFLICT)
    return existing


def _order_validate(*, tenant: Tenant, package: Package, mode: str, candidate: CandidateSnapshot,
                    fields: Mapping[str, tuple[str, int]], expires_at: datetime | None, options) -> None:
    if not tenant.active:
        raise AssessmentError(AssessmentErrorCode.TENANT_INACTIVE)
    if package.tenant_id != tenant.pk:
        raise AssessmentError(AssessmentErrorCode.PACKAGE_NOT_FOUND)
    if not package.active:
        raise AssessmentError(AssessmentErrorCode.PACKAGE_INACTIVE)
    if mode not in Mode.values:
        raise AssessmentError(AssessmentErrorCode.INVALID_MODE, f"unknown mode \"{mode}\"")
    for name, (value, limit) in fields.items():
        if not isinstance(value, str):
            raise AssessmentError(AssessmentErrorCode.INVALID_ORDER, f"{name} must be a string")
        if len(value) > limit:
            code = AssessmentErrorCode.INVALID_CANDIDATE if name.startswith("candidate") else AssessmentErrorCode.INVALID_ORDER
            raise AssessmentError(code, f"{name} is longer than {limit} characters")
    if not (candidate.email.strip() or candidate.phone.strip()):
        raise AssessmentError(AssessmentErrorCode.NO_CONTACT)
    if options is not None and not isinstance(options, dict):
        raise AssessmentError(AssessmentErrorCode.INVALID_ORDER, "options must be an object")
    if expires_at is not None and (timezone.is_naive(expires_at) or expires_at <= timezone.now()):
        raise AssessmentError(AssessmentErrorCode.INVALID_ORDER, "expires_at must be an aware time in the future")


def assessment_order(
    *,
    tenant: Tenant,
    package: Package,
    mode: str,
    actor: str,
    source: str = "",
    remote_order_id: str = "",
    remote_application_id: str = "",
    remote_candidate_id: str = "",
    remote_job_id: str = "",
    remote_job_title: str = "",
    callback_url: str = "",
    candidate: CandidateSnapshot,
    options: dict | None = None,
    expires_at: datetime | None = None,
    send_invitation: bool = True,
    source_label: str = "",
    language: str = "",
    time_zone: str = "",
) -> tuple[Assessment, bool]:
    """The one way an interview starts. Returns ``(assessment, created)``.

    Idempotent: the same ``(source, remote_order_id)``, or else the same
    ``(source, remote_application_id, package)`` while one is open, returns the existing row. Two
    concurrent calls are settled by the partial unique constraints: the loser's INSERT fails in a
    savepoint and it returns the winner's row. The invitation is queued after commit.

    ``language`` (e.g. SmartRecruiters' applicationLanguage, ``de-DE``) and ``time_zone`` (an IANA
    name) are the candidate's where the ATS knows them; ``source_label`` names the source for people.
    """
    if not isinstance(candidate, CandidateSnapshot):
        raise AssessmentError(AssessmentErrorCode.INVALID_CANDIDATE, "candidate must be a CandidateSnapshot")
    lookup = dict(tenant=tenant, source=source, remote_order_id=remote_order_id,
                  remote_application_id=remote_application_id, package=package)
    existing = _order_existing(**lookup)
    if existing is not None:
        # Before validation on purpose: an ATS re-sending an order it already placed gets the
        # same answer even if the package has since been deactivated.
        return existing, False

    _order_validate(
        tenant=tenant, package=package, mode=mode, candidate=candidate, expires_at=expires_at, options=options,
        fields={
            "source": (source, 64), "remote_order_id": (remote_order_id, 128),
            "remote_application_id": (remote_application_id, 128), "remote_candidate_id": (remote_candidate_id, 128),
            "remote_job_id": (remote_job_id, 128), "remote_job_title": (remote_job_title, 300),
            "callback_url": (callback_url, 1000), "candidate.first_name": (candidate.first_name, 150),
            "candidate.last_name": (candidate.last_name, 150), "candidate.email": (candidate.email, 254),
            "candidate.phone": (candidate.phone, 40), "source_label": (source_label, 200),
            "language": (language, 16), "time_zone": (time_zone, 64),
        },
    )
    if expires_at is None:
        days = package.expires_after_days
        expires_at = timezone.now() + (timedelta(days=days) if days else DEFAULT_EXPIRY)
    try:
        with transaction.atomic():
            assessment = Assessment.objects.create(
                tenant=tenant, package=package, mode=mode, source=source, remote_order_id=remote_order_id,
                remote_application_id=remote_application_id, remote_candidate_id=remote_candidate_id,
                remote_job_id=remote_job_id, remote_job_title=remote_job_title, callback_url=callback_url,
                options=options or {}, candidate_first_name=candidate.first_name.strip(),
                candidate_last_name=candidate.last_name.strip(), candidate_email=candidate.email.strip(),
                candidate_phone=candidate.phone.strip(), status=Status.ORDERED, expires_at=expires_at,
                source_label=source_label, language=language.strip(), time_zone=time_zone.strip(),
            )
            _event_record(assessment=assessment, actor=actor, to_status=Status.ORDERED,
                          note=f"ordered ({mode}{', ' + source if source else ''})")
    except IntegrityError:
        # Lost the race against a concurrent identical order; the winner has committed (PostgreSQL
        # made us wait for it), so its row is visible now.
        existing = _order_existing(**lookup)
        if existing is None:
            raise
        return existing, False

    if send_invitation:
        from .tasks import send_invitation as send_invitation_task  # tasks import services

        # The order is committed: a broker hiccup while queueing is logged, not the caller's error
        # (the invitation sweeper sends it).
        enqueue_after_commit(send_invitation_task, assessment.pk)
    return assessment, True


# --- invitations --------------------------------------------------------------------------------


def _invitation_send_locked(*, locked: Assessment, actor: str, reminder: bool | str) -> tuple[str, ...]:
    """Rotate the token and deliver. The new digest is saved before sending so the link in the
    message works the moment the transaction commits; if delivery raises, the transaction (and
    the rotation) is rolled back by the caller."""
    token, digest = token_new()
    locked.token_hash = digest
    locked.save(update_fields=["token_hash", "updated_at"])
    outcome = invitation_deliver(assessment=locked, token=token, reminder=reminder)
    for failure in outcome.failures:
        _event_record(assessment=locked, actor=actor, note=f"{'reminder' if reminder else 'invitation'} "
                      f"channel failed: {failure}")
    return outcome.sent


def _invitation_failure_record(*, assessment_id: int, actor: str, message: str, what: str) -> None:
    # Outside the rolled-back transaction on purpose: the failed attempt must stay on record.
    AssessmentEvent.objects.create(assessment_id=assessment_id, actor=actor[:100],
                                   note=f"{what} not delivered, will retry: {message}")


def _invitation_fail(*, assessment_id: int, actor: str, reason: str) -> Assessment | None:
    with transaction.atomic():
        locked = _assessment_lock(assessment_id=assessment_id)
        if locked.status not in (Status.ORDERED, Status.INVITED):
            return locked
        return _status_move(locked=locked, to_status=Status.FAILED, actor=actor, reason=reason)


def assessment_invite(*, assessment_id: int, actor: str = "system:invitation") -> Assessment | None:
    """Send the first invitation and move ``ordered -> invited``. Safe to run twice (a redelivered
    task): anything not ``ordered`` is left alone. An undeliverable address fails the assessment;
    a temporary failure is recorded and re-raised for the task to retry."""
    try:
        with transaction.atomic():
            locked = _assessment_lock(assessment_id=assessment_id)
            if locked.status != Status.ORDERED:
                return locked
            if locked.expires_at is not None and locked.expires_at <= timezone.now():
                # Too late to invite (retries ran past the deadline); the expiry sweep closes it.
                return locked
            sent = _invitation_send_locked(locked=locked, actor=actor, reminder=False)
            return _status_move(locked=locked, to_status=Status.INVITED, actor=actor,
                                reason=f"invitation sent by {', '.join(sent)}")
    except InvitationUndeliverable as exc:
        return _invitation_fail(
            assessment_id=assessment_id, actor=actor, reason=f"invitation undeliverable: {exc.message}"
        )
    except InvitationTemporaryFailure as exc:
        _invitation_failure_record(assessment_id=assessment_id, actor=actor, message=exc.message, what="invitation")
        raise


def assessment_invite_give_up(
    *, assessment_id: int, actor: str = "system:invitation", reason: str
) -> Assessment | None:
    """Called when retries are exhausted: the candidate was never reached."""
    return _invitation_fail(assessment_id=assessment_id, actor=actor, reason=reason)


def assessment_link_issue(*, assessment_id: int, actor: str) -> str:
    """Hand the candidate's link to the ordering party instead of e-mailing it (an ATS that opens
    the interview inside its own application flow). A fresh link every call (earlier ones stop
    working); an ``ordered`` assessment moves to ``invited``. Refused once it is closed."""
    with transaction.atomic():
        locked = _assessment_lock(assessment_id=assessment_id)
        if locked.status not in OPEN_STATUSES:
            raise IllegalTransition(locked.status, Status.INVITED, f"the assessment is {locked.status}")
        _ensure_not_past_deadline(locked)
        token, digest = token_new()
        locked.token_hash = digest
        locked.save(update_fields=["token_hash", "updated_at"])
        if locked.status == Status.ORDERED:
            _status_move(locked=locked, to_status=Status.INVITED, actor=actor, reason="link handed to the ordering party")
        else:
            _event_record(assessment=locked, actor=actor, note="a fresh link was handed to the ordering party")
    return candidate_link(token=token)


def assessment_resend_invitation(*, assessment: Assessment, actor: str) -> Assessment:
    """Send the invitation now, with a fresh link (any earlier link stops working): the first one
    for an ``ordered`` assessment (e.g. created in the admin), again for an ``invited`` one.
    An undeliverable address fails the assessment; InvitationTemporaryFailure reaches the caller."""
    try:
        with transaction.atomic():
            locked = _assessment_lock(assessment_id=assessment.pk)
            _ensure_not_past_deadline(locked)
            if locked.status == Status.ORDERED:
                sent = _invitation_send_locked(locked=locked, actor=actor, reminder=False)
                return _status_move(locked=locked, to_status=Status.INVITED, actor=actor,
                                    reason=f"invitation sent by {', '.join(sent)}")
            if locked.status != Status.INVITED:
                raise IllegalTransition(
                    locked.status, Status.INVITED, "only a not yet started interview can be re-sent"
                )
            sent = _invitation_send_locked(locked=locked, actor=actor, reminder=False)
            _event_record(assessment=locked, actor=actor, note=f"invitation re-sent by {', '.join(sent)}")
            return locked
    except InvitationUndeliverable as exc:
        return _invitation_fail(
            assessment_id=assessment.pk, actor=actor, reason=f"invitation undeliverable: {exc.message}"
        )


def assessment_remind(
    *, assessment_id: int, now: datetime | None = None, actor: str = "system:reminder", early: bool = False
) -> Assessment | None:
    """Send the reminder before the deadline of an invited, not started assessment (within its
    package's ``reminder_before_hours``), or with ``early`` the one after ``reminder_after_hours``
    without a start. Returns None when it is not due (already reminded, started, closed, too soon)."""
    now = now or timezone.now()
    due_filter = assessment_early_reminder_due_filter if early else assessment_reminder_due_filter
    try:
        with transaction.atomic():
            locked = due_filter(
                queryset=Assessment.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("tenant", "package")
                .filter(pk=assessment_id),
                now=now,
            ).first()
            if locked is None:
                return None
            # The raw token is not kept, so the reminder carries a new link; only not yet started
            # interviews are reminded, so no open candidate page loses its link.
            sent = _invitation_send_locked(locked=locked, actor=actor, reminder=NOT_STARTED if early else True)
            field = "early_reminded_at" if early else "reminded_at"
            setattr(locked, field, now)
            locked.save(update_fields=[field, "updated_at"])
            what = "reminder (not started yet)" if early else "reminder"
            _event_record(assessment=locked, actor=actor, note=f"{what} sent by {', '.join(sent)}")
            return locked
    except InvitationUndeliverable as exc:
        return _invitation_fail(
            assessment_id=assessment_id, actor=actor, reason=f"reminder undeliverable: {exc.message}"
        )
    except InvitationTemporaryFailure as exc:
        # Not marked reminded: the next sweep tries again while the reminder is still useful.
        _invitation_failure_record(assessment_id=assessment_id, actor=actor, message=exc.message, what="reminder")
        return None


# --- the candidate and results -------------------------------------------------------------------


def _ensure_not_past_deadline(locked: Assessment) -> None:
    if locked.expires_at is not None and locked.expires_at <= timezone.now():
        raise AssessmentError(AssessmentErrorCode.EXPIRED)


def assessment_start(*, assessment: Assessment, actor: str = "candidate") -> Assessment:
    """The candidate accepted the privacy notice and starts: ``invited -> in_progress``. Starting
    again (a second tab, the back button) is a no-op."""
    with transaction.atomic():
        locked = _assessment_lock(assessment_id=assessment.pk)
        if locked.status == Status.IN_PROGRESS:
            return locked
        _ensure_not_past_deadline(locked)
        return _status_move(locked=locked, to_status=Status.IN_PROGRESS, actor=actor,
                            reason="candidate consented to the privacy notice and started")


def _decimal(name: str, value) -> Decimal:
    try:
        result = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        raise AssessmentError(AssessmentErrorCode.INVALID_RESULT, f"{name} is not a number") from None
    if not result.is_finite():
        raise AssessmentError(AssessmentErrorCode.INVALID_RESULT, f"{name} is not a finite number")
    result = result.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if abs(result) >= Decimal("100000"):
        raise AssessmentError(AssessmentErrorCode.INVALID_RESULT, f"{name} is out of range")
    return result


def assessment_record_result(
    *,
    assessment: Assessment,
    score_value: Decimal | int | float | str,
    score_min: Decimal | int | float | str,
    score_max: Decimal | int | float | str,
    score_label: str,
    summary: str,
    transcript: list,
    details: dict,
    report_url: str = "",
    attachments: Iterable[dict] = (),
    started_at: datetime | None = None,
    completed_at: datetime | None = None,
    actor: str,
) -> Assessment:
    """Store a result and complete the assessment (from ``invited`` it passes ``in_progress``, so
    every step is recorded and announced). Raises IllegalTransition from any other status."""
    value = _decimal("score_value", score_value)
    low, high = _decimal("score_min", score_min), _decimal("score_max", score_max)
    if not low <= value <= high:
        raise AssessmentError(AssessmentErrorCode.INVALID_RESULT, "score_value must lie between score_min and score_max")
    if started_at and completed_at and started_at > completed_at:
        raise AssessmentError(AssessmentErrorCode.INVALID_RESULT, "started_at is after completed_at")
    with transaction.atomic():
        locked = _assessment_lock(assessment_id=assessment.pk)
        if locked.status not in (Status.INVITED, Status.IN_PROGRESS):
            raise IllegalTransition(locked.status, Status.COMPLETED)
        if locked.status == Status.INVITED:
            _status_move(locked=locked, to_status=Status.IN_PROGRESS, actor=actor, reason="result received",
                         at=started_at)
        elif started_at is not None:
            locked.started_at = started_at
        locked.score_value, locked.score_min, locked.score_max = value, low, high
        locked.score_label = (score_label or "")[:100]
        locked.summary = summary or ""
        locked.transcript = list(transcript or [])
        locked.details = dict(details or {})
        locked.report_url = report_url or ""
        locked.attachments = list(attachments or [])
        return _status_move(
            locked=locked, to_status=Status.COMPLETED, actor=actor, reason=f"scored {value} ({locked.score_label})",
            at=completed_at,
            extra_fields=("started_at", "score_value", "score_min", "score_max", "score_label", "summary",
                          "transcript", "details", "report_url", "attachments"),
        )


def assessment_submit_answers(
    *, assessment: Assessment, answers: Mapping[int, str], actor: str = "candidate"
) -> Assessment:
    """The candidate's answers: scored by the configured engine, stored as the transcript, and the
    assessment completed. Every question of the package must be answered."""
    with transaction.atomic():
        locked = _assessment_lock(assessment_id=assessment.pk)
        if locked.status != Status.IN_PROGRESS:
            raise IllegalTransition(locked.status, Status.COMPLETED, "the interview is not in progress")
        _ensure_not_past_deadline(locked)
        questions = assessment_question_specs(assessment=locked)
        cleaned: dict[int, str] = {}
        for q in questions:
            text = (answers.get(q.id) or "").strip()
            if not text:
                raise AssessmentError(AssessmentErrorCode.INVALID_ANSWERS, f"question {q.position} is not answered")
            if len(text) > MAX_ANSWER_CHARS:
                raise AssessmentError(AssessmentErrorCode.INVALID_ANSWERS, f"answer to question {q.position} is too long")
            cleaned[q.id] = text
        result = get_engine().score(questions=questions, answers=cleaned)
        return assessment_record_result(
            assessment=locked, score_value=result.score_value, score_min=result.score_min,
            score_max=result.score_max, score_label=result.score_label, summary=result.summary,
            transcript=result.transcript, details=result.details, actor=actor,
        )
