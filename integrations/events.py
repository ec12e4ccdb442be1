"""What each normalized event does: orders assessments, matches stage mappings, updates the mirror.

Called by the inbox processing and by the sync engine (integrations/sync.py) for one
connection's events. Domain problems raise ``EventFailed`` (stored on the event, not retried);
effects are idempotent, so an event handled twice has one effect.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from functools import singledispatch

from assessments.exceptions import AssessmentError
from assessments.models import Mode, Package
from assessments.services import CandidateSnapshot, assessment_order

from . import mapping, services
from .errors import ClientError, EventFailed
from .models import (
    Connection,
    ConnectionStatus,
    ErrorCode,
    RemoteApplication,
    RemoteCandidate,
    RemoteJob,
    WebhookStatus,
)
from .providers import (
    ApplicationRejected,
    AssessmentOrdered,
    Candidate,
    CandidateChanged,
    ConnectionRemoved,
    JobChanged,
    NormalizedEvent,
    StageChanged,
    provider_get,
)
from .selectors import stage_mapping_matches

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """What handling one event came to: ``status`` is a ``WebhookStatus``; ``error_code`` set when
    it was deliberately not acted on (e.g. STAGE_NOT_MAPPED)."""

    status: str
    note: str = ""
    error_code: str = ""
    assessment_id: int | None = None
    created: bool = False  # a new assessment was ordered (the sync counts these as invites)


def event_dispatch(*, connection: Connection | None, event: NormalizedEvent) -> Outcome:
    if connection is None:
        raise EventFailed(ErrorCode.UNKNOWN_CONNECTION, f"{type(event).__name__} without a connection")
    return _handle(event, connection)


@singledispatch
def _handle(event, connection: Connection) -> Outcome:
    raise EventFailed(ErrorCode.BAD_PAYLOAD, f"no handler for {type(event).__name__}")


def _shown(value: str) -> str:
    """An ATS-supplied id in a message that is stored, shown and logged: quoted, control and
    non-ASCII characters escaped (no Python repr, no forged log line), at most 64 characters."""
    return json.dumps(str(value)[:64])


def _actor(connection: Connection) -> str:
    return f"ats:{connection.provider}"


def _require_active(connection: Connection) -> None:
    if connection.status == ConnectionStatus.DISCONNECTED:
        raise EventFailed(ErrorCode.UNKNOWN_CONNECTION, f"connection {connection.pk} is disconnected")


def _order(
    *, connection: Connection, package: Package, mode: str, candidate: CandidateSnapshot, remote_stage_id: str = "",
    **fields,
) -> Outcome:
    try:
        assessment, created = assessment_order(
            tenant=connection.tenant, package=package, mode=mode, actor=_actor(connection),
            source=connection.source_key, source_label=_source_label(connection), candidate=candidate, **fields,
        )
    except AssessmentError as exc:
        raise EventFailed(ErrorCode.BAD_PAYLOAD, str(exc)) from exc
    services.assessment_link_get_or_create(assessment=assessment, connection=connection, remote_stage_id=remote_stage_id)
    note = f"assessment {assessment.pk} {'ordered' if created else 'already ordered'}"
    return Outcome(WebhookStatus.PROCESSED, note=note, assessment_id=assessment.pk, created=created)


def _source_label(connection: Connection) -> str:
    """How the recruiter's dashboard names the connection an assessment came from."""
    return (connection.name or f"{connection.provider.title()} ({connection.tenant.name})")[:200]


def _snapshot(candidate: Candidate) -> CandidateSnapshot:
    return CandidateSnapshot(
        first_name=candidate.first_name, last_name=candidate.last_name, email=candidate.email, phone=candidate.phone
    )


