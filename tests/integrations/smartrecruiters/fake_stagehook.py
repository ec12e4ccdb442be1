"""A stand-in for Stagehook's SmartRecruiters endpoints, for the sandbox's own tests (the real
ones are tested against the sandbox elsewhere): token endpoint, packages, orders, inline orders,
the webhook endpoint (activation echo, deliveries) and a consent page with a CSRF-style hidden
field whose POST calls setUpIntegration on the sandbox and redirects back. It records every
request it gets."""

from __future__ import annotations

import dataclasses
import json
import secrets
import threading
from typing import Any
from urllib.parse import urlencode

import requests
from werkzeug.datastructures import Headers
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from .sandbox_handle import PARTNER, STAGEHOOK_CLIENT

PACKAGES = [
    {
        "id": "pkg-1",
        "name": "Customer Support Interview",
        "description": "A 20-minute structured AI interview.",
        "type": "VIDEO_INTERVIEW",
        "assessments": [{"id": "q-1", "name": "Handling an unhappy customer", "description": "Behavioural", "type": "VIDEO_INTERVIEW"}],
    },
    {
        "id": "pkg-2",
        "name": "Backend Skills Test",
        "description": "Coding questions.",
        "type": "SKILL_TEST",
        "assessments": [{"id": "q-2", "name": "SQL", "description": "Joins", "type": "SKILL_TEST"}],
    },
]


