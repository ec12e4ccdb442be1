"""Result write-backs: the ``PackageResult`` partial update (RFC 7396) for an order's results URL,
and, in trigger mode, the note on the candidate (``POST /messages/shares``) and the score as a
candidate property value, built from the assessment. The signed report link is added when the
delivery is sent (it expires), as is the PDF; the note carries its delivery's reference, by which
a retry finds it among the candidate's messages. Plain functions of the assessment (and the
delivery, for the reference): no HTTP."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from assessments.models import Assessment, Status

from .constants import OPTION_INLINE, RESULT_STATUS
from .parsing import parse_time

SUMMARIES = {
    Status.FAILED: "The Stagehook interview failed",
    Status.EXPIRED: "The Stagehook interview expired before the candidate completed it",
    Status.CANCELLED: "The Stagehook interview was cancelled",
}
REPORT_NAME = "Interview report"
# What the note says of each status (trigger mode writes back completed interviews).
NOTE_STATUS = {
    Status.COMPLETED: "Completed",
    Status.FAILED: "Failed",
    Status.EXPIRED: "Expired",
    Status.CANCELLED: "Cancelled",
}
NOTE_SUMMARY_MAX = 2000
# The steps of a trigger-mode write-back, as keys of ``Delivery.remote_refs``: a step whose key is
# there is done and is not repeated by a retry.
REF_NOTE = "note_id"
# The note's POST failed in a way that may have come after SmartRecruiters stored it (a timeout, a
# 5xx, an answer that could not be read): the retry looks for the note before posting it again.
REF_NOTE_UNCONFIRMED = "note_unconfirmed"
# An admin looked for a held note in SmartRecruiters and did not find it: the value is the
# REF_NOTE_UNCONFIRMED it releases, for one POST without looking first ("posted after ..." once used).
REF_NOTE_RELEASED = "note_released"
REF_ATTACHMENT = "attachment_id"
REF_SCORE_PROPERTY = "score_property"  # "<propertyId>=<value>" as written
ATTACHMENT_TYPE = "GENERIC_FILE"
# Candidate property types a score can be written into, and how (``property_value``).
SCORE_PROPERTY_TYPES = ("NUMBER", "PERCENT", "TEXT")


def iso(moment) -> str:
    """UTC, second precision, ``Z``."""
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _int(value: Any) -> int | None:
    try:
        return int(Decimal(str(value)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    except (InvalidOperation, ValueError, TypeError):
        return None


def score(assessment: Assessment) -> dict[str, int] | None:
    """``{raw, min, max}`` as integers (all three, or no score at all)."""
    if assessment.score_value is None:
        return None
    raw = _int(assessment.score_value)
    low = _int(assessment.score_min if assessment.score_min is not None else 0)
    high = _int(assessment.score_max if assessment.score_max is not None else 100)
    if raw is None or low is None or high is None or high <= low:
        return None
    return {"raw": min(max(raw, low), high), "min": low, "max": high}


def assessment_id_for(question_id: Any) -> str:
    """The id a question has as an ``Assessment`` of our package (``GET packages``)."""
    return f"q-{question_id}"


def assessment_results(assessment: Assessment) -> list[dict[str, Any]]:
    """One entry per question of the package, with its points (``raw`` of ``max``)."""
    details = assessment.details if isinstance(assessment.details, dict) else {}
    entries = []
    for index, q in enumerate(details.get("questions") or [], start=1):
        if not isinstance(q, dict) or q.get("question_id") is None:
            continue
        entry: dict[str, Any] = {
            "assessmentId": assessment_id_for(q["question_id"]),
            "assessmentName": str(q.get("question") or f"Question {index}")[:200],
            "status": "COMPLETED",
        }
        points, max_points = _int(q.get("points")), _int(q.get("max_points"))
        if points is not None and max_points:
            entry["score"] = {"raw": min(max(points, 0), max_points), "min": 0, "max": max_points}
        if q.get("percent") is not None:
            entry["scoreLabel"] = f"{q['percent']}%"
        if assessment.completed_at:
            entry["submissionDate"] = iso(assessment.completed_at)
        entries.append(entry)
    return entries


def result_body(assessment: Assessment, to_status: str) -> dict[str, Any] | None:
    """The partial update for ``to_status`` (None: nothing to tell SmartRecruiters)."""
    status = RESULT_STATUS.get(to_status)
    if status is None:
        return None
    body: dict[str, Any] = {"status": status, "name": assessment.package.name[:200]}
    sent_at = assessment.invited_at or (assessment.created_at if to_status != Status.ORDERED else None)
    if sent_at:
        body["assessmentPackageDate"] = iso(sent_at)
    if to_status == Status.COMPLETED:
        if assessment.completed_at:
            body["submissionDate"] = iso(assessment.completed_at)
        value = score(assessment)
        if value is not None:
            body["score"] = value
        if assessment.score_label:
            body["scoreLabel"] = assessment.score_label[:100]
        body["summary"] = (assessment.summary or f"Completed: {assessment.package.name}")[:2000]
        results = assessment_results(assessment)
        if results:
            body["assessmentResults"] = results
    elif to_status in SUMMARIES:
        reason = (assessment.status_reason or "").strip()
        body["summary"] = f"{SUMMARIES[to_status]}: {reason}." if reason else f"{SUMMARIES[to_status]}."
    return body


def report_attachment(url: str) -> dict[str, str]:
    return {"type": "PDF_URL", "url": url, "name": REPORT_NAME}


def is_inline(assessment: Assessment) -> bool:
    return bool((assessment.options or {}).get(OPTION_INLINE))


def report_filename(assessment: Assessment) -> str:
    return f"stagehook-report-{assessment.pk}.pdf"


def stage_move_target(payload: dict[str, Any]) -> tuple[str, str] | None:
    """(status, sub-status) of a ``stage_move`` delivery (``integrations.mapping``'s score rules),
    or None when the rule only leaves a note. A stage id is ``STATUS`` or ``STATUS/sub-status``
    (the stage ids of ``Provider.pages("stages")``)."""
    stage_id = str(payload.get("to_stage_id") or "").strip()
    if not stage_id:
        return None
    status, _, sub_status = stage_id.partition("/")
    return status.strip().upper(), (str(payload.get("to_sub_status") or "") or sub_status).strip()


# --- trigger mode: the note, the report file, the score property -----------------------------------
def note_reference(delivery) -> str:
    """The reference of one delivery's note: in its text (``note_content``), by which a retry finds
    a note SmartRecruiters stored without our hearing the answer, and as its ``correlationId``.
    Stable (the same on every retry and re-send: from the delivery's id and creation time),
    unique (the hash tells apart two Stagehook databases whose ids meet on one SmartRecruiters
    company, e.g. a staging copy), and nothing secret."""
    created = delivery.created_at.astimezone(dt.timezone.utc).isoformat()
    digest = hashlib.sha256(f"{delivery.pk}:{delivery.assessment_id}:{created}".encode()).hexdigest()[:8]
    return f"stagehook-delivery-{delivery.pk}-{digest}"


def note_content(assessment: Assessment, *, report_url: str, reference: str = "") -> str:
    """The note's text: the candidate tag first (SmartRecruiters links the note to the candidate),
    then status, score, summary, the signed report link and the delivery's reference. Marketplace
    trigger mode and own-app connections write the same note."""
    value = score(assessment)
    status = NOTE_STATUS.get(assessment.status, str(assessment.status).replace("_", " ").capitalize())
    verb = "completed" if assessment.status == Status.COMPLETED else "has a result for"
    lines = [f"#[CANDIDATE:{assessment.remote_candidate_id}] {verb} the Stagehook interview {assessment.package.name}.",
             f"Status: {status}"]
    if value is not None:
        label = f" ({assessment.score_label})" if assessment.score_label else ""
        lines.append(f"Score: {value['raw']}/{value['max']}{label}")
    summary = " ".join((assessment.summary or "").split())
    if summary:
        if len(summary) > NOTE_SUMMARY_MAX:
            summary = summary[: NOTE_SUMMARY_MAX - 1].rstrip() + "\u2026"
        lines.append(f"Summary: {summary}")
    lines.append(f"Report: {report_url}")
    if reference:
        lines.append(_reference_line(reference))
    return "\n".join(lines)


NOTE_REFERENCE_LABEL = "Stagehook reference:"


def _reference_line(reference: str) -> str:
    return f"{NOTE_REFERENCE_LABEL} {reference}"


def _shared_note(assessment: Assessment, *, content: str, reference: str) -> dict[str, Any]:
    """``POST /messages/shares``: shared with the hiring team of the application's job, the
    delivery's reference as ``correlationId`` (``content`` ends with it too)."""
    return {"content": content, "correlationId": reference, "shareWith": {"hiringTeamOf": [assessment.remote_job_id]}}


def note_body(assessment: Assessment, *, report_url: str, reference: str) -> dict[str, Any]:
    """A result's note, the reference in its text and as ``correlationId``."""
    return _shared_note(assessment, content=note_content(assessment, report_url=report_url, reference=reference),
                        reference=reference)


def rule_note_body(assessment: Assessment, *, note: str, reference: str) -> dict[str, Any]:
    """A score rule's note (a rule with no target stage), as a result's is posted: the candidate
    tag first, the reference last and as ``correlationId``."""
    content = f"#[CANDIDATE:{assessment.remote_candidate_id}] {note}\n{_reference_line(reference)}"
    return _shared_note(assessment, content=content, reference=reference)


def note_id_with_reference(page: Any, reference: str) -> str:
    """The id of the message of a ``GET /messages`` page (a MessagesView) that carries
    ``reference`` (as a whole word in its text, or as its ``correlationId``), or ""."""
    pattern = re.compile(rf"(?<![\w-]){re.escape(reference)}(?![\w-])")
    content = page.get("content") if isinstance(page, dict) else None
    for item in content or []:
        if not isinstance(item, dict) or not item.get("id"):
            continue
        text = item.get("content")
        if item.get("correlationId") == reference or (isinstance(text, str) and pattern.search(text)):
            return str(item["id"])
    return ""


def messages_reach_back_to(page: Any, moment: dt.datetime) -> bool:
    """Whether a ``GET /messages`` page (newest first) reaches a message created before
    ``moment``: the pages after it are older still."""
    content = page.get("content") if isinstance(page, dict) else None
    for item in content or []:
        created = parse_time(item.get("createdOn")) if isinstance(item, dict) else None
        if created is not None and created < moment:
            return True
    return False


def property_value(assessment: Assessment, property_type: str) -> Any:
    """The score as the value of a candidate property of ``property_type`` (NUMBER: the raw score;
    PERCENT: the score as a share of its range; TEXT: "raw/max"), or None when there is no score
    or the type cannot hold one."""
    value = score(assessment)
    if value is None:
        return None
    kind = (property_type or "").upper()
    if kind == "NUMBER":
        return value["raw"]
    if kind == "PERCENT":
        return round(100 * (value["raw"] - value["min"]) / (value["max"] - value["min"]))
    if kind == "TEXT":
        return f"{value['raw']}/{value['max']}"
    return None


def score_property_ref(property_id: str, value: Any) -> str:
    return f"{property_id}={value}"


def attachment_id_named(listing: Any, filename: str) -> str:
    """The id of the attachment called ``filename`` in a ``GET .../attachments`` answer, or ""."""
    content = listing.get("content") if isinstance(listing, dict) else None
    for item in content or []:
        if isinstance(item, dict) and item.get("name") == filename and item.get("id"):
            return str(item["id"])
    return ""


def candidate_properties_for_score(listing: Any) -> list[dict[str, str]]:
    """The properties of ``GET /configuration/candidate-properties`` a score can be written into:
    ``[{id, label, type}]`` sorted by label."""
    content = listing.get("content") if isinstance(listing, dict) else listing
    found = []
    for item in content or []:
        if not isinstance(item, dict) or not item.get("id"):
            continue
        kind = str(item.get("type") or "").upper()
        if kind in SCORE_PROPERTY_TYPES:
            found.append({"id": str(item["id"])[:128], "label": str(item.get("label") or item["id"])[:200], "type": kind})
    return sorted(found, key=lambda p: (p["label"].lower(), p["id"]))
