"""JSON:API rendering in Teamtailor's shapes (the reference fixtures): resources with string ids,
kebab-case attributes, relationship links, ``data`` only for included relationships, page-number
paging with ``links.next`` absent on the last page, and Teamtailor's error bodies."""

from __future__ import annotations

import json
import math
import re
from typing import Any
from urllib.parse import urlencode

from werkzeug.wrappers import Response

MEDIA_TYPE = "application/vnd.api+json"

# The relationship names Teamtailor lists on each resource (from the fixtures), in its order.
RELATIONSHIPS = {
    "jobs": [
        "department",
        "role",
        "location",
        "locations",
        "user",
        "questions",
        "candidates",
        "stages",
        "colleagues",
        "team-memberships",
        "picked-questions",
        "requisition",
    ],
    "stages": ["job-applications", "triggers", "job"],
    "candidates": [
        "department",
        "role",
        "job-applications",
        "questions",
        "answers",
        "locations",
        "uploads",
        "custom-field-values",
    ],
    "job-applications": ["candidate", "job", "stage", "reject-reason"],
    "users": ["department", "location", "jobs"],
    "notes": ["candidate", "user"],
    "partner-results": ["candidate", "job"],
}


class ApiError(Exception):
    """Raised anywhere in a handler; rendered as Teamtailor renders that status."""

    def __init__(self, status: int, title: str, detail: str, *, pointer: str | None = None, extra=None):
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.pointer = pointer
        self.extra = extra or []  # further error objects (several 422 problems at once)

    def body(self) -> dict[str, Any] | None:
        if self.status == 401:
            # Teamtailor answers 401 with an empty body (errors/401_unauthorized.json).
            return None
        if self.status == 422:
            return {"errors": [validation_error(self.title, self.detail, self.pointer)] + self.extra}
        return {"errors": [{"status": self.status, "title": self.title, "detail": self.detail}]}


def validation_error(title: str, detail: str, pointer: str | None) -> dict[str, Any]:
    # Shape of errors/422_unprocessable_entity.json: string status, code, source.pointer.
    return {
        "title": title,
        "detail": detail,
        "code": "100",
        "source": {"pointer": pointer or "/data"},
        "status": "422",
    }


def json_response(body: Any, status: int = 200, *, media_type: str = MEDIA_TYPE) -> Response:
    if body is None:
        return Response(b"", status=status)
    return Response(json.dumps(body), status=status, content_type=media_type)


def error_response(error: ApiError) -> Response:
    return json_response(error.body(), error.status)


def relationship_links(base: str, type_: str, id_: str, name: str) -> dict[str, Any]:
    return {
        "links": {
            "self": f"{base}/v1/{type_}/{id_}/relationships/{name}",
            "related": f"{base}/v1/{type_}/{id_}/{name}",
        }
    }


def resource(
    base: str,
    type_: str,
    id_: str,
    attributes: dict[str, Any],
    *,
    links: dict[str, str] | None = None,
    related: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One resource object. ``related`` maps a relationship name to its linkage (a
    ``{type, id}``, a list of them, or None) for the relationships the caller included."""
    relationships = {}
    for name in RELATIONSHIPS[type_]:
        relationships[name] = relationship_links(base, type_, id_, name)
        if related and name in related:
            relationships[name]["data"] = related[name]
    return {
        "id": id_,
        "type": type_,
        "links": links or {"self": f"{base}/v1/{type_}/{id_}"},
        "attributes": attributes,
        "relationships": relationships,
    }


def job_links(base: str, job_id: str, title: str) -> dict[str, str]:
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    careersite = f"{base}/careersite/jobs/{job_id}-{slug}"
    return {
        "careersite-job-url": careersite,
        "careersite-job-apply-url": f"{careersite}/applications/new",
        "careersite-job-apply-iframe-url": f"{careersite}/applications/new?iframe=true",
        "self": f"{base}/v1/jobs/{job_id}",
    }


def page_params(args, *, default: int, maximum: int) -> tuple[int, int]:
    """``page[size]`` / ``page[number]``: a size over the maximum is a 400, as in Teamtailor."""
    try:
        size = int(args.get("page[size]", default))
        number = int(args.get("page[number]", 1))
    except ValueError:
        raise ApiError(400, "Bad Request", "page[size] and page[number] must be integers") from None
    if size > maximum:
        raise ApiError(400, "Bad Request", f"page[size] must be less than or equal to {maximum}")
    if size < 1 or number < 1:
        raise ApiError(400, "Bad Request", "page[size] and page[number] must be positive")
    return size, number


def paginate(
    items: list[Any], *, size: int, number: int, url: str, args
) -> tuple[list[Any], dict[str, Any], dict[str, str]]:
    """The page's items, ``meta`` and ``links`` (first/last always, prev/next when they exist)."""
    record_count = len(items)
    page_count = max(1, math.ceil(record_count / size))
    window = items[(number - 1) * size : number * size]
    other = [(key, value) for key, value in args.items(multi=True) if not key.startswith("page[")]

    def link(page: int) -> str:
        return f"{url}?{urlencode(other + [('page[number]', page), ('page[size]', size)])}"

    links = {"first": link(1), "last": link(page_count)}
    if number > 1:
        links["prev"] = link(min(number - 1, page_count))
    if number < page_count:
        links["next"] = link(number + 1)
    return window, {"record-count": record_count, "page-count": page_count}, links


def include_paths(args, allowed: set[str]) -> set[str]:
    raw = args.get("include", "")
    paths = {part.strip() for part in raw.split(",") if part.strip()}
    unknown = paths - allowed
    if unknown:
        raise ApiError(400, "Bad Request", f"{', '.join(sorted(unknown))} is not a valid relationship to include")
    return paths
