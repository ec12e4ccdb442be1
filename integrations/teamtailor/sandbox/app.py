"""The sandbox's WSGI application: Teamtailor's public API (``/v1``) and partner API
(``/partner/v1``) subset; the ``/_sandbox/`` control endpoints live in control.py.

Order of checks on an API request, as Stagehook meets them: rate limit (headers on every API
answer, 429 when spent), injected faults, authentication (401, empty body), ``X-Api-Version``
(406), media type of a request body (415), then the resource itself.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Callable
from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from integrations.sandbox import KitSettings, RateHeaders, RateRules, Routes, SandboxKit

from .config import SANDBOX_DEFAULTS, SandboxConfig
from .control import ControlEndpoints
from .jsonapi import (
    MEDIA_TYPE,
    ApiError,
    error_response,
    include_paths,
    job_links,
    json_response,
    page_params,
    paginate,
    resource,
    validation_error,
)
from .state import SandboxState, parse_time
from .validation import validate_attributes

PUBLIC = "public"
PARTNER = "partner"
CONTROL = "control"

_RULES = [
    # public API
    Rule("/v1/jobs", endpoint="jobs_list", methods=["GET"]),
    Rule("/v1/jobs/<job_id>", endpoint="job_show", methods=["GET"]),
    Rule("/v1/jobs/<job_id>/stages", endpoint="job_stages", methods=["GET"]),
    Rule("/v1/stages", endpoint="stages_list", methods=["GET"]),
    Rule("/v1/candidates", endpoint="candidates_list", methods=["GET"]),
    Rule("/v1/candidates/<candidate_id>", endpoint="candidate_show", methods=["GET"]),
    Rule("/v1/job-applications", endpoint="applications_list", methods=["GET"]),
    Rule("/v1/job-applications/<application_id>", endpoint="application_show", methods=["GET"]),
    Rule("/v1/job-applications/<application_id>", endpoint="application_update", methods=["PATCH"]),
    Rule("/v1/users", endpoint="users_list", methods=["GET"]),
    Rule("/v1/users/<user_id>", endpoint="user_show", methods=["GET"]),
    Rule("/v1/notes", endpoint="note_create", methods=["POST"]),
    Rule("/v1/partner-results", endpoint="public_results_list", methods=["GET"]),
    # partner API
    Rule("/partner/v1/partner-results", endpoint="results_list", methods=["GET"]),
    Rule("/partner/v1/partner-results", endpoint="result_create", methods=["POST"]),
    Rule("/partner/v1/partner-results/<result_id>", endpoint="result_show", methods=["GET"]),
    Rule("/partner/v1/partner-results/<result_id>", endpoint="result_update", methods=["PUT", "PATCH"]),
    # control
    Rule("/_sandbox/", endpoint="control_index", methods=["GET"]),
    Rule("/_sandbox/trigger", endpoint="control_trigger", methods=["POST"]),
    Rule("/_sandbox/trigger-config", endpoint="control_trigger_config", methods=["GET"]),
    Rule("/_sandbox/applications/<application_id>/move", endpoint="control_move", methods=["POST"]),
    Rule("/_sandbox/activate", endpoint="control_activate", methods=["POST"]),
    Rule("/_sandbox/partner-results", endpoint="control_results", methods=["GET"]),
    Rule(
        "/_sandbox/partner-results/<result_id>/actions/<int:index>", endpoint="control_click", methods=["POST"]
    ),
    Rule("/_sandbox/notes", endpoint="control_notes", methods=["GET"]),
    Rule("/_sandbox/seed", endpoint="control_seed", methods=["POST"]),
    # /_sandbox/ stats, webhooks, faults, config and reset are the kit's (integrations.sandbox).
]

# Teamtailor's reported limit: about 50 requests per 10 s per key, and its header names.
RATE_HEADERS = RateHeaders(limit="X-Rate-Limit-Limit", remaining="X-Rate-Limit-Remaining", reset="X-Rate-Limit-Reset")
# Header names the webhook log leaves out: the credentials Teamtailor sends.
REDACTED_HEADERS = ("authorization", "teamtailor-api-token")
# Config a running sandbox may change over /_sandbox/config (never the secrets: they are the
# contract both sides were configured with).
MUTABLE_CONFIG = frozenset(
    {"stagehook_url", "rate_limit", "rate_window", "package_field", "out_of_order_hold", "webhook_timeout"}
)


def kit_settings(config: SandboxConfig) -> KitSettings:
    return KitSettings(
        rate=RateRules(limit=config.rate_limit, window=config.rate_window, headers=RATE_HEADERS),
        webhook_timeout=config.webhook_timeout,
        out_of_order_hold=config.out_of_order_hold,
        redact_headers=REDACTED_HEADERS,
        control_clients=config.control_clients,
    )


def _error(status: int, title: str, detail: str) -> Response:
    return error_response(ApiError(status, title, detail))


def _area(path: str) -> str | None:
    if path.startswith("/v1/") or path == "/v1":
        return PUBLIC
    if path.startswith("/partner/v1/"):
        return PARTNER
    if path.startswith("/_sandbox/"):
        return CONTROL
    return None


def _int_id(value: str | None) -> int | None:
    return int(value) if value is not None and str(value).isdigit() else None


class Sandbox(ControlEndpoints):
    """A fake Teamtailor. Callable as a WSGI app; ``state`` and ``config`` are live."""

    def __init__(self, config: SandboxConfig = SANDBOX_DEFAULTS):
        self._config = config
        self.kit = SandboxKit(
            kit_settings(config),
            name="teamtailor",
            render_error=_error,
            config_view=self._config_view,
            config_change=self.configure,
            mutable_config=MUTABLE_CONFIG,
            extra_stats=self._extra_stats,
            on_reset=lambda: self.state.reset(),
        )
        self.state = SandboxState(lock=self.kit.lock)
        self.outbox = self.kit.outbox
        self.routes = Routes(_RULES)

    def close(self) -> None:
        """Release outgoing connections and send nothing more (held webhooks are dropped)."""
        self.kit.close()

    # --- configuration -----------------------------------------------------------------------
    @property
    def config(self) -> SandboxConfig:
        return self._config

    def configure(self, **changes: Any) -> SandboxConfig:
        """Replace config values on the running sandbox (e.g. the port once bound, or a test's
        receiver as ``stagehook_url``)."""
        with self.state.lock:
            self._config = dataclasses.replace(self._config, **changes)
            self.kit.update_settings(**vars(kit_settings(self._config)))
            return self._config

    def _config_view(self) -> dict[str, Any]:
        config = self._config
        return {
            "base_url": self.base_url,
            "company_uuid": config.company_uuid,
            "company_name": config.company_name,
            **{name: getattr(config, name) for name in sorted(MUTABLE_CONFIG)},
        }

    def _extra_stats(self) -> dict[str, Any]:
        with self.state.lock:
            return {
                "partner_results": len(self.state.partner_results),
                "notes": len(self.state.notes),
                "activations": len(self.state.activations),
            }

    @property
    def base_url(self) -> str:
        return self._config.base_url

    @property
    def provider_key(self) -> str:
        return self.state.provider_key_override or self._config.provider_key

    def stagehook(self, path: str) -> str:
        return self._config.stagehook_url.rstrip("/") + "/" + path

    def wait_background(self, timeout: float = 10.0) -> None:
        """Wait for webhooks sent from API requests (they go out on their own threads)."""
        self.kit.wait_background(timeout)

    # --- WSGI --------------------------------------------------------------------------------
    def __call__(self, environ, start_response):
        request = Request(environ)
        response = self.dispatch(request)
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        area = _area(request.path)
        if area == CONTROL:
            return self.kit.control(request, fallback=lambda r: self._route(r, area))
        if area is None:
            return json_response({"errors": [{"status": 404, "title": "Not Found", "detail": request.path}]}, 404)
        return self.kit.api(
            request, key=request.headers.get("Authorization", ""), handler=lambda r: self._api(r, area)
        )

    def _api(self, request: Request, area: str) -> Response:
        try:
            self._authenticate(request, area)
            if request.method in ("POST", "PUT", "PATCH"):
                # Exactly the JSON:API media type; a charset parameter is a 415 too.
                if (request.headers.get("Content-Type") or "").strip() != MEDIA_TYPE:
                    raise ApiError(415, "Unsupported Media Type", f"Content-Type must be {MEDIA_TYPE}")
        except ApiError as error:
            return error_response(error)
        return self._route(request, area)

    def _authenticate(self, request: Request, area: str) -> None:
        authorization = request.headers.get("Authorization", "")
        version = request.headers.get("X-Api-Version", "")
        config = self._config
        if area == PUBLIC:
            valid = authorization in (f"Token token={config.api_key}", f'Token token="{config.api_key}"')
            versions = config.public_api_versions
        else:
            valid = authorization == f"Bearer {config.partner_api_key}"
            versions = (config.partner_api_version,)
        if not valid:
            raise ApiError(401, "Unauthorized", "")
        if version not in versions:
            raise ApiError(
                406,
                "Invalid/Missing API Version",
                f"Please provide a correct API version in the X-Api-Version header. Current version is: {versions[0]}",
            )

    def _route(self, request: Request, area: str) -> Response:
        return self.routes.dispatch(request, self, error=_error, handle=_api_error)

    # --- helpers -----------------------------------------------------------------------------
    @staticmethod
    def _json_body(request: Request) -> Any:
        raw = request.get_data()
        if not raw:
            return {}
        try:
            return json.loads(raw)
        except ValueError:
            raise ApiError(400, "Bad Request", "request body is not valid JSON") from None

    def _list(self, request: Request, items: list[Any], render: Callable[[Any], dict], included=None) -> Response:
        size, number = page_params(
            request.args, default=self._config.page_size_default, maximum=self._config.page_size_max
        )
        window, meta, links = paginate(
            items, size=size, number=number, url=f"{self.base_url}{request.path}", args=request.args
        )
        body: dict[str, Any] = {"data": [render(item) for item in window]}
        if included is not None:
            extra = included(window)
            if extra:
                body["included"] = extra
        body["meta"] = meta
        body["links"] = links
        return json_response(body)

    @staticmethod
    def _filter_from(request: Request, name: str) -> Any:
        raw = request.args.get(f"filter[{name}][from]")
        if raw is None:
            return None
        try:
            return parse_time(raw)
        except ValueError:
            raise ApiError(400, "Bad Request", f"filter[{name}][from] is not an RFC 3339 timestamp") from None

    @staticmethod
    def _sorted(records: dict[str, dict]) -> list[dict]:
        return sorted(records.values(), key=lambda record: (len(record["id"]), record["id"]))

    @staticmethod
    def _sort(request: Request, records: list[dict]) -> list[dict]:
        """``sort=<attribute>`` (``-`` first for descending; ``id`` or absent: by id), as
        Teamtailor's list endpoints take it; ties stay in id order."""
        raw = (request.args.get("sort") or "").strip()
        name = raw.lstrip("-")
        if not name or name == "id":
            return list(reversed(records)) if raw.startswith("-") else records

        def key(record: dict) -> tuple:
            value = record["attributes"].get(name)
            if value is None:
                return (0, "")
            if name.endswith("-at") and isinstance(value, str):
                try:
                    return (1, parse_time(value).timestamp())
                except ValueError:
                    pass
            return (1, value)

        try:
            return sorted(records, key=key, reverse=raw.startswith("-"))
        except TypeError:
            raise ApiError(400, "Bad Request", f"cannot sort by {name}") from None

    # --- public API: renderers ----------------------------------------------------------------
    def _job(self, job: dict) -> dict:
        attributes = copy.deepcopy(job["attributes"])
        return resource(
            self.base_url, "jobs", job["id"], attributes, links=job_links(self.base_url, job["id"], attributes["title"])
        )

    def _stage(self, stage: dict) -> dict:
        attributes = copy.deepcopy(stage["attributes"])
        active, rejected = self.state.stage_counts(stage["id"])
        attributes["active-job-applications-count"] = active
        attributes["rejected-job-applications-count"] = rejected
        return resource(self.base_url, "stages", stage["id"], attributes)

    def _candidate(self, candidate: dict, includes: set[str] = frozenset()) -> dict:
        related = {}
        if "job-applications" in includes:
            related["job-applications"] = [
                {"type": "job-applications", "id": a["id"]}
                for a in self._sorted(self.state.applications)
                if a["candidate_id"] == candidate["id"]
            ]
        return resource(
            self.base_url, "candidates", candidate["id"], copy.deepcopy(candidate["attributes"]), related=related
        )

    def _application(self, application: dict, includes: set[str] = frozenset()) -> dict:
        related = {}
        for name, type_, key in (
            ("candidate", "candidates", "candidate_id"),
            ("job", "jobs", "job_id"),
            ("stage", "stages", "stage_id"),
        ):
            if name in includes:
                related[name] = {"type": type_, "id": application[key]}
        if "reject-reason" in includes:
            related["reject-reason"] = None
        return resource(
            self.base_url,
            "job-applications",
            application["id"],
            copy.deepcopy(application["attributes"]),
            related=related,
        )

    def _user(self, user: dict) -> dict:
        return resource(self.base_url, "users", user["id"], copy.deepcopy(user["attributes"]))

    def _included_for_applications(self, applications: list[dict], includes: set[str]) -> list[dict]:
        seen: dict[tuple[str, str], dict] = {}
        for application in applications:
            for name, type_, records, key, render in (
                ("candidate", "candidates", self.state.candidates, "candidate_id", self._candidate),
                ("job", "jobs", self.state.jobs, "job_id", self._job),
                ("stage", "stages", self.state.stages, "stage_id", self._stage),
            ):
                record = records.get(application[key]) if name in includes else None
                # Rendered once per page: a stage's counts scan every application.
                if record and (type_, record["id"]) not in seen:
                    seen[(type_, record["id"])] = render(record)
        return list(seen.values())

    # --- public API: endpoints ----------------------------------------------------------------
    def jobs_list(self, request: Request) -> Response:
        since = self._filter_from(request, "updated-at")
        with self.state.lock:
            jobs = [j for j in self._sorted(self.state.jobs) if since is None or j["updated"] >= since]
            return self._list(request, jobs, self._job)

    def job_show(self, request: Request, job_id: str) -> Response:
        with self.state.lock:
            job = self.state.jobs.get(job_id)
            if job is None:
                raise ApiError(404, "Not Found", f"job {job_id} not found")
            return json_response({"data": self._job(job)})

    def job_stages(self, request: Request, job_id: str) -> Response:
        with self.state.lock:
            if job_id not in self.state.jobs:
                raise ApiError(404, "Not Found", f"job {job_id} not found")
            stages = [self.state.stages[s] for s in self.state.job_stage_ids(job_id)]
            return self._list(request, stages, self._stage)

    def stages_list(self, request: Request) -> Response:
        job_id = request.args.get("filter[job]")
        with self.state.lock:
            stages = [s for s in self._sorted(self.state.stages) if job_id is None or s["job_id"] == job_id]
            return self._list(request, stages, self._stage)

    def candidates_list(self, request: Request) -> Response:
        includes = include_paths(request.args, {"job-applications", "job-applications.stage", "job-applications.job"})
        since = self._filter_from(request, "updated-at")
        email = request.args.get("filter[email]")
        with self.state.lock:
            candidates = [
                c
                for c in self._sorted(self.state.candidates)
                if (since is None or parse_time(c["attributes"]["updated-at"]) >= since)
                and (email is None or c["attributes"]["email"] == email)
            ]
            candidates = self._sort(request, candidates)
            return self._list(
                request,
                candidates,
                lambda c: self._candidate(c, includes),
                included=lambda window: self._included_for_candidates(window, includes),
            )

    def _included_for_candidates(self, candidates: list[dict], includes: set[str]) -> list[dict]:
        if not includes:
            return []
        ids = {c["id"] for c in candidates}
        applications = [a for a in self._sorted(self.state.applications) if a["candidate_id"] in ids]
        nested = {path.split(".", 1)[1] for path in includes if "." in path}
        return [self._application(a, nested) for a in applications] + self._included_for_applications(
            applications, nested
        )

    def candidate_show(self, request: Request, candidate_id: str) -> Response:
        includes = include_paths(request.args, {"job-applications", "job-applications.stage", "job-applications.job"})
        with self.state.lock:
            candidate = self.state.candidates.get(candidate_id)
            if candidate is None:
                raise ApiError(404, "Not Found", f"candidate {candidate_id} not found")
            body: dict[str, Any] = {"data": self._candidate(candidate, includes)}
            included = self._included_for_candidates([candidate], includes)
            if included:
                body["included"] = included
            return json_response(body)

    def applications_list(self, request: Request) -> Response:
        includes = include_paths(request.args, {"candidate", "job", "stage", "reject-reason"})
        job_id = request.args.get("filter[job]")
        candidate_id = request.args.get("filter[candidate]")
        updated_from = self._filter_from(request, "updated-at")
        changed_from = self._filter_from(request, "changed-stage-at")
        with self.state.lock:
            applications = [
                a
                for a in self._sorted(self.state.applications)
                if (job_id is None or a["job_id"] == job_id)
                and (candidate_id is None or a["candidate_id"] == candidate_id)
                and (updated_from is None or parse_time(a["attributes"]["updated-at"]) >= updated_from)
                and (changed_from is None or parse_time(a["attributes"]["changed-stage-at"]) >= changed_from)
            ]
            applications = self._sort(request, applications)
            return self._list(
                request,
                applications,
                lambda a: self._application(a, includes),
                included=lambda window: self._included_for_applications(window, includes),
            )

    def application_show(self, request: Request, application_id: str) -> Response:
        includes = include_paths(request.args, {"candidate", "job", "stage", "reject-reason"})
        with self.state.lock:
            application = self.state.applications.get(application_id)
            if application is None:
                raise ApiError(404, "Not Found", f"job-application {application_id} not found")
            body: dict[str, Any] = {"data": self._application(application, includes)}
            included = self._included_for_applications([application], includes)
            if included:
                body["included"] = included
            return json_response(body)

    def application_update(self, request: Request, application_id: str) -> Response:
        """A stage move by Stagehook (an advance rule); fires the company webhook like a move in
        Teamtailor's UI would, on its own thread because Teamtailor's webhooks are asynchronous."""
        body = self._json_body(request)
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict) or data.get("type") != "job-applications":
            raise ApiError(422, "is invalid", "data - must be a job-applications resource", pointer="/data/type")
        stage_id = str(((data.get("relationships") or {}).get("stage") or {}).get("data", {}).get("id", ""))
        with self.state.lock:
            application = self.state.applications.get(application_id)
            if application is None:
                raise ApiError(404, "Not Found", f"job-application {application_id} not found")
            self._check_stage(application, stage_id, pointer="/data/relationships/stage")
            moved = self.state.application_move(application_id, stage_id)
            rendered = self._application(moved)
        self.kit.background(self._company_webhook, moved)
        return json_response({"data": rendered})

    def _check_stage(self, application: dict, stage_id: str, *, pointer: str) -> None:
        stage = self.state.stages.get(stage_id)
        if stage is None or stage["job_id"] != application["job_id"]:
            raise ApiError(
                422,
                "is invalid",
                f"stage - {stage_id or '(none)'} is not a stage of job {application['job_id']}",
                pointer=pointer,
            )

    def users_list(self, request: Request) -> Response:
        with self.state.lock:
            return self._list(request, self._sorted(self.state.users), self._user)

    def user_show(self, request: Request, user_id: str) -> Response:
        with self.state.lock:
            user = self.state.users.get(user_id)
            if user is None:
                raise ApiError(404, "Not Found", f"user {user_id} not found")
            return json_response({"data": self._user(user)})

    def note_create(self, request: Request) -> Response:
        body = self._json_body(request)
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict) or data.get("type") != "notes":
            raise ApiError(422, "is invalid", "data - must be a notes resource", pointer="/data/type")
        note = (data.get("attributes") or {}).get("note")
        relationships = data.get("relationships") or {}

        def related_id(name: str) -> str:
            return str(((relationships.get(name) or {}).get("data") or {}).get("id", ""))

        candidate_id, user_id = related_id("candidate"), related_id("user")
        problems = []
        if not isinstance(note, str) or not note.strip():
            problems.append(validation_error("can't be blank", "note - can't be blank", "/data/attributes/note"))
        with self.state.lock:
            if candidate_id not in self.state.candidates:
                problems.append(
                    validation_error("can't be blank", "candidate - must exist", "/data/relationships/candidate")
                )
            if user_id not in self.state.users:
                problems.append(validation_error("can't be blank", "user - must exist", "/data/relationships/user"))
            if problems:
                first = problems[0]
                raise ApiError(
                    422, first["title"], first["detail"], pointer=first["source"]["pointer"], extra=problems[1:]
                )
            stored = self.state.note_create(note=note, candidate_id=candidate_id, user_id=user_id, request_body=body)
        rendered = resource(
            self.base_url,
            "notes",
            stored["id"],
            {"note": stored["note"], "created-at": stored["created_at"], "updated-at": stored["created_at"]},
            related={"candidate": {"type": "candidates", "id": candidate_id}, "user": {"type": "users", "id": user_id}},
        )
        return json_response({"data": rendered}, 201)

    def public_results_list(self, request: Request) -> Response:
        """The company's own view of partner results (public-api/partner-results.json): flat
        score, ``details`` as a JSON string, the partner's name."""

        def render(result: dict) -> dict:
            attributes = result["attributes"]
            return resource(
                self.base_url,
                "partner-results",
                result["id"],
                {
                    "assessment-score": attributes["assessment"].get("score"),
                    "attachments": copy.deepcopy(attributes["attachments"]),
                    "created-at": result["created_at"],
                    "details": json.dumps(attributes["details"] or {}),
                    "partner-name": self._config.partner_name,
                    "status": attributes["status"],
                    "summary": attributes["summary"],
                    "url": attributes["url"],
                },
            )

        with self.state.lock:
            results = sorted(self.state.partner_results.values(), key=lambda r: r["created_at"])
            return self._list(request, results, render)

    # --- partner API -------------------------------------------------------------------------
    def _result(self, result: dict) -> dict:
        attributes = copy.deepcopy(result["attributes"])
        attributes["candidate-id"] = _int_id(result["candidate_id"])
        attributes["job-id"] = _int_id(result["job_id"])
        return {
            "id": result["id"],
            "type": "partner-results",
            "links": {"self": f"{self.base_url}/partner/v1/partner-results/{result['id']}"},
            "attributes": attributes,
        }

    def results_list(self, request: Request) -> Response:
        status = request.args.get("filter[status]")
        with self.state.lock:
            results = sorted(self.state.partner_results.values(), key=lambda r: r["created_at"])
            results = [r for r in results if status is None or r["attributes"]["status"] == status]
            return self._list(request, results, self._result)

    def result_show(self, request: Request, result_id: str) -> Response:
        with self.state.lock:
            result = self.state.partner_results.get(result_id)
            if result is None:
                raise ApiError(404, "Not Found", f"partner-result {result_id} not found")
            return json_response({"data": self._result(result)})

    def _result_attributes(self, request: Request, *, result_id: str | None) -> tuple[Any, dict]:
        body = self._json_body(request)
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict) or data.get("type") != "partner-results":
            raise ApiError(422, "is invalid", "data - must be a partner-results resource", pointer="/data/type")
        if result_id is not None and "id" in data and str(data["id"]) != result_id:
            raise ApiError(422, "is invalid", "id - does not match the URL", pointer="/data/id")
        return body, data.get("attributes", {})

    @staticmethod
    def _raise_problems(problems: list[tuple[str, str, str]]) -> None:
        if problems:
            title, detail, pointer = problems[0]
            raise ApiError(422, title, detail, pointer=pointer, extra=[validation_error(*p) for p in problems[1:]])

    def result_create(self, request: Request) -> Response:
        body, attributes = self._result_attributes(request, result_id=None)
        clean, problems = validate_attributes(attributes, creating=True)
        self._raise_problems(problems)
        with self.state.lock:
            candidate_id, job_id = clean["candidate-id"], clean.get("job-id")
            if candidate_id not in self.state.candidates:
                raise ApiError(
                    422, "is invalid", "candidate-id - candidate not found", pointer="/data/attributes/candidate-id"
                )
            if job_id is not None and job_id not in self.state.jobs:
                raise ApiError(422, "is invalid", "job-id - job not found", pointer="/data/attributes/job-id")
            result = self.state.partner_result_create(
                candidate_id=candidate_id,
                job_id=job_id,
                created_via="partner-api",
                status=clean.get("status", "sending"),
            )
            self.state.partner_result_apply(result["id"], clean, source=f"{request.method} (create)", request_body=body)
            return json_response({"data": self._result(result)}, 201)

    def result_update(self, request: Request, result_id: str) -> Response:
        with self.state.lock:
            if result_id not in self.state.partner_results:
                raise ApiError(404, "Not Found", f"partner-result {result_id} not found")
        body, attributes = self._result_attributes(request, result_id=result_id)
        clean, problems = validate_attributes(attributes, creating=False)
        with self.state.lock:
            result = self.state.partner_results[result_id]
            for name, key in (("candidate-id", "candidate_id"), ("job-id", "job_id")):
                if name in clean and clean[name] != result[key]:
                    problems.append(("is invalid", f"{name} - cannot be changed", f"/data/attributes/{name}"))
            if problems:
                errors = [validation_error(*p) for p in problems]
                self.state.partner_result_reject(result_id, source=request.method, request_body=body, errors=errors)
                self._raise_problems(problems)
            self.state.partner_result_apply(result_id, clean, source=request.method, request_body=body)
            return json_response({"data": self._result(result)})


def create_app(config: SandboxConfig = SANDBOX_DEFAULTS) -> Sandbox:
    return Sandbox(config)


def _api_error(exc: Exception) -> Response | None:
    return error_response(exc) if isinstance(exc, ApiError) else None
