"""A customer's own SmartRecruiters app (authorization code grant; OWNAPP.md, SMARTRECRUITERS.md
"Without the marketplace"): the authorize redirect and its one-time state, the code exchange, the
connect sequence (the webhook subscription and the first sync are the marketplace install's), the
tokens (refreshed by one worker at a time, a rotated refresh token saved at once), the watch on the
calls' 401s and 403s, and the disconnect. Such a connection is trigger mode only: no orders.

Token writes survive a caller's rollback: the write-back and the webhook processing call
SmartRecruiters inside a savepoint that an error undoes, so a rotated refresh token is also kept
in the shared cache (encrypted; the newer of the two wins), and a connection is flagged "needs
attention" by a task, in a transaction of its own.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.db import transaction
from django.urls import reverse
from oauthlib.oauth2.rfc6749 import errors as oauth_errors
from requests_oauthlib import OAuth2Session

from integrations.errors import AuthFailed, BadRequest, ClientError, HostNotAllowed, RemoteError, UnexpectedRedirect
from integrations.http import AtsClient, credential_fingerprint, host_allowed
from integrations.locks import LockNotAcquired, distributed_lock
from integrations.models import Connection, ConnectionStatus
from integrations.services import connection_status_set
from integrations.sync import sync_after_activation
from tenants.fields import decrypt_str, encrypt_str
from tenants.models import Tenant
from tenants.queueing import enqueue_after_commit, enqueue_now

from . import auth
from .client import SmartRecruitersClient
from .constants import (
    API_HOSTS,
    AUTHORIZE_HOSTS,
    AUTHORIZE_PATH,
    CRED_ACCESS_TOKEN,
    CRED_APP_CLIENT_ID,
    CRED_APP_CLIENT_SECRET,
    CRED_CLIENT_ID,
    CRED_CLIENT_SECRET,
    CRED_EXPIRES_AT,
    CRED_GRANT,
    CRED_REFRESH_TOKEN,
    CRED_SCOPES,
    GRANT_AUTHORIZATION_CODE,
    OWN_APP_SCOPES,
    PROVIDER_NAME,
    SCOPE_CANDIDATES_MANAGE,
    SCOPE_CANDIDATES_READ,
    SCOPE_JOBS_READ,
    SCOPE_USERS_READ,
    SCOPE_WEBHOOKS_MANAGE,
    TOKEN_PATH,
    TOKEN_REFRESH_MARGIN,
    WEBHOOKS_API,
)

logger = logging.getLogger(__name__)

ACTOR = "smartrecruiters:own-app"
STATE_SALT = "integrations.smartrecruiters.own_app.state"
STATE_MAX_AGE = 600  # seconds from the redirect to SmartRecruiters to the callback
SESSION_KEY = "smartrecruiters_own_app"
MAX_PENDING = 5  # authorizations started in one session and not yet back
UNAUTHORIZED_LIMIT = 3  # consecutive 401s on calls -> needs attention
TOKEN_LOCK_TIMEOUT = 30.0
TOKEN_LOCK_WAIT = 35.0
OVERLAY_TIMEOUT = 90 * 24 * 3600  # the cache copy of rotated tokens (longer than a refresh token lives)
CRED_ISSUED_AT = "tokens_issued_at"  # which copy of the tokens is newer (DB or cache)
COMPANY_PATH = "configuration/company"
KNOWN_SCOPES = tuple(OWN_APP_SCOPES.split())

SCOPE_WORDS = {
    SCOPE_CANDIDATES_READ: "read candidates and their applications",
    SCOPE_CANDIDATES_MANAGE: "write notes, files and properties on candidates, and move applications",
    SCOPE_JOBS_READ: "read jobs and hiring processes",
    SCOPE_WEBHOOKS_MANAGE: "subscribe to webhooks (stage moves reach Stagehook at once)",
    SCOPE_USERS_READ: "read users (the job's hiring team)",
}


# --- recruiter-facing errors ----------------------------------------------------------------------
class OwnAppError(Exception):
    """Connecting stopped: ``message`` says what happened, ``fix`` what to do, in recruiter words."""

    def __init__(self, code: str, message: str, fix: str = ""):
        super().__init__(message)
        self.code, self.message, self.fix = code, message, fix


START_AGAIN = "Start again from Connections → “Connect SmartRecruiters (own app)”, in this browser."


def _state_error(code: str) -> OwnAppError:
    messages = {
        "state_invalid": "SmartRecruiters' answer does not match a connection started in this browser session "
                         "(the link was changed, or connecting was started in another browser).",
        "state_expired": "Connecting took longer than 10 minutes, so SmartRecruiters' answer has expired.",
        "state_used": "SmartRecruiters' answer was already used (the page was reloaded, or the link opened twice).",
    }
    return OwnAppError(code, messages[code], START_AGAIN)


# OAuth errors (RFC 6749 and what providers add) that mean the redirect URI was refused; an
# ``invalid_grant`` or ``invalid_request`` whose description names the redirect URI means it too.
REDIRECT_URI_ERRORS = frozenset({"redirect_uri_mismatch", "invalid_redirect_uri", "redirect_uri_invalid"})
_NAMES_REDIRECT_URI = re.compile(r"redirect[\s_-]?ur[il]", re.IGNORECASE)


def _said(description: str) -> str:
    """SmartRecruiters' own ``error_description``, quoted (shortened; escaped by the page)."""
    description = " ".join((description or "").split())[:200]
    return f" SmartRecruiters said: “{description}”" if description else ""


