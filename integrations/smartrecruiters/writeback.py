"""Result write-backs: the ``PackageResult`` partial update (RFC 7396) for an order's results URL,
built from the assessment. The signed report link is added when the delivery is sent (it expires),
as is the PDF. Plain functions of the assessment: no HTTP."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from assessments.models import Assessment, Status

from .constants import OPTION_INLINE, RESULT_STATUS

SUMMARIES = {
    Status.FAILED: "The Stagehook interview failed",
    Status.EXPIRED: "The Stagehook interview expired before the candidate completed it",
    Status.CANCELLED: "The Stagehook interview was cancelled",
}
REPORT_NAME = "Interview report"


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
