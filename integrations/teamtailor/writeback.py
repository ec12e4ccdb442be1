"""Teamtailor write-back: the partner-result attributes an assessment's status calls for, and
sending one outbox row (``Delivery``) to Teamtailor.

Channels: order mode (the partner trigger) ``PUT``s the update-url Teamtailor gave us (kept on the
integration's ``AssessmentLink``). Trigger mode (our own stage mapping, no update-url) creates a
partner result with ``POST /partner/v1/partner-results`` and then updates it; the created id is kept
on the link (``remote_result_id``) the moment Teamtailor returns it (so a retried delivery never
creates a second one) and also returned as ``remote_refs``. Score rules move the application
(``stage_move``). Nothing here writes the assessments app's tables.
"""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import transaction

from assessments.models import Assessment, Status
from assessments.selectors import assessment_report_url
from integrations.errors import BadRequest, ClientError
from integrations.mapping import score_percent  # noqa: F401 (also this module's public name)
from integrations.models import AssessmentLink, Connection, Delivery, DeliveryChannel
from integrations.providers import DeliverySpec, WriteBackResult
from integrations.selectors import assessment_remote_refs
from integrations.services import assessment_link_get_or_create, assessment_link_result_set

from .client import PartnerApiClient, partner_client_for, public_client_for
from .constants import ACTION_BUTTONS, ACTION_CANCEL, ACTION_RESEND, PARTNER_RESULT_REF

# Stagehook status -> partner-result status (TEAMTAILOR.md "Mapping our statuses"). ``ordered`` is
# Teamtailor's own "sending", which it set before calling us: nothing to write.
STATUS_MAP = {
    Status.INVITED: "sent",
    Status.IN_PROGRESS: "pending",
    Status.COMPLETED: "completed",
    Status.FAILED: "failed",
    Status.EXPIRED: "failed",
    Status.CANCELLED: "failed",
}
FAILED_SUMMARIES = {
    Status.FAILED: "The Stagehook interview failed",
    Status.EXPIRED: "The Stagehook interview expired before the candidate completed it",
    Status.CANCELLED: "The Stagehook interview was cancelled",
}
# Which buttons a card shows in each state; a closed interview shows none (an empty list, sent on
# purpose: Teamtailor keeps attributes an update leaves out, so the buttons must be cleared).
ACTIONS_BY_STATUS = {
    Status.INVITED: (ACTION_RESEND, ACTION_CANCEL),
    Status.IN_PROGRESS: (ACTION_CANCEL,),
}


def _duration(assessment: Assessment) -> str:
    if not (assessment.started_at and assessment.completed_at) or assessment.completed_at < assessment.started_at:
        return ""
    seconds = int((assessment.completed_at - assessment.started_at).total_seconds())
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _flat(value: Any) -> Any:
    """A details value at most one more level deep (Teamtailor renders two levels)."""
    if isinstance(value, dict):
        return {str(k): v if isinstance(v, (str, int, float, bool)) or v is None else json.dumps(v) for k, v in value.items()}
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return json.dumps(value)


def _attachments(assessment: Assessment) -> list[dict[str, str]]:
    items = []
    for item in assessment.attachments or []:
        if not isinstance(item, dict):
            continue
        url = str(item.get("url") or "")
        if not url.startswith(("https://", "http://")):
            continue
        description = str(item.get("description") or item.get("name") or item.get("title") or "Attachment")
        items.append({"url": url, "description": description[:200]})
    return items


def completed_attributes(assessment: Assessment) -> dict[str, Any]:
    """A completed assessment's partner-result attributes, without the report ``url`` (a signed,
    expiring link, made fresh when the delivery is sent)."""
    score = score_percent(assessment)
    threshold = (assessment.options or {}).get("threshold")
    details: dict[str, Any] = {"package": assessment.package.name}
    assessment_block: dict[str, Any] = {}
    if score is not None:
        assessment_block["score"] = score
        details["score"] = f"{score} / 100"
    if assessment.score_label:
        details["rating"] = assessment.score_label
    if isinstance(threshold, int) and score is not None:
        passed = score >= threshold
        details["threshold"] = str(threshold)
        details["result"] = "pass" if passed else "fail"
        assessment_block["grade"] = "top_fit" if passed else "might_not_be_fit"
    duration = _duration(assessment)
    if duration:
        assessment_block["duration"] = duration
    questions = (assessment.details or {}).get("questions") if isinstance(assessment.details, dict) else None
    criteria = []
    if isinstance(questions, list):
        per_question = {}
        for index, q in enumerate(questions, start=1):
            if not isinstance(q, dict):
                continue
            percent = q.get("percent")
            label = f"Q{q.get('position', index)}: {str(q.get('question') or '')[:60]}"
            per_question[label] = f"{percent}%" if percent is not None else ""
            if q.get("question_id") is not None and percent is not None:
                try:
                    criteria.append({"id": f"question-{q['question_id']}", "score": int(Decimal(str(percent)).quantize(Decimal(1), rounding=ROUND_HALF_UP))})
                except ArithmeticError:
                    pass
        if per_question:
            details["questions"] = _flat(per_question)
    attributes: dict[str, Any] = {
        "status": "completed",
        "summary": assessment.summary or f"Completed: {assessment.package.name}",
        "details": details,
        "attachments": _attachments(assessment),
    }
    if assessment_block:
        attributes["assessment"] = assessment_block
    if criteria:
        attributes["assessment-criteria"] = criteria
    return attributes


