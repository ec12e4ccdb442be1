"""A stub of SmartRecruiters' HTTP API served on 127.0.0.1: routes -> scripted answers, every
request recorded, tokens issued for the master and customer credentials. HTTP is stubbed only at
the client boundary; nothing of ours is patched. (The faithful sandbox comes later on the shared kit.)"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

MASTER_ID, MASTER_SECRET = "master-client", "master-secret-0123456789"
CUSTOMER_ID, CUSTOMER_SECRET = "sr-customer-client-id", "sr-customer-client-secret"
WEBHOOK_KEY = "HeBVky2bccvvkcXPimH8c"
# A company's own app (authorization code grant).
APP_ID, APP_SECRET = "own-app-client-id", "own-app-client-secret-0123456789"
APP_COMPANY_ID = "SmartCompany123"


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    form: dict[str, str]
    files: dict[str, tuple[str, bytes, str]]
    at: float = 0.0  # time.monotonic() on arrival

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Answer:
    status: int = 200
    body: Any = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


class FakeSmartRecruiters:
    """Routes ``(METHOD, path regex)`` -> a queue of ``Answer``s then a default answer (or a
    callable taking the ``Seen`` request). Issues tokens at ``/identity/oauth/token`` for the
    master and customer credentials and checks ``Authorization`` on every other call."""

    def __init__(self):
        self.seen: list[Seen] = []
        self.lock = threading.Lock()
        self.defaults: dict[tuple[str, str], Any] = {}
        self.queues: dict[tuple[str, str], deque] = defaultdict(deque)
        self.tokens: dict[str, str] = {}  # token -> client id
        self.clients = {MASTER_ID: MASTER_SECRET, CUSTOMER_ID: CUSTOMER_SECRET}  # who may get a token
        self.token_lifetime = 3600
        # Own apps: codes, refresh tokens (rotating) and each token's granted scopes.
        self.apps = {APP_ID: APP_SECRET}
        self.codes: dict[str, dict[str, Any]] = {}
        self.refresh_tokens: dict[str, dict[str, Any]] = {}  # refresh token -> {client_id, scope, code}
        self.token_scopes: dict[str, set[str]] = {}  # only authorization-code tokens are scoped
        self.token_code: dict[str, str] = {}
        self.refuse_refresh = False
        # A slow token endpoint a test controls: each refresh grant sets ``refresh_arrived``, then
        # waits (at most 10 s) for ``refresh_gate`` when one is set, before it is answered.
        self.refresh_arrived = threading.Event()
        self.refresh_gate: threading.Event | None = None
        self.authorize_mode = "approve"  # or "deny"
        self.drop_scope = ""
        self.required_scopes: list[tuple[str, str, str]] = [  # (method, path regex, scope)
            ("GET", r"/configuration/company", ""),
            ("GET", r"/(candidates|jobs)(/.*)?", "candidates_read"),
            ("GET", r"/configuration/.*", "jobs_read"),
            ("POST", r"/messages/shares", "candidates_manage"),
            ("PUT", r"/candidates/.*", "candidates_manage"),
            ("POST", r"/candidates/.*", "candidates_manage"),
            ("POST|PUT|DELETE|GET", r"/webhooks-api/.*", "webhooks_manage"),
        ]
        self.in_flight = 0
        self.max_in_flight = 0
        self.in_flight_by_path: dict[str, int] = defaultdict(int)
        self.max_in_flight_by_path: dict[str, int] = defaultdict(int)
        self.delay = 0.0
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        self.route("POST", r"/assessment-api/v202010/integration/company/[^/]+",
                   Answer(200, {"clientId": CUSTOMER_ID, "clientSecret": CUSTOMER_SECRET}))
        self.route("POST", r"/webhooks-api/v201907/subscriptions", Answer(201, {"id": "sub-1", "status": "inactive"}))
        self.route("PUT", r"/webhooks-api/v201907/subscriptions/[^/]+/activation", Answer(204, ""))
        self.route("POST", r"/webhooks-api/v201907/subscriptions/[^/]+/secret-key", Answer(200, {"secretKey": WEBHOOK_KEY}))
        self.route("DELETE", r"/webhooks-api/v201907/subscriptions/[^/]+", Answer(204, ""))
        self.route("GET", r"/configuration/company", Answer(200, {"id": APP_COMPANY_ID, "name": "Smart Company"}))
        self.route("PATCH", r"/assessment-api/v202010/orders/[^/]+/results", Answer(200, {}))
        self.route("POST", r"/assessment-api/v202010/orders/[^/]+/results/attachment", Answer(201, {"url": "https://files.example/a.pdf"}))

    def route(self, method: str, pattern: str, default: Any) -> None:
        self.defaults[(method, pattern)] = default

    def queue(self, method: str, pattern: str, *answers: Answer) -> None:
        self.queues[(method, pattern)].extend(answers)

    def calls(self, method: str, pattern: str) -> list[Seen]:
        return [s for s in self.seen if s.method == method and re.fullmatch(pattern, s.path)]

    # --- own apps: the authorize page (auto-approve / deny) and the two grants ---------------------
    def code_issue(self, *, client_id: str, redirect_uri: str, scope: str) -> str:
        code = uuid.uuid4().hex
        self.codes[code] = {"client_id": client_id, "redirect_uri": redirect_uri, "scope": scope, "used": False}
        return code

    def _authorize(self, request: Request) -> Response:
        from urllib.parse import urlencode

        args = request.args
        if args.get("client_id") not in self.apps or not args.get("redirect_uri"):
            return Response("<h1>redirect_uri mismatch</h1>", status=400, content_type="text/html")
        back = args["redirect_uri"]
        if self.authorize_mode == "deny":
            query = {"error": "access_denied", "error_description": "The user denied access", "state": args.get("state", "")}
        elif not args.get("scope"):
            query = {"error": "invalid_scope", "state": args.get("state", "")}
        else:
            scope = " ".join(s for s in args["scope"].split() if s != self.drop_scope)
            query = {"code": self.code_issue(client_id=args["client_id"], redirect_uri=back, scope=scope),
                     "state": args.get("state", "")}
        return Response("", status=302, headers={"Location": f"{back}?{urlencode(query)}"})

    def _issue(self, *, client_id: str, scope: str, code: str) -> Response:
        token, refresh = uuid.uuid4().hex, uuid.uuid4().hex
        self.tokens[token] = client_id
        self.token_scopes[token] = set(scope.split())
        self.token_code[token] = code
        self.refresh_tokens[refresh] = {"client_id": client_id, "scope": scope, "code": code}
        return Response(json.dumps({"access_token": token, "refresh_token": refresh, "token_type": "Bearer",
                                    "expires_in": self.token_lifetime, "scope": scope}), content_type="application/json")

    def _grant_error(self, error: str, status: int = 400) -> Response:
        return Response(json.dumps({"error": error}), status=status, content_type="application/json")

    def _own_app_token(self, request: Request) -> Response:
        form = request.form
        if self.apps.get(form.get("client_id")) != form.get("client_secret"):
            return self._grant_error("invalid_client", 401)
        if form["grant_type"] == "authorization_code":
            grant = self.codes.get(form.get("code", ""))
            if grant is None or grant["client_id"] != form["client_id"]:
                return self._grant_error("invalid_grant")
            if grant["used"]:  # RFC 6749 §4.1.2: a replayed code revokes what it gave
                for token, code in list(self.token_code.items()):
                    if code == form["code"]:
                        self.tokens.pop(token, None)
                for refresh, info in list(self.refresh_tokens.items()):
                    if info["code"] == form["code"]:
                        self.refresh_tokens.pop(refresh)
                return self._grant_error("invalid_grant")
            if grant["redirect_uri"] != form.get("redirect_uri"):
                return self._grant_error("invalid_grant")
            grant["used"] = True
            return self._issue(client_id=form["client_id"], scope=grant["scope"], code=form["code"])
        self.refresh_arrived.set()
        if self.refresh_gate is not None:
            self.refresh_gate.wait(10)
        info = self.refresh_tokens.get(form.get("refresh_token", ""))
        if self.refuse_refresh or info is None or info["client_id"] != form["client_id"]:
            return self._grant_error("invalid_grant")
        self.refresh_tokens.pop(form["refresh_token"])  # rotation: the old one stops working
        return self._issue(client_id=form["client_id"], scope=info["scope"], code=info["code"])

    def expire_all(self) -> None:
        """Every access token stops working (401), as when they expire."""
        self.tokens.clear()

    def _scope_refused(self, request: Request, bearer: str) -> Response | None:
        granted = self.token_scopes.get(bearer)
        if granted is None:
            return None
        for methods, pattern, scope in self.required_scopes:
            if request.method in methods.split("|") and re.fullmatch(pattern, request.path):
                if scope and scope not in granted:
                    return Response(json.dumps({"id": "x", "code": "FORBIDDEN", "message": f"the token lacks the scope {scope}"}),
                                    status=403, content_type="application/json")
                return None
        return None

    def _token(self, request: Request) -> Response:
        form = request.form
        if form.get("grant_type") in ("authorization_code", "refresh_token"):
            return self._own_app_token(request)
        if form.get("grant_type") != "client_credentials" or self.clients.get(form.get("client_id")) != form.get("client_secret"):
            return Response(json.dumps({"error": "invalid_client"}), status=401, content_type="application/json")
        token = uuid.uuid4().hex
        self.tokens[token] = form["client_id"]
        return Response(json.dumps({"access_token": token, "expires_in": self.token_lifetime}),
                        content_type="application/json")

    @Request.application
    def _app(self, request: Request) -> Response:
        files = {name: (f.filename, f.read(), f.mimetype) for name, f in request.files.items()}
        seen = Seen(request.method, request.path, dict(request.args), dict(request.headers), request.get_data(),
                    dict(request.form), files, time.monotonic())
        with self.lock:
            self.seen.append(seen)
            self.in_flight += 1
            self.in_flight_by_path[request.path] += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self.max_in_flight_by_path[request.path] = max(self.max_in_flight_by_path[request.path],
                                                           self.in_flight_by_path[request.path])
        try:
            if self.delay:
                time.sleep(self.delay)  # a slow server, to make concurrent calls overlap
            if request.path == "/identity/oauth/token":
                return self._token(request)
            if request.path == "/identity/oauth/allow":
                return self._authorize(request)
            bearer = request.headers.get("Authorization", "").removeprefix("Bearer ")
            if bearer not in self.tokens:
                return Response(json.dumps({"message": "invalid token"}), status=401, content_type="application/json")
            refused = self._scope_refused(request, bearer)
            if refused is not None:
                return refused
            answer = None
            for (method, pattern), default in self.defaults.items():
                if method == request.method and re.fullmatch(pattern, request.path):
                    queue = self.queues.get((method, pattern))
                    answer = queue.popleft() if queue else default
                    break
            if answer is None:
                return Response(json.dumps({"message": "not found"}), status=404, content_type="application/json")
            if callable(answer):
                answer = answer(seen)
            body = answer.body if isinstance(answer.body, (str, bytes)) else json.dumps(answer.body)
            return Response(body, status=answer.status, headers=answer.headers, content_type="application/json")
        finally:
            with self.lock:
                self.in_flight -= 1
                self.in_flight_by_path[request.path] -= 1

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
class CandidateRecords:
    """What the trigger-mode write-back leaves in SmartRecruiters, on a ``FakeSmartRecruiters``:
    notes (``POST /messages/shares``, listed per candidate by ``GET /messages``, newest first,
    paged; refused with 403 when ``messages_refused``: the user behind the credential is not an
    ADMINISTRATOR), application attachments (multipart ``file`` + ``attachmentType``, listed by
    ``GET``), candidate properties (``GET /configuration/candidate-properties``) and their values
    per application (``PUT``), each validated as SmartRecruiters does. Scripted failures:
    ``fake.queue(...)`` answers first; ``lose_answers[pattern]``: stored, then answered 503."""

    NOTE = r"/messages/shares"
    MESSAGES = r"/messages"
    ATTACHMENTS = r"/candidates/[^/]+/jobs/[^/]+/attachments"
    PROPERTIES = r"/configuration/candidate-properties"
    PROPERTY_VALUE = r"/candidates/[^/]+/jobs/[^/]+/properties/[^/]+"
    ATTACHMENT_TYPES = ("GENERIC_FILE", "RESUME", "COVER_LETTER")

    def __init__(self, fake: FakeSmartRecruiters, *, applications: set[tuple[str, str]], properties: list[dict] | None = None):
        self.fake = fake
        self.applications = set(applications)  # (candidate id, job id)
        self.properties = properties if properties is not None else [
            {"id": "stagehook-score", "label": "Interview score", "type": "NUMBER"},
            {"id": "score-percent", "label": "Score %", "type": "PERCENT"},
            {"id": "notes-text", "label": "Screening notes", "type": "TEXT"},
            {"id": "source-select", "label": "Source", "type": "SINGLE_SELECT"},
        ]
        self.notes: list[dict] = []
        self.attachments: dict[tuple[str, str], list[dict]] = defaultdict(list)
        self.values: dict[tuple[str, str], dict[str, Any]] = defaultdict(dict)
        self.lose_answers: dict[str, int] = defaultdict(int)  # pattern -> stored, but answered 503, this many times
        self.messages_refused = False
        fake.route("POST", self.NOTE, self._note)
        fake.route("GET", self.MESSAGES, self._messages)
        fake.route("POST", self.ATTACHMENTS, self._attach)
        fake.route("GET", self.ATTACHMENTS, self._attachments)
        fake.route("GET", self.PROPERTIES, lambda seen: Answer(200, {"totalFound": len(self.properties),
                                                                     "content": self.properties}))
        fake.route("PUT", self.PROPERTY_VALUE, self._value)

    @staticmethod
    def _error(status: int, message: str) -> Answer:
        return Answer(status, {"id": uuid.uuid4().hex[:16], "code": "INVALID_REQUEST" if status == 400 else "NOT_FOUND",
                               "message": message, "errors": []})

    def _stored_then(self, pattern: str, answer: Answer) -> Answer:
        if self.lose_answers[pattern]:
            self.lose_answers[pattern] -= 1
            return Answer(503, {"message": "upstream timeout"})
        return answer

    def _note(self, seen: Seen) -> Answer:
        try:
            body = seen.json()
        except ValueError:
            return self._error(400, "body is not JSON")
        content, share = body.get("content"), body.get("shareWith")
        if not isinstance(content, str) or not content.strip() or not isinstance(share, dict):
            return self._error(400, "content and shareWith are required")
        unknown = set(body) - {"content", "correlationId", "shareWith"}
        if unknown or not isinstance(share.get("hiringTeamOf", []), list):
            return self._error(400, f"unexpected fields {sorted(unknown)}")
        if not any(job for _, job in self.applications if job in share.get("hiringTeamOf", [])):
            return self._error(400, "unknown job in shareWith.hiringTeamOf")
        note = {"id": uuid.uuid4().hex[:12], **body, "createdOn": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "candidates": re.findall(r"#\[CANDIDATE:([^\]]+)\]", content)}
        self.notes.append(note)
        return self._stored_then(self.NOTE, Answer(201, {"id": note["id"], "createdOn": note["createdOn"]}))

    def _messages(self, seen: Seen) -> Answer:
        """``GET /messages?candidateId=&jobId=&pageId=&limit=``: a MessagesView, newest first."""
        if self.messages_refused:
            return Answer(403, {"id": uuid.uuid4().hex[:16], "code": "FORBIDDEN",
                                "message": "Access denied: only users with the ADMINISTRATOR role", "errors": []})
        candidate, job = seen.query.get("candidateId", ""), seen.query.get("jobId", "")
        if not candidate:
            return self._error(400, "candidateId is required")
        try:
            limit, offset = int(seen.query.get("limit", "10")), int(seen.query.get("pageId") or "0")
        except ValueError:
            return self._error(400, "limit and pageId are numbers here")
        if not 1 <= limit <= 100 or offset < 0:
            return self._error(400, "limit must be between 1 and 100")
        found = [n for n in reversed(self.notes)
                 if candidate in n["candidates"] and (not job or job in n["shareWith"].get("hiringTeamOf", []))]
        body: dict[str, Any] = {"content": [{"id": n["id"], "content": n["content"], "createdOn": n["createdOn"]}
                                            for n in found[offset: offset + limit]]}
        if offset + limit < len(found):
            body["nextPageId"] = str(offset + limit)
        return Answer(200, body)

    def _application(self, seen: Seen) -> tuple[str, str] | None:
        parts = seen.path.split("/")
        key = (parts[2], parts[4])
        return key if key in self.applications else None

    def _attach(self, seen: Seen) -> Answer:
        key = self._application(seen)
        if key is None:
            return self._error(404, "candidate or application not found")
        if "file" not in seen.files or not seen.files["file"][1]:
            return self._error(400, "file is required")
        if seen.form.get("attachmentType") not in self.ATTACHMENT_TYPES:
            return self._error(400, "attachmentType must be one of " + ", ".join(self.ATTACHMENT_TYPES))
        filename, content, mimetype = seen.files["file"]
        item = {"id": uuid.uuid4().hex[:12], "name": filename, "type": seen.form["attachmentType"],
                "contentType": mimetype, "size": len(content)}
        self.attachments[key].append(item)
        return self._stored_then(self.ATTACHMENTS, Answer(201, item))

    def _attachments(self, seen: Seen) -> Answer:
        key = self._application(seen)
        if key is None:
            return self._error(404, "candidate or application not found")
        return Answer(200, {"totalFound": len(self.attachments[key]), "content": self.attachments[key]})

    def _value(self, seen: Seen) -> Answer:
        key = self._application(seen)
        if key is None:
            return self._error(404, "candidate or application not found")
        prop = next((p for p in self.properties if p["id"] == seen.path.rsplit("/", 1)[1]), None)
        if prop is None:
            return self._error(404, "candidate property not found")
        try:
            body = seen.json()
        except ValueError:
            return self._error(400, "body is not JSON")
        if not isinstance(body, dict) or set(body) != {"value"}:
            return self._error(400, "the body is {\"value\": ...}")
        value = body["value"]
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if (prop["type"] in ("NUMBER", "PERCENT") and not number) or (prop["type"] == "TEXT" and not isinstance(value, str)):
            return self._error(400, f"value does not fit a {prop['type']} property")
        self.values[key][prop["id"]] = value
        return Answer(204, "")
