"""The HTTP client base every ATS client builds on. Plain Python: no model access.

Every request: the URL's host is checked against the provider's allow-list (plus
``settings.ATS_EXTRA_ALLOWED_HOSTS``), a slot is taken from the shared rate limiter (keyed by provider
and a hash of the credential; held until the answer is back, as the ATS counts arrivals), explicit (connect, read) timeouts, redirects never followed. Failures
raise ``ClientError`` subclasses carrying an ``ErrorCode``. Logs show method, host, path, status and
duration only: never headers, query strings or bodies (they carry secrets and personal data).
"""

from __future__ import annotations

import contextlib
import email.utils
import hashlib
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from django.conf import settings

from . import ratelimit
from .errors import (
    AuthFailed,
    BadRequest,
    ClientError,
    HostNotAllowed,
    RateLimited,
    RemoteError,
    RemoteTimeout,
    UnexpectedRedirect,
)
from .ratelimit import Rate

__all__ = [
    "AtsClient", "AuthFailed", "BadRequest", "ClientError", "HostNotAllowed", "Rate", "RateLimited",
    "RemoteError", "RemoteTimeout", "UnexpectedRedirect", "credential_fingerprint", "host_allowed",
    "parse_retry_after",
]

logger = logging.getLogger(__name__)

MAX_RETRY_AFTER = 3600.0


def credential_fingerprint(secret: str) -> str:
    """A short, stable, non-reversible name for a credential (rate-limit keys, logs)."""
    return hashlib.sha256(secret.encode()).hexdigest()[:16]


def _split_entry(entry: str) -> tuple[str, int | None]:
    entry = entry.strip().lower()
    if entry.startswith("[") or entry.count(":") != 1:
        return entry.strip("[]"), None
    host, _, port = entry.partition(":")
    return host, int(port) if port.isdigit() else None


def host_allowed(url: str, allowed_hosts: Iterable[str], *, extra_hosts: Iterable[str] = ()) -> bool:
    """True when ``url`` is an https URL on one of ``allowed_hosts`` (any port), or an http(s) URL on
    one of ``extra_hosts`` (entries ``host`` for any port or ``host:port`` for one). No user-info."""
    try:
        parts = urlsplit(url)
        host, port = (parts.hostname or "").lower(), parts.port
    except ValueError:
        return False
    if not host or parts.username is not None or parts.password is not None:
        return False
    if parts.scheme == "https" and host in {h.strip().lower() for h in allowed_hosts}:
        return True
    if parts.scheme in ("http", "https"):
        for entry in extra_hosts:
            entry_host, entry_port = _split_entry(entry)
            if entry_host == host and (entry_port is None or entry_port == port):
                return True
    return False


