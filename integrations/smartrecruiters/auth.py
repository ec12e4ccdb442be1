"""Credentials in both directions, and the webhook signature.

- Tokens *we* get from SmartRecruiters (client credentials at ``/identity/oauth/token``): the
  vendor's master credentials (settings) and each company's customer-level credentials (stored
  encrypted on the connection). ``TokenSource`` caches a token (encrypted, in the shared cache)
  until ``TOKEN_REFRESH_MARGIN`` seconds before it expires; one worker at a time refreshes it
  (a distributed lock with a timeout, the cache re-checked after taking it).
- Tokens SmartRecruiters gets from *us*: ``token_server`` is oauthlib's client-credentials server
  over ``PartnerClient`` / ``AccessToken`` (secrets and tokens stored as hashes only).
- ``signature_valid``: the Webhooks API's ``smartrecruiters-signature``.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import logging
import secrets
import time
from dataclasses import dataclass
from urllib.parse import unquote_plus

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from oauthlib.oauth2 import BackendApplicationClient, BackendApplicationServer, RequestValidator
from oauthlib.oauth2.rfc6749.errors import OAuth2Error

from integrations.errors import AuthFailed, RemoteError
from integrations.http import AtsClient, credential_fingerprint
from integrations.locks import LockNotAcquired, distributed_lock
from integrations.models import Connection, ConnectionStatus, secret_hash
from tenants.fields import decrypt_str, encrypt_str

from .constants import (
    API_HOSTS,
    CRED_CLIENT_ID,
    CRED_CLIENT_SECRET,
    CRED_GRANT,
    DEFAULT_API_BASE,
    DEFAULT_AUTHORIZE_BASE,
    GRANT_AUTHORIZATION_CODE,
    OUR_SCOPES,
    OUR_TOKEN_LIFETIME,
    PROVIDER_NAME,
    SIGNATURE_TOLERANCE_SECONDS,
    TOKEN_PATH,
    TOKEN_REFRESH_MARGIN,
)
from .models import AccessToken, PartnerClient

logger = logging.getLogger(__name__)

TOKEN_LOCK_TIMEOUT = 30.0
TOKEN_LOCK_WAIT = 35.0
CLIENT_ID_PREFIX = "sh_sr_"


def is_own_app(connection: Connection) -> bool:
    """A connection made through a customer's own app (authorization code), not the marketplace."""
    return (connection.credentials or {}).get(CRED_GRANT) == GRANT_AUTHORIZATION_CODE


def authorize_base() -> str:
    return (getattr(settings, "SMARTRECRUITERS_AUTHORIZE_BASE", "") or DEFAULT_AUTHORIZE_BASE).rstrip("/")


def api_base() -> str:
    return (getattr(settings, "SMARTRECRUITERS_API_BASE", "") or DEFAULT_API_BASE).rstrip("/")


def api_base_for(connection: Connection) -> str:
    """A connection's API host (per-connection: no regional host is documented), else the setting's."""
    return (connection.api_base_url or api_base()).rstrip("/")


# --- tokens we get from SmartRecruiters ---------------------------------------------------------
@dataclass(frozen=True)
class ClientCredentials:
    client_id: str
    client_secret: str


def master_credentials() -> ClientCredentials:
    client_id = getattr(settings, "SMARTRECRUITERS_CLIENT_ID", "")
    client_secret = getattr(settings, "SMARTRECRUITERS_CLIENT_SECRET", "")
    if not (client_id and client_secret):
        raise AuthFailed("SMARTRECRUITERS_CLIENT_ID / SMARTRECRUITERS_CLIENT_SECRET are not configured")
    return ClientCredentials(client_id, client_secret)


def customer_credentials(connection: Connection) -> ClientCredentials:
    credentials = connection.credentials or {}
    client_id, client_secret = str(credentials.get(CRED_CLIENT_ID) or ""), str(credentials.get(CRED_CLIENT_SECRET) or "")
    if not (client_id and client_secret):
        raise AuthFailed(f"connection {connection.pk} has no SmartRecruiters customer credentials (consent not completed)")
    return ClientCredentials(client_id, client_secret)