@_handle.register
def _(event: AssessmentOrdered, connection: Connection) -> Outcome:
    _require_active(connection)
    package_id = str(event.package_id).strip()
    package = None
    if package_id.isdigit():
        package = Package.objects.filter(pk=int(package_id), tenant=connection.tenant, active=True).first()
    if package is None:
        raise EventFailed(ErrorCode.BAD_PAYLOAD, f"unknown or inactive package {_shown(package_id)}")
    if event.candidate.remote_id:
        services.remote_candidate_upsert(connection=connection, candidate=event.candidate)
    application_id = event.remote_application_id or _application_of(
        connection=connection, remote_candidate_id=event.candidate.remote_id, remote_job_id=event.remote_job_id
    )
    return _order(
        connection=connection, package=package, mode=Mode.ORDER, candidate=_snapshot(event.candidate),
        language=event.candidate.language,
        remote_order_id=event.remote_order_id, remote_application_id=application_id,
        remote_candidate_id=event.candidate.remote_id, remote_job_id=event.remote_job_id,
        remote_job_title=event.remote_job_title, callback_url=event.callback_url, options=dict(event.options),
        remote_stage_id=event.remote_stage_id,
        send_invitation=event.send_invitation,
    )


@_handle.register
def _(event: StageChanged, connection: Connection) -> Outcome:
    _require_active(connection)
    if event.candidate is not None and event.candidate.remote_id:
        services.remote_candidate_upsert(connection=connection, candidate=event.candidate)
    application, moved = services.remote_application_stage_set(
        connection=connection, remote_id=event.remote_application_id,
        remote_candidate_id=event.remote_candidate_id, remote_job_id=event.remote_job_id,
        remote_stage_id=event.remote_stage_id, remote_sub_status=event.remote_sub_status,
        changed_at=event.changed_at,
    )
    if not moved:
        return Outcome(WebhookStatus.IGNORED, note="stage unchanged or older than the mirror")
    if application.rejected_at is not None:
        return Outcome(WebhookStatus.IGNORED, note="application is rejected")
    if mapping.stage_closes_application(
        connection=connection, remote_stage_id=event.remote_stage_id, remote_sub_status=event.remote_sub_status
    ):
        return Outcome(WebhookStatus.IGNORED, note="application is rejected or withdrawn")
    mappings = stage_mapping_matches(
        connection=connection, remote_job_id=event.remote_job_id, remote_stage_id=event.remote_stage_id,
        remote_sub_status=event.remote_sub_status,
    )
    if not mappings:
        return Outcome(WebhookStatus.IGNORED, error_code=ErrorCode.STAGE_NOT_MAPPED,
                       note=f"stage {_shown(event.remote_stage_id)} is not mapped")
    candidate = event.candidate
    if candidate is None or not (candidate.email or candidate.phone):
        candidate = _candidate_known(connection=connection, remote_candidate_id=event.remote_candidate_id)
    job = _job_known(connection=connection, remote_job_id=event.remote_job_id)
    outcomes = []
    for row in mappings:
        existing = mapping.trigger_existing_assessment(
            connection=connection, package=row.package, remote_application_id=event.remote_application_id,
            remote_candidate_id=event.remote_candidate_id, remote_job_id=event.remote_job_id,
            reinvite=row.reinvite_on_reentry,
        )
        if existing is not None:
            outcomes.append(Outcome(WebhookStatus.PROCESSED, assessment_id=existing.pk,
                                    note=f"assessment {existing.pk} already ordered for {row.package.name}"))
            continue
        # The candidate fetch above may have taken a while: order only if the mirror still has the
        # application in this stage (a later move, webhook or sync, wins).
        if mapping.stage_left(
            connection=connection, remote_application_id=event.remote_application_id,
            remote_stage_id=event.remote_stage_id, remote_sub_status=event.remote_sub_status,
        ):
            return Outcome(WebhookStatus.IGNORED, note="the candidate already left the stage")
        options = {"stage_mapping_id": row.pk}
        rules = mapping.score_rules_option(row)
        if rules:
            options[mapping.SCORE_RULES_OPTION] = rules
        outcomes.append(_order(
            connection=connection, package=row.package, mode=Mode.TRIGGER, candidate=_snapshot(candidate),
            language=candidate.language,
            remote_application_id=event.remote_application_id, remote_candidate_id=event.remote_candidate_id,
            remote_job_id=event.remote_job_id, remote_job_title=job.title if job else "", options=options,
            remote_stage_id=event.remote_stage_id,
        ))
    if len(outcomes) == 1:
        return outcomes[0]
    return Outcome(WebhookStatus.PROCESSED, note="; ".join(o.note for o in outcomes),
                   assessment_id=outcomes[0].assessment_id)