def parse_retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds to wait from ``Retry-After`` (seconds or an HTTP date) or ``X-Rate-Limit-Reset``
    (seconds, or a Unix time when it is that large); bounded to an hour."""
    now = time.time() if now is None else now
    value = headers.get("Retry-After") or headers.get("X-Rate-Limit-Reset") or headers.get("X-RateLimit-Reset")
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
        if seconds > 1_000_000_000:
            seconds -= now
    except ValueError:
        try:
            seconds = email.utils.parsedate_to_datetime(value).timestamp() - now
        except (TypeError, ValueError):
            return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


class AtsClient:
    """Base of every ATS client.

    ``allowed_hosts``: the provider's hosts for the connection's region (https only);
    ``credential``: the secret whose fingerprint keys the rate limiter (never logged or stored);
    ``headers``: sent with every request (authentication included);
    ``refresh``: called once on a 401, returns headers to merge (e.g. a new ``Authorization``);
    ``rate``: the ATS's limit for one credential, shared by all workers; None = no limit;
    ``rate_max_wait``: how long ``request`` may wait for a slot before raising ``RateLimited``;
    ``concurrency``: at most this many requests of the credential in flight at once, across all
    workers (None = no cap).
    """

    def __init__(
        self,
        *,
        provider: str,
        base_url: str = "",
        allowed_hosts: Iterable[str] = (),
        credential: str = "",
        headers: Mapping[str, str] | None = None,
        refresh: Callable[[], Mapping[str, str]] | None = None,
        rate: Rate | None = None,
        rate_max_wait: float = ratelimit.DEFAULT_MAX_WAIT,
        concurrency: int | None = None,
        timeout: tuple[float, float] | None = None,
        session: requests.Session | None = None,
    ):
        self.provider = provider
        self.base_url = base_url.rstrip("/") + "/" if base_url else ""
        self.allowed_hosts = frozenset(h.lower() for h in allowed_hosts)
        self.rate = rate
        self.rate_max_wait = rate_max_wait
        self.concurrency = concurrency
        self.rate_key = f"{provider}:{credential_fingerprint(credential)}"
        self.headers = dict(headers or {})
        self.refresh = refresh
        if timeout is None:
            timeout = (min(5.0, settings.ATS_HTTP_TIMEOUT), settings.ATS_HTTP_TIMEOUT)
        self.timeout = timeout
        self.session = session or requests.Session()
        # Never pick up proxies, .netrc credentials or CA overrides from the worker's environment.
        self.session.trust_env = False

    # --- helpers -------------------------------------------------------------------------------
    def url_for(self, url_or_path: str) -> str:
        if urlsplit(url_or_path).scheme:
            return url_or_path
        if not self.base_url:
            raise HostNotAllowed("a relative path needs a base URL")
        return urljoin(self.base_url, url_or_path.lstrip("/"))

    def check_host(self, url: str) -> None:
        if not host_allowed(url, self.allowed_hosts, extra_hosts=settings.ATS_EXTRA_ALLOWED_HOSTS):
            host = urlsplit(url).hostname if "://" in url else ""
            logger.warning("%s: refused to call host %r (not on the allow-list)", self.provider, host)
            raise HostNotAllowed(f"host {host!r} is not on the {self.provider} allow-list")

    # --- requests ------------------------------------------------------------------------------
    def request(
        self,
        method: str,
        url_or_path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Any = None,
        files: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """Send one request and return its 2xx response; 401 -> ``refresh`` once and retry once."""
        url = self.url_for(url_or_path)
        response = self._send(method, url, params=params, json=json, data=data, files=files, headers=headers)
        if response.status_code == 401 and self.refresh is not None:
            logger.info("%s: 401, refreshing credentials once", self.provider)
            self.headers.update(self.refresh())
            response = self._send(method, url, params=params, json=json, data=data, files=files, headers=headers)
        self._raise_for_status(response)
        return response

    def get(self, url_or_path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", url_or_path, **kwargs)

    def post(self, url_or_path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", url_or_path, **kwargs)

    def put(self, url_or_path: str, **kwargs: Any) -> requests.Response:
        return self.request("PUT", url_or_path, **kwargs)

    def patch(self, url_or_path: str, **kwargs: Any) -> requests.Response:
        return self.request("PATCH", url_or_path, **kwargs)

    def delete(self, url_or_path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", url_or_path, **kwargs)

    def _send(self, method: str, url: str, *, headers: Mapping[str, str] | None, **kwargs: Any) -> requests.Response:
        self.check_host(url)
        parts = urlsplit(url)
        # The rate slot is held until the answer is back: the ATS counts arrivals (ratelimit.slot).
        rate_slot = (
            ratelimit.slot(self.rate_key, self.rate, max_wait=self.rate_max_wait, in_flight=_seconds(self.timeout) + 5)
            if self.rate is not None else contextlib.nullcontext()
        )
        slot = (
            ratelimit.concurrent(self.rate_key, self.concurrency, max_wait=self.rate_max_wait)
            if self.concurrency else contextlib.nullcontext()
        )
        started = time.monotonic()
        try:
            with rate_slot, slot:
                started = time.monotonic()  # the call itself, not the wait for its slots
                ratelimit.call_sent()  # from here the request may reach the ATS
                response = self.session.request(
                    method, url, headers={**self.headers, **(headers or {})}, timeout=self.timeout,
                    allow_redirects=False, **kwargs,
                )
        except requests.Timeout as exc:
            self._log(method, parts, "timeout", started)
            raise RemoteTimeout(f"{method} {parts.hostname}{parts.path} timed out") from exc
        except requests.RequestException as exc:
            self._log(method, parts, "connection error", started)
            raise RemoteError(f"{method} {parts.hostname}{parts.path} failed: {type(exc).__name__}") from exc
        self._log(method, parts, response.status_code, started)
        return response

    def _log(self, method: str, parts, outcome: int | str, started: float) -> None:
        logger.info(
            "%s %s %s%s -> %s in %d ms", self.provider, method, parts.hostname, parts.path, outcome,
            (time.monotonic() - started) * 1000,
        )

    def _raise_for_status(self, response: requests.Response) -> None:
        status = response.status_code
        if 200 <= status < 300:
            return
        what = f"{response.request.method} {urlsplit(response.url).path} answered {status}"
        if 300 <= status < 400:
            raise UnexpectedRedirect(f"{what} (redirects are not followed)", status_code=status)
        if status == 429:
            retry_after = parse_retry_after(response.headers)
            if retry_after:
                ratelimit.block(self.rate_key, retry_after)
            raise RateLimited(what, status_code=status, retry_after=retry_after)
        if status in (401, 403):
            raise AuthFailed(what, status_code=status)
        if status == 408:
            raise RemoteTimeout(what, status_code=status)
        if 400 <= status < 500:
            raise BadRequest(f"{what}: {_error_excerpt(response)}", status_code=status)
        raise RemoteError(what, status_code=status, retry_after=parse_retry_after(response.headers))


def _seconds(timeout) -> float:
    """The longest a call with ``timeout`` (seconds, or a (connect, read) pair) may run."""
    return float(sum(timeout)) if isinstance(timeout, (tuple, list)) else float(timeout or 0)


def _error_excerpt(response: requests.Response) -> str:
    """The start of an ATS error body, for the admin: ATS error bodies describe the request, not secrets."""
    return response.text[:300].replace("\n", " ")
