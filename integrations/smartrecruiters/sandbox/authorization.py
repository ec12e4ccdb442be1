"""A customer's own app ("Without the marketplace"): SmartRecruiters' authorization page and the
authorization-code and refresh-token grants.

- ``GET /identity/oauth/allow?client_id&redirect_uri&scope&state``: an unknown client or a
  redirect_uri the app did not register -> a 400 page "redirect_uri mismatch" (no redirect, as
  SmartRecruiters does); a missing, empty or unknown scope -> back to redirect_uri with
  ``error=invalid_scope``; otherwise the consent page (company, app, the scopes asked, "Allow"
  and "Deny" posting back to the same path). The ``/_sandbox/authorize`` mode ``approve`` or
  ``deny`` answers the GET at once with the redirect a click would give; ``drop_scope`` grants
  every asked scope but that one.
- ``POST /identity/oauth/allow`` (the page's form): Allow -> ``redirect_uri?code=&state=`` (a code
  valid once, ``code_ttl`` seconds); Deny -> ``redirect_uri?error=access_denied&...&state=``.
- ``POST /identity/oauth/token`` with ``grant_type=authorization_code`` (code, client_id,
  client_secret, redirect_uri registered for the app, now, and equal to the authorization
  request's: else ``invalid_grant`` whose description names redirect_uri) or ``refresh_token``
  (refresh_token, client_id, client_secret): ``{access_token, refresh_token, token_type,
  expires_in, scope}``. Refresh tokens rotate; a replayed code is refused and revokes the tokens
  issued for it (RFC 6749 §4.1.2); errors per §5.2.

A part of ``Sandbox`` (app.py), like control.py: it uses the sandbox's ``state`` and live config.
"""

from __future__ import annotations

import html
import json
import secrets
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from werkzeug.wrappers import Request, Response

from .config import SandboxConfig
from .schemas import SCHEMAS
from .state import SandboxState

ALLOW_PATH = "/identity/oauth/allow"
SCOPE_LABELS = {
    "candidates_read": "Read candidates and their applications",
    "candidates_manage": "Manage candidates: statuses, notes, files and properties",
    "jobs_read": "Read jobs, hiring processes and the company's configuration",
    "jobs_manage": "Manage jobs",
    "webhooks_manage": "Manage webhook subscriptions",
    "users_read": "Read users (hiring teams)",
    "configuration_read": "Read the company's configuration",
    "reports_read": "Read reports",
}
# Pending consent pages (the form's hidden id) live this long.
PAGE_TTL = 1800


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json", headers={"Cache-Control": "no-store"})


def _oauth_error(error: str, description: str, status: int = 400) -> Response:
    return _json({"error": error, "error_description": description}, status)


def with_query(url: str, params: dict[str, str]) -> str:
    """``url`` with ``params`` added to its query (the ones it has are kept)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def _page(title: str, body: str, status: int = 200) -> Response:
    document = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)} - SmartRecruiters (sandbox)</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body {{ font-family: system-ui, sans-serif; background: #f4f6f8; margin: 0; }}
main {{ max-width: 32rem; margin: 4rem auto; background: #fff; padding: 2rem; border-radius: 8px;
       box-shadow: 0 1px 4px rgba(0,0,0,.15); }}
h1 {{ font-size: 1.3rem; }} li {{ margin: .3rem 0; }} code {{ background: #eef; padding: 0 .2rem; }}
.buttons {{ display: flex; gap: 1rem; margin-top: 1.5rem; }}
button {{ font-size: 1rem; padding: .6rem 1.4rem; border-radius: 4px; border: 1px solid #888; cursor: pointer; }}
#allow {{ background: #0b7a4b; color: #fff; border-color: #0b7a4b; }}
</style></head>
<body><main>
<p><strong>SmartRecruiters</strong> <small>(sandbox)</small></p>
<h1>{html.escape(title)}</h1>
{body}
</main></body></html>
"""
    return Response(document, status=status, content_type="text/html; charset=utf-8")