class TokenSource:
    """Client-credentials tokens of one credential at one API base, shared by all workers."""

    def __init__(self, *, base_url: str, credentials: ClientCredentials):
        self.base_url = base_url.rstrip("/")
        self.credentials = credentials
        fingerprint = credential_fingerprint(f"{self.base_url} {credentials.client_id} {credentials.client_secret}")
        self.cache_key = f"smartrecruiters:token:{fingerprint}"
        self.lock_name = f"smartrecruiters-token-{fingerprint}"

    def _cached(self) -> str | None:
        stored = cache.get(self.cache_key)
        if not stored:
            return None
        try:
            expires_at, token = float(stored["expires_at"]), decrypt_str(stored["token"])
        except Exception:  # a value from another key set: fetch a fresh one
            return None
        return token if expires_at - TOKEN_REFRESH_MARGIN > time.time() else None

    def token(self, *, force: bool = False, rejected: str = "") -> str:
        """A valid access token. ``force`` fetches a new one unless another worker already
        replaced ``rejected`` (the token a 401 refused) while we waited for the lock."""
        if not force:
            cached = self._cached()
            if cached:
                return cached
        try:
            with distributed_lock(self.lock_name, timeout=TOKEN_LOCK_TIMEOUT, wait=TOKEN_LOCK_WAIT):
                cached = self._cached()
                # Forced by a 401: another worker may have replaced the refused token meanwhile.
                if cached and (not force or (rejected and cached != rejected)):
                    return cached
                token, expires_in = self._fetch()
                cache.set(
                    self.cache_key,
                    {"token": encrypt_str(token), "expires_at": time.time() + expires_in},
                    timeout=max(int(expires_in), 1),
                )
                return token
        except LockNotAcquired:
            raise RemoteError("another worker is refreshing the SmartRecruiters token; try again") from None

    def forget(self) -> None:
        cache.delete(self.cache_key)

    def _fetch(self) -> tuple[str, float]:
        """``POST /identity/oauth/token`` form-encoded (oauthlib's client prepares and parses it; the
        shared HTTP client sends it: allow-list, timeouts, no redirects)."""
        oauth = BackendApplicationClient(client_id=self.credentials.client_id)
        body = oauth.prepare_request_body(include_client_id=True, client_secret=self.credentials.client_secret)
        http = AtsClient(
            provider=PROVIDER_NAME, base_url=self.base_url, allowed_hosts=API_HOSTS,
            credential=self.credentials.client_secret,
        )
        response = http.post(
            TOKEN_PATH, data=body,
            headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
        )
        try:
            token = oauth.parse_request_body_response(response.text)
        except (OAuth2Error, ValueError) as exc:
            raise AuthFailed(f"SmartRecruiters token answer not usable: {type(exc).__name__}") from None
        expires_in = float(token.get("expires_in") or 0) or 3600.0
        return str(token["access_token"]), expires_in


def master_token_source() -> TokenSource:
    return TokenSource(base_url=api_base(), credentials=master_credentials())


def customer_token_source(connection: Connection) -> TokenSource:
    return TokenSource(base_url=api_base_for(connection), credentials=customer_credentials(connection))


# --- credentials and tokens SmartRecruiters gets from us ----------------------------------------
@dataclass(frozen=True)
class MintedClient:
    client: PartnerClient
    client_secret: str  # shown to SmartRecruiters once, never stored


def partner_client_mint(*, connection: Connection) -> MintedClient:
    client_id = CLIENT_ID_PREFIX + secrets.token_hex(12)
    client_secret = secrets.token_urlsafe(32)
    client = PartnerClient.objects.create(connection=connection, client_id=client_id, secret_hash=secret_hash(client_secret))
    return MintedClient(client=client, client_secret=client_secret)


def _live_client(client_id: str) -> PartnerClient | None:
    if not client_id or len(client_id) > 64:
        return None
    return (
        PartnerClient.objects.select_related("connection", "connection__tenant")
        .filter(client_id=client_id, revoked_at__isnull=True, connection__provider=PROVIDER_NAME)
        .exclude(connection__status=ConnectionStatus.DISCONNECTED)
        .first()
    )