@dataclasses.dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    headers: Headers
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class FakeStagehook:
    def __init__(self):
        self.requests: list[Seen] = []
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)
        self.token = "stagehook-token-" + secrets.token_hex(4)
        self.packages: list[dict] = PACKAGES
        self.order_status = 202
        self.activation = "echo"  # echo | wrong | missing | <int status>
        self.webhook_answers: list[int] = []  # answers for the next deliveries (then 202)
        self.sandbox_url = ""
        self.server = make_server("127.0.0.1", 0, self, threaded=True)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/smartrecruiters/"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def seen(self, path_end: str, method: str | None = None) -> list[Seen]:
        with self.lock:
            return [r for r in self.requests if r.path.endswith(path_end) and method in (None, r.method)]

    def wait_for(self, path_end: str, count: int, timeout: float = 10.0) -> list[Seen]:
        import time

        deadline = time.monotonic() + timeout
        with self.arrived:
            while len([r for r in self.requests if r.path.endswith(path_end)]) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {count} requests to {path_end}, got {len(self.seen(path_end))}")
                self.arrived.wait(left)
        return self.seen(path_end)

    def __call__(self, environ, start_response):
        request = Request(environ)
        seen = Seen(request.method, request.path, dict(request.args), Headers(request.headers), request.get_data())
        with self.arrived:
            self.requests.append(seen)
            self.arrived.notify_all()
        return self.answer(request, seen)(environ, start_response)

    def _bearer_ok(self, seen: Seen) -> bool:
        return seen.headers.get("Authorization") == f"Bearer {self.token}"

    def answer(self, request: Request, seen: Seen) -> Response:
        if request.path == "/accounts/login/":
            if request.method == "GET":
                return Response(
                    '<form method="post"><input type="hidden" name="csrfmiddlewaretoken" value="csrf-login">'
                    '<input type="email" name="login"><input type="password" name="password"></form>',
                    content_type="text/html",
                )
            if request.form.get("csrfmiddlewaretoken") == "csrf-login" and (
                request.form.get("login"), request.form.get("password")
            ) == ("admin@example.com", "right-password"):
                response = Response(status=302, headers={"Location": request.args["next"]})
                response.set_cookie("sessionid", "admin-session")
                return response
            return Response(
                '<form method="post"><p>wrong</p><input type="email" name="login"><input type="password" name="password"></form>',
                content_type="text/html",
            )
        path = request.path.removeprefix("/smartrecruiters/")
        as_json = lambda body, status=200: Response(json.dumps(body), status=status, content_type="application/json")  # noqa: E731
        if path == "oauth/token":
            form = request.form
            if (form.get("client_id"), form.get("client_secret")) != (STAGEHOOK_CLIENT["clientId"], STAGEHOOK_CLIENT["clientSecret"]):
                return as_json({"error": "invalid_client"}, 401)
            return as_json({"access_token": self.token, "token_type": "Bearer", "expires_in": 300})
        if path == "packages" and request.method == "GET":
            if not self._bearer_ok(seen):
                return as_json({}, 401)
            return Response(status=204) if not self.packages else as_json(self.packages)
        if path == "packages/orders":
            return as_json({} if self._bearer_ok(seen) else {"error": "no"}, self.order_status if self._bearer_ok(seen) else 401)
        if path.startswith("integrations/companies/") and request.method == "DELETE":
            return Response(status=204 if self._bearer_ok(seen) else 401)
        if path == "packages/inline/orders":
            url = f"http://127.0.0.1:{self.server.server_port}/i/{secrets.token_hex(4)}/"
            return as_json({"url": url, "assessmentPackageURL": url})
        if path == "webhooks":
            secret = request.headers.get("X-Hook-Secret")
            if secret is not None:
                if isinstance(self.activation, int):
                    return Response("nope", status=self.activation)
                headers = {"X-Hook-Secret": secret if self.activation == "echo" else "something else"}
                if self.activation == "missing":
                    headers = {}
                return Response("", status=200, headers=headers)
            with self.lock:
                status = self.webhook_answers.pop(0) if self.webhook_answers else 202
            return as_json({}, status)
        if path == "integration" and request.method == "GET":
            query = urlencode({"companyId": request.args["companyId"], "redirect": request.args.get("redirect", "")})
            html = (
                f'<html><body><form method="post" action="/smartrecruiters/integration?{query}">'
                '<input type="hidden" name="csrfmiddlewaretoken" value="csrf-123">'
                '<select name="tenant"><option value="t1">One</option><option value="t2" selected>Two</option></select>'
                '<button type="submit" name="approve" value="yes">Approve</button></form></body></html>'
            )
            if request.cookies.get("sessionid") != "admin-session":
                return Response(status=302, headers={"Location": "/accounts/login/?" + urlencode({"next": request.full_path})})
            return Response(html, content_type="text/html")
        if path == "integration" and request.method == "POST":
            if request.form.get("csrfmiddlewaretoken") != "csrf-123" or request.cookies.get("sessionid") != "admin-session":
                return Response("forbidden", status=403)
            session = requests.Session()
            session.trust_env = False
            token = session.post(
                f"{self.sandbox_url}/identity/oauth/token",
                data={"grant_type": "client_credentials", "client_id": "sandbox-sr-master-client",
                      "client_secret": "sandbox-sr-master-secret-for-local-demo-only"},
                timeout=10,
            ).json()["access_token"]
            answer = session.post(
                f"{self.sandbox_url}{PARTNER}/integration/company/{request.args['companyId']}",
                json=STAGEHOOK_CLIENT, headers={"Authorization": f"Bearer {token}"}, timeout=10,
            )
            if answer.status_code != 200:
                return Response(f"setUpIntegration answered {answer.status_code}", status=502)
            return Response(status=302, headers={"Location": request.args["redirect"]})
        return as_json({"error": "not here"}, 404)


# --- fixtures the sandbox tests import --------------------------------------------------------
import pytest  # noqa: E402


@pytest.fixture
def stagehook():
    fake = FakeStagehook()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def sr(sandbox_server):
    """A running SmartRecruiters sandbox (fresh state)."""
    return sandbox_server("smartrecruiters")


@pytest.fixture
def integrated(sr, stagehook):
    """Configured with the fake Stagehook's URLs, the company consented and integrated."""
    stagehook.sandbox_url = sr.url
    sr.partner_configuration(stagehook.url)
    sr.integrate()
    return sr
