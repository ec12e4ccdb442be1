"""SmartRecruiters' HTTP APIs on the shared client base. Plain Python: no model access.

``SmartRecruitersClient`` calls with a Bearer token from a ``TokenSource`` (a 401 refreshes it once),
SmartRecruiters' 10 requests/s (slots counted until a second after the answer) and 8 in flight per credential
across all workers (the shared limiter), never two ``GET /candidates`` at once per credential (a distributed lock), and a 429 retried with
exponential backoff and full jitter (SmartRecruiters sends no Retry-After).
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote

from integrations.errors import BadRequest, RateLimited, RemoteError
from integrations.http import AtsClient, Rate
from integrations.locks import LockNotAcquired, distributed_lock

from .auth import TokenSource
from .constants import (
    API_HOSTS,
    CANDIDATES_PAGE_LIMIT,
    CONCURRENT_CALLS,
    INTEGRATION_PATH,
    PARTNER_CONFIGURATION_PATH,
    PROVIDER_NAME,
    RATE_PER_SECOND,
    WEBHOOKS_API,
)

# SmartRecruiters' whole 10/s. SmartRecruiters counts arrivals, which a loaded host delays
# unevenly (the sandbox's 300 write-back burst drew a 429 at a full 10/s counted by departure; 9/s
# capped the write-back rate at 90 % of the allowed): the shared limiter's slots count from the
# departure to a second after the answer (integrations.ratelimit.slot), which keeps arrivals within
# the limit without a margin.
RATE = Rate(limit=RATE_PER_SECOND, seconds=1)
RETRIES_ON_429 = 4
BACKOFF_BASE = 0.5
BACKOFF_CAP = 8.0
CANDIDATES_LOCK_TIMEOUT = 60.0
MAX_PAGES = 10_000
MESSAGES_PAGE_LIMIT = 100


def backoff_429(attempt: int) -> float:
    """Full jitter over ``BACKOFF_BASE * 2**attempt`` (capped)."""
    return random.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt))


def _seg(value: str) -> str:
    """One path segment: an id from a payload or a setting never adds segments or a query."""
    return quote(str(value), safe="")


def _json(response) -> Any:
    if response.status_code == 204 or not response.content:
        return {}
    try:
        return response.json()
    except ValueError as exc:
        raise RemoteError(f"SmartRecruiters answered {response.status_code} with a body that is not JSON") from exc


class SmartRecruitersClient(AtsClient):
    def __init__(self, *, base_url: str, tokens: TokenSource, **kwargs: Any):
        self.tokens = tokens
        token = tokens.token()
        self._token = token
        super().__init__(
            provider=PROVIDER_NAME,
            base_url=base_url,
            allowed_hosts=API_HOSTS,
            credential=tokens.credentials.client_id + ":" + tokens.credentials.client_secret,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            refresh=self._refresh,
            rate=kwargs.pop("rate", RATE),
            concurrency=kwargs.pop("concurrency", CONCURRENT_CALLS),
            **kwargs,
        )

    def _refresh(self) -> Mapping[str, str]:
        self._token = self.tokens.token(force=True, rejected=self._token)
        return {"Authorization": f"Bearer {self._token}"}

    def call(self, method: str, url_or_path: str, **kwargs: Any):
        """``request`` with a 429 retried after an exponential backoff with jitter (the key is
        also held back in the shared limiter meanwhile)."""
        for attempt in range(RETRIES_ON_429 + 1):
            try:
                return self.request(method, url_or_path, **kwargs)
            except RateLimited as exc:
                if attempt == RETRIES_ON_429 or exc.status_code != 429:
                    raise
                time.sleep(backoff_429(attempt))
        raise AssertionError("unreachable")

    def json(self, method: str, url_or_path: str, **kwargs: Any) -> Any:
        return _json(self.call(method, url_or_path, **kwargs))

    # --- customer API ---------------------------------------------------------------------------
    def _pages(self, path: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            page = self._page(path, params)
            yield page
            next_id = str(page.get("nextPageId") or "") if isinstance(page, dict) else ""
            if not next_id or next_id in seen or not page.get("content"):
                return
            seen.add(next_id)
            params = {**params, "pageId": next_id}

    def _page(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        body = self.json("GET", path, params=params)
        if not isinstance(body, dict):
            raise RemoteError(f"SmartRecruiters {path} answered JSON that is not an object")
        return body

    def candidates(self, *, updated_after: str = "", status: str = "") -> Iterator[dict[str, Any]]:
        """Pages of ``GET /candidates`` (``limit`` 100, ``pageId`` <- ``nextPageId``). Only one
        call per credential at a time across all workers: each page holds the lock."""
        params: dict[str, Any] = {"limit": CANDIDATES_PAGE_LIMIT}
        if updated_after:
            params["updatedAfter"] = updated_after
        if status:
            params["status"] = status
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            try:
                with distributed_lock(f"{self.rate_key}:candidates", timeout=CANDIDATES_LOCK_TIMEOUT,
                                      wait=self.rate_max_wait):
                    page = self._page("candidates", params)
            except LockNotAcquired:
                raise RateLimited("another GET /candidates of this credential is still running", retry_after=1.0) from None
            yield page
            next_id = str(page.get("nextPageId") or "")
            if not next_id or next_id in seen or not page.get("content"):
                return
            seen.add(next_id)
            params = {**params, "pageId": next_id}

    def candidate(self, candidate_id: str) -> dict[str, Any]:
        return self.json("GET", f"candidates/{candidate_id}")

    def jobs(self, *, updated_after: str = "") -> Iterator[dict[str, Any]]:
        params: dict[str, Any] = {"limit": CANDIDATES_PAGE_LIMIT}
        if updated_after:
            params["updatedAfter"] = updated_after
        return self._pages("jobs", params)

    def job(self, job_id: str) -> dict[str, Any]:
        return self.json("GET", f"jobs/{job_id}")

    def hiring_processes(self) -> Any:
        return self.json("GET", "configuration/hiring-processes")

    def hiring_process(self, process_id: str) -> dict[str, Any]:
        return self.json("GET", f"configuration/hiring-processes/{process_id}")

    def application(self, candidate_id: str, job_id: str) -> dict[str, Any]:
        return self.json("GET", f"candidates/{candidate_id}/jobs/{job_id}")

    def application_status_set(self, candidate_id: str, job_id: str, *, status: str, sub_status: str = "") -> Any:
        body: dict[str, str] = {"status": status}
        if sub_status:
            body["subStatus"] = sub_status
        return self.json("PUT", f"candidates/{candidate_id}/jobs/{job_id}/status", json=body)

    def message_share(self, *, content: str, job_id: str, correlation_id: str = "") -> Any:
        body: dict[str, Any] = {"content": content, "shareWith": {"hiringTeamOf": [job_id]}}
        if correlation_id:
            body["correlationId"] = correlation_id
        return self.json("POST", "messages/shares", json=body)

    def messages(self, *, candidate_id: str, job_id: str = "", page_id: str = "",
                 limit: int = MESSAGES_PAGE_LIMIT) -> dict[str, Any]:
        """One page of ``GET /messages?candidateId=&jobId=&pageId=&limit=``: the candidate's
        messages (notes), newest first, a MessagesView ``{content: [{id, content, ...}],
        nextPageId?}``. SmartRecruiters answers it only for a user with the ADMINISTRATOR role
        (403 otherwise)."""
        params: dict[str, Any] = {"candidateId": candidate_id, "limit": limit}
        if job_id:
            params["jobId"] = job_id
        if page_id:
            params["pageId"] = page_id
        return self._page("messages", params)

    def application_attachments(self, candidate_id: str, job_id: str) -> Any:
        """``GET /candidates/{id}/jobs/{jobId}/attachments``: ``{totalFound, content: [{id, name, ...}]}``."""
        return self.json("GET", f"candidates/{_seg(candidate_id)}/jobs/{_seg(job_id)}/attachments")

    def application_attachment_add(self, candidate_id: str, job_id: str, *, filename: str, content: bytes,
                                   attachment_type: str, content_type: str = "application/pdf") -> Any:
        """``POST /candidates/{id}/jobs/{jobId}/attachments``: multipart ``file`` + ``attachmentType``."""
        return self.json("POST", f"candidates/{_seg(candidate_id)}/jobs/{_seg(job_id)}/attachments",
                         files={"file": (filename, content, content_type)}, data={"attachmentType": attachment_type})

    def candidate_properties(self) -> Any:
        """``GET /configuration/candidate-properties``: ``{totalFound, content: [{id, label, type, ...}]}``."""
        return self.json("GET", "configuration/candidate-properties")

    def application_property_set(self, candidate_id: str, job_id: str, property_id: str, *, value: Any) -> Any:
        """``PUT /candidates/{id}/jobs/{jobId}/properties/{propertyId}`` ``{"value": ...}`` (204)."""
        return self.json("PUT", f"candidates/{_seg(candidate_id)}/jobs/{_seg(job_id)}/properties/{_seg(property_id)}",
                         json={"value": value})

    def get_link(self, link: str) -> Any:
        """The current state behind a webhook's ``link`` (host-checked by the base)."""
        return self.json("GET", link)

    # --- assessment API (results) -----------------------------------------------------------------
    def result_patch(self, *, results_url: str, body: Mapping[str, Any]) -> Any:
        return self.json("PATCH", results_url, json=dict(body), headers={"Content-Type": "application/json"})

    def result_attachment(self, *, results_url: str, filename: str, content: bytes, content_type: str = "application/pdf") -> Any:
        url = results_url.rstrip("/") + "/attachment"
        return self.json("POST", url, files={"attachment": (filename, content, content_type)})

    def assessment_orders(self, *, application_id: str) -> Any:
        return self.json("GET", "/assessment-api/v202107/assessment-orders", params={"applicationId": application_id})

    # --- webhooks API -----------------------------------------------------------------------------
    def subscription_create(self, *, callback_url: str, events: list[str], alerting_email: str = "") -> dict[str, Any]:
        body: dict[str, Any] = {"callbackUrl": callback_url, "events": events}
        if alerting_email:
            body["alertingEmailAddress"] = alerting_email
        return self.json("POST", f"{WEBHOOKS_API}/subscriptions", json=body)

    def subscription_activate(self, subscription_id: str) -> Any:
        return self.json("PUT", f"{WEBHOOKS_API}/subscriptions/{subscription_id}/activation")

    def subscription_secret(self, subscription_id: str) -> dict[str, Any]:
        return self.json("POST", f"{WEBHOOKS_API}/subscriptions/{subscription_id}/secret-key")

    def subscription_delete(self, subscription_id: str) -> Any:
        return self.json("DELETE", f"{WEBHOOKS_API}/subscriptions/{subscription_id}")

    # --- partner (master token) -------------------------------------------------------------------
    def partner_configuration_put(self, body: Mapping[str, Any]) -> Any:
        return self.json("PUT", PARTNER_CONFIGURATION_PATH, json=dict(body))

    def partner_configuration_get(self) -> Any:
        return self.json("GET", PARTNER_CONFIGURATION_PATH)

    def integration_set_up(self, *, company_id: str, client_id: str, client_secret: str) -> dict[str, Any]:
        body = self.json("POST", INTEGRATION_PATH.format(company_id=company_id),
                         json={"clientId": client_id, "clientSecret": client_secret})
        if not isinstance(body, dict) or not body.get("clientId") or not body.get("clientSecret"):
            raise BadRequest("SmartRecruiters' setUpIntegration answer has no clientId/clientSecret")
        return body