def _application_of(*, connection: Connection, remote_candidate_id: str, remote_job_id: str) -> str:
    """The mirrored application of a candidate on a job, when an order names only those two (a
    Teamtailor partner event does). With it, an order and a stage mapping asking for the same
    package on the same application make one interview, not two."""
    if not (remote_candidate_id and remote_job_id):
        return ""
    ids = list(
        RemoteApplication.objects.filter(
            connection=connection, remote_candidate_id=remote_candidate_id, remote_job_id=remote_job_id
        ).values_list("remote_id", flat=True)[:2]
    )
    return ids[0] if len(ids) == 1 else ""


def _candidate_known(*, connection: Connection, remote_candidate_id: str) -> Candidate:
    """The candidate from the mirror, else read from the ATS (and mirrored): stage-change webhooks
    and sync pages may name a candidate by id only. ATS errors propagate, so the event is retried."""
    mirrored = RemoteCandidate.objects.filter(connection=connection, remote_id=remote_candidate_id).first()
    if mirrored is not None:
        return Candidate(mirrored.remote_id, mirrored.first_name, mirrored.last_name, mirrored.email, mirrored.phone)
    fetched = provider_get(connection.provider).candidate_fetch(connection, remote_candidate_id=remote_candidate_id)
    if fetched is None:
        raise EventFailed(ErrorCode.BAD_PAYLOAD, f"candidate {_shown(remote_candidate_id)} is unknown to the ATS")
    services.remote_candidate_upsert(connection=connection, candidate=fetched)
    return fetched


def _job_known(*, connection: Connection, remote_job_id: str) -> RemoteJob | None:
    """The job from the mirror, else read from the ATS and mirrored. Only its title depends on it,
    so an ATS error here is logged and the interview goes ahead without the title."""
    job = RemoteJob.objects.filter(connection=connection, remote_id=remote_job_id).first()
    if job is not None or not remote_job_id:
        return job
    try:
        fetched = provider_get(connection.provider).job_fetch(connection, remote_job_id=remote_job_id)
    except ClientError as exc:
        logger.warning("job %s of connection %s not read: %s", remote_job_id, connection.pk, exc.code)
        return None
    if fetched is None:
        return None
    return services.remote_job_upsert(
        connection=connection, remote_id=remote_job_id, title=fetched.title, status=fetched.status
    )


@_handle.register
def _(event: ApplicationRejected, connection: Connection) -> Outcome:
    services.remote_application_reject(
        connection=connection, remote_id=event.remote_application_id, rejected_at=event.rejected_at
    )
    return Outcome(WebhookStatus.PROCESSED, note="application rejected")


@_handle.register
def _(event: CandidateChanged, connection: Connection) -> Outcome:
    if event.deleted:
        erased = 0
        if event.erase:
            erased = services.remote_candidate_erase(connection=connection, remote_id=event.candidate.remote_id,
                                                     actor=_actor(connection))
        services.remote_candidate_delete(connection=connection, remote_id=event.candidate.remote_id)
        return Outcome(WebhookStatus.PROCESSED, note=f"candidate deleted{f', {erased} assessments erased' if event.erase else ''}")
    services.remote_candidate_upsert(connection=connection, candidate=event.candidate)
    return Outcome(WebhookStatus.PROCESSED, note="candidate updated")


@_handle.register
def _(event: JobChanged, connection: Connection) -> Outcome:
    if event.deleted:
        services.remote_job_delete(connection=connection, remote_id=event.remote_job_id)
        return Outcome(WebhookStatus.PROCESSED, note="job deleted")
    services.remote_job_upsert(connection=connection, remote_id=event.remote_job_id, title=event.title, status=event.status)
    return Outcome(WebhookStatus.PROCESSED, note="job updated")


@_handle.register
def _(event: ConnectionRemoved, connection: Connection) -> Outcome:
    services.connection_disconnect(connection=connection, actor=_actor(connection), reason=event.reason)
    return Outcome(WebhookStatus.PROCESSED, note="connection disconnected")
