"""The sandbox's side of the conversation Teamtailor starts: partner events, result-card action
clicks and company webhooks (built and signed here, sent through the outbox and its faults), the
activation call, and the ``/_sandbox/`` control endpoints that fire them and show what Stagehook
left behind.

A part of ``Sandbox`` (app.py), declared below: it uses the sandbox's ``state``, ``kit``, live
config and the API renderers. The generic control endpoints (faults, stats, webhooks, config,
reset) are the sandbox kit's (integrations.sandbox).
"""

from __future__ import annotations

import copy
import json
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from werkzeug.wrappers import Request, Response

from integrations.sandbox import Outbox, Routes, SandboxKit

from .config import SandboxConfig
from .jsonapi import ApiError, json_response, validation_error
from .outbound import activation_jws, company_signature_v1, company_signature_v2, partner_signature
from .state import SandboxState, fixture, isoformat, now
from .validation import validate_attributes


class ControlEndpoints:
    """Outgoing calls and Teamtailor's own control endpoints; see the module docstring."""

    # What this part uses of the Sandbox it belongs to (set in Sandbox.__init__ / its properties).
    state: SandboxState
    kit: SandboxKit
    outbox: Outbox
    routes: Routes
    _config: SandboxConfig
    base_url: str
    provider_key: str
    stagehook: Callable[[str], str]
    _application: Callable[..., dict]
    _result: Callable[[dict], dict]
    _check_stage: Callable[..., None]

    # --- outgoing: partner events and company webhooks ----------------------------------------
    def _teamtailor_host(self) -> str:
        return urlsplit(self.base_url).netloc

    def _partner_event(
        self, *, result: dict, candidate: dict, job: dict | None, application, webhook_data, user
    ) -> dict:
        """The body Teamtailor POSTs to the partner's webhook, shaped like the partner docs'
        example (partner_webhook_request_body.json); bulk mode (no job) has no ``job``."""
        template = fixture("partner_webhook_request_body.json")
        attrs = candidate["attributes"]
        event_candidate = {
            "id": int(candidate["id"]),
            "uuid": candidate["uuid"],
            "first-name": attrs["first-name"],
            "last-name": attrs["last-name"],
            "email": attrs["email"],
            "phone": attrs["phone"],
            "picture-url": attrs.get("picture"),
            "tags": list(attrs.get("tags") or []),
            "department": None,
            "role": None,
            "job-offers": [],
            "referrals": [],
            "onboardings": [],
        }
        if job is not None:
            stage = self.state.stages[application["stage_id"]]
            event_candidate["job"] = {
                "id": int(job["id"]),
                "title": job["attributes"]["title"],
                "stage-id": int(stage["id"]),
                "stage": stage["attributes"]["name"],
                "tags": list(job["attributes"].get("tags") or []),
                "trigger-id": int(self.state.next_id("triggers")),
                "custom-fields": [],
                "status": {"rejected": bool(application["attributes"].get("rejected-at"))},
                "triggered-by": {
                    "id": int(user["id"]),
                    "email": user["attributes"]["email"],
                    "name": user["attributes"]["name"],
                },
            }
        event_candidate.update(
            {
                "recruiter": {
                    "name": user["attributes"]["name"],
                    "email": user["attributes"]["email"],
                    "phone": user["attributes"]["phone"],
                },
                "locations": [],
                "questions": [],
                "custom-fields": [],
                "uploads": [],
                "resume": None,
            }
        )
        # Same key order as Teamtailor's example, so a diff against the docs reads easily.
        ordered = {
            key: event_candidate[key] for key in template["partner-event"]["candidate"] if key in event_candidate
        }
        return {
            "partner-event": {
                "id": str(uuid.uuid4()),
                "webhook-data": webhook_data,
                "partner-result": {
                    "id": result["id"],
                    "status": "sending",
                    "update-url": f"{self.base_url}/partner/v1/partner-results/{result['id']}",
                },
                "candidate": ordered,
            },
            "company": {
                "uuid": self._config.company_uuid,
                "name": self._config.company_name,
                "url": f"{self.base_url}/careersite",
                "logotype": None,
            },
        }

    def _on_partner_answer(
        self, result_id: str, *, source: str = "webhook answer", log: str = "webhook_answers"
    ) -> Callable:
        """Teamtailor reads ``partner_result_attributes`` from a 2xx answer and applies them to
        the result; a >= 400 answer's text is shown on the result card. Action answers are
        treated alike (the docs only ask for a 2xx; applying attributes is the lenient reading)."""

        def apply(response) -> None:
            answer: Any
            try:
                answer = response.json()
            except ValueError:
                answer = response.text[:2000]
            with self.state.lock:
                result = self.state.partner_results[result_id]
                result[log].append({"at": isoformat(now()), "status": response.status_code, "body": answer})
                if response.status_code >= 400:
                    result["card_error"] = response.text[:500]
                    return
                if log == "action_clicks":
                    result["card_error"] = None  # a successful click replaces an earlier error
            if isinstance(answer, dict) and isinstance(answer.get("partner_result_attributes"), dict):
                clean, problems = validate_attributes(answer["partner_result_attributes"], creating=False)
                if problems:
                    errors = [validation_error(*p) for p in problems]
                    self.state.partner_result_reject(result_id, source=source, request_body=answer, errors=errors)
                else:
                    self.state.partner_result_apply(result_id, clean, source=source, request_body=answer)

        return apply

    def _action_event(self, result: dict) -> dict:
        """What a click sends: "the same partner event as originally sent" (Teamtailor's docs).
        A result created over the partner API had no event; the sandbox then builds one for it
        once (same shape, its own id, kept so every click of that card carries the same event)."""
        if result.get("partner_event") is None:
            candidate = self.state.candidates.get(result["candidate_id"])
            job = self.state.jobs.get(result["job_id"]) if result["job_id"] else None
            application = self.state.application_for(result["candidate_id"], result["job_id"]) if job else None
            if candidate is None:
                raise LookupError(f"candidate {result['candidate_id']} of the result no longer exists")
            event = self._partner_event(
                result=result, candidate=candidate, job=job if application else None,
                application=application, webhook_data={}, user=self.state.users["34"],
            )
            result["partner_event"] = event
        return copy.deepcopy(result["partner_event"])

    def _company_webhook(self, application: dict) -> list[dict]:
        """``job_application.update`` with exactly the fields Teamtailor documents for a job
        application (TEAMTAILOR.md): no stage id and no candidate id, in kebab-case attributes like
        the documented job webhook. A receiver must read the application to learn them."""
        config = self._config
        attributes = application["attributes"]
        with self.state.lock:
            job = self.state.jobs.get(application["job_id"]) or {"attributes": {}}
            stage = self.state.stages.get(application["stage_id"]) or {"attributes": {}}
        data = {
            "id": application["id"],
            "type": "job-applications",
            "attributes": {
                "updated-at": attributes.get("updated-at"),
                "job-id": int(application["job_id"]) if str(application["job_id"]).isdigit() else application["job_id"],
                "job-title": job["attributes"].get("title"),
                "last-moved-at": attributes.get("changed-stage-at"),
                "stage-name": stage["attributes"].get("name"),
                "referring-site": attributes.get("referring-site"),
                "referring-url": attributes.get("referring-url"),
                "referer-id": None,
                "rejected-at": attributes.get("rejected-at"),
                "promotion-id": None,
                "company-uuid": config.company_uuid,
                "transparent-recruiting-visible-at": None,
            },
        }
        body = {
            "payload": {"event_name": "job_application.update", "data": data},
            "signature": company_signature_v1(config.company_webhook_secret, data["id"]),
        }
        raw = json.dumps(body).encode()
        headers = {
            "Content-Type": "application/json",
            "TT-Signature": company_signature_v2(config.company_webhook_secret, raw, int(time.time())),
        }
        return self.outbox.deliver(
            kind="company-webhook", url=self.stagehook("company-webhooks"), body=raw, headers=headers
        )

    # --- control endpoints ---------------------------------------------------------------------
    def control_index(self, request: Request) -> Response:
        return json_response(
            {
                "sandbox": "teamtailor",
                "base_url": self.base_url,
                "endpoints": sorted(set(self.routes.paths()) | set(self.kit.control_paths())),
            },
            media_type="application/json",
        )

    def control_trigger(self, request: Request) -> Response:
        body = self._control_body(request)
        candidate_id = str(body.get("candidate_id") or "")
        job_id = str(body["job_id"]) if body.get("job_id") not in (None, "") else None
        webhook_data = {str(k).replace("_", "-"): str(v) for k, v in (body.get("webhook_data") or {}).items()}
        user_id = str(body.get("user_id") or "34")
        package = str(body.get("package_id") or "").strip()
        if package:
            if not package.isdigit():
                # A package named like the recruiter picks it: its id from Stagehook's trigger form.
                try:
                    package = self._package_option(package, job_id=job_id, user_id=user_id)
                except LookupError as exc:
                    return _control_error(422, str(exc))
            webhook_data[self._config.package_field.replace("_", "-")] = package
        with self.state.lock:
            candidate = self.state.candidates.get(candidate_id)
            if candidate is None:
                return _control_error(404, f"candidate {candidate_id or '(missing candidate_id)'} not found")
            user = self.state.users.get(user_id)
            if user is None:
                return _control_error(404, f"user {user_id} not found")
            job = application = None
            if job_id is not None:
                job = self.state.jobs.get(job_id)
                application = self.state.application_for(candidate_id, job_id)
                if job is None or application is None:
                    return _control_error(422, f"candidate {candidate_id} has no application on job {job_id}")
            result = self.state.partner_result_create(candidate_id=candidate_id, job_id=job_id, created_via="trigger")
            event = self._partner_event(
                result=result,
                candidate=candidate,
                job=job,
                application=application,
                webhook_data=webhook_data,
                user=user,
            )
            result["partner_event_id"] = event["partner-event"]["id"]
            result["partner_event"] = copy.deepcopy(event)
            result_id = result["id"]
        config = self._config
        timestamp = int(time.time())
        if result_id in self.state.partner_results:
            # Clicks on this card are signed later than this (Teamtailor's clock moves on).
            self.state.partner_results[result_id]["trigger_signed_at"] = timestamp
        raw = json.dumps(event).encode()
        headers = {
            "Content-Type": "application/json",
            "Authorization": f"Bearer {self.provider_key}",
            "Teamtailor-Signature": partner_signature(config.webhook_secret, event["partner-event"]["id"], timestamp),
            "Teamtailor-Host": self._teamtailor_host(),
            "Teamtailor-Api-Token": config.api_key,
        }
        answers = self.outbox.deliver(
            kind="partner-event",
            url=self.stagehook("webhook"),
            body=raw,
            headers=headers,
            on_answer=self._on_partner_answer(result_id),
        )
        return json_response(
            {
                "partner_event_id": event["partner-event"]["id"],
                "partner_result": self._inspect_result(result_id),
                "stagehook": answers,
            },
            media_type="application/json",
        )

    def _trigger_config(self, *, job_id: str | None, stage_id: str | None, user_id: str) -> tuple[int, Any]:
        """What Teamtailor asks when a recruiter builds the trigger: Stagehook's config fields."""
        params = {"user_id": user_id}
        if job_id:
            params["job_id"] = job_id
        if stage_id:
            params["stage_id"] = stage_id
        response = self.outbox.get(
            self.stagehook("config"),
            headers={"Authorization": f"Bearer {self.provider_key}", "Teamtailor-Host": self._teamtailor_host()},
            params=params,
        )
        try:
            return response.status_code, response.json()
        except ValueError:
            return response.status_code, response.text[:2000]

    def _package_option(self, label: str, *, job_id: str | None, user_id: str) -> str:
        try:
            status, body = self._trigger_config(job_id=job_id, stage_id=None, user_id=user_id)
        except Exception as exc:  # noqa: BLE001 - transport errors become the message
            raise LookupError(f"cannot read Stagehook's trigger form: {exc}") from None
        fields = body.get("config", {}).get("fields", []) if isinstance(body, dict) else []
        field = next((f for f in fields if f.get("id") == self._config.package_field), None)
        if status >= 400 or field is None:
            raise LookupError(f"Stagehook's trigger form has no {self._config.package_field!r} field ({status})")
        options = list(field.get("options") or [])
        for group in field.get("optgroups") or []:
            options += group.get("options") or []
        for option in options:
            if str(option.get("label", "")).strip().lower() == label.lower():
                return str(option["id"])
        labels = ", ".join(repr(str(o.get("label"))) for o in options) or "none"
        raise LookupError(f"no package {label!r} in Stagehook's trigger form (offered: {labels})")

    def control_trigger_config(self, request: Request) -> Response:
        try:
            status, body = self._trigger_config(
                job_id=request.args.get("job_id"),
                stage_id=request.args.get("stage_id"),
                user_id=request.args.get("user_id", "34"),
            )
        except Exception as exc:  # noqa: BLE001 - transport errors become the message
            return _control_error(502, f"Stagehook unreachable: {exc}")
        return json_response({"stagehook": {"status": status, "body": body}}, media_type="application/json")

    def control_move(self, request: Request, application_id: str) -> Response:
        body = self._control_body(request)
        stage_id = str(body.get("stage_id") or "")
        with self.state.lock:
            application = self.state.applications.get(application_id)
            if application is None:
                return _control_error(404, f"job-application {application_id} not found")
            try:
                self._check_stage(application, stage_id, pointer="stage_id")
            except ApiError as error:
                return _control_error(422, error.detail)
            moved = self.state.application_move(application_id, stage_id)
        answers = self._company_webhook(moved)
        return json_response(
            {"application": self._application(moved, {"candidate", "job", "stage"}), "stagehook": answers},
            media_type="application/json",
        )

    def control_activate(self, request: Request) -> Response:
        """Teamtailor saving the activation form: the new provider key is a JWS of the filled
        form, checked by Stagehook's validate endpoint; on success it becomes the provider key."""
        body = self._control_body(request)
        token = body.get("connection_token")
        if not token:
            return _control_error(400, "connection_token is required")
        form = {"connection_token": token, **(body.get("fields") or {})}
        jws = activation_jws(form, self._config.partner_api_key)
        try:
            response = self.outbox.get(
                self.stagehook("activation/validate"),
                headers={"Authorization": f"Bearer {jws}", "Teamtailor-Host": self._teamtailor_host()},
                params={},
            )
        except Exception as exc:  # noqa: BLE001 - any transport error is the answer to show
            return _control_error(502, f"Stagehook unreachable: {exc}")
        activated = 200 <= response.status_code < 300
        with self.state.lock:
            self.state.activations.append(
                {"at": isoformat(now()), "status": response.status_code, "activated": activated}
            )
            if activated and body.get("use_as_provider_key", True):
                self.state.provider_key_override = jws
        try:
            answer = response.json()
        except ValueError:
            answer = response.text[:2000]
        return json_response(
            {
                "activated": activated,
                "stagehook": {"status": response.status_code, "body": answer},
                "provider_key": jws,
            },
            media_type="application/json",
        )

    def _inspect_result(self, result_id: str) -> dict:
        with self.state.lock:
            result = self.state.partner_results[result_id]
            candidate = self.state.candidates.get(result["candidate_id"]) or {"attributes": {}}
            return {
                "id": result["id"],
                "status": result["attributes"]["status"],
                "score": result["attributes"]["assessment"].get("score"),
                "candidate_id": result["candidate_id"],
                "candidate_name": " ".join(
                    filter(None, [candidate["attributes"].get("first-name"), candidate["attributes"].get("last-name")])
                ),
                "job_id": result["job_id"],
                "created_via": result["created_via"],
                "partner_event_id": result["partner_event_id"],
                "created_at": result["created_at"],
                "updated_at": result["updated_at"],
                "update_url": f"{self.base_url}/partner/v1/partner-results/{result['id']}",
                "attributes": self._result(result)["attributes"],
                "card_error": result.get("card_error"),
                "webhook_answers": copy.deepcopy(result["webhook_answers"]),
                "action_clicks": copy.deepcopy(result["action_clicks"]),
                "history": copy.deepcopy(result["history"]),
            }

    def control_click(self, request: Request, result_id: str, index: int) -> Response:
        """A recruiter clicks the result card's action button ``index`` (0-based, in the order
        Stagehook sent them): Teamtailor POSTs the original partner event, signed, with the
        provider key, to ``{partner base URL}/{endpoint}``."""
        with self.state.lock:
            result = self.state.partner_results.get(result_id)
            if result is None:
                return _control_error(404, f"partner result {result_id} not found")
            actions = result["attributes"].get("actions") or []
            if not 0 <= index < len(actions):
                labels = ", ".join(f"{i}: {a['buttonText']!r}" for i, a in enumerate(actions)) or "none"
                return _control_error(404, f"the card has no action {index} (actions: {labels})")
            button = copy.deepcopy(actions[index])
            endpoint = str(button["endpoint"]).strip()
            if "://" in endpoint or endpoint.startswith("//") or ".." in endpoint.split("/"):
                return _control_error(422, f"endpoint {endpoint!r} is not a path under the partner base URL")
            try:
                event = self._action_event(result)
            except LookupError as exc:
                return _control_error(422, str(exc))
        config = self._config
        event_id = event["partner-event"]["id"]
        with self.state.lock:
            timestamp = max(int(time.time()), int(result.get("trigger_signed_at") or 0) + 1)
            result["trigger_signed_at"] = timestamp
        headers = {
            "Content-Type": "application/json",
            "Authorization": f"Bearer {self.provider_key}",
            # Each call about a card is signed later than the one before (the trigger, earlier
            # clicks): a signed request is never reused, as with Teamtailor's moving clock.
            "Teamtailor-Signature": partner_signature(config.webhook_secret, event_id, timestamp),
            "Teamtailor-Host": self._teamtailor_host(),
            "Teamtailor-Api-Token": config.api_key,
        }
        answers = self.outbox.deliver(
            kind="partner-action",
            url=self.stagehook(endpoint.lstrip("/")),
            body=json.dumps(event).encode(),
            headers=headers,
            on_answer=self._on_partner_answer(result_id, source="action answer", log="action_clicks"),
        )
        return json_response(
            {"action": button, "partner_result": self._inspect_result(result_id), "stagehook": answers},
            media_type="application/json",
        )

    def control_results(self, request: Request) -> Response:
        candidate_id = request.args.get("candidate_id")
        with self.state.lock:
            results = sorted(self.state.partner_results.values(), key=lambda r: r["created_at"])
            ids = [r["id"] for r in results if candidate_id is None or r["candidate_id"] == candidate_id]
            return json_response(
                {"partner_results": [self._inspect_result(i) for i in ids]}, media_type="application/json"
            )

    def control_notes(self, request: Request) -> Response:
        with self.state.lock:
            notes = sorted(self.state.notes.values(), key=lambda n: int(n["id"]))
            return json_response({"notes": copy.deepcopy(notes)}, media_type="application/json")

    def control_seed(self, request: Request) -> Response:
        """``{"candidates": N}``: generate N candidates with an application each (state.generate)."""
        count = self._control_body(request).get("candidates", 0)
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= 200_000:
            return _control_error(400, "candidates is a whole number between 0 and 200000")
        return json_response({"candidates": self.state.generate(count)}, media_type="application/json")

    @staticmethod
    def _control_body(request: Request) -> dict:
        raw = request.get_data()
        if not raw:
            return {}
        try:
            body = json.loads(raw)
        except ValueError:
            raise ApiError(400, "Bad Request", "request body is not valid JSON") from None
        if not isinstance(body, dict):
            raise ApiError(400, "Bad Request", "request body must be a JSON object")
        return body


def _control_error(status: int, message: str) -> Response:
    return json_response({"error": message}, status, media_type="application/json")
