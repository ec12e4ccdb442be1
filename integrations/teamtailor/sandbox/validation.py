"""Partner-result attribute validation as Teamtailor's partner docs describe it. Strict on purpose:
a sandbox that accepts what Teamtailor refuses would hide exactly the bugs it exists to find."""

from __future__ import annotations

import re
from typing import Any

from .state import PARTNER_RESULT_STATUSES

GRADES = ("top_fit", "might_be_fit", "might_not_be_fit", "unknown")
UPDATABLE = {
    "status",
    "assessment",
    "summary",
    "url",
    "details",
    "attachments",
    "actions",
    "assessment-criteria",
    # Draft "moving criteria" (UNRELEASED_* fixtures): accepted, kept, not interpreted.
    "criteria",
}
CREATE_ONLY = {"candidate-id", "job-id"}
_DURATION = re.compile(r"^(\d+):([0-5]\d):([0-5]\d)$")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _depth(value: Any) -> int:
    """Nesting depth of containers: {"a": 1} is 1, {"a": {"b": 1}} is 2."""
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


def duration_seconds(value: Any) -> int | None:
    """Teamtailor accepts "H:MM:SS" (the docs' request) and answers seconds (the docs' response:
    "0:32:14" comes back as 1934)."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str):
        match = _DURATION.match(value.strip())
        if match:
            hours, minutes, seconds = (int(part) for part in match.groups())
            return hours * 3600 + minutes * 60 + seconds
    raise ValueError


def validate_attributes(attributes: Any, *, creating: bool) -> tuple[dict[str, Any], list[tuple[str, str, str]]]:
    """Return (normalised attributes, problems); a problem is (title, detail, pointer)."""
    problems: list[tuple[str, str, str]] = []
    if not isinstance(attributes, dict):
        return {}, [("is invalid", "attributes - must be an object", "/data/attributes")]
    clean: dict[str, Any] = {}

    def problem(name: str, title: str, detail: str) -> None:
        problems.append((title, f"{name} - {detail}", f"/data/attributes/{name}"))

    # candidate-id / job-id are checked against the stored result by the caller on updates.
    for name in attributes:
        if name not in UPDATABLE | CREATE_ONLY:
            problem(name, "is not allowed", "is not a partner-result attribute")

    if "status" in attributes:
        if attributes["status"] not in PARTNER_RESULT_STATUSES:
            problem("status", "is invalid", f"must be one of {', '.join(PARTNER_RESULT_STATUSES)}")
        else:
            clean["status"] = attributes["status"]

    if "assessment" in attributes:
        assessment = attributes["assessment"]
        if assessment is None:
            clean["assessment"] = {"score": None, "grade": None, "duration": None}
        elif not isinstance(assessment, dict):
            problem("assessment", "is invalid", "must be an object")
        else:
            extra = set(assessment) - {"score", "grade", "duration"}
            if extra:
                problem("assessment", "is invalid", f"unknown keys {', '.join(sorted(extra))}")
            out: dict[str, Any] = {}
            if "score" in assessment:
                score = assessment["score"]
                if score is not None and (not _is_number(score) or not 0 <= score <= 100):
                    problem("assessment", "is invalid", "score must be a number from 0 to 100")
                out["score"] = score
            if "grade" in assessment:
                if assessment["grade"] is not None and assessment["grade"] not in GRADES:
                    problem("assessment", "is invalid", f"grade must be one of {', '.join(GRADES)}")
                out["grade"] = assessment["grade"]
            if "duration" in assessment:
                try:
                    out["duration"] = duration_seconds(assessment["duration"])
                except ValueError:
                    problem("assessment", "is invalid", 'duration must be seconds or "H:MM:SS"')
            clean["assessment"] = out

    for name in ("summary", "url"):
        if name in attributes:
            value = attributes[name]
            if value is not None and not isinstance(value, str):
                problem(name, "is invalid", "must be a string")
            elif name == "url" and value and not re.match(r"^https?://", value):
                problem(name, "is invalid", "must be an http(s) URL")
            else:
                clean[name] = value

    if "details" in attributes:
        details = attributes["details"]
        if details is None:
            clean["details"] = {}
        elif not isinstance(details, dict):
            problem("details", "is invalid", "must be an object")
        elif _depth(details) > 2:
            problem("details", "is too deep", "may be nested at most 2 levels deep")
        else:
            clean["details"] = details

    list_shapes = {
        "attachments": ({"url", "description"}, "url and description"),
        "actions": ({"buttonText", "endpoint"}, "buttonText and endpoint"),
        "assessment-criteria": ({"id", "score"}, "id and score"),
    }
    for name, (keys, label) in list_shapes.items():
        if name not in attributes:
            continue
        items = attributes[name]
        if items is None:
            clean[name] = None
            continue
        if not isinstance(items, list):
            problem(name, "is invalid", "must be an array")
            continue
        bad = [
            index
            for index, item in enumerate(items)
            if not isinstance(item, dict) or set(item) != keys or not all(isinstance(item[k], (str, int)) for k in keys)
        ]
        if bad:
            problem(name, "is invalid", f"every item must have exactly {label} (item {bad[0]})")
        elif name == "assessment-criteria" and any(
            not _is_number(item["score"]) or not 0 <= item["score"] <= 100 for item in items
        ):
            problem(name, "is invalid", "score must be a number from 0 to 100")
        else:
            clean[name] = items

    if "criteria" in attributes:
        if not isinstance(attributes["criteria"], dict):
            problem("criteria", "is invalid", "must be an object")
        else:
            clean["criteria"] = attributes["criteria"]

    for name in CREATE_ONLY:
        if name in attributes:
            value = attributes[name]
            if (
                value is not None
                and not (isinstance(value, int) and not isinstance(value, bool))
                and not (isinstance(value, str) and value.isdigit())
            ):
                problem(name, "is invalid", "must be an integer id")
            else:
                clean[name] = None if value is None else str(value)
    if creating and not clean.get("candidate-id") and not any(p[2].endswith("/candidate-id") for p in problems):
        problem("candidate-id", "can't be blank", "can't be blank")
    return clean, problems
