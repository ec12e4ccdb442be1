"""Who is calling: Teamtailor's provider keys (JWS or opaque), the partner webhook signature
(``Teamtailor-Signature``), the company webhook signature (``TT-Signature``) and its API hosts.

Pure functions over strings and bytes; the views and the provider decide what a failure answers.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import jwt
from django.conf import settings
from django.http import HttpRequest

from integrations import inbound_cache
from integrations.http import host_allowed
from integrations.models import Connection, ConnectionStatus, secret_hash

from .constants import PROVIDER_NAME

SIGNATURE_TOLERANCE_SECONDS = 300

# Teamtailor's API hosts and the region each serves (a wrong region answers 401 like a bad key).
API_HOST_REGIONS = {
    "api.teamtailor.com": "eu",
    "api.na.teamtailor.com": "us",
    "api.au.teamtailor.com": "au",
}
REGION_API_HOSTS = {region: host for host, region in API_HOST_REGIONS.items()}


class ProviderKeyInvalid(Exception):
    """A provider key that looks like a JWS but does not verify (bad signature, ``alg: none``...)."""


# --- provider keys --------------------------------------------------------------------------------
def bearer_token(request: HttpRequest) -> str:
    """The Bearer credential of ``request``, or "" when there is none."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        return ""
    return token.strip()


def looks_like_jws(key: str) -> bool:
    """Header.payload.signature; an empty signature (``alg: none``) still counts, to be refused."""
    parts = key.split(".")
    return len(parts) == 3 and bool(parts[0]) and bool(parts[1])


def partner_api_key_for(connection: Connection | None) -> str:
    """Our partner API key: the connection's own, else the deployment-wide one."""
    credentials = (connection.credentials or {}) if connection is not None else {}
    return str(credentials.get("partner_api_key") or settings.TEAMTAILOR_PARTNER_API_KEY or "")


def partner_webhook_secret_for(connection: Connection | None) -> str:
    """The secret partner calls are signed with: the connection's own ``webhook_secret``, else
    the deployment's ``TEAMTAILOR_PARTNER_WEBHOOK_SECRET``; "" when neither is set."""
    credentials = (connection.credentials or {}) if connection is not None else {}
    return str(credentials.get("webhook_secret") or getattr(settings, "TEAMTAILOR_PARTNER_WEBHOOK_SECRET", "") or "")


def unsigned_partner_calls_allowed() -> bool:
    """Without any webhook secret, partner calls are accepted only in local development."""
    return bool(settings.DEBUG or getattr(settings, "TEAMTAILOR_ALLOW_UNSIGNED_PARTNER_CALLS", False))


