"""Teamtailor payloads -> normalized events: the partner trigger (order mode) and company webhooks
(``job_application.*``, ``candidate.*``, ``job.*``). Pure functions over parsed JSON."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from django.utils.dateparse import parse_datetime

from integrations.errors import PayloadError
from integrations.providers import (
    ApplicationRejected,
    AssessmentOrdered,
    Candidate,
    CandidateChanged,
    JobChanged,
    NormalizedEvent,
    StageChanged,
)

PARTNER_EVENT_TYPE = "partner.trigger"
# Ids of the fields of our "Send Stagehook interview" trigger (see views.config); Teamtailor sends
# them back in webhook-data with "_" turned into "-".
FIELD_PACKAGE = "package"
FIELD_THRESHOLD = "threshold"


def _str(value: Any) -> str:
    if value is None or isinstance(value, (dict, list)):
        return ""
    return str(value).strip()


def field_value(data: dict[str, Any], field_id: str) -> str:
    """A trigger field's value from ``webhook-data`` (``_`` arrives as ``-``)."""
    if not isinstance(data, dict):
        return ""
    for key in (field_id.replace("_", "-"), field_id):
        if key in data:
            return _str(data[key])
    return ""


def threshold_parse(raw: str) -> int | None:
    """The optional pass threshold: an integer 0-100, or None when blank/invalid."""
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    if not 0 <= value <= 100:
        return None
    return round(value)


# --- partner trigger --------------------------------------------------------------------------------
def partner_event(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict) or not isinstance(body.get("partner-event"), dict):
        raise PayloadError("partner-event is missing")
    return body["partner-event"]


MAX_ID_LENGTH = 200


def plain_id(value: str) -> bool:
    """An id we store, show and log: printable text, no control characters, at most 200 long."""
    return bool(value) and len(value) <= MAX_ID_LENGTH and value.isprintable()


def partner_event_id(body: Any) -> str:
    event_id = _str(partner_event(body).get("id"))
    if not event_id:
        raise PayloadError("partner-event.id is missing")
    if not plain_id(event_id):
        raise PayloadError("partner-event.id is not a valid id")
    return event_id


def partner_company_uuid(body: Any) -> str:
    company = body.get("company") if isinstance(body, dict) else None
    return _str(company.get("uuid")) if isinstance(company, dict) else ""


def partner_package_id(body: Any) -> str:
    return field_value(partner_event(body).get("webhook-data") or {}, FIELD_PACKAGE)


def partner_update_url(body: Any) -> str:
    """``partner-event.partner-result.update-url`` ("" when absent)."""
    event = partner_event(body)
    result = event.get("partner-result") if isinstance(event.get("partner-result"), dict) else {}
    return _str(result.get("update-url"))


def assessment_ordered_from_partner_event(body: Any) -> AssessmentOrdered:
    """The partner trigger -> ``AssessmentOrdered``; the partner result Teamtailor created before
    calling us is the order (its id and update-url)."""
    event = partner_event(body)
    result = event.get("partner-result") if isinstance(event.get("partner-result"), dict) else {}
    result_id = _str(result.get("id"))
    if not result_id:
        raise PayloadError("partner-event.partner-result.id is missing")
    package_id = partner_package_id(body)
    if not package_id:
        raise PayloadError(f"webhook-data.{FIELD_PACKAGE} is missing")
    raw_candidate = event.get("candidate") if isinstance(event.get("candidate"), dict) else {}
    candidate_id = _str(raw_candidate.get("id"))
    if not candidate_id:
        raise PayloadError("partner-event.candidate.id is missing")
    job = raw_candidate.get("job") if isinstance(raw_candidate.get("job"), dict) else {}
    webhook_data = event.get("webhook-data") if isinstance(event.get("webhook-data"), dict) else {}
    options: dict[str, Any] = {}
    threshold = threshold_parse(field_value(webhook_data, FIELD_THRESHOLD))
    if threshold is not None:
        options["threshold"] = threshold
    return AssessmentOrdered(
        remote_order_id=result_id,
        package_id=package_id,
        candidate=Candidate(
            remote_id=candidate_id,
            first_name=_str(raw_candidate.get("first-name")),
            last_name=_str(raw_candidate.get("last-name")),
            email=_str(raw_candidate.get("email")),
            phone=_str(raw_candidate.get("phone")),
        ),
        remote_job_id=_str(job.get("id")),
        remote_job_title=_str(job.get("title")),
        remote_stage_id=_str(job.get("stage-id")),
        callback_url=_str(result.get("update-url")),
        options=options,
    )


