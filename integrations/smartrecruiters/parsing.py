"""SmartRecruiters bodies -> our terms. Lenient: unknown fields ignored, missing ones named.
Plain Python: no model access, no HTTP."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from integrations.http import host_allowed
from integrations.providers import AssessmentOrdered, Candidate, InboundRejected, JobChanged

from .constants import API_HOSTS, BROWSER_HOST_SUFFIX, BROWSER_HOSTS, OPTION_INLINE, OPTION_RETURN_URL

RESULTS_PATH = re.compile(r"/orders/(?P<order_id>[^/]+)/results/?$")


def invalid(message: str) -> InboundRejected:
    """A body we refuse: 400 with a message naming what is wrong."""
    return InboundRejected(400, message)


def json_object(raw_body: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw_body)
    except (ValueError, UnicodeDecodeError):
        raise invalid("the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise invalid("the body must be a JSON object")
    return body


def text(value: Any, limit: int = 300) -> str:
    if value is None or isinstance(value, (dict, list)):
        return ""
    return str(value).strip()[:limit]


def browser_url_allowed(url: str) -> bool:
    """A SmartRecruiters page (``https://*.smartrecruiters.com``), or a sandbox host from
    ``ATS_EXTRA_ALLOWED_HOSTS``: where we may send a browser back to."""
    host = (urlsplit(url).hostname or "").lower() if "://" in (url or "") else ""
    hosts = [host] if host == BROWSER_HOSTS[0] or host.endswith(BROWSER_HOST_SUFFIX) else []
    return host_allowed(url, hosts, extra_hosts=settings.ATS_EXTRA_ALLOWED_HOSTS)


def api_url_allowed(url: str) -> bool:
    return host_allowed(url, API_HOSTS, extra_hosts=settings.ATS_EXTRA_ALLOWED_HOSTS)


def order_id_from_results_url(url: str) -> str:
    """The ``{orderId}`` (a uuid) of ``.../orders/{orderId}/results``, or ""."""
    match = RESULTS_PATH.search(urlsplit(url).path) if url else None
    if not match:
        return ""
    try:
        return str(uuid.UUID(match.group("order_id")))
    except ValueError:
        return ""


def candidate_from(data: Any) -> Candidate:
    data = data if isinstance(data, dict) else {}
    phone = data.get("phoneNumber") or data.get("phone") or ""
    return Candidate(
        remote_id=text(data.get("id"), 128),
        first_name=text(data.get("firstName"), 150),
        last_name=text(data.get("lastName"), 150),
        email=text(data.get("email"), 254),
        phone=text(phone, 40),
        language=text(data.get("applicationLanguage") or data.get("language"), 16),
    )


def job_from(data: Any) -> JobChanged | None:
    if not isinstance(data, dict) or not data.get("id"):
        return None
    return JobChanged(remote_job_id=text(data["id"], 128), title=text(data.get("title") or data.get("name")),
                      status=text(data.get("status"), 64))


@dataclass(frozen=True)
class Order:
    order_id: str
    package_id: str
    company_id: str
    results_url: str
    candidate: Candidate
    job_id: str
    job_title: str
    inline: bool
    return_url: str = ""
    requester_email: str = ""
    fields: dict[str, str] | None = None

    def event(self) -> AssessmentOrdered:
        options: dict[str, Any] = {}
        if self.inline:
            options[OPTION_INLINE] = True
        if self.return_url:
            options[OPTION_RETURN_URL] = self.return_url
        if self.fields:
            options["smartrecruiters_fields"] = dict(self.fields)
        return AssessmentOrdered(
            remote_order_id=self.order_id, package_id=self.package_id, candidate=self.candidate,
            remote_job_id=self.job_id, remote_job_title=self.job_title, callback_url=self.results_url,
            options=options, send_invitation=not self.inline,
        )


def order_parse(body: dict[str, Any], *, inline: bool) -> Order:
    """An ``AssessmentPackageOrderRequest`` (or the inline one): 400 naming every missing field."""
    candidate_data = body.get("candidate")
    job = body.get("job") if isinstance(body.get("job"), dict) else {}
    missing = []
    package_id = text(body.get("assessmentPackageId"), 64)
    if not package_id:
        missing.append("assessmentPackageId")
    results_url = text(body.get("resultCallbackURL"), 1000)
    if not results_url:
        missing.append("resultCallbackURL")
    company_id = text(body.get("companyId"), 128)
    if not company_id:
        missing.append("companyId")
    if not isinstance(candidate_data, dict):
        missing.append("candidate")
    job_id = text(job.get("id"), 128) or text(body.get("jobId"), 128)
    if not job_id:
        missing.append("job.id")
    return_url = ""
    if inline:
        return_url = text(body.get("completedAssessmentCallbackUrl"), 1000)
        if not return_url:
            missing.append("completedAssessmentCallbackUrl")
    candidate = candidate_from(candidate_data)
    if isinstance(candidate_data, dict) and not (candidate.email or candidate.phone):
        missing.append("candidate.email")
    if missing:
        raise invalid("missing required fields: " + ", ".join(missing))
    if not api_url_allowed(results_url):
        raise invalid("resultCallbackURL is not a SmartRecruiters API URL")
    order_id = order_id_from_results_url(results_url)
    if not order_id:
        raise invalid("resultCallbackURL does not end in /orders/{orderId}/results with a uuid orderId")
    if return_url and not browser_url_allowed(return_url):
        raise invalid("completedAssessmentCallbackUrl is not a SmartRecruiters URL")
    requester = body.get("requester") if isinstance(body.get("requester"), dict) else {}
    fields = body.get("fields") if isinstance(body.get("fields"), dict) else {}
    return Order(
        order_id=order_id, package_id=package_id, company_id=company_id, results_url=results_url,
        candidate=candidate, job_id=job_id, job_title=text(job.get("title")), inline=inline,
        return_url=return_url, requester_email=text(requester.get("email"), 254),
        fields={str(k)[:64]: text(v, 200) for k, v in list(fields.items())[:20]},
    )


def requester_parse(header: str) -> str:
    """The ``requester`` header (JSON ``{email}``): its e-mail, or raise ``InboundRejected`` (400)."""
    if not header:
        return ""
    try:
        data = json.loads(header)
    except ValueError:
        raise invalid("the requester header is not valid JSON") from None
    email = data.get("email") if isinstance(data, dict) else None
    if not isinstance(email, str) or "@" not in email or len(email) > 254:
        raise invalid("the requester header needs an email")
    return email.strip()


# --- webhooks -----------------------------------------------------------------------------------
def link_url(header: str) -> str:
    """``<https://...>; rel=self`` (or a bare URL) -> the URL."""
    header = (header or "").strip()
    match = re.match(r"<([^>]*)>", header)
    return (match.group(1) if match else header.split(";")[0]).strip()


def parse_time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


def application_ids(body: Any) -> tuple[str, str, str]:
    """(application_id, candidate_id, job_id) of an ``application.*`` delivery."""
    body = body if isinstance(body, dict) else {}
    return (text(body.get("application_id") or body.get("applicationId"), 128),
            text(body.get("candidate_id") or body.get("candidateId"), 128),
            text(body.get("job_id") or body.get("jobId"), 128))


def application_key(candidate_id: str, job_id: str) -> str:
    """Our id of an application. SmartRecruiters' Customer API addresses an application by
    candidate and job (``/candidates/{id}/jobs/{jobId}``), and so do orders and candidate pages:
    keyed the same way, a webhook, an order and the sync meet on one mirrored application."""
    return f"{candidate_id}:{job_id}"[:128]


def application_from_candidate(candidate: Any) -> dict[str, Any] | None:
    """A candidate page item's primary assignment as an application, or None without one."""
    if not isinstance(candidate, dict) or not candidate.get("id"):
        return None
    assignment = candidate.get("primaryAssignment") if isinstance(candidate.get("primaryAssignment"), dict) else {}
    job = assignment.get("job") if isinstance(assignment.get("job"), dict) else {}
    if not job.get("id"):
        return None
    candidate_id, job_id = text(candidate["id"], 128), text(job["id"], 128)
    status, sub_status = application_status(assignment)
    return {"id": application_key(candidate_id, job_id), "candidate_id": candidate_id, "job_id": job_id,
            "job_title": text(job.get("title")), "status": status, "subStatus": sub_status,
            "updatedOn": text(candidate.get("updatedOn"), 64)}


def application_status(data: Any) -> tuple[str, str]:
    """(status, subStatus) of ``GET /candidates/{id}/jobs/{jobId}`` or a candidate's assignment."""
    data = data if isinstance(data, dict) else {}
    return text(data.get("status"), 64).upper(), text(data.get("subStatus"), 128)