def redirect_uri_refused(error: str, description: str = "") -> bool:
    return error in REDIRECT_URI_ERRORS or (
        error in ("invalid_grant", "invalid_request") and bool(_NAMES_REDIRECT_URI.search(description or "")))


def redirect_uri_error(description: str = "") -> OwnAppError:
    """SmartRecruiters refused our ``redirect_uri`` (at the authorize page or the code exchange)."""
    ours = redirect_uri()
    return OwnAppError(
        "redirect_uri_refused", f"SmartRecruiters refused Stagehook's redirect URI {ours}.{_said(description)}",
        f"Register {ours} exactly (it is case sensitive) as the app's redirect URI in SmartRecruiters (Settings → "
        "Apps & Integrations), then start again. If it is registered exactly so, Stagehook's address changed while "
        "you were connecting: ask the Stagehook vendor to check SITE_URL, then start again.")


def authorize_error(error: str, description: str = "") -> OwnAppError:
    """The ``error`` SmartRecruiters sent back to our callback instead of a code."""
    said = _said(description)
    if error == "access_denied":
        return OwnAppError("access_denied", "Access was denied in SmartRecruiters, so nothing was connected.",
                           "Start again and choose “Allow”. If you may not approve apps, ask a SmartRecruiters admin "
                           "to connect.")
    if error == "invalid_scope":
        return OwnAppError("invalid_scope", f"SmartRecruiters refused the permissions Stagehook asks for.{said}",
                           f"Allow these permissions for the app in SmartRecruiters (Settings → Apps & Integrations): "
                           f"{', '.join(KNOWN_SCOPES)}; then start again.")
    if redirect_uri_refused(error, description):
        return redirect_uri_error(description)
    return OwnAppError(error[:40] or "authorize_failed", f"SmartRecruiters did not authorize Stagehook ({error[:80]}).{said}",
                       START_AGAIN)


# --- settings and URLs ----------------------------------------------------------------------------
def redirect_uri() -> str:
    """Our callback: the app in SmartRecruiters must list exactly this redirect URI."""
    return f"{settings.SITE_URL}{reverse('smartrecruiters:oauth-callback')}"


def token_url() -> str:
    return auth.authorize_base() + TOKEN_PATH


def default_app() -> tuple[str, str]:
    """The vendor's configured app credentials ("" when none)."""
    client_id = getattr(settings, "SMARTRECRUITERS_OWN_APP_CLIENT_ID", "") or ""
    client_secret = getattr(settings, "SMARTRECRUITERS_OWN_APP_CLIENT_SECRET", "") or ""
    return (client_id, client_secret) if client_id and client_secret else ("", "")


def _authorize_host_checked(url: str) -> None:
    """https www.smartrecruiters.com only, plus ATS_EXTRA_ALLOWED_HOSTS (the sandbox locally, where
    oauthlib must also be told that plain http is meant)."""
    extra = settings.ATS_EXTRA_ALLOWED_HOSTS
    if not host_allowed(url, AUTHORIZE_HOSTS, extra_hosts=extra):
        raise HostNotAllowed(f"host {urlsplit(url).hostname!r} is not SmartRecruiters' authorization host")
    if urlsplit(url).scheme == "http":
        # Only reachable for an allow-listed local host: our check above is the guard.
        os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")