def basic_credentials(authorization: str) -> tuple[str, str] | None:
    """(client_id, client_secret) of an ``Authorization: Basic`` header (RFC 6749 §2.3.1: each
    form-urlencoded), ("", "") when it is malformed, None when there is none."""
    scheme, _, value = (authorization or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        return "", ""
    client_id, sep, client_secret = decoded.partition(":")
    if not sep:
        return "", ""
    return unquote_plus(client_id), unquote_plus(client_secret)


class _Validator(RequestValidator):
    """oauthlib's questions answered from our tables (client credentials grant only)."""

    def authenticate_client(self, request, *args, **kwargs) -> bool:
        client_id, client_secret = request.client_id, request.client_secret
        basic = basic_credentials(request.headers.get("Authorization", ""))
        if basic is not None:
            client_id, client_secret = basic
        client = _live_client(str(client_id or ""))
        expected = client.secret_hash if client else secret_hash(secrets.token_hex(8))
        ok = hmac.compare_digest(expected, secret_hash(str(client_secret or "")))
        if not (client and ok and client.connection.tenant.active):
            return False
        request.client = client
        request.client_id = client.client_id
        return True

    def validate_grant_type(self, client_id, grant_type, client, request, *args, **kwargs) -> bool:
        return grant_type == "client_credentials"

    def get_default_scopes(self, client_id, request, *args, **kwargs):
        return list(OUR_SCOPES)

    def validate_scopes(self, client_id, scopes, client, request, *args, **kwargs) -> bool:
        return set(scopes) <= set(OUR_SCOPES)

    def save_bearer_token(self, token, request, *args, **kwargs) -> None:
        client: PartnerClient = request.client
        # Expired tokens of this client are of no use any more (not even as history).
        AccessToken.objects.filter(client=client, expires_at__lt=timezone.now() - dt.timedelta(days=1)).delete()
        AccessToken.objects.create(
            client=client, connection=client.connection, token_hash=secret_hash(token["access_token"]),
            scopes=" ".join(request.scopes or OUR_SCOPES)[:300],
            expires_at=timezone.now() + dt.timedelta(seconds=int(token["expires_in"])),
        )
        # SmartRecruiters needs no scope echo; keep the answer to the contract's fields.
        token.pop("scope", None)


def token_server() -> BackendApplicationServer:
    return BackendApplicationServer(_Validator(), token_expires_in=OUR_TOKEN_LIFETIME)


def connection_for_bearer(authorization: str, *, include_disconnected: bool = False) -> Connection | None:
    """The connection a live access token (``Authorization: Bearer ...``) of ours belongs to.
    ``include_disconnected``: also a token revoked by the disconnect of its own connection (a
    repeated ``DELETE`` of the integration is answered alike)."""
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 200:
        return None
    row = (
        AccessToken.objects.select_related("connection", "connection__tenant")
        .filter(token_hash=secret_hash(token), expires_at__gt=timezone.now())
        .first()
    )
    if row is None or not row.connection.tenant.active:
        return None
    if row.connection.status == ConnectionStatus.DISCONNECTED:
        return row.connection if include_disconnected else None
    return row.connection if row.revoked_at is None else None


def tokens_revoke(*, connection: Connection) -> int:
    now = timezone.now()
    PartnerClient.objects.filter(connection=connection, revoked_at__isnull=True).update(revoked_at=now)
    return AccessToken.objects.filter(connection=connection, revoked_at__isnull=True).update(revoked_at=now)


# --- webhook signatures -------------------------------------------------------------------------
def signature_payload(*, timestamp: str, raw_body: bytes, event_id: str, event_name: str, event_version: str,
                      link: str) -> bytes:
    """``timestamp.body.event-id.event-name.event-version.link``, a missing header counting as empty."""
    return b".".join([timestamp.encode(), raw_body, event_id.encode(), event_name.encode(),
                      event_version.encode(), link.encode()])


def signature_compute(secret: str, payload: bytes) -> str:
    return hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()


def signatures_listed(header: str) -> list[str]:
    """The ``v1`` values of ``v1=<hex>[;v1=<hex>...]`` (other schemes ignored)."""
    found = []
    for part in (header or "").split(";"):
        scheme, sep, value = part.strip().partition("=")
        if sep and scheme.strip() == "v1" and value.strip():
            found.append(value.strip().lower())
    return found


def timestamp_fresh(timestamp: str, *, now: float | None = None) -> bool:
    try:
        sent = int(timestamp.strip())
    except (ValueError, AttributeError):
        return False
    now = time.time() if now is None else now
    return abs(now - sent) <= SIGNATURE_TOLERANCE_SECONDS


def signature_valid(*, header: str, secrets_: list[str], payload: bytes) -> bool:
    """True when any listed ``v1`` matches any of our keys (rotation keeps the old one a while).
    Every comparison is constant-time and all of them run."""
    listed = signatures_listed(header)
    ok = False
    for secret in secrets_:
        if not secret:
            continue
        expected = signature_compute(secret, payload)
        for value in listed:
            ok |= hmac.compare_digest(expected, value)
    return ok