# --- result-card actions ------------------------------------------------------------------------------
@dataclass(frozen=True)
class ActionTarget:
    """Whose card a recruiter clicked. ``partner_event_id`` is what Teamtailor's signature covers."""

    partner_event_id: str
    partner_result_id: str
    candidate_id: str
    job_id: str


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def action_target(body: Any) -> ActionTarget:
    """Read an action click. Teamtailor's partner docs (tt-partner-docs, partner results, "Action
    object"): "we send POST request to {base-url}/{endpoint} with the same partner event as
    originally sent" — so ``partner-event.partner-result.id`` names the result (and
    ``partner-event.id`` is the *original* event's id, the same on every click).

    The docs are silent on results we created ourselves (trigger mode, no original event). To be
    lenient, the partner-result id is also read from a top-level ``partner-result``, a
    ``partner-result-id``/``partner_result_id`` key or a JSON:API ``data`` of type
    ``partner-results``; without any, the candidate (and job) id identifies the interview."""
    if not isinstance(body, dict):
        raise PayloadError("the body must be a JSON object")
    event = _dict(body.get("partner-event"))
    data = _dict(body.get("data"))
    attributes = _dict(data.get("attributes"))
    result_id = (
        _str(_dict(event.get("partner-result")).get("id"))
        or _str(_dict(body.get("partner-result")).get("id"))
        or _str(body.get("partner-result-id"))
        or _str(body.get("partner_result_id"))
        or (_str(data.get("id")) if data.get("type") == "partner-results" else "")
    )
    candidate = _dict(event.get("candidate")) or _dict(body.get("candidate"))
    candidate_id = _str(candidate.get("id")) or _str(attributes.get("candidate-id")) or _str(body.get("candidate-id"))
    job_id = _str(_dict(candidate.get("job")).get("id")) or _str(attributes.get("job-id")) or _str(body.get("job-id"))
    if not result_id and not candidate_id:
        raise PayloadError("partner-event.partner-result.id is missing")
    return ActionTarget(
        partner_event_id=_str(event.get("id")), partner_result_id=result_id, candidate_id=candidate_id, job_id=job_id
    )


# --- company webhooks -------------------------------------------------------------------------------
def company_payload(body: Any) -> tuple[str, dict[str, Any]]:
    """(event_name, data) of a company webhook body ``{"payload": {"event_name", "data"}}``."""
    payload = body.get("payload") if isinstance(body, dict) else None
    if not isinstance(payload, dict):
        raise PayloadError("payload is missing")
    event_name = _str(payload.get("event_name"))
    if not event_name or "." not in event_name:
        raise PayloadError("payload.event_name is missing")
    data = payload.get("data")
    if not isinstance(data, dict) or not _str(data.get("id")):
        raise PayloadError("payload.data.id is missing")
    if not plain_id(_str(data.get("id"))) or not plain_id(event_name):
        raise PayloadError("payload.data.id or payload.event_name is not a valid id")
    return event_name, data


def attr(data: dict[str, Any], name: str) -> Any:
    """An attribute of a company webhook resource, kebab-case or snake_case, in ``attributes`` or
    at the top level (destroy events are flatter)."""
    sources = [data.get("attributes") if isinstance(data.get("attributes"), dict) else {}, data]
    for source in sources:
        for key in (name, name.replace("-", "_")):
            if key in source and source[key] is not None:
                return source[key]
    return None


def related_id(data: dict[str, Any], name: str) -> str:
    """``relationships.<name>.data.id``, else the ``<name>-id`` attribute."""
    relationships = data.get("relationships") if isinstance(data.get("relationships"), dict) else {}
    rel = relationships.get(name)
    if isinstance(rel, dict) and isinstance(rel.get("data"), dict):
        value = _str(rel["data"].get("id"))
        if value:
            return value
    return _str(attr(data, f"{name}-id"))


def company_uuid(data: dict[str, Any]) -> str:
    return _str(attr(data, "company-uuid"))