class _TokenEndpointSession(OAuth2Session):
    """requests-oauthlib's session held to our HTTP rules: the allow-list, explicit timeouts, no
    redirects followed, no proxies or .netrc from the environment, a 5xx as ``RemoteError``."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.trust_env = False

    # oauthlib refuses a plain-http token URL before any request is made: check the host (and
    # allow http for an allow-listed local host) first, in whichever process exchanges or refreshes.
    def fetch_token(self, token_url, *args, **kwargs):
        _authorize_host_checked(token_url)
        return super().fetch_token(token_url, *args, **kwargs)

    def refresh_token(self, token_url, *args, **kwargs):
        _authorize_host_checked(token_url)
        return super().refresh_token(token_url, *args, **kwargs)

    def request(self, method, url, *args, **kwargs):  # noqa: D401 - requests' signature
        _authorize_host_checked(url)
        kwargs["allow_redirects"] = False
        kwargs["timeout"] = kwargs.get("timeout") or (min(5.0, settings.ATS_HTTP_TIMEOUT), settings.ATS_HTTP_TIMEOUT)
        started = time.monotonic()
        try:
            response = super().request(method, url, *args, **kwargs)
        except requests.RequestException as exc:
            raise RemoteError(f"{method} {urlsplit(url).path} failed: {type(exc).__name__}") from exc
        logger.info("%s %s %s%s -> %s in %d ms", PROVIDER_NAME, method, urlsplit(url).hostname, urlsplit(url).path,
                    response.status_code, (time.monotonic() - started) * 1000)
        if 300 <= response.status_code < 400:
            raise UnexpectedRedirect(f"{method} {urlsplit(url).path} answered {response.status_code}",
                                     status_code=response.status_code)
        if response.status_code >= 500 or response.status_code == 429:
            raise RemoteError(f"{method} {urlsplit(url).path} answered {response.status_code}",
                              status_code=response.status_code)
        return response


# --- the authorize redirect and its state ---------------------------------------------------------
@dataclass(frozen=True)
class PendingAuthorization:
    tenant_id: int
    client_id: str
    client_secret: str
    company_id: str
    popup: bool


def authorization_start(*, session, tenant: Tenant, client_id: str, client_secret: str, company_id: str = "",
                        popup: bool = False) -> str:
    """The URL of SmartRecruiters' authorize page. ``state`` is signed (tenant + a nonce) and
    expires; the nonce, with the app's credentials (secret encrypted), waits in ``session``
    until the callback takes it, once."""
    client_id, client_secret = client_id.strip(), client_secret.strip()
    if not (client_id and client_secret):
        raise OwnAppError("app_missing", "The app's client id and secret are both needed.",
                          "Copy them from the app in SmartRecruiters (Settings → Apps & Integrations).")
    url = auth.authorize_base() + AUTHORIZE_PATH
    try:
        _authorize_host_checked(url)
    except HostNotAllowed:
        raise OwnAppError("host", "Stagehook's SmartRecruiters authorization address is not configured correctly.",
                          "Ask the Stagehook vendor to check SMARTRECRUITERS_AUTHORIZE_BASE.") from None
    nonce = secrets.token_urlsafe(18)
    state = signing.dumps({"n": nonce, "t": tenant.pk, "p": int(popup)}, salt=STATE_SALT)
    pending = dict(session.get(SESSION_KEY) or {})
    for old in sorted(pending, key=lambda k: pending[k].get("at", 0))[: max(0, len(pending) - MAX_PENDING + 1)]:
        pending.pop(old)
    pending[nonce] = {"tenant": tenant.pk, "client_id": client_id, "client_secret": encrypt_str(client_secret),
                      "company_id": company_id.strip()[:128], "popup": bool(popup), "at": time.time()}
    session[SESSION_KEY] = pending
    oauth = OAuth2Session(client_id=client_id, redirect_uri=redirect_uri(), scope=list(KNOWN_SCOPES))
    authorize_url, _ = oauth.authorization_url(url, state=state)
    return authorize_url


def state_popup(state: str) -> bool:
    """Whether a (validly signed) state was started as a pop-up: the error page closes it too."""
    try:
        return bool(signing.loads(state or "", salt=STATE_SALT).get("p"))
    except (signing.BadSignature, AttributeError):
        return False


def authorization_take(*, session, state: str) -> PendingAuthorization:
    """The authorization ``state`` names, removed from ``session`` whatever follows (one use)."""
    try:
        payload = signing.loads(state or "", salt=STATE_SALT, max_age=STATE_MAX_AGE)
    except signing.SignatureExpired:
        try:  # forget it: it can never be used
            nonce = signing.loads(state, salt=STATE_SALT).get("n")
            pending = dict(session.get(SESSION_KEY) or {})
            if pending.pop(nonce, None) is not None:
                session[SESSION_KEY] = pending
        except (signing.BadSignature, AttributeError):
            pass
        raise _state_error("state_expired") from None
    except signing.BadSignature:
        raise _state_error("state_invalid") from None
    if not isinstance(payload, dict):
        raise _state_error("state_invalid")
    pending = dict(session.get(SESSION_KEY) or {})
    entry = pending.pop(str(payload.get("n")), None)
    session[SESSION_KEY] = pending
    if entry is None:
        raise _state_error("state_used")
    if entry.get("tenant") != payload.get("t"):
        raise _state_error("state_invalid")
    return PendingAuthorization(
        tenant_id=int(entry["tenant"]), client_id=str(entry["client_id"]),
        client_secret=decrypt_str(entry["client_secret"]), company_id=str(entry.get("company_id") or ""),
        popup=bool(entry.get("popup")),
    )


# --- tokens ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str
    expires_at: float
    scopes: str  # space separated, as granted

    def as_credentials(self) -> dict[str, Any]:
        return {CRED_ACCESS_TOKEN: self.access_token, CRED_REFRESH_TOKEN: self.refresh_token,
                CRED_EXPIRES_AT: int(self.expires_at), CRED_SCOPES: self.scopes, CRED_ISSUED_AT: time.time()}


def _scope_text(value: Any, fallback: str) -> str:
    if value is None or value == "" or value == []:
        return fallback  # RFC 6749 §5.1: no scope in the answer = the scope asked for
    items = value.split() if isinstance(value, str) else [str(v) for v in value]
    return " ".join(dict.fromkeys(items))


def _tokens(answer: dict[str, Any], *, asked: str, previous_refresh: str = "") -> Tokens:
    access = str(answer.get("access_token") or "")
    refresh = str(answer.get("refresh_token") or previous_refresh or "")
    if not access or not refresh:
        raise BadRequest("SmartRecruiters' token answer has no access_token or refresh_token")
    expires_in = float(answer.get("expires_in") or 0) or 3600.0
    return Tokens(access, refresh, time.time() + expires_in, _scope_text(answer.get("scope"), asked))


def code_exchange(*, pending: PendingAuthorization, code: str) -> Tokens:
    """``grant_type=authorization_code`` at SmartRecruiters' token endpoint (client id and secret
    in the form, ``redirect_uri`` the one the authorize page had)."""
    if not code or len(code) > 2000:
        raise OwnAppError("code_missing", "SmartRecruiters' answer has no authorization code.", START_AGAIN)
    oauth = _TokenEndpointSession(client_id=pending.client_id, redirect_uri=redirect_uri())
    try:
        answer = oauth.fetch_token(token_url(), code=code, client_secret=pending.client_secret, include_client_id=True)
    except oauth_errors.OAuth2Error as exc:
        raise _exchange_error(exc) from None
    except ClientError as exc:
        raise OwnAppError("unreachable", f"SmartRecruiters could not be reached ({exc.message}).",
                          "Try again in a few minutes.") from None
    except (ValueError, Warning):
        raise OwnAppError("token_refused", "SmartRecruiters' token answer could not be read.", START_AGAIN) from None
    try:
        return _tokens(dict(answer), asked=OWN_APP_SCOPES)
    except BadRequest as exc:
        raise OwnAppError("token_refused", exc.message, START_AGAIN) from None


def _exchange_error(exc: oauth_errors.OAuth2Error) -> OwnAppError:
    """The token endpoint's OAuth error (RFC 6749 §5.2) in recruiter words, with its fix and
    SmartRecruiters' ``error_description``: a refused redirect URI is told apart from a code that
    was used or expired (both may come as ``invalid_grant``)."""
    error, description = str(exc.error or ""), str(getattr(exc, "description", "") or "")
    said = _said(description)
    if redirect_uri_refused(error, description):
        return redirect_uri_error(description)
    if isinstance(exc, oauth_errors.InvalidClientError):
        return OwnAppError("client_refused", f"SmartRecruiters did not accept the app's client id and secret.{said}",
                           "Copy both again from the app in SmartRecruiters (Settings → Apps & Integrations), "
                           "then start again.")
    if isinstance(exc, oauth_errors.InvalidGrantError):
        return OwnAppError("code_refused", "SmartRecruiters refused the authorization code: it was already used or "
                           f"has expired.{said}", START_AGAIN)
    return OwnAppError("token_refused", f"SmartRecruiters refused to issue a token ({error[:80]}).{said}", START_AGAIN)


def _overlay_key(connection_id: int) -> str:
    return f"smartrecruiters:own-app:tokens:{connection_id}"


def _refused_key(connection_id: int) -> str:
    return f"smartrecruiters:own-app:refused:{connection_id}"


def _unauthorized_key(connection_id: int) -> str:
    return f"smartrecruiters:own-app:401:{connection_id}"


def _overlay_get(connection_id: int) -> dict[str, Any] | None:
    stored = cache.get(_overlay_key(connection_id))
    if not stored:
        return None
    try:
        return json.loads(decrypt_str(stored))
    except Exception:  # another key set, or garbage: the database copy stands
        return None


def _overlay_set(connection_id: int, values: dict[str, Any]) -> None:
    cache.set(_overlay_key(connection_id), encrypt_str(json.dumps(values)), timeout=OVERLAY_TIMEOUT)


def tokens_forget(*, connection_id: int) -> None:
    """A fresh authorization (or a disconnect): the cached copies and counters go."""
    cache.delete_many([_overlay_key(connection_id), _refused_key(connection_id), _unauthorized_key(connection_id)])


def _current_tokens(connection_id: int) -> dict[str, Any]:
    """The connection's credentials with the newer copy of its tokens (database or cache)."""
    credentials = dict(
        Connection.objects.filter(pk=connection_id).values_list("credentials", flat=True).first() or {}
    )
    overlay = _overlay_get(connection_id)
    if overlay and float(overlay.get(CRED_ISSUED_AT) or 0) > float(credentials.get(CRED_ISSUED_AT) or 0):
        credentials.update(overlay)
    return credentials