def provider_key_claims_unverified(key: str) -> dict[str, Any]:
    """The claims of a JWS provider key *before* verification — only to find which connection's
    partner API key verifies it. Never trust these claims; ``provider_key_claims`` does."""
    try:
        header = jwt.get_unverified_header(key)
        if header.get("alg") != "HS256":
            raise ProviderKeyInvalid("provider key is not signed with HS256")
        claims = jwt.decode(key, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise ProviderKeyInvalid("provider key is not a valid JWS") from exc
    if not isinstance(claims, dict):
        raise ProviderKeyInvalid("provider key claims are not an object")
    return claims


def provider_key_claims(key: str, *, partner_api_key: str) -> dict[str, Any]:
    """Verify a JWS provider key with our partner API key (HS256 only; ``none`` and every other
    algorithm rejected) and return its claims."""
    if not partner_api_key:
        raise ProviderKeyInvalid("no partner API key configured to verify the provider key")
    try:
        claims = jwt.decode(
            key,
            partner_api_key,
            algorithms=["HS256"],
            options={"require": [], "verify_aud": False},
        )
    except jwt.PyJWTError as exc:
        raise ProviderKeyInvalid("provider key signature does not verify") from exc
    if not isinstance(claims, dict):
        raise ProviderKeyInvalid("provider key claims are not an object")
    return claims


def claim(claims: dict[str, Any], name: str) -> str:
    """A form value from the provider key's claims; Teamtailor may send ``_`` in ids as ``-`` and
    may nest the form under ``data``/``fields``."""
    candidates = [claims]
    for nest in ("data", "fields", "config"):
        if isinstance(claims.get(nest), dict):
            candidates.append(claims[nest])
    for source in candidates:
        for key in (name, name.replace("_", "-")):
            value = source.get(key)
            if isinstance(value, (str, int)) and str(value):
                return str(value)
    return ""


def connection_for_provider_key(key: str) -> Connection | None:
    """The live Teamtailor connection bound to ``key`` (hash lookup), or None; from the brief
    in-process cache (``integrations.inbound_cache``) when it was found a moment ago."""
    if not key:
        return None
    key_hash = secret_hash(key)
    return inbound_cache.cached("teamtailor:provider_key", key_hash, lambda: (
        Connection.objects.select_related("tenant")
        .filter(provider=PROVIDER_NAME, provider_key_hash=key_hash, tenant__active=True)
        .exclude(status=ConnectionStatus.DISCONNECTED)
        .first()
    ))


# --- partner webhook signature ----------------------------------------------------------------------
def signature_parts(header: str) -> dict[str, str]:
    """``t=1,v1=ab,v0=cd`` -> {"t": "1", "v1": "ab", "v0": "cd"}; split on "," then the first "=",
    spaces around keys and values ignored; the first of a repeated key counts."""
    parts: dict[str, str] = {}
    for item in (header or "").split(","):
        key, sep, value = item.partition("=")
        key = key.strip()
        if sep and key and key not in parts:
            parts[key] = value.strip()
    return parts


def _timestamp_fresh(raw: str, *, now: float | None, tolerance: int) -> bool:
    try:
        timestamp = int(raw)
    except (TypeError, ValueError):
        return False
    current = time.time() if now is None else now
    return abs(current - timestamp) <= tolerance


_HEX_DIGEST_LENGTH = 64


def partner_signature_canonical(header: str) -> tuple[int, str] | None:
    """The (timestamp, v1 digest) a ``Teamtailor-Signature`` header stands for, whatever its
    spelling (hex case, spaces, extra ``v0=``/``t=`` parts, order): what a replay check must
    compare. None when the header has no well-formed timestamp and SHA-256 hex digest."""
    parts = signature_parts(header)
    raw_t, digest = parts.get("t", ""), parts.get("v1", "").lower()
    if not raw_t.isdigit() or len(digest) != _HEX_DIGEST_LENGTH:
        return None
    try:
        int(digest, 16)
    except ValueError:
        return None
    return int(raw_t), digest


def partner_signature_fingerprint(header: str) -> str:
    """A stable name of the canonical signature of ``header`` ("" when it has none)."""
    canonical = partner_signature_canonical(header)
    if canonical is None:
        return ""
    return hashlib.sha256(f"{canonical[0]}.{canonical[1]}".encode()).hexdigest()


def partner_signature_valid(
    header: str,
    *,
    secret: str,
    partner_event_id: str,
    now: float | None = None,
    tolerance: int = SIGNATURE_TOLERANCE_SECONDS,
) -> bool:
    """``Teamtailor-Signature: t=<unix>,v1=<hex HMAC_SHA256(secret, f"{t}.{partner_event_id}")>``."""
    parts = signature_parts(header)
    timestamp, received = parts.get("t", ""), parts.get("v1", "")
    if not timestamp or not received or not _timestamp_fresh(timestamp, now=now, tolerance=tolerance):
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.{partner_event_id}".encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), received.lower().encode())


def partner_signature_header(*, secret: str, partner_event_id: str, timestamp: int | None = None) -> str:
    """The header Teamtailor would send (tests and the demo use it)."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.{partner_event_id}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


# --- company webhook signature ----------------------------------------------------------------------
@dataclass(frozen=True)
class CompanySignature:
    version: str  # "v2" | "v1"
    timestamp: str = ""
    digest: str = ""


def company_signature_decode(header: str) -> CompanySignature | None:
    """Decode ``TT-Signature``: v2 = base64("t=<ts>,v2=<hex>"), v1 = base64("<hex>")."""
    try:
        decoded = base64.b64decode((header or "").strip(), validate=True).decode("ascii")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    if not decoded:
        return None
    if "=" in decoded:
        parts = signature_parts(decoded)
        if parts.get("t") and parts.get("v2"):
            return CompanySignature(version="v2", timestamp=parts["t"], digest=parts["v2"].lower())
        return None
    return CompanySignature(version="v1", digest=decoded.lower())


def _compact_payload(raw_body: bytes) -> bytes | None:
    """``JSON.stringify(body.payload)`` as Teamtailor's own verification examples compute it."""
    try:
        body = json.loads(raw_body)
    except ValueError:
        return None
    if not isinstance(body, dict) or "payload" not in body:
        return None
    return json.dumps(body["payload"], separators=(",", ":"), ensure_ascii=False).encode()


def company_signature_valid(
    header: str,
    *,
    secret: str,
    raw_body: bytes,
    data_id: str = "",
    allow_v1: bool = False,
    now: float | None = None,
    tolerance: int = SIGNATURE_TOLERANCE_SECONDS,
) -> bool:
    """Verify ``TT-Signature``. v2 signs f"{ts}." + the raw body (our contract); Teamtailor's docs
    show the payload object serialised compactly, which is accepted as well. v1 (deprecated, no
    timestamp, signs only the data id) only when the connection explicitly allows it."""
    if not secret:
        return False
    signature = company_signature_decode(header)
    if signature is None:
        return False
    key = secret.encode()
    if signature.version == "v2":
        if not _timestamp_fresh(signature.timestamp, now=now, tolerance=tolerance):
            return False
        prefix = f"{signature.timestamp}.".encode()
        messages = [raw_body]
        compact = _compact_payload(raw_body)
        if compact is not None and compact != raw_body:
            messages.append(compact)
        valid = False
        for message in messages:
            expected = hmac.new(key, prefix + message, hashlib.sha256).hexdigest()
            valid |= hmac.compare_digest(expected.encode(), signature.digest.encode())
        return valid
    if not allow_v1 or not data_id:
        return False
    expected = hmac.new(key, str(data_id).encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), signature.digest.encode())


