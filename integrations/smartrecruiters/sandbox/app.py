"""The sandbox's WSGI application: SmartRecruiters' identity token endpoint, the Assessment
Partner API (partner configuration, setUpIntegration, results, attachments, assessment orders),
the Webhooks API (subscriptions, activation handshake, signing keys) and the Customer API subset
Stagehook uses (with a customer's own app: the company, files on applications, candidate
properties, notes posted and listed). The ``/_sandbox/`` control endpoints and everything the
sandbox sends live in control.py; the authorization page and the authorization-code and
refresh-token grants of a customer's own app in authorization.py.

Tokens are of three kinds: ``master`` (the partner's), ``customer`` (the marketplace
integration's client credentials) and ``app`` (a customer's own app, authorization code): an app
token reaches the Customer API and the Webhooks API only, and each endpoint needs the scope
``_APP_NEEDS`` names (403 "Missing scope ..." otherwise) and, for ``_APP_ROLE_NEEDS``, the system
role of the user who authorized the app (403 naming the role: only ADMINISTRATOR reads messages).

Order of checks on an API request: rate window per credential (``X-RateLimit-*`` on every answer,
429 when spent), injected faults, the token (401 missing/unknown/expired), its kind and scope (403),
media type (415), body (400, validated against the contract's schemas), then the resource (404,
409)."""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import re
import secrets
from collections.abc import Callable
from typing import Any

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from integrations.sandbox import ControlError, KitSettings, PathLimit, RateHeaders, RateRules, Routes, SandboxKit, control_error

from .authorization import ALLOW_PATH, AuthorizationEndpoints
from .config import SANDBOX_DEFAULTS, SandboxConfig
from .control import CONTROL_RULES, ControlEndpoints
from .schemas import SCHEMAS, problems
from .state import APP_ATTACHMENT_TYPES, MESSAGES_ROLE, SandboxState, isoformat, merge_patch, parse_time

PARTNER = "/assessment-api/v202010"
ORDERS_V2 = "/assessment-api/v202107"
WEBHOOKS = "/webhooks-api/v201907"

# (endpoint, token kind, scope); the kind is "master" or "customer".
_RULES = [
    Rule("/identity/oauth/token", endpoint="identity_token", methods=["POST"]),
    Rule(ALLOW_PATH, endpoint="authorize_page", methods=["GET"]),
    Rule(ALLOW_PATH, endpoint="authorize_decide", methods=["POST"]),
    Rule(f"{PARTNER}/partner/configuration", endpoint="configuration_show", methods=["GET"]),
    Rule(f"{PARTNER}/partner/configuration", endpoint="configuration_put", methods=["PUT"]),
    Rule(f"{PARTNER}/integration/company/<company_id>", endpoint="integration_set_up", methods=["POST"]),
    Rule(f"{PARTNER}/orders/<order_id>/results", endpoint="results_patch", methods=["PATCH"]),
    Rule(f"{PARTNER}/orders/<order_id>/results/attachment", endpoint="attachment_create", methods=["POST"]),
    Rule(f"{ORDERS_V2}/assessment-orders", endpoint="assessment_orders", methods=["GET"]),
    Rule(f"{WEBHOOKS}/subscriptions", endpoint="subscriptions_list", methods=["GET"]),
    Rule(f"{WEBHOOKS}/subscriptions", endpoint="subscription_create", methods=["POST"]),
    Rule(f"{WEBHOOKS}/subscriptions/<sub_id>", endpoint="subscription_show", methods=["GET"]),
    Rule(f"{WEBHOOKS}/subscriptions/<sub_id>", endpoint="subscription_delete", methods=["DELETE"]),
    Rule(f"{WEBHOOKS}/subscriptions/<sub_id>/activation", endpoint="subscription_activate", methods=["PUT"]),
    Rule(f"{WEBHOOKS}/subscriptions/<sub_id>/secret-key", endpoint="secret_key_create", methods=["POST"]),
    Rule(f"{WEBHOOKS}/subscriptions/<sub_id>/secret-key", endpoint="secret_key_show", methods=["GET"]),
    Rule(f"{WEBHOOKS}/subscriptions/<sub_id>/callbacks-log", endpoint="callbacks_log", methods=["GET"]),
    Rule("/candidates", endpoint="candidates_list", methods=["GET"]),
    Rule("/candidates/<cid>", endpoint="candidate_show", methods=["GET"]),
    Rule("/candidates/<cid>/jobs/<job_id>", endpoint="application_show", methods=["GET"]),
    Rule("/candidates/<cid>/jobs/<job_id>/status", endpoint="application_status_put", methods=["PUT"]),
    Rule("/candidates/<cid>/jobs/<job_id>/attachments", endpoint="application_attachments_list", methods=["GET"]),
    Rule("/candidates/<cid>/jobs/<job_id>/attachments", endpoint="application_attachment_create", methods=["POST"]),
    Rule("/candidates/attachments/<attachment_id>", endpoint="application_attachment_download", methods=["GET"]),
    Rule("/candidates/<cid>/jobs/<job_id>/properties", endpoint="property_values_list", methods=["GET"]),
    Rule("/candidates/<cid>/jobs/<job_id>/properties/<property_id>", endpoint="property_value_put", methods=["PUT"]),
    Rule("/jobs", endpoint="jobs_list", methods=["GET"]),
    Rule("/jobs/<job_id>", endpoint="job_show", methods=["GET"]),
    Rule("/jobs/<job_id>/hiring-team", endpoint="hiring_team_list", methods=["GET"]),
    Rule("/configuration/hiring-processes", endpoint="hiring_processes_list", methods=["GET"]),
    Rule("/configuration/hiring-processes/<process_id>", endpoint="hiring_process_show", methods=["GET"]),
    Rule("/configuration/company", endpoint="company_show", methods=["GET"]),
    Rule("/configuration/candidate-properties", endpoint="candidate_properties_list", methods=["GET"]),
    Rule("/configuration/candidate-properties/<property_id>", endpoint="candidate_property_show", methods=["GET"]),
    Rule("/messages/shares", endpoint="share_create", methods=["POST"]),
    Rule("/messages", endpoint="messages_list", methods=["GET"]),
    *CONTROL_RULES,
]