class AuthorizationCodeTokenSource:
    """The access token of an own-app connection, ``TokenSource``-like (``token(force=, rejected=)``):
    used until ``TOKEN_REFRESH_MARGIN`` seconds before it expires, then refreshed by one worker at
    a time (a distributed lock, the stored tokens re-read after taking it). Refresh tokens rotate:
    the new pair is saved before the new access token is used. Also told how calls went (the
    client's hooks) to flag the connection: a refused refresh, 3 consecutive 401s, a 403."""

    def __init__(self, connection: Connection):
        credentials = connection.credentials or {}
        self.connection_id = connection.pk
        self.credentials = auth.ClientCredentials(str(credentials.get(CRED_APP_CLIENT_ID) or ""),
                                                  str(credentials.get(CRED_APP_CLIENT_SECRET) or ""))
        self.lock_name = f"smartrecruiters-own-app-token-{connection.pk}"
        self._access = str(credentials.get(CRED_ACCESS_TOKEN) or "")
        self._expires_at = float(credentials.get(CRED_EXPIRES_AT) or 0)
        self._issued_at = float(credentials.get(CRED_ISSUED_AT) or 0)

    def _fresh(self, access: str, expires_at: float) -> bool:
        return bool(access) and expires_at - TOKEN_REFRESH_MARGIN > time.time()

    def token(self, *, force: bool = False, rejected: str = "") -> str:
        if cache.get(_refused_key(self.connection_id)):
            raise AuthFailed(REFRESH_REFUSED)
        overlay = _overlay_get(self.connection_id)
        if overlay and float(overlay.get(CRED_ISSUED_AT) or 0) > self._issued_at:
            self._access, self._expires_at = str(overlay.get(CRED_ACCESS_TOKEN) or ""), float(overlay.get(CRED_EXPIRES_AT) or 0)
            self._issued_at = float(overlay.get(CRED_ISSUED_AT) or 0)
        if not force and self._fresh(self._access, self._expires_at):
            return self._access
        try:
            with distributed_lock(self.lock_name, timeout=TOKEN_LOCK_TIMEOUT, wait=TOKEN_LOCK_WAIT):
                stored = _current_tokens(self.connection_id)
                access, expires_at = str(stored.get(CRED_ACCESS_TOKEN) or ""), float(stored.get(CRED_EXPIRES_AT) or 0)
                # Another worker may have refreshed meanwhile (or, forced by a 401, replaced the refused token).
                if self._fresh(access, expires_at) and (not force or (rejected and access != rejected)):
                    self._access, self._expires_at = access, expires_at
                    return access
                return self._refresh(stored)
        except LockNotAcquired:
            raise RemoteError("another worker is renewing the SmartRecruiters token; try again") from None

    def _refresh(self, stored: dict[str, Any]) -> str:
        refresh_token = str(stored.get(CRED_REFRESH_TOKEN) or "")
        if not refresh_token or not self.credentials.client_secret:
            raise AuthFailed(REFRESH_REFUSED)
        oauth = _TokenEndpointSession(client_id=self.credentials.client_id)
        try:
            answer = oauth.refresh_token(token_url(), refresh_token=refresh_token,
                                         client_id=self.credentials.client_id,
                                         client_secret=self.credentials.client_secret)
        except (oauth_errors.InvalidGrantError, oauth_errors.InvalidClientError,
                oauth_errors.UnauthorizedClientError) as exc:
            cache.set(_refused_key(self.connection_id), exc.error, timeout=OVERLAY_TIMEOUT)
            logger.warning("connection %s: SmartRecruiters refused the refresh token (%s)", self.connection_id, exc.error)
            attention_flag(connection_id=self.connection_id, reason=REFRESH_REFUSED, drop_tokens=True)
            raise AuthFailed(REFRESH_REFUSED, status_code=exc.status_code) from None
        except oauth_errors.OAuth2Error as exc:
            raise AuthFailed(f"SmartRecruiters refused to renew the token ({exc.error})",
                             status_code=exc.status_code) from None
        except (ValueError, Warning):
            raise RemoteError("SmartRecruiters' token answer could not be read") from None
        tokens = _tokens(dict(answer), asked=str(stored.get(CRED_SCOPES) or OWN_APP_SCOPES),
                         previous_refresh=refresh_token)
        values = tokens.as_credentials()
        # The old refresh token is dead now: the new pair first goes where no rollback reaches.
        _overlay_set(self.connection_id, values)
        with transaction.atomic():
            locked = Connection.objects.select_for_update().filter(pk=self.connection_id).first()
            newer = locked is None or float((locked.credentials or {}).get(CRED_ISSUED_AT) or 0) > float(
                stored.get(CRED_ISSUED_AT) or 0)
            # Unless a new authorization stored newer tokens meanwhile (the database copy may also
            # be older than the cache's, after a rollback: this pair replaces both).
            if not newer:
                locked.credentials = {**(locked.credentials or {}), **values}
                locked.save(update_fields=["credentials", "updated_at"])
        self._access, self._expires_at, self._issued_at = tokens.access_token, tokens.expires_at, values[CRED_ISSUED_AT]
        logger.info("connection %s: SmartRecruiters token renewed", self.connection_id)
        return tokens.access_token

    # --- how calls went (OwnAppClient's hooks) -----------------------------------------------------
    def call_succeeded(self) -> None:
        cache.delete(_unauthorized_key(self.connection_id))

    def call_unauthorized(self) -> int:
        key = _unauthorized_key(self.connection_id)
        cache.add(key, 0, timeout=24 * 3600)
        try:
            count = cache.incr(key)
        except ValueError:
            cache.set(key, 1, timeout=24 * 3600)
            count = 1
        if count == UNAUTHORIZED_LIMIT:
            attention_flag(connection_id=self.connection_id, reason=UNAUTHORIZED_REASON)
        return count

    def call_forbidden(self, *, scope: str) -> None:
        attention_flag(connection_id=self.connection_id, reason=scope_reason(scope))