def actions_for(to_status: str) -> list[dict[str, str]]:
    """The card's buttons for an assessment in ``to_status`` (none once it is closed)."""
    return [
        {"buttonText": ACTION_BUTTONS[name], "endpoint": f"actions/{name}"}
        for name in ACTIONS_BY_STATUS.get(to_status, ())
    ]


def attributes_for(assessment: Assessment, to_status: str) -> dict[str, Any] | None:
    result_status = STATUS_MAP.get(to_status)
    if result_status is None:
        return None
    if to_status == Status.COMPLETED:
        attributes = completed_attributes(assessment)
    elif result_status == "failed":
        summary = FAILED_SUMMARIES.get(to_status, "The Stagehook interview did not complete")
        reason = (assessment.status_reason or "").strip()
        attributes = {"status": "failed", "summary": f"{summary}: {reason}." if reason else f"{summary}."}
    else:
        attributes = {"status": result_status}
    attributes["actions"] = actions_for(to_status)
    return attributes


# --- sending -----------------------------------------------------------------------------------
def delivery_spec_for(*, connection: Connection, assessment: Assessment, to_status: str) -> DeliverySpec | None:
    attributes = attributes_for(assessment, to_status)
    if attributes is None:
        return None
    link = assessment_link_get_or_create(assessment=assessment, connection=connection)
    channel = DeliveryChannel.RESULT if link.update_url else DeliveryChannel.NOTE
    return DeliverySpec(channel=channel, payload={"assessment_status": str(to_status), "attributes": attributes})


def deliver(delivery: Delivery) -> WriteBackResult:
    connection = delivery.connection
    assessment = Assessment.objects.select_related("package").get(pk=delivery.assessment_id)
    if delivery.channel == DeliveryChannel.STAGE_MOVE:
        return stage_move(connection=connection, assessment=assessment, payload=delivery.payload or {})
    attributes = dict((delivery.payload or {}).get("attributes") or {})
    if not attributes:
        raise BadRequest("the delivery has no partner-result attributes")
    if attributes.get("status") == "completed":
        attributes["url"] = assessment_report_url(assessment=assessment)
    client = partner_client_for(connection)
    link = assessment_link_get_or_create(assessment=assessment, connection=connection)
    if link.update_url:
        result_id = link.remote_result_id or link.remote_order_id
        client.partner_result_update(result_id=result_id, attributes=attributes, update_url=link.update_url)
        return WriteBackResult(status_code=200, remote_refs={PARTNER_RESULT_REF: result_id})
    result_id = trigger_result(client=client, link=link, attributes=attributes)
    return WriteBackResult(status_code=200, remote_refs={PARTNER_RESULT_REF: result_id})


def stage_move(*, connection: Connection, assessment: Assessment, payload: dict[str, Any]) -> WriteBackResult:
    """A score rule: ``PATCH /v1/job-applications/{id}`` with the new stage relationship (the
    company's public API key), or, without a target stage, a note on the candidate."""
    client = public_client_for(connection)
    stage_id = str(payload.get("to_stage_id") or "")
    if stage_id:
        if not assessment.remote_application_id:
            raise BadRequest("a stage move needs the Teamtailor job-application id")
        body = {"data": {
            "id": assessment.remote_application_id, "type": "job-applications",
            "relationships": {"stage": {"data": {"type": "stages", "id": stage_id}}},
        }}
        response = client.patch(f"job-applications/{assessment.remote_application_id}", json=body)
        return WriteBackResult(status_code=response.status_code, remote_refs={"moved_to_stage_id": stage_id})
    if not assessment.remote_candidate_id:
        raise BadRequest("a note needs the Teamtailor candidate id")
    # Teamtailor notes need an author: the connection's ``note_user_id`` credential (a Teamtailor user).
    created = client.note_create(
        candidate_id=assessment.remote_candidate_id, text=str(payload.get("note") or ""),
        user_id=str((connection.credentials or {}).get("note_user_id") or ""),
    )
    return WriteBackResult(status_code=201, remote_refs={"note_id": str((created.get("data") or {}).get("id") or "")})


def trigger_result(*, client: PartnerApiClient, link: AssessmentLink, attributes: dict[str, Any]) -> str:
    """Trigger mode: update the partner result we created earlier, or create it now. Move rules
    in Teamtailor run only on an update, so a final status is always sent as an update too."""
    if not link.remote_candidate_id:
        raise BadRequest("a trigger-mode write-back needs the Teamtailor candidate id")
    with transaction.atomic():
        # The lock on the link makes concurrent deliveries of one assessment create one result.
        locked = AssessmentLink.objects.select_for_update().get(pk=link.pk)
        result_id = locked.remote_result_id
        if not result_id:
            # Refs the outbox stored from earlier sent deliveries (the link is written first).
            result_id = assessment_remote_refs(assessment=locked.assessment).get(PARTNER_RESULT_REF, "")
        if not result_id:
            created = client.partner_result_create(
                candidate_id=locked.remote_candidate_id, job_id=locked.remote_job_id, attributes=attributes
            )
            result_id = str((created.get("data") or {}).get("id") or "")
            if not result_id:
                raise BadRequest("Teamtailor created a partner result without an id")
            assessment_link_result_set(link=locked, remote_result_id=result_id)
            if attributes.get("status") not in ("completed", "failed"):
                return result_id
    try:
        client.partner_result_update(result_id=result_id, attributes=attributes)
    except ClientError as error:
        # The outbox undoes this attempt's writes (the link's id among them) but stores these refs
        # with the failed attempt: the retry updates the result created here, never a second one.
        error.remote_refs = {**error.remote_refs, PARTNER_RESULT_REF: result_id}
        raise
    return result_id