# Endpoints an app's token reaches only when the user behind the app has this system role.
_APP_ROLE_NEEDS: dict[str, str] = {"messages_list": MESSAGES_ROLE}

# What each API endpoint needs of the token: its kind and one scope.
_NEEDS: dict[str, tuple[str, str]] = {
    "configuration_show": ("master", "partner_configuration_manage"),
    "configuration_put": ("master", "partner_configuration_manage"),
    "integration_set_up": ("master", "partner_configuration_manage"),
    "results_patch": ("customer", "assessment_result_manage"),
    "attachment_create": ("customer", "assessment_result_manage"),
    "assessment_orders": ("customer", "assessment_orders_read"),
    "subscriptions_list": ("customer", "webhooks_manage"),
    "subscription_create": ("customer", "webhooks_manage"),
    "subscription_show": ("customer", "webhooks_manage"),
    "subscription_delete": ("customer", "webhooks_manage"),
    "subscription_activate": ("customer", "webhooks_manage"),
    "secret_key_create": ("customer", "webhooks_manage"),
    "secret_key_show": ("customer", "webhooks_manage"),
    "callbacks_log": ("customer", "webhooks_manage"),
    "candidates_list": ("customer", "candidates_read"),
    "candidate_show": ("customer", "candidates_read"),
    "application_show": ("customer", "candidates_read"),
    "application_status_put": ("customer", "candidates_manage"),
    "jobs_list": ("customer", "jobs_read"),
    "job_show": ("customer", "jobs_read"),
    "hiring_team_list": ("customer", "jobs_read"),
    "hiring_processes_list": ("customer", "configuration_read"),
    "hiring_process_show": ("customer", "configuration_read"),
    "share_create": ("customer", "messages_write"),
    "messages_list": ("customer", "messages_read"),
    "application_attachments_list": ("customer", "candidates_read"),
    "application_attachment_create": ("customer", "candidates_manage"),
    "application_attachment_download": ("customer", "candidates_read"),
    "property_values_list": ("customer", "candidates_read"),
    "property_value_put": ("customer", "candidates_manage"),
    "company_show": ("customer", "configuration_read"),
    "candidate_properties_list": ("customer", "configuration_read"),
    "candidate_property_show": ("customer", "configuration_read"),
}

# The scope a customer's own app's token (authorization code) needs for each endpoint it may call
# (the Customer API and the Webhooks API; never the Assessment Partner API).
_APP_NEEDS: dict[str, str] = {
    **{e: "candidates_read" for e in (
        "candidates_list", "candidate_show", "application_show", "application_attachments_list",
        "application_attachment_download", "property_values_list", "messages_list",
    )},
    **{e: "candidates_manage" for e in (
        "application_status_put", "application_attachment_create", "property_value_put", "share_create",
    )},
    **{e: "jobs_read" for e in (
        "jobs_list", "job_show", "hiring_team_list", "hiring_processes_list", "hiring_process_show", "company_show",
        "candidate_properties_list", "candidate_property_show",
    )},
    **{e: "webhooks_manage" for e, (_kind, scope) in _NEEDS.items() if scope == "webhooks_manage"},
}

RATE_HEADERS = RateHeaders(
    limit="X-RateLimit-Limit",
    remaining="X-RateLimit-Remaining",
    concurrent_limit="X-RateLimit-Concurrent-Limit",
    concurrent_remaining="X-RateLimit-Concurrent-Remaining",
)
REDACTED_HEADERS = ("authorization", "x-hook-secret")
MUTABLE_CONFIG = frozenset(
    {
        "stagehook_url", "rate_limit", "rate_window", "concurrent", "candidates_concurrent", "token_ttl",
        "webhook_timeout", "activation_timeout", "out_of_order_hold", "retry_delays", "key_overlap_seconds",
        "code_ttl", "app_token_ttl",
    }
)
JSON = "application/json"
MAX_ATTACHMENT = 20 * 1024 * 1024


def kit_settings(config: SandboxConfig) -> KitSettings:
    return KitSettings(
        rate=RateRules(
            limit=config.rate_limit,
            window=config.rate_window,
            concurrent=config.concurrent,
            paths=(PathLimit("GET", r"/candidates", config.candidates_concurrent),),
            headers=RATE_HEADERS,
        ),
        webhook_timeout=config.webhook_timeout,
        out_of_order_hold=config.out_of_order_hold,
        redact_headers=REDACTED_HEADERS,
        control_clients=config.control_clients,
    )


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, errors: list[str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.errors = status, code, message, errors or []


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, content_type=JSON, headers=headers)


def error_response(status: int, code: str, message: str, errors: list[str] | None = None) -> Response:
    """SmartRecruiters' error body: ``{id, code, message, errors[]}``."""
    body = {
        "id": secrets.token_hex(8),
        "code": code,
        "message": message,
        "errors": [{"code": code, "message": m} for m in (errors or [message])],
    }
    return json_response(body, status)


def _render_error(status: int, title: str, detail: str) -> Response:
    code = {401: "UNAUTHORIZED", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 429: "TOO_MANY_REQUESTS"}.get(
        status, title.upper().replace(" ", "_")
    )
    return error_response(status, code, detail or title)


def _api_error(exc: Exception) -> Response | None:
    if isinstance(exc, ApiError):
        return error_response(exc.status, exc.code, exc.message, exc.errors)
    return None