REFRESH_REFUSED = ("SmartRecruiters refused to renew Stagehook's access (the app's authorization was revoked or has "
                   "expired). Re-authorize: Connections → “Connect SmartRecruiters (own app)”.")
UNAUTHORIZED_REASON = (f"SmartRecruiters refused Stagehook's token on {UNAUTHORIZED_LIMIT} calls in a row. "
                       "Re-authorize: Connections → “Connect SmartRecruiters (own app)”.")


def scope_reason(scope: str) -> str:
    """Why a 403 came, in the fix's words: the app's permission ``scope``, and the system role of
    the SmartRecruiters user who authorizes the app (it runs with that user's access, and a
    missing permission and a role without it answer alike; SMARTRECRUITERS.md "Without the
    marketplace"). The fix first, within the connection reason's 300 characters: sync failures
    and the outbox quote it truncated."""
    words = SCOPE_WORDS.get(scope, "")
    return (f"re-authorize with permission {scope}{f' ({words})' if words else ''}, and check that the SmartRecruiters "
            "user who authorizes the app has a system role that allows this: SmartRecruiters refused a call that needs "
            "both")


# Which scope a call needs (OWNAPP.md), when SmartRecruiters' 403 does not name it.
def scope_needed(method: str, path: str) -> str:
    path = "/" + path.lstrip("/")
    if path.startswith(WEBHOOKS_API):
        return SCOPE_WEBHOOKS_MANAGE
    if method != "GET" and (path.startswith("/candidates") or path.startswith("/messages")):
        return SCOPE_CANDIDATES_MANAGE
    if path.startswith("/jobs") or path.startswith("/configuration"):
        return SCOPE_JOBS_READ
    if path.startswith("/users"):
        return SCOPE_USERS_READ
    return SCOPE_CANDIDATES_READ