def company_event_id(*, connection_id: int | None, event_name: str, data: dict[str, Any], raw_body: bytes) -> str:
    """A stable id for a company webhook: Teamtailor sends none. Same event name + resource id +
    updated-at -> same id, so a re-delivery is a duplicate; scoped by connection because two
    companies share resource ids."""
    explicit = _str(data.get("event-id") or data.get("event_id"))
    updated = _str(attr(data, "updated-at"))
    if explicit:
        basis = f"id:{explicit}"
    elif updated:
        basis = f"{event_name}|{_str(data.get('id'))}|{updated}"
    else:
        basis = "body:" + hashlib.sha256(raw_body).hexdigest()
    digest = hashlib.sha256(basis.encode()).hexdigest()
    return f"company:{connection_id or 0}:{digest}"


def _datetime(value: Any) -> dt.datetime | None:
    text = _str(value)
    if not text:
        return None
    try:
        return parse_datetime(text)
    except ValueError:
        return None


def candidate_from(data: dict[str, Any]) -> Candidate:
    return Candidate(
        remote_id=_str(data.get("id")),
        first_name=_str(attr(data, "first-name")),
        last_name=_str(attr(data, "last-name")),
        email=_str(attr(data, "email")),
        phone=_str(attr(data, "phone")),
    )


def job_from(data: dict[str, Any], *, deleted: bool = False) -> JobChanged:
    return JobChanged(
        remote_job_id=_str(data.get("id")),
        title=_str(attr(data, "title")),
        status=_str(attr(data, "status")),
        deleted=deleted,
    )


# What Teamtailor documents a company webhook's job application to carry (TEAMTAILOR.md): no stage
# id, no candidate id. The webhook is a nudge: the application is read from the public API.
DOCUMENTED_JOB_APPLICATION_FIELDS = (
    "id", "updated_at", "job_id", "job_title", "last_moved_at", "stage_name", "referring_site", "referring_url",
    "referer_id", "rejected_at", "promotion_id", "company_uuid", "transparent_recruiting_visible_at",
)
APPLICATION_INCLUDE = "stage,candidate,job"


@dataclass(frozen=True)
class ApplicationNudge:
    """A ``job_application.create|update``: read application ``remote_application_id`` (with its
    stage, candidate and job) before anything can be done."""

    remote_application_id: str


def company_webhook_parse(body: Any) -> list[NormalizedEvent | ApplicationNudge]:
    """A company webhook -> normalized events, or a nudge to read a job application first."""
    event_name, data = company_payload(body)
    resource, _, action = event_name.partition(".")
    deleted = action == "destroy"
    if resource == "job_application":
        if deleted:
            return []
        return [ApplicationNudge(remote_application_id=_str(data.get("id")))]
    if resource == "candidate":
        return [CandidateChanged(candidate=candidate_from(data), deleted=deleted)]
    if resource == "job":
        return [job_from(data, deleted=deleted)]
    raise PayloadError(f"company webhook {event_name[:60]} is not one Stagehook acts on")


def _included(document: dict[str, Any], type_: str, id_: str) -> dict[str, Any]:
    for item in document.get("included") or []:
        if isinstance(item, dict) and item.get("type") == type_ and _str(item.get("id")) == id_:
            return item
    return {}


def events_from_application(document: Any) -> list[NormalizedEvent]:
    """``GET /v1/job-applications/{id}?include=stage,candidate,job`` -> a rejection when the
    application is rejected, and the stage change with the included candidate (matched by stage
    id, never by name). Raises PayloadError when the application has no stage or candidate."""
    data = document.get("data") if isinstance(document, dict) else None
    if not isinstance(data, dict) or not _str(data.get("id")):
        raise PayloadError("Teamtailor's job application answer has no data")
    application_id = _str(data.get("id"))
    stage_id, candidate_id, job_id = related_id(data, "stage"), related_id(data, "candidate"), related_id(data, "job")
    if not stage_id:
        raise PayloadError(f"Teamtailor's job application {application_id[:64]} has no stage")
    if not candidate_id:
        raise PayloadError(f"Teamtailor's job application {application_id[:64]} has no candidate")
    events: list[NormalizedEvent] = []
    rejected_at = attr(data, "rejected-at")
    if rejected_at:
        events.append(ApplicationRejected(remote_application_id=application_id, rejected_at=_datetime(rejected_at)))
    candidate = _included(document, "candidates", candidate_id)
    events.append(
        StageChanged(
            remote_application_id=application_id,
            remote_candidate_id=candidate_id,
            remote_job_id=job_id,
            remote_stage_id=stage_id,
            changed_at=_datetime(attr(data, "changed-stage-at") or attr(data, "last-moved-at")),
            candidate=candidate_from(candidate) if candidate else None,
        )
    )
    return events
