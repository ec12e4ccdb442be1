"""Teamtailor's HTTP APIs on the shared client base: the public API (``/v1``, the company's key) and
the partner API (``/partner/v1``, our partner key). Plain Python: no model access.

Both pin their ``X-Api-Version`` and send ``Content-Type: application/vnd.api+json`` exactly; the
base enforces the host allow-list (so a ``links.next`` or update-url elsewhere is refused), the
shared rate limit, timeouts and the 429 reset wait.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

from integrations.errors import BadRequest, RateLimited, RemoteError
from integrations.http import AtsClient, Rate
from integrations.models import Connection

from . import auth
from .auth import API_HOST_REGIONS, PROVIDER_NAME, REGION_API_HOSTS

PUBLIC_API_VERSION = "20240904"
PARTNER_API_VERSION = "20180828"
MEDIA_TYPE = "application/vnd.api+json"
PAGE_SIZE_MAX = 30
# Teamtailor reports about 50 requests per 10 s per key. The whole of it: the shared limiter's slots
# count from departure to a window after the answer (integrations.ratelimit.slot), so arrivals stay
# within the limit however unevenly requests travel (a departure-counted 45 left the write-back rate
# under 90 % of the allowed: bench/RESULTS.md, writeback_rate).
RATE = Rate(limit=50, seconds=10)
READ_RETRIES_ON_429 = 2


def allowed_hosts_for(*, region: str = "", api_base_url: str = "") -> list[str]:
    """Teamtailor's API host for the connection's region only: an EU company's data never goes to
    another region's host. Dev hosts (the sandbox) come from ATS_EXTRA_ALLOWED_HOSTS in the base."""
    hosts = []
    if region in REGION_API_HOSTS:
        hosts.append(REGION_API_HOSTS[region])
    base_host = (urlsplit(api_base_url).hostname or "").lower() if api_base_url else ""
    if base_host in API_HOST_REGIONS and (not region or API_HOST_REGIONS[base_host] == region):
        hosts.append(base_host)
    return sorted(set(hosts))