def scope_named(body: str) -> str:
    """The permission a 403's body names ("" when it names none)."""
    for scope in KNOWN_SCOPES:
        if re.search(rf"\b{scope}\b", body or ""):
            return scope
    return ""


# Calls SmartRecruiters answers only when the user behind the credential has a system role,
# whatever the app's permissions: their 403 (naming no permission) is that role, not a scope to
# re-authorize with, and the connection is not flagged for it (its caller decides).
ROLE_NEEDED: dict[tuple[str, str], tuple[str, str]] = {
    ("GET", "/messages"): ("ADMINISTRATOR", "reading a candidate's messages (GET /messages)"),
}


def role_needed(method: str, path: str) -> tuple[str, str] | None:
    """(role, what it allows) when the call is one of ``ROLE_NEEDED``."""
    return ROLE_NEEDED.get((method.upper(), "/" + path.lstrip("/")))


def role_reason(role: str, what: str) -> str:
    return (f"SmartRecruiters allows {what} to users with the {role} role only, and the SmartRecruiters user who "
            f"authorized the app does not have it")


class OwnAppClient(SmartRecruitersClient):
    """``SmartRecruitersClient`` on an own-app token: its own rate key (per connection), every
    call's outcome reported to the token source, a 403 explained by the permission it lacks (the
    connection flagged), or, on a call only some system roles may make, by that role."""

    def __init__(self, *, base_url: str, tokens: AuthorizationCodeTokenSource, **kwargs: Any):
        super().__init__(base_url=base_url, tokens=tokens, **kwargs)
        self.rate_key = f"{PROVIDER_NAME}:{credential_fingerprint(f'own-app {tokens.connection_id} {base_url}')}"

    def request(self, method: str, url_or_path: str, **kwargs: Any):
        try:
            response = super().request(method, url_or_path, **kwargs)
        except AuthFailed as exc:
            if exc.status_code == 401:
                self.tokens.call_unauthorized()
                raise AuthFailed(f"{exc.message}: SmartRecruiters refused the connection's token", status_code=401) from None
            raise
        self.tokens.call_succeeded()
        return response

    def _raise_for_status(self, response) -> None:
        if response.status_code == 403:
            path, method, body = urlsplit(response.url).path, response.request.method, response.text[:2000]
            named, role = scope_named(body), role_needed(method, path)
            if role and not named:
                raise AuthFailed(f"{method} {path} answered 403: {role_reason(*role)}", status_code=403)
            scope = named or scope_needed(method, path)
            self.tokens.call_forbidden(scope=scope)
            raise AuthFailed(f"{method} {path} answered 403: {scope_reason(scope)}", status_code=403)
        super()._raise_for_status(response)


