"""What SmartRecruiters does on its own: the activation handshake and signed webhook deliveries
(with retries), the consent a customer's admin gives, ordering a package from Stagehook (token at
Stagehook's token endpoint, packages, the order: ad-hoc, auto-triggered by a hiring-process step,
inline), moving an application; and the ``/_sandbox/`` control endpoints that set these off and
show what Stagehook left behind (results, attachments, notes, deliveries). For a customer's own
app: ``apps`` (register one), ``authorize`` (the authorization page's mode), ``tokens`` (expire,
revoke refresh tokens, the lifetime), and per candidate ``notes``, ``application-attachments``
and ``properties``.

A part of ``Sandbox`` (app.py), declared below: it uses the sandbox's ``state``, ``kit``,
``outbox``, live config and renderers. The generic control endpoints (faults, stats, webhooks,
config, reset) are the sandbox kit's (integrations.sandbox).

Stagehook's URLs come from the partner configuration Stagehook PUT (``oauthTokenUrl``,
``assessmentPackageListUrl``, ``packageOrderUrl``, ``inlineAssessmentPackageOrderUrl``,
``consentUrl``), as SmartRecruiters learns them."""

from __future__ import annotations

import copy
import json
import secrets
import threading
import uuid
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

import requests
from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from integrations.sandbox import ControlError, Outbox, Routes, SandboxKit, control_body, control_json

from .config import SandboxConfig
from .schemas import problems
from .signing import signature_header
from .state import SYSTEM_ROLES, SandboxState, isoformat

C = "/_sandbox/"
CONTROL_RULES = [
    Rule(C, endpoint="control_index", methods=["GET"]),
    Rule(f"{C}consent", endpoint="control_consent", methods=["POST"]),
    Rule(f"{C}consent/return", endpoint="control_consent_return", methods=["GET"]),
    Rule(f"{C}companies", endpoint="control_companies", methods=["GET"]),
    Rule(f"{C}uninstall", endpoint="control_uninstall", methods=["POST"]),
    Rule(f"{C}orders", endpoint="control_orders", methods=["GET"]),
    Rule(f"{C}orders", endpoint="control_order", methods=["POST"]),
    Rule(f"{C}orders/<order_id>/resend", endpoint="control_order_resend", methods=["POST"]),
    Rule(f"{C}orders/<order_id>/completed", endpoint="control_inline_completed", methods=["GET"]),
    Rule(f"{C}auto-triggers", endpoint="control_auto_triggers", methods=["GET", "POST"]),
    Rule(f"{C}applications/move", endpoint="control_move", methods=["POST"]),
    Rule(f"{C}attachments/<attachment_id>", endpoint="control_attachment", methods=["GET"]),
    Rule(f"{C}shares", endpoint="control_shares", methods=["GET"]),
    Rule(f"{C}subscriptions", endpoint="control_subscriptions", methods=["GET"]),
    Rule(f"{C}deliveries", endpoint="control_deliveries", methods=["GET"]),
    Rule(f"{C}deliveries/retry", endpoint="control_deliveries_retry", methods=["POST"]),
    Rule(f"{C}events", endpoint="control_event", methods=["POST"]),
    Rule(f"{C}clock", endpoint="control_clock", methods=["GET", "POST"]),
    Rule(f"{C}tokens/expire", endpoint="control_tokens_expire", methods=["POST"]),
    Rule(f"{C}seed", endpoint="control_seed", methods=["POST"]),
    Rule(f"{C}apps", endpoint="control_apps", methods=["GET", "POST"]),
    Rule(f"{C}authorize", endpoint="control_authorize", methods=["GET", "POST"]),
    Rule(f"{C}tokens", endpoint="control_tokens", methods=["GET", "POST"]),
    Rule(f"{C}notes", endpoint="control_notes", methods=["GET"]),
    Rule(f"{C}application-attachments", endpoint="control_application_attachments", methods=["GET"]),
    Rule(f"{C}properties", endpoint="control_properties", methods=["GET"]),
]
AUTHORIZE_MODES = ("page", "approve", "deny")
EVENT_VERSION = "v1"