def _json(response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError as exc:
        raise RemoteError(f"Teamtailor answered {response.status_code} with a body that is not JSON") from exc
    if not isinstance(body, dict):
        raise RemoteError("Teamtailor answered with JSON that is not an object")
    return body


class _TeamtailorClient(AtsClient):
    api_version = ""
    path_prefix = ""

    def __init__(self, *, api_base_url: str, region: str = "", credential: str, authorization: str, **kwargs: Any):
        if not api_base_url:
            raise BadRequest("the connection has no Teamtailor API host")
        super().__init__(
            provider=PROVIDER_NAME,
            base_url=api_base_url.rstrip("/") + self.path_prefix,
            allowed_hosts=allowed_hosts_for(region=region, api_base_url=api_base_url),
            credential=credential,
            headers={
                "Authorization": authorization,
                "X-Api-Version": self.api_version,
                "Content-Type": MEDIA_TYPE,
                "Accept": MEDIA_TYPE,
            },
            rate=kwargs.pop("rate", RATE),
            **kwargs,
        )

    def get_json(self, url_or_path: str, *, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """GET a JSON:API document. A 429 blocks the key in the shared limiter until Teamtailor's
        ``X-Rate-Limit-Reset``; a read is then asked again (the limiter waits out the block)."""
        for attempt in range(READ_RETRIES_ON_429 + 1):
            try:
                return _json(self.get(url_or_path, params=params))
            except RateLimited as exc:
                if attempt == READ_RETRIES_ON_429 or exc.retry_after is None or exc.retry_after > self.rate_max_wait:
                    raise
        raise AssertionError("unreachable")


class PublicApiClient(_TeamtailorClient):
    """The company's public API (``<host>/v1``), authenticated with ``Token token=<api_key>``."""

    api_version = PUBLIC_API_VERSION
    path_prefix = "/v1"

    def __init__(self, *, api_key: str, api_base_url: str, region: str = "", **kwargs: Any):
        if not api_key:
            raise BadRequest("the connection has no Teamtailor API key")
        super().__init__(
            api_base_url=api_base_url, region=region, credential=api_key,
            authorization=f"Token token={api_key}", **kwargs,
        )

    # --- paging -----------------------------------------------------------------------------
    def paginate(self, path: str, *, params: Mapping[str, Any] | None = None, page_size: int = PAGE_SIZE_MAX) -> Iterator[dict[str, Any]]:
        """Every page of a JSON:API collection, following ``links.next`` until it is absent. The
        next link is an absolute URL from Teamtailor: the base refuses it unless its host is allowed."""
        query = dict(params or {})
        query["page[size]"] = max(1, min(int(page_size), PAGE_SIZE_MAX))
        page = self.get_json(path, params=query)
        seen: set[str] = set()
        while True:
            yield page
            next_url = (page.get("links") or {}).get("next")
            if not next_url or next_url in seen:
                return
            seen.add(next_url)
            page = self.get_json(next_url)

    def paginate_changed(
        self, path: str, *, since: str = "", field: str = "updated-at", params: Mapping[str, Any] | None = None,
        page_size: int = PAGE_SIZE_MAX,
    ) -> Iterator[dict[str, Any]]:
        """Every resource changed at or after ``since``, oldest first, one page per request:
        ``sort=<field>`` and ``filter[<field>][from]`` moved to the newest ``field`` seen after
        each page (keyset paging, so records changing while we page never shift one past us, and
        each page's newest value is a safe resume point). Records at exactly that value are
        asked again and skipped; a page all at one value steps ``page[number]`` instead."""
        size = max(1, min(int(page_size), PAGE_SIZE_MAX))
        base = {**(params or {}), "sort": field, "page[size]": size}
        number, skip = 1, set()  # skip: ids already yielded whose ``field`` equals ``since``
        while True:
            query = dict(base, **{"page[number]": number})
            if since:
                query[f"filter[{field}][from]"] = since
            page = self.get_json(path, params=query)
            raw = [item for item in page.get("data") or [] if isinstance(item, dict)]
            yield {**page, "data": [item for item in raw if str(item.get("id")) not in skip]}
            if not raw or not (page.get("links") or {}).get("next"):
                return
            stamps = {str(item.get("id")): _instant(str((item.get("attributes") or {}).get(field) or "")) for item in raw}
            newest = max(stamps.values())
            if since and newest <= _instant(since):
                number += 1  # a whole page at one timestamp: page on within it
                skip |= set(stamps)
            else:
                since, number = newest.isoformat(), 1
                skip = {item_id for item_id, stamp in stamps.items() if stamp == newest}

    def iter_resources(self, path: str, *, params: Mapping[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        for page in self.paginate(path, params=params):
            yield from page.get("data") or []

    @staticmethod
    def _filters(*, updated_from: str = "", changed_stage_from: str = "", job_id: str = "", include: str = "") -> dict[str, str]:
        params: dict[str, str] = {}
        if updated_from:
            params["filter[updated-at][from]"] = updated_from
        if changed_stage_from:
            params["filter[changed-stage-at][from]"] = changed_stage_from
        if job_id:
            params["filter[job]"] = str(job_id)
        if include:
            params["include"] = include
        return params

    # --- resources ----------------------------------------------------------------------------
    def jobs(self, *, updated_from: str = "") -> Iterator[dict[str, Any]]:
        return self.paginate("jobs", params=self._filters(updated_from=updated_from))

    def job_stages(self, job_id: str) -> Iterator[dict[str, Any]]:
        return self.paginate(f"jobs/{job_id}/stages")

    def candidates(self, *, updated_from: str = "", include: str = "") -> Iterator[dict[str, Any]]:
        return self.paginate("candidates", params=self._filters(updated_from=updated_from, include=include))

    def candidate(self, candidate_id: str, *, include: str = "job-applications,job-applications.stage") -> dict[str, Any]:
        return self.get_json(f"candidates/{candidate_id}", params={"include": include} if include else None)

    def job_applications(
        self, *, updated_from: str = "", changed_stage_from: str = "", job_id: str = "", include: str = ""
    ) -> Iterator[dict[str, Any]]:
        return self.paginate(
            "job-applications",
            params=self._filters(
                updated_from=updated_from, changed_stage_from=changed_stage_from, job_id=job_id, include=include
            ),
        )

    def note_create(self, *, candidate_id: str, text: str, user_id: str = "") -> dict[str, Any]:
        relationships: dict[str, Any] = {"candidate": {"data": {"type": "candidates", "id": str(candidate_id)}}}
        if user_id:
            relationships["user"] = {"data": {"type": "users", "id": str(user_id)}}
        body = {"data": {"type": "notes", "attributes": {"note": text}, "relationships": relationships}}
        return _json(self.post("notes", json=body))

    def validate_credentials(self) -> None:
        """One cheap authenticated call; raises ``AuthFailed`` (401 = bad key or wrong region) etc."""
        self.get_json("jobs", params={"page[size]": 1})


class PartnerApiClient(_TeamtailorClient):
    """Teamtailor's partner API (``<host>/partner/v1``), authenticated with our partner API key."""

    api_version = PARTNER_API_VERSION
    path_prefix = "/partner/v1"

    def __init__(self, *, partner_api_key: str, api_base_url: str, region: str = "", **kwargs: Any):
        if not partner_api_key:
            raise BadRequest("no Teamtailor partner API key is configured")
        super().__init__(
            api_base_url=api_base_url, region=region, credential=partner_api_key,
            authorization=f"Bearer {partner_api_key}", **kwargs,
        )

    def partner_result_create(self, *, candidate_id: str, job_id: str = "", attributes: Mapping[str, Any]) -> dict[str, Any]:
        attrs = dict(attributes)
        attrs["candidate-id"] = _int_or_str(candidate_id)
        if job_id:
            attrs["job-id"] = _int_or_str(job_id)
        return _json(self.post("partner-results", json={"data": {"type": "partner-results", "attributes": attrs}}))

    def partner_result_update(self, *, result_id: str, attributes: Mapping[str, Any], update_url: str = "") -> dict[str, Any]:
        """``PUT <update-url>`` (Teamtailor's own URL, host-checked) or ``partner-results/<id>``."""
        body = {"data": {"type": "partner-results", "id": str(result_id), "attributes": dict(attributes)}}
        return _json(self.put(update_url or f"partner-results/{result_id}", json=body))

    def partner_result_get(self, result_id: str) -> dict[str, Any]:
        return self.get_json(f"partner-results/{result_id}")

    def partner_results(self, *, status: str = "") -> Iterator[dict[str, Any]]:
        params = {"filter[status]": status} if status else {}
        page = self.get_json("partner-results", params=params)
        while True:
            yield page
            next_url = (page.get("links") or {}).get("next")
            if not next_url:
                return
            page = self.get_json(next_url)


def _instant(value: str) -> datetime.datetime:
    """A Teamtailor timestamp as an aware datetime (offsets differ, so strings do not compare)."""
    try:
        moment = datetime.datetime.fromisoformat(value.replace("Z", "+00:00")) if value else datetime.datetime.min
    except ValueError:
        moment = datetime.datetime.min
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.timezone.utc)


def _int_or_str(value: str) -> int | str:
    text = str(value)
    return int(text) if text.isdigit() else text


# --- clients for a connection ---------------------------------------------------------------
def partner_client_for(connection: Connection, **kwargs: Any) -> PartnerApiClient:
    return PartnerApiClient(
        partner_api_key=auth.partner_api_key_for(connection),
        api_base_url=connection.api_base_url,
        region=connection.region,
        **kwargs,
    )


def public_client_for(connection: Connection, **kwargs: Any) -> PublicApiClient:
    credentials = connection.credentials or {}
    return PublicApiClient(
        api_key=str(credentials.get("api_key") or ""),
        api_base_url=connection.api_base_url,
        region=connection.region,
        **kwargs,
    )