def own_app_client(connection: Connection, **kwargs: Any) -> OwnAppClient:
    return OwnAppClient(base_url=auth.api_base_for(connection), tokens=AuthorizationCodeTokenSource(connection), **kwargs)


# --- needs attention ------------------------------------------------------------------------------
def attention_flag(*, connection_id: int, reason: str, drop_tokens: bool = False) -> None:
    """Flag the connection in a transaction of its own (a task: the caller's may be rolled back)."""
    from .tasks import smartrecruiters_own_app_attention

    if not enqueue_now(smartrecruiters_own_app_attention, connection_id, reason, drop_tokens):
        own_app_attention_set(connection_id=connection_id, reason=reason, drop_tokens=drop_tokens)


def own_app_attention_set(*, connection_id: int, reason: str, drop_tokens: bool = False) -> bool:
    """Needs attention with ``reason``; the tenant's admins are e-mailed once, on the change (a
    disconnected connection stays as it is). ``drop_tokens``: the refused tokens are deleted."""
    from integrations.tasks import notify_connection_needs_attention

    with transaction.atomic():
        locked = Connection.objects.select_for_update().filter(pk=connection_id, provider=PROVIDER_NAME).first()
        if locked is None or locked.status == ConnectionStatus.DISCONNECTED or not auth.is_own_app(locked):
            return False
        if drop_tokens:
            locked.credentials = {k: v for k, v in (locked.credentials or {}).items()
                                  if k not in (CRED_ACCESS_TOKEN, CRED_REFRESH_TOKEN)}
            locked.save(update_fields=["credentials", "updated_at"])
        was = locked.status
        connection_status_set(connection=locked, status=ConnectionStatus.NEEDS_ATTENTION, actor=ACTOR, reason=reason)
        if was != ConnectionStatus.NEEDS_ATTENTION:
            enqueue_after_commit(notify_connection_needs_attention, locked.pk)
    logger.warning("connection %s needs attention: %s", connection_id, reason[:120])
    return was != ConnectionStatus.NEEDS_ATTENTION


# --- connect --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ConnectResult:
    connection: Connection
    granted: list[str]
    missing: list[str] = field(default_factory=list)
    reconnected: bool = False