class AuthorizationEndpoints:
    """The authorization page and the own-app grants; see the module docstring."""

    state: SandboxState
    _config: SandboxConfig

    # --- apps and their redirect URIs ----------------------------------------------------------
    def redirect_uri_allowed(self, app: dict, redirect_uri: str) -> bool:
        if redirect_uri in app["redirect_uris"]:
            return True
        if not app["loopback_callbacks"]:
            return False
        parts = urlsplit(redirect_uri)
        try:
            parts.port  # noqa: B018  (a bad port raises)
        except ValueError:
            return False
        return (
            parts.scheme == "http"
            and parts.hostname in ("127.0.0.1", "localhost")
            and not parts.username
            and parts.path == self._config.own_app_callback_path
            and not parts.query
            and not parts.fragment
        )

    def _mismatch_page(self, why: str) -> Response:
        return _page(
            "redirect_uri mismatch",
            f"<p>The app cannot be authorized: {html.escape(why)}</p>"
            "<p>Check the app's client id and the redirect URI registered for it in SmartRecruiters "
            "(Settings &rarr; Apps &amp; Integrations).</p>",
            status=400,
        )

    def _requested(self, args) -> tuple[dict | None, dict[str, Any] | Response]:
        """Check an authorization request: (app, its params) or (None, the answer to give)."""
        client_id, redirect_uri = args.get("client_id", ""), args.get("redirect_uri", "")
        state = args.get("state", "")
        with self.state.lock:
            app = self.state.apps.get(client_id)
            app = dict(app) if app else None
        if app is None:
            return None, self._mismatch_page(f"no app with client_id {client_id!r} is registered")
        if not redirect_uri or not self.redirect_uri_allowed(app, redirect_uri):
            return None, self._mismatch_page(f"redirect_uri {redirect_uri!r} is not registered for this app")

        def back(**params: str) -> Response:
            return Response(status=302, headers={"Location": with_query(redirect_uri, {**params, "state": state})})

        response_type = args.get("response_type")
        if response_type not in (None, "code"):
            return None, back(error="unsupported_response_type", error_description=f"response_type {response_type} is not supported")
        asked = list(dict.fromkeys((args.get("scope") or "").split()))
        if not asked:
            return None, back(error="invalid_scope", error_description="scope is required")
        unknown = [s for s in asked if s not in self._config.app_scopes]
        if unknown:
            return None, back(error="invalid_scope", error_description=f"unknown scope {unknown[0]}")
        return app, {"client_id": client_id, "redirect_uri": redirect_uri, "state": state, "scopes": asked}

    def _decide(self, app: dict, request: dict[str, Any], *, allow: bool) -> Response:
        if not allow:
            params = {"error": "access_denied", "error_description": "The user denied access to the app."}
        else:
            with self.state.lock:
                dropped = self.state.authorize_mode["drop_scope"]
            granted = tuple(s for s in request["scopes"] if s != dropped)
            code = self.state.code_issue(app=app, redirect_uri=request["redirect_uri"], scopes=granted, ttl=self._config.code_ttl)
            params = {"code": code}
        location = with_query(request["redirect_uri"], {**params, "state": request["state"]})
        return Response(status=302, headers={"Location": location})

    # --- the authorization page ----------------------------------------------------------------
    def authorize_page(self, request: Request) -> Response:
        app, asked = self._requested(request.args)
        if app is None:
            return asked
        with self.state.lock:
            mode = self.state.authorize_mode["mode"]
            if mode == "page":
                now = self.state.clock()
                self.state.authorize_requests = {
                    k: v for k, v in self.state.authorize_requests.items() if v["expires_at"] > now
                }
                page_id = secrets.token_urlsafe(18)
                self.state.authorize_requests[page_id] = {**asked, "expires_at": now + PAGE_TTL}
            company = self.state.companies.get(app["company_id"], {"name": app["company_id"]})
        if mode != "page":
            return self._decide(app, asked, allow=mode == "approve")
        scopes = "".join(
            f"<li><code>{html.escape(s)}</code> {html.escape(SCOPE_LABELS.get(s, ''))}</li>" for s in asked["scopes"]
        )
        body = (
            f"<p><strong>{html.escape(app['name'])}</strong> asks for access to "
            f"<strong>{html.escape(company['name'])}</strong> in SmartRecruiters:</p>"
            f"<ul>{scopes}</ul>"
            f'<form method="post" action="{ALLOW_PATH}">'
            f'<input type="hidden" name="request" value="{html.escape(page_id)}">'
            '<div class="buttons">'
            '<button type="submit" id="allow" name="decision" value="allow">Allow</button>'
            '<button type="submit" id="deny" name="decision" value="deny">Deny</button>'
            "</div></form>"
        )
        return _page("Authorize the app", body)

    def authorize_decide(self, request: Request) -> Response:
        page_id, decision = request.form.get("request", ""), request.form.get("decision", "")
        if decision not in ("allow", "deny"):
            return _page("Bad request", "<p>Choose Allow or Deny.</p>", status=400)
        with self.state.lock:
            asked = self.state.authorize_requests.pop(page_id, None)
            if asked is not None and asked["expires_at"] <= self.state.clock():
                asked = None
            app = self.state.apps.get(asked["client_id"]) if asked else None
            app = dict(app) if app else None
        if asked is None or app is None:
            return _page(
                "This authorization request has expired",
                "<p>Start again from the app that sent you here.</p>",
                status=400,
            )
        return self._decide(app, asked, allow=decision == "allow")

    # --- the grants ----------------------------------------------------------------------------
    def app_grant(self, grant: str, form, client_id: str, client_secret: str) -> Response:
        schema = "AuthorizationCodeTokenInput" if grant == "authorization_code" else "RefreshTokenInput"
        given = {**form.to_dict(), "grant_type": grant, "client_id": client_id, "client_secret": client_secret}
        missing = [name for name in SCHEMAS[schema]["required"] if not given.get(name)]
        if missing:
            return _oauth_error("invalid_request", f"missing {', '.join(missing)}")
        with self.state.lock:
            app = self.state.apps.get(client_id)
            if app is None or not secrets.compare_digest(app["client_secret"], client_secret):
                return _oauth_error("invalid_client", "Client authentication failed.", 401)
            if grant == "authorization_code":
                return self._code_grant(app, given)
            return self._refresh_grant(app, given)

    def _code_grant(self, app: dict, given: dict) -> Response:
        code = given["code"]
        grant = self.state.codes.get(code)
        if grant is None or grant["client_id"] != app["client_id"]:
            return _oauth_error("invalid_grant", "The authorization code is invalid.")
        if grant["used"]:
            self.state.code_grant_revoke(code)
            return _oauth_error(
                "invalid_grant", "The authorization code was already used; the tokens issued for it are revoked."
            )
        if self.state.clock() >= grant["expires_at"]:
            return _oauth_error("invalid_grant", "The authorization code expired.")
        if not self.redirect_uri_allowed(app, given["redirect_uri"]):  # e.g. removed from the app meanwhile
            return _oauth_error("invalid_grant", f"redirect_uri {given['redirect_uri']!r} is not registered for this app.")
        if given["redirect_uri"] != grant["redirect_uri"]:
            return _oauth_error("invalid_grant", "redirect_uri does not match the one of the authorization request.")
        grant["used"] = True
        answer = self.state.app_tokens_issue(
            client_id=app["client_id"], company_id=grant["company_id"], scopes=grant["scopes"],
            ttl=self._config.app_token_ttl, code=code,
        )
        return _json(answer)

    def _refresh_grant(self, app: dict, given: dict) -> Response:
        record = self.state.refresh_tokens.get(given["refresh_token"])
        if record is None or record["client_id"] != app["client_id"]:
            return _oauth_error("invalid_grant", "The refresh token is invalid.")
        if record["state"] == "rotated":
            return _oauth_error("invalid_grant", "The refresh token was already used (refresh tokens rotate).")
        if record["state"] == "revoked":
            return _oauth_error("invalid_grant", "The refresh token was revoked.")
        record["state"] = "rotated"
        answer = self.state.app_tokens_issue(
            client_id=app["client_id"], company_id=record["company_id"], scopes=record["scopes"],
            ttl=self._config.app_token_ttl, code=record["code"],
        )
        return _json(answer)