def _media_type(request: Request) -> str:
    return (request.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()


def _page_id(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def _offset(page_id: str | None) -> int:
    if not page_id:
        return 0
    try:
        raw = base64.urlsafe_b64decode(page_id + "=" * (-len(page_id) % 4)).decode()
        if not raw.startswith("o:"):
            raise ValueError
        return max(0, int(raw[2:]))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ApiError(400, "INVALID_PAGE_ID", f"pageId {page_id!r} is not a page id this API returned") from None


class Sandbox(ControlEndpoints, AuthorizationEndpoints):
    """A fake SmartRecruiters. Callable as a WSGI app; ``state`` and ``config`` are live."""

    def __init__(self, config: SandboxConfig = SANDBOX_DEFAULTS):
        self._config = config
        self.kit = SandboxKit(
            kit_settings(config),
            name="smartrecruiters",
            render_error=_render_error,
            config_view=self._config_view,
            config_change=self.configure,
            mutable_config=MUTABLE_CONFIG,
            extra_stats=self._extra_stats,
            on_reset=self._reset_state,
            route_label=self._route_label,
        )
        self.state = SandboxState(
            lock=self.kit.lock,
            company_id=config.company_id,
            company_name=config.company_name,
            generated=config.generated_candidates,
        )
        self.outbox = self.kit.outbox
        self.routes = Routes(_RULES)
        self._seed_credentials()
        self._init_outgoing()

    def _seed_credentials(self) -> None:
        config = self._config
        self.state.credentials_add(
            client_id=config.master_client_id, secret=config.master_client_secret, kind="master", company_id=None
        )
        self.state.app_add(
            client_id=config.own_app_client_id, secret=config.own_app_client_secret, company_id=config.company_id,
            name=config.own_app_name, redirect_uris=[], loopback_callbacks=True,
        )

    def _reset_state(self) -> None:
        self.cancel_retries()
        self.state.reset(generated=self._config.generated_candidates)
        self._seed_credentials()

    def close(self) -> None:
        self.cancel_retries()
        self.kit.close()

    # --- configuration -----------------------------------------------------------------------
    @property
    def config(self) -> SandboxConfig:
        return self._config

    def configure(self, **changes: Any) -> SandboxConfig:
        if "retry_delays" in changes:
            changes["retry_delays"] = tuple(float(d) for d in changes["retry_delays"])
        with self.state.lock:
            self._config = dataclasses.replace(self._config, **changes)
            self.kit.update_settings(**vars(kit_settings(self._config)))
            return self._config

    def _config_view(self) -> dict[str, Any]:
        config = self._config
        return {
            "base_url": self.base_url,
            "company_id": config.company_id,
            "master_client_id": config.master_client_id,
            "own_app_client_id": config.own_app_client_id,
            **{name: getattr(config, name) for name in sorted(MUTABLE_CONFIG)},
        }

    def _extra_stats(self) -> dict[str, Any]:
        with self.state.lock:
            return {
                "candidates": len(self.state.candidates),
                "orders": len(self.state.orders),
                "attachments": len(self.state.attachments),
                "subscriptions": len(self.state.subscriptions),
                "deliveries": len(self.state.deliveries),
                "shares": len(self.state.shares),
                "tokens": len(self.state.tokens),
                "apps": len(self.state.apps),
                "refresh_tokens": len(self.state.refresh_tokens),
                "application_attachments": len(self.state.app_attachments),
                "property_values": sum(len(v) for v in self.state.property_values.values()),
            }

    @property
    def base_url(self) -> str:
        return self._config.base_url

    # --- WSGI --------------------------------------------------------------------------------
    def __call__(self, environ, start_response):
        request = Request(environ)
        request.max_content_length = MAX_ATTACHMENT
        return self.dispatch(request)(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        if self.kit.is_control(request):
            return self.kit.control(request, fallback=self._route)
        if request.path == "/identity/oauth/token":
            basic = request.authorization
            client = basic.username if basic is not None and basic.username else request.form.get("client_id", "")
            key = f"identity {client}"
        elif request.path == ALLOW_PATH:  # a browser, not a credential
            key = f"authorize {request.remote_addr}"
        else:
            key = request.headers.get("Authorization", "")
        return self.kit.api(request, key=key, handler=self._api)

    def _api(self, request: Request) -> Response:
        adapter = self.routes.url_map.bind_to_environ(request.environ)
        try:
            endpoint, _values = adapter.match()
        except HTTPException:  # 404/405: answered by the router in SmartRecruiters' shape
            return self._route(request)
        if endpoint in _NEEDS:
            try:
                request.environ["sandbox.token"] = self._authorize(request, endpoint)
            except ApiError as error:
                return _api_error(error)
        return self._route(request)

    def _route_label(self, request: Request) -> str:
        """``"METHOD /rule"`` for the kit's per-route request counters."""
        adapter = self.routes.url_map.bind_to_environ(request.environ)
        try:
            rule, _values = adapter.match(return_rule=True)
        except HTTPException:
            return f"{request.method} {request.path}"
        return f"{request.method} {rule.rule}"

    def _route(self, request: Request) -> Response:
        return self.routes.dispatch(request, self, error=_render_error, handle=self._handle)

    def _handle(self, exc: Exception) -> Response | None:
        if isinstance(exc, ControlError):
            return control_error(exc.status, exc.message)
        return _api_error(exc)

    def _authorize(self, request: Request, endpoint: str) -> dict[str, Any]:
        kind, scope = _NEEDS[endpoint]
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "UNAUTHORIZED", "missing bearer token")
        record, why = self.state.token_lookup(token.strip())
        if record is None:
            raise ApiError(401, "UNAUTHORIZED", why)
        if record["kind"] == "app" and kind == "customer":
            scope = _APP_NEEDS.get(endpoint)
            if scope is None:
                raise ApiError(403, "FORBIDDEN", "this API is not available to an app's token (authorization code)")
            if scope not in record["scopes"]:
                raise ApiError(403, "FORBIDDEN", f"Missing scope {scope}")
            role = _APP_ROLE_NEEDS.get(endpoint)
            if role and self.state.app_user_role != role:
                raise ApiError(403, "FORBIDDEN", f"Access denied: the user's system role does not allow this (only {role} users)")
            return record
        if record["kind"] != kind:
            raise ApiError(403, "FORBIDDEN", f"this API needs a {kind}-level token, not a {record['kind']}-level one")
        if scope not in record["scopes"]:
            raise ApiError(403, "FORBIDDEN", f"the token lacks the scope {scope}")
        return record

    @staticmethod
    def _token(request: Request) -> dict[str, Any]:
        return request.environ["sandbox.token"]

    @staticmethod
    def _json(request: Request, *, required: bool = True) -> Any:
        if _media_type(request) != JSON:
            raise ApiError(415, "UNSUPPORTED_MEDIA_TYPE", f"Content-Type must be {JSON}")
        raw = request.get_data()
        if not raw and not required:
            return {}
        try:
            return json.loads(raw)
        except ValueError:
            raise ApiError(400, "INVALID_JSON", "request body is not valid JSON") from None

    @staticmethod
    def _valid(schema: str, body: Any) -> Any:
        found = problems(schema, body)
        if found:
            raise ApiError(400, "INVALID_REQUEST", f"the body is not a valid {schema}: {found[0]}", found)
        return body

    def _page_window(self, request: Request) -> tuple[int, int]:
        """``limit`` (1..page_size_max, default page_size_default) and the offset ``pageId`` names."""
        raw_limit = request.args.get("limit", str(self._config.page_size_default))
        try:
            limit = int(raw_limit)
        except ValueError:
            raise ApiError(400, "INVALID_LIMIT", f"limit must be an integer, got {raw_limit!r}") from None
        if not 1 <= limit <= self._config.page_size_max:
            raise ApiError(400, "INVALID_LIMIT", f"limit must be between 1 and {self._config.page_size_max}")
        return limit, _offset(request.args.get("pageId"))

    def _paged(self, request: Request, items: list[Any], render: Callable[[Any], dict]) -> Response:
        limit, offset = self._page_window(request)
        window = items[offset: offset + limit]
        body: dict[str, Any] = {"limit": limit, "offset": offset, "totalFound": len(items)}
        if offset + limit < len(items):
            body["nextPageId"] = _page_id(offset + limit)
        body["content"] = [render(item) for item in window]
        return json_response(body)

    @staticmethod
    def _updated_after(request: Request) -> Any:
        raw = request.args.get("updatedAfter")
        if not raw:
            return None
        try:
            return parse_time(raw)
        except ValueError:
            raise ApiError(400, "INVALID_DATE", f"updatedAfter must be ISO 8601, got {raw!r}") from None

    # --- identity ----------------------------------------------------------------------------
    def identity_token(self, request: Request) -> Response:
        """Client credentials, form-encoded (RFC 6749 §4.4); errors per §5.2. The authorization-code
        and refresh-token grants of a customer's own app: ``app_grant`` (authorization.py)."""
        if _media_type(request) != "application/x-www-form-urlencoded":
            return json_response({"error": "invalid_request", "error_description": "form-encoded body required"}, 400)
        form = request.form
        client_id, client_secret = form.get("client_id", ""), form.get("client_secret", "")
        basic = request.authorization
        if basic is not None and basic.type == "basic":
            client_id, client_secret = basic.username or "", basic.password or ""
        grant = form.get("grant_type", "")
        if grant in ("authorization_code", "refresh_token"):  # a customer's own app (authorization.py)
            return self.app_grant(grant, form, client_id, client_secret)
        given = {"grant_type": grant, "client_id": client_id, "client_secret": client_secret}
        missing = [name for name in SCHEMAS["TokenInput"]["required"] if not given.get(name)]
        if missing:
            return json_response({"error": "invalid_request", "error_description": f"missing {', '.join(missing)}"}, 400)
        if grant != "client_credentials":
            return json_response({"error": "unsupported_grant_type", "error_description": f"{grant} is not supported"}, 400)
        with self.state.lock:
            credential = self.state.credentials.get(client_id)
            if credential is None or not secrets.compare_digest(credential["secret"], client_secret):
                return json_response({"error": "invalid_client", "error_description": "Client authentication failed."}, 401)
            scopes = self._config.master_scopes if credential["kind"] == "master" else self._config.customer_scopes
            answer = self.state.token_issue(client_id, scopes=scopes, ttl=self._config.token_ttl)
        return json_response(answer, headers={"Cache-Control": "no-store"})

    # --- partner configuration and setUpIntegration ------------------------------------------
    def configuration_show(self, request: Request) -> Response:
        with self.state.lock:
            if self.state.partner_configuration is None:
                raise ApiError(404, "CONFIGURATION_NOT_FOUND", "Configuration does not exist")
            return json_response(self.state.partner_configuration)

    def configuration_put(self, request: Request) -> Response:
        body = self._valid("PartnerConfigurationRequest", self._json(request))
        ids = [f["id"] for f in body.get("fields", [])]
        if len(ids) != len(set(ids)):
            raise ApiError(400, "INVALID_REQUEST", "partner field ids must be unique")
        with self.state.lock:
            self.state.partner_configuration = {"fields": [], "supportedAssessmentTypes": [], **body}
            return json_response(self.state.partner_configuration)

    def integration_set_up(self, request: Request, company_id: str) -> Response:
        token = self._token(request)
        if "client_credentials_write" not in token["scopes"]:
            raise ApiError(403, "FORBIDDEN", "the token lacks the scope client_credentials_write")
        body = self._valid("ClientCredentials", self._json(request))
        with self.state.lock:
            if self.state.partner_configuration is None:
                raise ApiError(404, "CONFIGURATION_NOT_FOUND", "Partner configuration does not exist")
            company = self.state.companies.get(company_id)
            if company is None or not company["consented"]:
                raise ApiError(403, "NO_CONSENT", f"company {company_id} did not give consent")
            if company["integrated"]:
                raise ApiError(409, "ALREADY_INTEGRATED", f"Partner already integrated for company {company_id}")
            customer_id = f"sr-{company_id}-{secrets.token_hex(6)}"
            customer_secret = secrets.token_urlsafe(32)
            self.state.credentials_add(client_id=customer_id, secret=customer_secret, kind="customer", company_id=company_id)
            company.update(
                integrated=True,
                customer_client_id=customer_id,
                partner_credentials={"clientId": body["clientId"], "clientSecret": body["clientSecret"]},
                integrated_at=isoformat(self.state.now()),
            )
        return json_response({"clientId": customer_id, "clientSecret": customer_secret})

    # --- results -----------------------------------------------------------------------------
    def _order(self, request: Request, order_id: str) -> dict[str, Any]:
        order = self.state.orders.get(order_id)
        if order is None or order["company_id"] != self._token(request)["company_id"]:
            raise ApiError(404, "ORDER_NOT_FOUND", "Order with given id does not exist")
        return order

    def results_patch(self, request: Request, order_id: str) -> Response:
        with self.state.lock:
            self._order(request, order_id)
        patch = self._json(request)
        stamp = isoformat(self.state.now())
        with self.state.lock:
            order = self._order(request, order_id)
            found = problems("PackageResult", patch) if isinstance(patch, dict) else ["(body): must be a JSON object"]
            # The patch itself is checked for types (a null removes a field, RFC 7396, so it is no
            # type error); required fields are checked on the merge: {"score": {"raw": 90}} is a
            # valid change of a stored score, and a 400 when no score is stored yet.
            found = [p for p in found if "None is not" not in p and "is a required property" not in p]
            merged = merge_patch(order["result"], patch) if isinstance(patch, dict) else None
            if not found and merged is not None:
                found = problems("PackageResult", merged)
            entry = {"at": stamp, "request_body": patch, "accepted": not found, "errors": found}
            order["history"].append(entry)
            if found:
                raise ApiError(400, "INVALID_RESULT", f"Invalid result partial update provided: {found[0]}", found)
            order["result"] = merged
            entry["status_after"] = merged.get("status")
            return json_response(merged)

    def attachment_create(self, request: Request, order_id: str) -> Response:
        with self.state.lock:
            order = self._order(request, order_id)
            if order["mode"] == "inline":
                raise ApiError(400, "NOT_SUPPORTED", "attachments are not supported for inline orders")
        if _media_type(request) != "multipart/form-data":
            raise ApiError(415, "UNSUPPORTED_MEDIA_TYPE", "Content-Type must be multipart/form-data")
        files = [(name, f) for name in request.files for f in request.files.getlist(name)]
        if len(files) != 1:
            raise ApiError(400, "INVALID_REQUEST", f"exactly one file part expected, got {len(files)}")
        field_name, upload = files[0]
        data = upload.read()
        if not data:
            raise ApiError(400, "INVALID_REQUEST", "the file part is empty")
        with self.state.lock:
            attachment_id = secrets.token_hex(8)
            url = f"{self.base_url}/_sandbox/attachments/{attachment_id}"
            record = {
                "id": attachment_id,
                "order_id": order_id,
                "field": field_name,
                "filename": upload.filename,
                "content_type": upload.mimetype,
                "size": len(data),
                "is_pdf": data.startswith(b"%PDF"),
                "url": url,
                "at": isoformat(self.state.now()),
            }
            self.state.attachments[attachment_id] = {**record, "data": data}
            order["attachments"].append(record)
        return json_response({"url": url}, 201)

    def assessment_orders(self, request: Request) -> Response:
        application_id = request.args.get("applicationId")
        if not application_id:
            raise ApiError(400, "INVALID_REQUEST", "applicationId is required")
        company_id = self._token(request)["company_id"]
        with self.state.lock:
            application = self.state.application_by_id(application_id)
            if application is None:
                raise ApiError(404, "APPLICATION_NOT_FOUND", f"application {application_id} not found")
            orders = [o for o in self.state.orders.values() if o["applicationId"] == application_id and o["company_id"] == company_id]
            return json_response([self._assessment_order(o) for o in orders])

    @staticmethod
    def _assessment_order(order: dict) -> dict:
        result = order["result"]
        score = result.get("score")
        return {
            "orderId": order["orderId"],
            "applicationId": order["applicationId"],
            "assessmentPackageName": result.get("name") or (order["package"] or {}).get("name"),
            "status": result.get("status", "PENDING"),
            "score": None if score is None else f"{score['raw']}",
            "scoreLabel": result.get("scoreLabel"),
            "summary": result.get("summary"),
            "assessmentPackageDate": result.get("assessmentPackageDate"),
            "submissionDate": result.get("submissionDate"),
            "attachments": list(result.get("attachments", [])),
            "assessments": list(result.get("assessmentResults", [])),
        }

    # --- webhooks API ------------------------------------------------------------------------
    @staticmethod
    def _subscription(sub: dict) -> dict:
        return {
            "id": sub["id"],
            "callbackUrl": sub["callbackUrl"],
            "events": [{"name": name, "version": "v1"} for name in sub["events"]],
            "status": sub["status"],
        }

    def _sub(self, request: Request, sub_id: str) -> dict:
        sub = self.state.subscriptions.get(sub_id)
        if sub is None or sub["company_id"] != self._token(request)["company_id"]:
            raise ApiError(404, "SUBSCRIPTION_NOT_FOUND", f"subscription {sub_id} not found")
        return sub

    def subscriptions_list(self, request: Request) -> Response:
        company_id = self._token(request)["company_id"]
        with self.state.lock:
            subs = [s for s in self.state.subscriptions.values() if s["company_id"] == company_id]
            return json_response([self._subscription(s) for s in subs])

    def subscription_create(self, request: Request) -> Response:
        body = self._valid("SubscriptionRequest", self._json(request))
        with self.state.lock:
            sub = self.state_subscription_add(company_id=self._token(request)["company_id"], body=body)
            return json_response(self._subscription(sub), 201)

    def subscription_show(self, request: Request, sub_id: str) -> Response:
        with self.state.lock:
            return json_response(self._subscription(self._sub(request, sub_id)))

    def subscription_delete(self, request: Request, sub_id: str) -> Response:
        with self.state.lock:
            sub = self._sub(request, sub_id)
            del self.state.subscriptions[sub["id"]]
        return Response(status=204)

    def subscription_activate(self, request: Request, sub_id: str) -> Response:
        with self.state.lock:
            sub = self._sub(request, sub_id)
        error = self.activation_handshake(sub)
        if error:
            raise ApiError(400, "ACTIVATION_FAILED", error)
        return Response(status=204)

    def secret_key_create(self, request: Request, sub_id: str) -> Response:
        with self.state.lock:
            sub = self._sub(request, sub_id)
            key = self.secret_key_rotate(sub)
        return json_response({"secretKey": key}, 201)

    def secret_key_show(self, request: Request, sub_id: str) -> Response:
        with self.state.lock:
            sub = self._sub(request, sub_id)
            if not sub["keys"]:
                raise ApiError(404, "SECRET_KEY_NOT_FOUND", "no secret key generated for this subscription")
            return json_response({"secretKey": sub["keys"][0]["key"]})

    def callbacks_log(self, request: Request, sub_id: str) -> Response:
        """Every delivery attempt to the subscription's callback, newest first (the outbox's log);
        ``callbackStatus`` filters, ``limit`` (default 10) caps (the fixture's bare array; no
        further pages)."""
        wanted = request.args.get("callbackStatus")
        if wanted not in (None, "successful", "failed"):
            raise ApiError(400, "INVALID_REQUEST", "callbackStatus is successful or failed")
        with self.state.lock:
            sub = self._sub(request, sub_id)
        entries = []
        for sent in reversed(self.outbox.snapshot()):
            headers = sent["request_headers"]
            if sent["url"] != sub["callbackUrl"] or "event-id" not in headers:
                continue
            status = "successful" if sent["status"] is not None and 200 <= sent["status"] < 300 else "failed"
            if wanted in (None, status):
                body = sent["request_body"]
                entries.append({
                    "status": status,
                    "timestamp": sent["at"].replace("+00:00", "Z"),
                    "requestDetails": {
                        "url": sent["url"],
                        "body": body if isinstance(body, str) else json.dumps(body, separators=(",", ":")),
                        "headers": headers,
                    },
                })
        try:
            limit = int(request.args.get("limit", "10"))
        except ValueError:
            raise ApiError(400, "INVALID_LIMIT", "limit must be an integer") from None
        if not 1 <= limit <= self._config.page_size_max:
            raise ApiError(400, "INVALID_LIMIT", f"limit must be between 1 and {self._config.page_size_max}")
        return json_response(entries[:limit])

    # --- customer API ------------------------------------------------------------------------
    def _job_link(self, job_id: str) -> dict:
        return {"details": {"url": f"{self.base_url}/jobs/{job_id}", "method": "GET"}}

    def _assignment(self, application: dict) -> dict:
        job = self.state.jobs[application["job_id"]]
        return {
            "job": {"id": job["id"], "title": job["title"], "actions": self._job_link(job["id"])},
            "status": application["status"],
            "subStatus": application["subStatus"],
        }

    def _candidate_applications(self, cid: str) -> list[dict]:
        return list(self.state.applications_of.get(cid, []))

    def _candidate_summary(self, candidate: dict) -> dict:
        applications = self._candidate_applications(candidate["id"])
        public = {k: candidate[k] for k in ("id", "internal", "firstName", "lastName", "email", "createdOn", "updatedOn", "location", "averageRating", "tags", "consent")}
        public["primaryAssignment"] = self._assignment(applications[0]) if applications else None
        public["secondaryAssignments"] = [
            {"job": {"id": a["job_id"], "actions": self._job_link(a["job_id"])}} for a in applications[1:]
        ]
        public["actions"] = {
            "details": {"url": f"{self.base_url}/candidates/{candidate['id']}", "method": "GET"},
            "properties": {"url": f"{self.base_url}/candidates/{candidate['id']}/properties", "method": "GET"},
        }
        return public

    def _application(self, application: dict) -> dict:
        return {
            "status": application["status"],
            "subStatus": application["subStatus"],
            "startsOn": application["startsOn"],
            "source": application["source"],
            "reasonOfRejection": None,
            "reasonOfWithdrawal": None,
            "actions": {"sourceDetails": {"url": f"{self.base_url}/configuration/sources", "method": "GET"}},
            "url": f"{self.base_url}/candidates/{application['candidate_id']}/jobs/{application['job_id']}",
        }

    def _candidate_or_404(self, request: Request, cid: str) -> dict:
        candidate = self.state.candidates.get(cid)
        if candidate is None or candidate["company_id"] != self._token(request)["company_id"]:
            raise ApiError(404, "CANDIDATE_NOT_FOUND", f"candidate {cid} not found")
        return candidate

    def candidates_list(self, request: Request) -> Response:
        since = self._updated_after(request)
        status = request.args.get("status")
        company_id = self._token(request)["company_id"]
        with self.state.lock:
            items = []
            for c in self.state.candidates.values():
                if c["company_id"] != company_id:
                    continue
                if since is not None and parse_time(c["updatedOn"]) <= since:
                    continue
                if status and not any(a["status"] == status for a in self._candidate_applications(c["id"])):
                    continue
                items.append(c)
            items.sort(key=lambda c: (c["updatedOn"], c["id"]))
            return self._paged(request, items, self._candidate_summary)

    def candidate_show(self, request: Request, cid: str) -> Response:
        with self.state.lock:
            candidate = self._candidate_or_404(request, cid)
            body = self._candidate_summary(candidate)
            body.update({k: candidate[k] for k in ("phoneNumber", "web", "education", "experience")})
            applications = self._candidate_applications(cid)

            def assignment(application: dict) -> dict:
                full = {**self._assignment(application), **self._application(application)}
                full.pop("url")
                job_url = f"{self.base_url}/jobs/{application['job_id']}"
                full["job"]["actions"]["positionDetails"] = {"url": f"{job_url}/positions", "method": "GET"}
                return full

            body["primaryAssignment"] = assignment(applications[0]) if applications else None
            body["secondaryAssignments"] = [assignment(a) for a in applications[1:]]
            base = f"{self.base_url}/candidates/{cid}"
            body["actions"] = {
                name: {"url": f"{base}/{name}", "method": "GET"} for name in ("properties", "attachments", "consent", "consents")
            }
            return json_response(body)

    def _application_or_404(self, request: Request, cid: str, job_id: str) -> dict:
        self._candidate_or_404(request, cid)
        application = self.state.applications.get((cid, job_id))
        if application is None:
            raise ApiError(404, "APPLICATION_NOT_FOUND", f"candidate {cid} has not applied to job {job_id}")
        return application

    def application_show(self, request: Request, cid: str, job_id: str) -> Response:
        with self.state.lock:
            return json_response(self._application(self._application_or_404(request, cid, job_id)))

    def application_status_put(self, request: Request, cid: str, job_id: str) -> Response:
        body = self._valid("CandidateStatusUpdate", self._json(request))
        with self.state.lock:
            self._application_or_404(request, cid, job_id)
            problem = self.state.sub_status_problem(job_id, body["status"], body.get("subStatus"))
            if problem:
                raise ApiError(400, "INVALID_SUB_STATUS", problem)
            application = self.state.application_move(
                cid, job_id, status=body["status"], sub_status=body.get("subStatus") or None, by="api"
            )
        # SmartRecruiters' webhooks are asynchronous to the API call that caused them.
        moved = dict(application)
        self.kit.background(lambda: self.after_move(moved, by="api"))
        return Response(status=204)

    LIST_JOB_KEYS = (
        "id", "title", "refNumber", "createdOn", "updatedOn", "lastActivityOn", "department", "location",
        "status", "postingStatus", "language",
    )

    def _job(self, job: dict, *, full: bool = False) -> dict:
        if not full:
            return {**{k: job[k] for k in self.LIST_JOB_KEYS}, "actions": self._job_link(job["id"])}
        public = {k: v for k, v in job.items() if k != "company_id"}
        base = f"{self.base_url}/jobs/{job['id']}"
        public["actions"] = {
            "hiringTeam": {"url": f"{base}/hiring-team", "method": "GET"},
            "publications": {"url": f"{base}/publication", "method": "GET"},
            "positions": {"url": f"{base}/positions", "method": "GET"},
            "applyOnWeb": {"url": f"{self.base_url}/postings/{job['id']}", "method": "GET"},
            "details": {"url": base, "method": "GET"},
        }
        return public

    def jobs_list(self, request: Request) -> Response:
        since = self._updated_after(request)
        company_id = self._token(request)["company_id"]
        with self.state.lock:
            jobs = sorted(
                (j for j in self.state.jobs.values() if j["company_id"] == company_id and (since is None or parse_time(j["updatedOn"]) > since)),
                key=lambda j: (j["updatedOn"], j["id"]),
            )
            return self._paged(request, jobs, self._job)

    def job_show(self, request: Request, job_id: str) -> Response:
        with self.state.lock:
            job = self.state.jobs.get(job_id)
            if job is None or job["company_id"] != self._token(request)["company_id"]:
                raise ApiError(404, "JOB_NOT_FOUND", f"job {job_id} not found")
            return json_response(self._job(job, full=True))

    def hiring_team_list(self, request: Request, job_id: str) -> Response:
        """The job's hiring team (jobs/list_hiring_team.json): its creator."""
        with self.state.lock:
            job = self.state.jobs.get(job_id)
            if job is None or job["company_id"] != self._token(request)["company_id"]:
                raise ApiError(404, "JOB_NOT_FOUND", f"job {job_id} not found")
            members = [job["creator"]]
        content = [
            {"id": m["id"], "actions": {"details": {"url": f"{self.base_url}/user-api/v201804/users/{m['id']}", "method": "GET"}}}
            for m in members
        ]
        return json_response({"totalFound": len(content), "content": content})

    def hiring_processes_list(self, request: Request) -> Response:
        with self.state.lock:
            return json_response({"content": list(self.state.hiring_processes.values())})

    def hiring_process_show(self, request: Request, process_id: str) -> Response:
        with self.state.lock:
            process = self.state.hiring_processes.get(process_id)
            if process is None:
                raise ApiError(404, "HIRING_PROCESS_NOT_FOUND", f"hiring process {process_id} not found")
            return json_response(process)

    def share_create(self, request: Request) -> Response:
        """A note (messages_shares_body): ``#[CANDIDATE:id]`` tags must name the company's
        candidates; ``correlationId`` is kept with it."""
        body = self._valid("MessageShare", self._json(request))
        company_id = self._token(request)["company_id"]
        with self.state.lock:
            unknown_jobs = [
                j for j in body["shareWith"].get("hiringTeamOf", [])
                if j not in self.state.jobs or self.state.jobs[j]["company_id"] != company_id
            ]
            if unknown_jobs:
                raise ApiError(400, "INVALID_REQUEST", f"unknown job in shareWith.hiringTeamOf: {unknown_jobs[0]}")
            tagged = re.findall(r"#\[CANDIDATE:([^\]]+)\]", body["content"])
            unknown = [
                c for c in tagged if c not in self.state.candidates or self.state.candidates[c]["company_id"] != company_id
            ]
            if unknown:
                raise ApiError(400, "INVALID_REQUEST", f"unknown candidate in #[CANDIDATE:{unknown[0]}]")
            share = {
                "id": secrets.token_hex(12),
                "company_id": company_id,
                "content": body["content"],
                "shareWith": body["shareWith"],
                "correlationId": body.get("correlationId"),
                "candidates": tagged,
                "createdOn": isoformat(self.state.now()),
            }
            self.state.shares.append(share)
            answer = {"id": share["id"], "createdOn": share["createdOn"]}
            if share["correlationId"] is not None:
                answer["correlationId"] = share["correlationId"]
            return json_response(answer, 201)

    def messages_list(self, request: Request) -> Response:
        """``GET /messages?candidateId=&jobId=&pageId=&limit=``: the candidate's messages (the
        notes tagging it; with ``jobId``, those shared with that job's hiring team), newest first,
        as a MessagesView ``{content: [{id, content, createdOn}], nextPageId?}``. ``candidateId`` is
        required; ``limit`` 1..page_size_max (default page_size_default)."""
        candidate_id, job_id = request.args.get("candidateId", ""), request.args.get("jobId", "")
        if not candidate_id:
            raise ApiError(400, "INVALID_REQUEST", "candidateId is required")
        limit, offset = self._page_window(request)
        company_id = self._token(request)["company_id"]
        with self.state.lock:
            candidate = self.state.candidates.get(candidate_id)
            if candidate is None or candidate["company_id"] != company_id:
                raise ApiError(404, "CANDIDATE_NOT_FOUND", f"candidate {candidate_id} not found")
            if job_id and (job_id not in self.state.jobs or self.state.jobs[job_id]["company_id"] != company_id):
                raise ApiError(404, "JOB_NOT_FOUND", f"job {job_id} not found")
            found = [
                s for s in reversed(self.state.shares)
                if s["company_id"] == company_id and candidate_id in s["candidates"]
                and (not job_id or job_id in s["shareWith"].get("hiringTeamOf", []))
            ]
            body: dict[str, Any] = {
                "content": [{"id": s["id"], "content": s["content"], "createdOn": s["createdOn"]}
                            for s in found[offset: offset + limit]],
            }
        if offset + limit < len(found):
            body["nextPageId"] = _page_id(offset + limit)
        return json_response(body)

    # --- a customer's own app: the company, files on applications, candidate properties ------
    def company_show(self, request: Request) -> Response:
        company_id = self._token(request)["company_id"]
        with self.state.lock:
            company = self.state.companies.get(company_id) or {"id": company_id, "name": company_id}
            return json_response({"id": company["id"], "name": company["name"]})

    def _attachment(self, record: dict) -> dict:
        url = f"{self.base_url}/candidates/attachments/{record['id']}"
        return {
            "id": record["id"],
            "name": record["name"],
            "type": record["type"],
            "contentType": record["contentType"],
            "actions": {"download": {"url": url, "method": "GET"}, "remove": {"url": url, "method": "DELETE"}},
        }

    def application_attachments_list(self, request: Request, cid: str, job_id: str) -> Response:
        with self.state.lock:
            self._application_or_404(request, cid, job_id)
            files = [self._attachment(a) for a in self.state.application_attachments(cid, job_id)]
            return json_response({"totalFound": len(files), "content": files})

    def application_attachment_create(self, request: Request, cid: str, job_id: str) -> Response:
        """Multipart: a ``file`` part (non-empty) and ``attachmentType``."""
        if _media_type(request) != "multipart/form-data":
            raise ApiError(415, "UNSUPPORTED_MEDIA_TYPE", "Content-Type must be multipart/form-data")
        with self.state.lock:
            self._application_or_404(request, cid, job_id)
        kind = request.form.get("attachmentType", "")
        if kind not in APP_ATTACHMENT_TYPES:
            raise ApiError(
                400, "INVALID_REQUEST", f"attachmentType must be one of {', '.join(APP_ATTACHMENT_TYPES)}, got {kind!r}"
            )
        uploads = request.files.getlist("file")
        if len(uploads) != 1:
            raise ApiError(400, "INVALID_REQUEST", f"exactly one file part named 'file' expected, got {len(uploads)}")
        upload = uploads[0]
        data = upload.read()
        if not data:
            raise ApiError(400, "INVALID_REQUEST", "the file part is empty")
        if not upload.filename:
            raise ApiError(400, "INVALID_REQUEST", "the file part has no filename")
        with self.state.lock:
            record = {
                "id": secrets.token_hex(12),
                "company_id": self._token(request)["company_id"],
                "candidate_id": cid,
                "job_id": job_id,
                "name": upload.filename,
                "type": kind,
                "contentType": upload.mimetype or "application/octet-stream",
                "size": len(data),
                "is_pdf": data.startswith(b"%PDF"),
                "createdOn": isoformat(self.state.now()),
                "data": data,
            }
            self.state.app_attachments[record["id"]] = record
            return json_response(self._attachment(record), 201)

    def application_attachment_download(self, request: Request, attachment_id: str) -> Response:
        with self.state.lock:
            record = self.state.app_attachments.get(attachment_id)
            if record is None or record["company_id"] != self._token(request)["company_id"]:
                raise ApiError(404, "ATTACHMENT_NOT_FOUND", f"attachment {attachment_id} not found")
            return Response(record["data"], content_type=record["contentType"])

    @staticmethod
    def _property(prop: dict) -> dict:
        return {"id": prop["id"], "label": prop["label"], "type": prop["type"]}

    def candidate_properties_list(self, request: Request) -> Response:
        with self.state.lock:
            content = [self._property(p) for p in self.state.properties.values()]
            return json_response({"totalFound": len(content), "content": content})

    def candidate_property_show(self, request: Request, property_id: str) -> Response:
        with self.state.lock:
            prop = self.state.properties.get(property_id)
            if prop is None:
                raise ApiError(404, "PROPERTY_NOT_FOUND", f"candidate property {property_id} not found")
            return json_response(self._property(prop))

    def property_values_list(self, request: Request, cid: str, job_id: str) -> Response:
        with self.state.lock:
            self._application_or_404(request, cid, job_id)
            values = self.state.property_values.get((cid, job_id), {})
            content = [
                {**self._property(self.state.properties[pid]), "value": entry["value"]}
                for pid, entry in values.items() if pid in self.state.properties
            ]
            return json_response({"totalFound": len(content), "content": content})

    def property_value_put(self, request: Request, cid: str, job_id: str, property_id: str) -> Response:
        """``{"value": ...}``: a JSON number for a NUMBER property, a string for a TEXT one."""
        body = self._json(request)
        if not isinstance(body, dict) or "value" not in body or body["value"] is None:
            raise ApiError(400, "INVALID_REQUEST", 'the body must be {"value": ...}')
        self._valid("CandidatePropertyValue", body)
        value = body["value"]
        with self.state.lock:
            self._application_or_404(request, cid, job_id)
            prop = self.state.properties.get(property_id)
            if prop is None:
                raise ApiError(404, "PROPERTY_NOT_FOUND", f"candidate property {property_id} not found")
            if prop["type"] == "NUMBER" and not (isinstance(value, (int, float)) and not isinstance(value, bool)):
                raise ApiError(400, "INVALID_PROPERTY_VALUE", f"property {property_id} is a NUMBER: value must be a number, got {value!r}")
            if prop["type"] == "TEXT" and not isinstance(value, str):
                raise ApiError(400, "INVALID_PROPERTY_VALUE", f"property {property_id} is TEXT: value must be a string, got {value!r}")
            self.state.property_values.setdefault((cid, job_id), {})[property_id] = {
                "value": value, "updatedOn": isoformat(self.state.now()),
            }
        return Response(status=204)


def create_app(config: SandboxConfig = SANDBOX_DEFAULTS) -> Sandbox:
    return Sandbox(config)