def company_lookup(*, access_token: str) -> str:
    """``GET /configuration/company`` -> its ``id`` ("" when SmartRecruiters does not say)."""
    http = AtsClient(provider=PROVIDER_NAME, base_url=auth.api_base(), allowed_hosts=API_HOSTS,
                     credential=access_token,
                     headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"})
    try:
        body = http.get(COMPANY_PATH).json()
    except BadRequest:
        return ""
    except ValueError:
        return ""
    return str(body.get("id") or "")[:128] if isinstance(body, dict) else ""


def own_app_connect(*, pending: PendingAuthorization, code: str, actor: str, alerting_email: str = "") -> ConnectResult:
    """The callback's work: the code for tokens, the company, the connection (created, or the
    company's existing one), its tokens stored encrypted, one webhook subscription (the
    marketplace install's code), active, and its first full sync queued. A failure after the
    tokens leaves the connection pending with the reason; connecting again completes it."""
    from . import services  # services dispatches its customer client to this module

    tenant = Tenant.objects.filter(pk=pending.tenant_id, active=True).first()
    if tenant is None:
        raise OwnAppError("tenant", "This Stagehook workspace is not active.", "Ask your Stagehook administrator.")
    tokens = code_exchange(pending=pending, code=code)
    try:
        company_id = company_lookup(access_token=tokens.access_token) or pending.company_id
    except ClientError as exc:
        raise OwnAppError("unreachable", f"SmartRecruiters could not be reached ({exc.message}).",
                          "Try again in a few minutes.") from None
    if pending.company_id and company_id != pending.company_id:
        raise OwnAppError("company_mismatch", f"The app belongs to SmartRecruiters company {company_id}, not "
                          f"{pending.company_id}.", "Correct the company id on the form (or leave it empty), then start again.")
    if not company_id:
        raise OwnAppError("no_company", "SmartRecruiters did not say which company the app belongs to.",
                          "Enter your SmartRecruiters company id on the form, then start again.")
    granted = tokens.scopes.split()
    missing = [s for s in KNOWN_SCOPES if s not in granted]
    try:
        with distributed_lock(f"smartrecruiters-install-{company_id}", timeout=services.INSTALL_LOCK_TIMEOUT, wait=30.0):
            try:
                connection = services.connection_for_install(tenant=tenant, company_id=company_id)
            except services.InstallFailed as exc:
                raise OwnAppError("company_taken", exc.message,
                                  "Disconnect it in the other workspace first, or ask its administrator.") from None
            reconnected = auth.is_own_app(connection)
            with transaction.atomic():
                locked = Connection.objects.select_for_update().get(pk=connection.pk)
                kept = {k: v for k, v in (locked.credentials or {}).items()
                        if k not in (CRED_CLIENT_ID, CRED_CLIENT_SECRET)}  # marketplace credentials are not ours now
                locked.credentials = {**kept, CRED_GRANT: GRANT_AUTHORIZATION_CODE, CRED_APP_CLIENT_ID: pending.client_id,
                                      CRED_APP_CLIENT_SECRET: pending.client_secret, **tokens.as_credentials()}
                locked.api_base_url = auth.api_base()
                locked.save(update_fields=["credentials", "api_base_url", "updated_at"])
            connection.refresh_from_db()
            tokens_forget(connection_id=connection.pk)
            try:
                services.smartrecruiters_subscription_ensure(connection=connection, alerting_email=alerting_email)
            except ClientError as exc:
                message = f"Connected, but the webhook subscription failed: {exc.message}"
                services.connection_fields_record(connection, status_reason=message[:300])
                fix = (scope_reason(SCOPE_WEBHOOKS_MANAGE) if SCOPE_WEBHOOKS_MANAGE in missing or exc.status_code == 403
                       else "Connect again in a few minutes: the steps already done are not repeated.")
                raise OwnAppError("subscribe_failed", message, fix) from None
            reason = "connected through the company's own app (trigger mode)"
            if missing:
                reason += f"; permissions not granted: {', '.join(missing)}"
            connection_status_set(connection=connection, status=ConnectionStatus.ACTIVE, actor=actor, reason=reason)
    except LockNotAcquired:
        raise OwnAppError("busy", "Another connection of this SmartRecruiters company is being set up.",
                          "Try again in a minute.") from None
    logger.info("smartrecruiters company %s connected through its own app (connection %s)", company_id, connection.pk)
    sync_after_activation(connection=connection)
    return ConnectResult(connection=connection, granted=granted, missing=missing, reconnected=reconnected)


# --- disconnect -----------------------------------------------------------------------------------
def own_app_disconnect(*, connection: Connection, actor: str) -> Connection:
    """The tenant admin's disconnect: disconnected (history kept), our partner credentials for
    it revoked, and after commit the webhook subscription deleted and the app's secret and tokens
    dropped (``services.smartrecruiters_subscription_delete``). SmartRecruiters documents no
    revocation of an own app's tokens: they are deleted here; the app's access is removed in
    SmartRecruiters (Settings → Apps & Integrations)."""
    from . import services

    with transaction.atomic():
        auth.tokens_revoke(connection=connection)
        connection_status_set(connection=connection, status=ConnectionStatus.DISCONNECTED, actor=actor,
                              reason="disconnected in Stagehook")
        transaction.on_commit(lambda: services.enqueue_unsubscribe(connection.pk))
    return connection