def company_signature_header(*, secret: str, raw_body: bytes, timestamp: int | None = None) -> str:
    """The v2 ``TT-Signature`` Teamtailor would send for ``raw_body`` (tests and the demo)."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + raw_body, hashlib.sha256).hexdigest()
    return base64.b64encode(f"t={timestamp},v2={digest}".encode()).decode()


def truthy(value: Any) -> bool:
    return value is True or str(value).strip().lower() in {"1", "true", "yes", "on"}


# --- API hosts ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ApiHost:
    region: str  # "" when the host is a dev/sandbox host from ATS_EXTRA_ALLOWED_HOSTS
    base_url: str  # scheme + host root, e.g. "https://api.teamtailor.com"


def api_host_resolve(value: str) -> ApiHost | None:
    """Map a ``Teamtailor-Host`` header (``api.na.teamtailor.com``, with or without a scheme) to
    its region and API root; None unless the host is Teamtailor's or in ATS_EXTRA_ALLOWED_HOSTS."""
    value = (value or "").strip()
    if not value:
        return None
    parsed = urlsplit(value if "://" in value else f"//{value}")
    host = (parsed.hostname or "").lower()
    try:
        port = parsed.port
    except ValueError:
        return None
    if not host or parsed.username or parsed.password or parsed.path not in ("", "/") or parsed.query:
        return None
    if host in API_HOST_REGIONS and port in (None, 443) and parsed.scheme in ("", "https"):
        return ApiHost(region=API_HOST_REGIONS[host], base_url=f"https://{host}")
    netloc = f"{host}:{port}" if port else host
    scheme = parsed.scheme or "http"
    # Same rule as the HTTP client base: an entry "host" allows any port, "host:port" one.
    if scheme in ("http", "https") and host_allowed(
        f"{scheme}://{netloc}/", (), extra_hosts=getattr(settings, "ATS_EXTRA_ALLOWED_HOSTS", [])
    ):
        return ApiHost(region="", base_url=f"{scheme}://{netloc}")
    return None


# --- headers on every partner call ----------------------------------------------------------------
API_TOKEN_MAX_LENGTH = 512


class RegionChangeRefused(Exception):
    """``Teamtailor-Host`` names another region's host than the connection's: data residency says
    the connection's data stays where it is, so the call is refused rather than followed."""

    def __init__(self, current_region: str, new_region: str):
        super().__init__(f"Teamtailor-Host is in region {new_region}, the connection in {current_region}")
        self.current_region = current_region
        self.new_region = new_region


@dataclass(frozen=True)
class PartnerHeaders:
    """What a partner call's headers change on its connection: a new API host (None: keep it) and
    a new company API key ("": keep it). ``host_ignored``: a host was sent that we do not call."""

    api_host: ApiHost | None = None
    api_token: str = ""
    host_ignored: bool = False

    @property
    def changes(self) -> bool:
        return self.api_host is not None or bool(self.api_token)


def _base_url_key(url: str) -> str:
    return (url or "").strip().rstrip("/").lower()


def connection_region(connection: Connection) -> str:
    """The connection's data region: its own, else the region of the Teamtailor host it calls."""
    if connection.region:
        return connection.region
    host = (urlsplit(connection.api_base_url or "").hostname or "").lower()
    return API_HOST_REGIONS.get(host, "")


def partner_headers_check(*, connection: Connection, teamtailor_host: str, api_token: str) -> PartnerHeaders:
    """Compare ``Teamtailor-Host`` and ``Teamtailor-Api-Token`` with the connection.

    A host is taken only when it is Teamtailor's (or in ATS_EXTRA_ALLOWED_HOSTS) and differs from
    the connection's; one of another region raises RegionChangeRefused (a dev host from
    ATS_EXTRA_ALLOWED_HOSTS has no region and keeps the connection's). An API token is taken when
    it is present, plausible and differs from the stored one. Reads only; the caller writes."""
    api_host = None
    host_ignored = False
    if (teamtailor_host or "").strip():
        resolved = api_host_resolve(teamtailor_host)
        if resolved is None:
            host_ignored = True
        elif _base_url_key(resolved.base_url) != _base_url_key(connection.api_base_url):
            current = connection_region(connection)
            if resolved.region and current and resolved.region != current:
                raise RegionChangeRefused(current, resolved.region)
            api_host = resolved
    token = (api_token or "").strip()
    if token and (len(token) > API_TOKEN_MAX_LENGTH or not token.isprintable() or " " in token):
        token = ""
    if token and hmac.compare_digest(token.encode(), str((connection.credentials or {}).get("api_key") or "").encode()):
        token = ""
    return PartnerHeaders(api_host=api_host, api_token=token, host_ignored=host_ignored)


def partner_headers_of(request: HttpRequest, *, connection: Connection) -> PartnerHeaders:
    return partner_headers_check(
        connection=connection,
        teamtailor_host=request.headers.get("Teamtailor-Host", ""),
        api_token=request.headers.get("Teamtailor-Api-Token", ""),
    )