class _Form(HTMLParser):
    """The form of a page a person would fill in: every <form> is read (action, method and the
    fields a browser would submit), and ``form`` is the sign-in form if there is one, else the one
    with the most fields (a page header's one-button "Sign out" form is never it)."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict[str, Any]] = []
        self._current: dict[str, Any] | None = None
        self._select: str | None = None

    @property
    def form(self) -> dict[str, Any] | None:
        if not self.forms:
            return None
        with_password = [f for f in self.forms if "password" in f["types"].values()]
        if with_password:
            return with_password[0]
        return max(self.forms, key=lambda f: len(f["types"]))

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        form = self._current
        if tag == "form" and form is None:
            self._current = {
                "action": attrs.get("action") or "", "method": (attrs.get("method") or "get").lower(), "fields": {}, "types": {},
            }
            self.forms.append(self._current)
        elif form is not None and tag in ("input", "button") and attrs.get("name"):
            kind = (attrs.get("type") or "text").lower()
            form["types"][attrs["name"]] = kind
            if kind in ("checkbox", "radio") and "checked" not in attrs:
                return
            if tag == "button" or kind == "submit":
                form["fields"].setdefault(attrs["name"], attrs.get("value") or "")
            else:
                form["fields"][attrs["name"]] = attrs.get("value") or ""
        elif form is not None and tag == "select" and attrs.get("name"):
            self._select = attrs["name"]
            form["types"][attrs["name"]] = "select"
        elif form is not None and tag == "option" and self._select:
            if self._select not in form["fields"] or "selected" in attrs:
                form["fields"][self._select] = attrs.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "form":
            self._current = None
        if tag == "select":
            self._select = None


class ControlEndpoints:
    """Outgoing calls and SmartRecruiters' own control endpoints; see the module docstring."""

    # What this part uses of the Sandbox it belongs to (set in Sandbox.__init__ / its properties).
    state: SandboxState
    kit: SandboxKit
    outbox: Outbox
    routes: Routes
    _config: SandboxConfig
    base_url: str

    def _init_outgoing(self) -> None:
        self._retry_timers: list[threading.Timer] = []
        # Calls to Stagehook that are not webhooks (the order flow, the consent page): no proxy.
        self._http = requests.Session()
        self._http.trust_env = False

    def cancel_retries(self) -> None:
        with self.state.lock:
            timers, self._retry_timers = self._retry_timers, []
        for timer in timers:
            timer.cancel()

    # --- subscriptions: handshake, keys, deliveries -------------------------------------------
    def state_subscription_add(self, *, company_id: str, body: dict) -> dict:
        sub = {
            "id": str(uuid.uuid4()),
            "company_id": company_id,
            "callbackUrl": body["callbackUrl"],
            "events": list(dict.fromkeys(body["events"])),
            "alertingEmailAddress": body.get("alertingEmailAddress"),
            "status": "inactive",
            "keys": [],  # newest first: {key, created, expires_at (None: current)}
            "activations": [],
            "created": isoformat(self.state.now()),
        }
        self.state.subscriptions[sub["id"]] = sub
        return sub

    def activation_handshake(self, sub: dict) -> str | None:
        """POST to callbackUrl with ``X-Hook-Secret``; active only on 200 echoing it. The error
        (None: activated) is kept on the subscription."""
        secret = secrets.token_urlsafe(24)
        attempt: dict[str, Any] = {"at": isoformat(self.state.now())}
        try:
            response = self._http.post(
                sub["callbackUrl"], headers={"X-Hook-Secret": secret}, timeout=self._config.activation_timeout,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            error = f"callback unreachable: {type(exc).__name__}"
        else:
            attempt["status"] = response.status_code
            echoed = response.headers.get("X-Hook-Secret")
            if response.status_code != 200:
                error = f"callback answered {response.status_code}, expected 200"
            elif echoed != secret:
                error = "callback did not echo X-Hook-Secret" if echoed is None else "callback echoed a different X-Hook-Secret"
            else:
                error = None
        attempt["error"] = error
        with self.state.lock:
            sub["activations"].append(attempt)
            if error is None:
                sub["status"] = "active"
        return error

    def secret_key_rotate(self, sub: dict) -> str:
        now = self.state.clock()
        for key in sub["keys"]:
            if key["expires_at"] is None:
                key["expires_at"] = now + self._config.key_overlap_seconds
        key = secrets.token_hex(32)
        sub["keys"].insert(0, {"key": key, "created": now, "expires_at": None})
        return key

    def _valid_keys(self, sub: dict) -> list[str]:
        now = self.state.clock()
        return [k["key"] for k in sub["keys"] if k["expires_at"] is None or k["expires_at"] > now]

    def deliver_event(self, *, company_id: str, event_name: str, payload: dict, link: str) -> list[dict]:
        """Send ``event_name`` to every active subscription of the company that asked for it;
        one delivery (one ``event-id``) per subscription, retried on failure."""
        with self.state.lock:
            subs = [
                s for s in self.state.subscriptions.values()
                if s["company_id"] == company_id and s["status"] == "active" and event_name in s["events"]
            ]
            deliveries = []
            for sub in subs:
                delivery = {
                    "event_id": str(uuid.uuid4()),
                    "subscription_id": sub["id"],
                    "event_name": event_name,
                    "payload": payload,
                    "link": f"<{link}>; rel=self",
                    "url": sub["callbackUrl"],
                    "attempts": 0,
                    "status": "pending",  # pending | delivered | retrying | failed | dropped | held
                    "answers": [],
                }
                self.state.deliveries.append(delivery)
                deliveries.append(delivery)
        for delivery in deliveries:
            self._attempt(delivery)
        return [self._delivery_view(d) for d in deliveries]

    def _attempt(self, delivery: dict) -> None:
        body = json.dumps(delivery["payload"], separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json",
            "event-id": delivery["event_id"],
            "event-name": delivery["event_name"],
            "event-version": EVENT_VERSION,
            "link": delivery["link"],
        }

        def sign(raw: bytes) -> dict[str, str]:
            timestamp = str(int(self.state.clock()))
            with self.state.lock:
                sub = self.state.subscriptions.get(delivery["subscription_id"])
                keys = self._valid_keys(sub) if sub else []
            signed = {"smartrecruiters-timestamp": timestamp}
            if keys:
                signed["smartrecruiters-signature"] = signature_header(
                    keys, timestamp=timestamp, body=raw, event_id=delivery["event_id"],
                    event_name=delivery["event_name"], event_version=EVENT_VERSION, link=delivery["link"],
                )
            return signed

        def on_answer(response: requests.Response) -> None:
            with self.state.lock:
                delivery["answers"].append(response.status_code)
                if 200 <= response.status_code < 300:
                    delivery["status"] = "delivered"

        with self.state.lock:
            delivery["attempts"] += 1
        answers = self.outbox.deliver(
            kind=delivery["event_name"], url=delivery["url"], body=body, headers=headers, sign=sign, on_answer=on_answer
        )
        with self.state.lock:
            if delivery["status"] == "delivered":
                return
            if any(a.get("dropped") for a in answers):
                delivery["status"] = "dropped"
                return
            if any(a.get("held") for a in answers):
                delivery["status"] = "held"
                return
            for answer in answers:
                if answer.get("status") is None:
                    delivery["answers"].append(answer.get("error", "no answer"))
            retries = self._config.retry_delays
            done = delivery["attempts"] - 1
            if done >= len(retries):
                delivery["status"] = "failed"
                return
            delivery["status"] = "retrying"
            delivery["next_retry_in"] = retries[done]
            timer = threading.Timer(retries[done], self._retry, args=(delivery,))
            timer.daemon = True
            self._retry_timers = [t for t in self._retry_timers if t.is_alive()] + [timer]
            timer.start()

    def _retry(self, delivery: dict) -> None:
        with self.state.lock:
            if delivery["status"] != "retrying":
                return
            delivery["status"] = "pending"
        self._attempt(delivery)

    @staticmethod
    def _delivery_view(delivery: dict) -> dict:
        return {k: copy.deepcopy(v) for k, v in delivery.items()}

    def application_event(self, application: dict, event_name: str = "application.status.updated") -> list[dict]:
        payload = {
            "job_id": application["job_id"],
            "candidate_id": application["candidate_id"],
            "application_id": application["id"],
        }
        link = f"{self.base_url}/candidates/{application['candidate_id']}/jobs/{application['job_id']}"
        return self.deliver_event(
            company_id=self.state.jobs[application["job_id"]]["company_id"], event_name=event_name, payload=payload, link=link
        )

    def after_move(self, application: dict, *, by: str) -> dict:
        """What follows a status change: the webhook, then any auto-trigger order of that step."""
        deliveries = self.application_event(application)
        orders = []
        with self.state.lock:
            triggers = [
                t for t in self.state.auto_triggers
                if t["status"] == application["status"]
                and t["sub_status"] in (None, application["subStatus"])
                and t["job_id"] in (None, application["job_id"])
            ]
        for trigger in triggers:
            orders.append(
                self.order_package(
                    candidate_id=application["candidate_id"], job_id=application["job_id"], mode="auto-trigger",
                    package=trigger["package"], requester=None,
                    trigger=f"hiring-process step {application['status']}/{application['subStatus'] or '-'} ({by})",
                )
            )
        return {"deliveries": deliveries, "orders": orders}

    # --- ordering a package from Stagehook ----------------------------------------------------
    def _stagehook_url(self, key: str) -> str:
        configuration = self.state.partner_configuration
        if configuration is None:
            raise ControlError(409, "no partner configuration: Stagehook must PUT it first (manage.py smartrecruiters_configure)")
        url = configuration.get(key)
        if not url:
            raise ControlError(409, f"the partner configuration has no {key}")
        return url

    def _call(self, log: list, method: str, url: str, **kwargs) -> requests.Response:
        try:
            response = self._http.request(method, url, timeout=self._config.webhook_timeout * 2, allow_redirects=False, **kwargs)
        except requests.RequestException as exc:
            log.append({"call": f"{method} {url}", "error": f"{type(exc).__name__}: {exc}"})
            raise ControlError(502, f"Stagehook unreachable at {url}: {type(exc).__name__}") from None
        try:
            answer: Any = response.json()
        except ValueError:
            answer = response.text[:2000]
        shown = answer
        if isinstance(answer, dict) and "access_token" in answer:
            # The order view and the verbs print this log: Stagehook's token is a secret.
            shown = {**answer, "access_token": "[redacted]"}
        log.append({"call": f"{method} {url}", "status": response.status_code, "answer": shown})
        return response

    def _stagehook_token(self, company: dict, log: list) -> str:
        credentials = company["partner_credentials"]
        response = self._call(
            log, "POST", self._stagehook_url("oauthTokenUrl"),
            data={"grant_type": "client_credentials", "client_id": credentials["clientId"], "client_secret": credentials["clientSecret"]},
        )
        try:
            body: Any = response.json()
        except ValueError:
            body = response.text[:300]
        if response.status_code != 200 or problems("AccessToken", body):
            raise ControlError(502, f"Stagehook's token endpoint answered {response.status_code}: {json.dumps(log[-1]['answer'])[:300]}")
        return body["access_token"]

    def order_package(
        self, *, candidate_id: str, job_id: str, mode: str, package: str | None, requester: dict | None, trigger: str,
        fields: dict | None = None,
    ) -> dict:
        """Order a package for a candidate's application as SmartRecruiters does. Returns the order
        view (with every call and Stagehook's answers); ControlError when a step fails."""
        with self.state.lock:
            if (candidate_id, job_id) not in self.state.applications:
                raise ControlError(404, f"candidate {candidate_id} has not applied to job {job_id}")
            job = copy.deepcopy(self.state.jobs[job_id])
            company = self.state.companies[job["company_id"]]
            if not company["integrated"] or not company["partner_credentials"]:
                raise ControlError(409, f"company {company['id']} is not integrated: run the consent flow first")
            candidate = copy.deepcopy(self.state.candidates[candidate_id])
            order = self.state.order_create(company_id=company["id"], cid=candidate_id, job_id=job_id, mode=mode, trigger=trigger)
        log = order["stagehook"]
        requester = requester or {"userId": "5d5f0b7ae4b0a1c2d3e4f567", "email": "hiring.manager@example.com"}
        try:
            token = self._stagehook_token(company, log)
            auth = {"Authorization": f"Bearer {token}"}
            response = self._call(
                log, "GET", self._stagehook_url("assessmentPackageListUrl"),
                headers={**auth, "requester": json.dumps({"email": requester["email"]}), "Accept": "application/json"},
                params={**self._package_query(job), **(fields or {})},
            )
            if response.status_code == 204:
                raise ControlError(409, "Stagehook has no packages for this company (204)")
            packages = log[-1]["answer"]
            if response.status_code != 200 or not isinstance(packages, list):
                raise ControlError(502, f"GET packages answered {response.status_code}: {json.dumps(packages)[:300]}")
            bad = [p for item in packages for p in problems("AssessmentPackage", item)]
            if bad:
                raise ControlError(502, f"Stagehook's packages do not fit AssessmentPackage: {bad[0]}")
            chosen = next((p for p in packages if package in (None, p["id"], p["name"])), None)
            if chosen is None:
                names = ", ".join(f"{p['id']} ({p['name']})" for p in packages)
                raise ControlError(404, f"no package {package!r} among Stagehook's: {names}")
            results_url = f"{self.base_url}/assessment-api/v202010/orders/{order['orderId']}/results"
            common = {
                "assessmentPackageId": chosen["id"],
                "companyId": company["id"],
                "jobId": job_id,
                "resultCallbackURL": results_url,
            }
            if mode == "inline":
                body = {
                    **common,
                    "completedAssessmentCallbackUrl": f"{self.base_url}/_sandbox/orders/{order['orderId']}/completed",
                    "candidate": {k: candidate[k] for k in ("email", "firstName", "lastName")} | {"applicationLanguage": "en"},
                    "job": {"id": job_id},
                }
                schema, url_key = "InlineAssessmentPackageOrderRequest", "inlineAssessmentPackageOrderUrl"
            else:
                body = {
                    **common,
                    "candidate": {k: candidate[k] for k in ("id", "email", "firstName", "lastName")} | {"applicationLanguage": "en"},
                    "job": {"id": job_id, "title": job["title"], "refNumber": job["refNumber"], "department": job["department"], "location": job["location"]},
                    "requester": requester,
                    "fields": dict(fields or {}),
                }
                schema, url_key = "AssessmentPackageOrderRequest", "packageOrderUrl"
            own = problems(schema, body)
            if own:  # the sandbox's own order must fit the contract it enforces on others
                raise ControlError(500, f"the sandbox built an invalid {schema}: {own[0]}")
            with self.state.lock:
                order.update(package=chosen, request={"url_key": url_key, "body": body})
            self._send_order(order)
        except ControlError:
            with self.state.lock:
                order["state"] = "refused"
            raise
        return self.order_view(order)

    @staticmethod
    def _package_query(job: dict) -> dict[str, str]:
        """The location query SmartRecruiters puts on GET packages (contract.json ``query``)."""
        location = job["location"]
        return {
            "country-code": location["countryCode"],
            "region-abbr": location["regionCode"],
            "city": location["city"],
            "address": location["address"],
            "postal-code": location["postalCode"],
            "remote": "true" if location["remote"] else "false",
        }

    def _send_order(self, order: dict) -> None:
        body, url_key = order["request"]["body"], order["request"]["url_key"]
        log = order["stagehook"]
        with self.state.lock:
            company = self.state.companies[order["company_id"]]
        token = self._stagehook_token(company, log)
        response = self._call(
            log, "POST", self._stagehook_url(url_key),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Accept": "application/json"},
            data=json.dumps(body),
        )
        answer = log[-1]["answer"]
        if order["mode"] == "inline":
            if response.status_code != 200 or problems("InlineAssessmentPackageResponse", answer):
                raise ControlError(502, f"inline order answered {response.status_code}: {json.dumps(answer)[:300]}")
            with self.state.lock:
                order.update(state="accepted", inline_url=answer.get("url") or answer["assessmentPackageURL"])
        else:
            if response.status_code != 202:
                raise ControlError(502, f"order answered {response.status_code} (expected 202): {json.dumps(answer)[:300]}")
            with self.state.lock:
                order["state"] = "accepted"

    def order_view(self, order: dict) -> dict:
        with self.state.lock:
            view = copy.deepcopy({k: v for k, v in order.items()})
            candidate = self.state.candidates[order["candidate_id"]]
            view["candidate_name"] = f"{candidate['firstName']} {candidate['lastName']}"
            view["shares"] = [s for s in self.state.shares if order["candidate_id"] in s["candidates"]]
            return view

    # --- consent --------------------------------------------------------------------------------
    def consent_url(self, company_id: str) -> str:
        configuration = self.state.partner_configuration
        if configuration is None:
            raise ControlError(409, "no partner configuration: Stagehook must PUT it first (manage.py smartrecruiters_configure)")
        query = {"companyId": company_id}
        if configuration["consentDisplayMode"] == "REDIRECT":
            query["redirect"] = f"{self.base_url}/_sandbox/consent/return?companyId={company_id}"
        joiner = "&" if urlsplit(configuration["consentUrl"]).query else "?"
        return f"{configuration['consentUrl']}{joiner}{urlencode(query)}"

    def consent(self, *, company_id: str, session: dict | None, form: dict | None, login: dict | None = None) -> dict:
        """The customer's admin installs Stagehook from the marketplace: the company consents,
        then (with a Stagehook ``session``: cookies, and/or ``login``: {login, password} for a
        sign-in form on the way) the sandbox opens the consent page, submits its forms as a
        browser would and follows redirects up to SmartRecruiters' return URL."""
        with self.state.lock:
            company = self.state.company_add(company_id, name=company_id)
            company["consented"] = True
            url = self.consent_url(company_id) if self.state.partner_configuration is not None else None
        result: dict[str, Any] = {"company_id": company_id, "consent_url": url, "steps": []}
        if not session and not login:
            return result
        if url is None:
            raise ControlError(409, "no partner configuration (no consentUrl): Stagehook must PUT it first")
        http = requests.Session()
        http.trust_env = False
        http.cookies.update(session or {})
        response = self._browse(http, "GET", url, result["steps"])
        signed_in = False
        while True:
            parser = _Form()
            parser.feed(response.text)
            page = parser.form
            if response.status_code != 200 or page is None:
                raise ControlError(502, f"the consent page answered {response.status_code} without a form")
            is_login = "password" in page["types"].values()
            if is_login and (signed_in or not login):
                raise ControlError(403, "Stagehook asks to sign in: " + ("the sign-in was refused" if signed_in else "pass login/password or a session"))
            fields = dict(page["fields"])
            if is_login:
                for name, kind in page["types"].items():
                    if kind == "password":
                        fields[name] = login.get("password", "")
                    elif name in ("login", "email", "username"):
                        fields[name] = login.get("login", "")
            else:
                fields.update(form or {})
            action = urljoin(response.url, page["action"] or response.url)
            response = self._browse(http, page["method"].upper(), action, result["steps"], data=fields, referer=response.url)
            if not is_login:
                break
            signed_in = True
        with self.state.lock:
            result["returned"] = self.state.companies[company_id].get("returned", False)
            result["integrated"] = self.state.companies[company_id]["integrated"]
        return result

    def _browse(self, http: requests.Session, method: str, url: str, steps: list, *, data=None, referer=None) -> requests.Response:
        for _hop in range(10):
            if url.startswith(f"{self.base_url}/_sandbox/consent/return"):
                company_id = dict(p.split("=", 1) for p in urlsplit(url).query.split("&") if "=" in p).get("companyId")
                with self.state.lock:
                    if company_id in self.state.companies:
                        self.state.companies[company_id]["returned"] = True
                steps.append({"call": f"GET {url}", "status": "back at SmartRecruiters"})
                return requests.Response()
            headers = {"Referer": referer} if referer else {}
            try:
                response = http.request(method, url, data=data, headers=headers, timeout=30, allow_redirects=False)
            except requests.RequestException as exc:
                raise ControlError(502, f"Stagehook unreachable at {url}: {type(exc).__name__}") from None
            steps.append({"call": f"{method} {url}", "status": response.status_code})
            if response.status_code in (301, 302, 303, 307, 308) and response.headers.get("Location"):
                referer = url
                url = urljoin(url, response.headers["Location"])
                if response.status_code in (301, 302, 303):
                    method, data = "GET", None
                continue
            return response
        raise ControlError(502, "too many redirects in the consent flow")

    # --- control endpoints ------------------------------------------------------------------------
    def control_index(self, request: Request) -> Response:
        paths = sorted({r.rule for r in self.routes.url_map.iter_rules() if r.rule.startswith(C)} | set(self.kit.control_paths()))
        return control_json({"sandbox": "smartrecruiters", "base_url": self.base_url, "control": paths})

    @staticmethod
    def _need(body: dict, *names: str) -> None:
        missing = [n for n in names if not body.get(n)]
        if missing:
            raise ControlError(400, f"missing {', '.join(missing)}")

    def control_consent(self, request: Request) -> Response:
        body = control_body(request)
        company_id = body.get("company_id") or self._config.company_id
        return control_json(
            self.consent(company_id=company_id, session=body.get("session"), form=body.get("form"), login=body.get("login"))
        )

    def control_consent_return(self, request: Request) -> Response:
        company_id = request.args.get("companyId", "")
        with self.state.lock:
            if company_id in self.state.companies:
                self.state.companies[company_id]["returned"] = True
        return Response(f"Back in SmartRecruiters: Stagehook installed for {company_id}.", content_type="text/plain")

    def control_companies(self, request: Request) -> Response:
        with self.state.lock:
            companies = [
                {k: v for k, v in c.items() if k != "partner_credentials"} | {"has_partner_credentials": bool(c["partner_credentials"])}
                for c in self.state.companies.values()
            ]
            return control_json({"companies": companies, "partner_configuration": self.state.partner_configuration})

    def uninstall(self, company_id: str) -> dict:
        """The customer removes Stagehook in SmartRecruiters: DELETE Stagehook's
        ``integrationDisableUrl`` for the company (Bearer from Stagehook's token endpoint), then
        the customer-level credentials and their tokens stop working."""
        with self.state.lock:
            company = self.state.companies.get(company_id)
            if company is None or not company["integrated"]:
                raise ControlError(409, f"company {company_id} is not integrated")
            company = copy.deepcopy(company)
        log: list[dict] = []
        template = self._stagehook_url("integrationDisableUrl")
        url = template.replace("{companyId}", company_id) if "{companyId}" in template else f"{template.rstrip('/')}/{company_id}"
        token = self._stagehook_token(company, log)
        response = self._call(log, "DELETE", url, headers={"Authorization": f"Bearer {token}"})
        with self.state.lock:
            stored = self.state.companies[company_id]
            client_id = stored["customer_client_id"]
            self.state.credentials.pop(client_id, None)
            self.state.tokens = {t: r for t, r in self.state.tokens.items() if r["client_id"] != client_id}
            stored.update(integrated=False, consented=False, customer_client_id=None, partner_credentials=None)
        return {"company_id": company_id, "stagehook": log, "disabled": response.status_code == 204}

    def control_uninstall(self, request: Request) -> Response:
        body = control_body(request)
        return control_json(self.uninstall(body.get("company_id") or self._config.company_id))

    def control_order(self, request: Request) -> Response:
        body = control_body(request)
        self._need(body, "candidate_id", "job_id")
        mode = body.get("mode", "ad-hoc")
        if mode not in ("ad-hoc", "auto-trigger", "inline"):
            raise ControlError(400, "mode is one of ad-hoc, auto-trigger, inline")
        if mode == "auto-trigger":
            self._need(body, "status")
            self._auto_trigger_add(
                {"status": body["status"], "sub_status": body.get("sub_status"), "job_id": body["job_id"], "package": body.get("package")}
            )
            moved = self._move(body)
            if not moved["orders"]:
                raise ControlError(409, "the move placed no order")
            return control_json({"order": moved["orders"][-1], "deliveries": moved["deliveries"]})
        order = self.order_package(
            candidate_id=body["candidate_id"], job_id=body["job_id"], mode=mode, package=body.get("package"),
            requester=body.get("requester"), trigger="recruiter clicked Order assessment" if mode == "ad-hoc" else "candidate applied",
            fields=body.get("fields"),
        )
        return control_json({"order": order})

    def control_order_resend(self, request: Request, order_id: str) -> Response:
        with self.state.lock:
            order = self.state.orders.get(order_id)
            if order is None or order["request"] is None:
                raise ControlError(404, f"no order {order_id} with a request to resend")
        self._send_order(order)
        return control_json({"order": self.order_view(order)})

    def control_inline_completed(self, request: Request, order_id: str) -> Response:
        with self.state.lock:
            order = self.state.orders.get(order_id)
            if order is None:
                raise ControlError(404, f"no order {order_id}")
            order["completed_callback_hits"] += 1
        return Response("Back in the SmartRecruiters application form: assessment done.", content_type="text/plain")

    def control_orders(self, request: Request) -> Response:
        candidate_id = request.args.get("candidate_id")
        with self.state.lock:
            orders = sorted(self.state.orders.values(), key=lambda o: o["created_at"])
            orders = [o for o in orders if candidate_id in (None, o["candidate_id"])]
            return control_json({"orders": [self.order_view(o) for o in orders]})

    def _auto_trigger_add(self, trigger: dict) -> None:
        """A hiring-process step that orders ``package`` when an application reaches it (once
        per step: the same step configured again replaces its package)."""
        invalid = problems("CandidateStatusUpdate", {"status": trigger["status"]})
        if invalid:
            raise ControlError(400, invalid[0])
        with self.state.lock:
            step = (trigger["status"], trigger["sub_status"], trigger["job_id"])
            self.state.auto_triggers = [
                t for t in self.state.auto_triggers if (t["status"], t["sub_status"], t["job_id"]) != step
            ] + [trigger]

    def control_auto_triggers(self, request: Request) -> Response:
        if request.method == "POST":
            body = control_body(request)
            self._need(body, "status")
            self._auto_trigger_add(
                {"status": body["status"], "sub_status": body.get("sub_status"), "job_id": body.get("job_id"), "package": body.get("package")}
            )
        with self.state.lock:
            return control_json({"auto_triggers": copy.deepcopy(self.state.auto_triggers)})

    def _move(self, body: dict) -> dict:
        self._need(body, "candidate_id", "job_id", "status")
        cid, job_id, status, sub = body["candidate_id"], body["job_id"], body["status"], body.get("sub_status") or None
        invalid = problems("CandidateStatusUpdate", {"status": status})
        if invalid:
            raise ControlError(400, invalid[0])
        with self.state.lock:
            if (cid, job_id) not in self.state.applications:
                raise ControlError(404, f"candidate {cid} has not applied to job {job_id}")
            problem = self.state.sub_status_problem(job_id, status, sub)
            if problem:
                raise ControlError(400, problem)
            application = copy.deepcopy(self.state.application_move(cid, job_id, status=status, sub_status=sub, by="recruiter"))
        return {"application": application, **self.after_move(application, by="recruiter")}

    def control_move(self, request: Request) -> Response:
        return control_json(self._move(control_body(request)))

    def control_attachment(self, request: Request, attachment_id: str) -> Response:
        """The bytes of a file Stagehook sent: a result attachment or a file on an application."""
        with self.state.lock:
            attachment = self.state.attachments.get(attachment_id)
            if attachment is not None:
                return Response(attachment["data"], content_type=attachment["content_type"] or "application/octet-stream")
            record = self.state.app_attachments.get(attachment_id)
            if record is None:
                raise ControlError(404, f"no attachment {attachment_id}")
            return Response(record["data"], content_type=record["contentType"])

    def control_shares(self, request: Request) -> Response:
        with self.state.lock:
            return control_json({"shares": copy.deepcopy(self.state.shares)})

    def control_subscriptions(self, request: Request) -> Response:
        with self.state.lock:
            subs = [
                {**{k: copy.deepcopy(v) for k, v in s.items() if k != "keys"}, "keys": len(s["keys"]), "valid_keys": len(self._valid_keys(s))}
                for s in self.state.subscriptions.values()
            ]
            return control_json({"subscriptions": subs})

    def control_deliveries(self, request: Request) -> Response:
        with self.state.lock:
            return control_json({"deliveries": [self._delivery_view(d) for d in self.state.deliveries]})

    def control_deliveries_retry(self, request: Request) -> Response:
        """Send every delivery waiting for a retry now (instead of in minutes)."""
        with self.state.lock:
            waiting = [d for d in self.state.deliveries if d["status"] == "retrying"]
            for delivery in waiting:
                delivery["status"] = "pending"
        for delivery in waiting:
            self._attempt(delivery)
        return control_json({"retried": len(waiting), "deliveries": [self._delivery_view(d) for d in waiting]})

    def control_event(self, request: Request) -> Response:
        """Send any event: ``{event, candidate_id, job_id}`` (application.*) or ``{event, id}``."""
        body = control_body(request)
        self._need(body, "event")
        event = body["event"]
        with self.state.lock:
            if event.startswith("application."):
                self._need(body, "candidate_id", "job_id")
                application = self.state.applications.get((body["candidate_id"], body["job_id"]))
                if application is None:
                    raise ControlError(404, "no such application")
        if event.startswith("application."):
            return control_json({"deliveries": self.application_event(application, event)})
        self._need(body, "id")
        kind = "candidates" if event.startswith("candidate.") else "jobs"
        return control_json(
            {"deliveries": self.deliver_event(company_id=self._config.company_id, event_name=event, payload={"id": body["id"]}, link=f"{self.base_url}/{kind}/{body['id']}")}
        )

    def control_clock(self, request: Request) -> Response:
        if request.method == "POST":
            body = control_body(request)
            try:
                advance = float(body.get("advance", 0))
            except (TypeError, ValueError):
                raise ControlError(400, "advance is a number of seconds") from None
            with self.state.lock:
                self.state.clock_offset += advance
        return control_json({"offset": self.state.clock_offset, "now": isoformat(self.state.now())})

    def control_tokens_expire(self, request: Request) -> Response:
        return control_json({"expired": self.state.tokens_expire()})

    def control_seed(self, request: Request) -> Response:
        body = control_body(request)
        try:
            count = int(body.get("candidates", 0))
        except (TypeError, ValueError):
            raise ControlError(400, "candidates is a number") from None
        if not 0 <= count <= 200_000:
            raise ControlError(400, "candidates is between 0 and 200000")
        return control_json({"candidates": self.state.generate(count)})

    # --- a customer's own app ----------------------------------------------------------------------
    @staticmethod
    def _app_view(app: dict, *, secret: bool = False) -> dict:
        view = {k: copy.deepcopy(v) for k, v in app.items() if k != "client_secret"}
        if secret:
            view["client_secret"] = app["client_secret"]
        return view

    def control_apps(self, request: Request) -> Response:
        """GET: the registered apps (no secrets). POST ``{company_id, redirect_uris, client_id?,
        client_secret?, name?, loopback_callbacks?}``: register (or replace, same client_id) a
        customer's app; answers it with its secret. An unknown company is created (empty)."""
        if request.method == "GET":
            with self.state.lock:
                return control_json({"apps": [self._app_view(a) for a in self.state.apps.values()]})
        body = control_body(request)
        company_id = body.get("company_id") or self._config.company_id
        uris = body.get("redirect_uris")
        if isinstance(uris, str):
            uris = [uris]
        if not isinstance(uris, list) or not uris or not all(isinstance(u, str) for u in uris):
            raise ControlError(400, "redirect_uris is a non-empty list of URLs")
        for uri in uris:
            parts = urlsplit(uri)
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment:
                raise ControlError(400, f"redirect URI {uri!r} is not an absolute http(s) URL without a fragment")
        client_id = body.get("client_id") or f"sr-app-{secrets.token_hex(8)}"
        client_secret = body.get("client_secret") or secrets.token_urlsafe(32)
        if not isinstance(client_id, str) or not isinstance(client_secret, str):
            raise ControlError(400, "client_id and client_secret are strings")
        with self.state.lock:
            company = self.state.company_add(company_id, name=body.get("company_name") or company_id)
            app = self.state.app_add(
                client_id=client_id, secret=client_secret, company_id=company["id"],
                name=body.get("name") or "Customer app", redirect_uris=uris,
                loopback_callbacks=bool(body.get("loopback_callbacks", False)),
            )
            return control_json({"app": self._app_view(app, secret=True)}, 201)

    def control_authorize(self, request: Request) -> Response:
        """``{mode: page|approve|deny, drop_scope?, role?}``: how the authorization page answers;
        ``role`` (kept when not given): the system role of the user who authorizes, which also
        applies at once to the app tokens already issued (only ADMINISTRATOR reads messages)."""
        if request.method == "POST":
            body = control_body(request)
            mode = body.get("mode", "page")
            if mode not in AUTHORIZE_MODES:
                raise ControlError(400, f"mode is one of {', '.join(AUTHORIZE_MODES)}")
            dropped = body.get("drop_scope") or None
            if dropped is not None and dropped not in self._config.app_scopes:
                raise ControlError(400, f"drop_scope {dropped!r} is not a scope: {', '.join(self._config.app_scopes)}")
            role = body.get("role") or None
            if role is not None and role not in SYSTEM_ROLES:
                raise ControlError(400, f"role is one of {', '.join(SYSTEM_ROLES)}")
            with self.state.lock:
                self.state.authorize_mode = {"mode": mode, "drop_scope": dropped}
                if role is not None:
                    self.state.app_user_role = role
        with self.state.lock:
            return control_json({"authorize": {**self.state.authorize_mode, "role": self.state.app_user_role},
                                 "scopes": list(self._config.app_scopes), "roles": list(SYSTEM_ROLES)})

    def control_tokens(self, request: Request) -> Response:
        """``{expire_all?, revoke_refresh?, lifetime?}``: expire every access token now, refuse
        every refresh token issued so far (invalid_grant), set the lifetime (seconds) of the
        access tokens the authorization-code and refresh-token grants issue."""
        done: dict[str, Any] = {}
        if request.method == "POST":
            body = control_body(request)
            if "lifetime" in body:
                try:
                    lifetime = int(body["lifetime"])
                except (TypeError, ValueError):
                    raise ControlError(400, "lifetime is a number of seconds") from None
                if lifetime < 1:
                    raise ControlError(400, "lifetime is at least 1 second")
                self.configure(app_token_ttl=lifetime)
            if body.get("expire_all"):
                done["expired"] = self.state.tokens_expire()
            if body.get("revoke_refresh"):
                done["revoked_refresh"] = self.state.refresh_tokens_revoke()
        with self.state.lock:
            now = self.state.clock()
            kinds: dict[str, dict[str, int]] = {}
            for record in self.state.tokens.values():
                status = "revoked" if record.get("revoked") else "expired" if record["expires_at"] <= now else "valid"
                counts = kinds.setdefault(record["kind"], {"valid": 0, "expired": 0, "revoked": 0})
                counts[status] += 1
            refresh: dict[str, int] = {"active": 0, "rotated": 0, "revoked": 0}
            for record in self.state.refresh_tokens.values():
                refresh[record["state"]] += 1
            return control_json(
                {**done, "lifetime": self._config.app_token_ttl, "access_tokens": kinds, "refresh_tokens": refresh}
            )

    def control_notes(self, request: Request) -> Response:
        """The notes (message shares) Stagehook posted, oldest first; ``candidate_id`` filters."""
        candidate_id = request.args.get("candidate_id")
        with self.state.lock:
            notes = [copy.deepcopy(s) for s in self.state.shares if candidate_id in (None, *s["candidates"])]
            return control_json({"notes": notes})

    def control_application_attachments(self, request: Request) -> Response:
        """The files Stagehook attached to applications (no bytes: ``url`` serves them);
        ``candidate_id`` filters."""
        candidate_id = request.args.get("candidate_id")
        with self.state.lock:
            files = [
                {**{k: v for k, v in a.items() if k != "data"}, "url": f"{self.base_url}{C}attachments/{a['id']}"}
                for a in self.state.app_attachments.values() if candidate_id in (None, a["candidate_id"])
            ]
            return control_json({"attachments": files})

    def control_properties(self, request: Request) -> Response:
        """The candidate property values Stagehook set, per application; ``candidate_id``
        filters; ``configured`` lists the company's properties."""
        candidate_id = request.args.get("candidate_id")
        with self.state.lock:
            values = [
                {
                    "candidate_id": cid, "job_id": job_id, "property_id": pid,
                    "label": self.state.properties.get(pid, {}).get("label"), **entry,
                }
                for (cid, job_id), by_id in self.state.property_values.items() if candidate_id in (None, cid)
                for pid, entry in by_id.items()
            ]
            return control_json({"properties": values, "configured": copy.deepcopy(list(self.state.properties.values()))})
