"""pytest plugin: ATS sandboxes served as real threaded HTTP servers on 127.0.0.1 (port 0, a
background thread each), and a tiny receiver that records what a sandbox sends.

Any sandbox registered with the kit (``integrations/<ats>/sandbox`` exposing ``SANDBOX``) can be
served: ``sandbox_server("<ats>", stagehook_url=...)`` (a factory fixture) or ``serve_sandbox``.
The handle is ``RunningSandbox`` (the kit's generic control endpoints) or the ATS's subclass
(its API and control calls: ``HANDLES`` here, or ``HANDLE`` in tests/integrations/<ats>/sandbox_handle.py). Fixtures: ``sandbox_server``, ``teamtailor_sandbox`` (a
running fake Teamtailor, fresh state per test) and ``webhook_receiver`` (stands in for Stagehook
when a test checks what the sandbox sends).
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import importlib.util
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from werkzeug.datastructures import Headers
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from integrations.sandbox import bind, build, sandbox_spec

LOOPBACK = "127.0.0.1"


def _session() -> requests.Session:
    # Sandbox traffic stays on 127.0.0.1: ignore any proxy the environment configures.
    session = requests.Session()
    session.trust_env = False
    return session


def _server(app: Any) -> Any:
    server = make_server(LOOPBACK, 0, app, threaded=True)
    # Keep-alive connections from the other side must not hold up the teardown: request threads
    # are daemons and closing the server does not wait for them.
    server.daemon_threads = True
    server.block_on_close = False
    return server


class RunningSandbox:
    """A served sandbox: ``url``, live ``state`` and ``config``, and HTTP helpers for the kit's
    ``/_sandbox/`` control endpoints (every ATS sandbox has them)."""

    def __init__(self, app: Any, server: Any, thread: threading.Thread):
        self.app = app
        self.server = server
        self.thread = thread
        self.url = f"http://{LOOPBACK}:{server.server_port}"
        self.http = _session()

    @property
    def state(self) -> Any:
        return self.app.state

    @property
    def config(self) -> Any:
        return self.app.config

    def configure(self, **changes: Any) -> Any:
        return self.app.configure(**changes)

    def control(self, method: str, path: str, payload: dict | None = None) -> requests.Response:
        return self.http.request(method, f"{self.url}/_sandbox/{path.lstrip('/')}", json=payload, timeout=30)

    def _control_json(self, method: str, path: str, payload: dict | None = None) -> Any:
        response = self.control(method, path, payload)
        assert response.status_code < 400, f"{method} /_sandbox/{path}: {response.status_code} {response.text}"
        return response.json()

    def faults(self, **options: Any) -> dict:
        return self._control_json("POST", "faults", options)["faults"]

    def clear_faults(self) -> dict:
        return self._control_json("DELETE", "faults")["faults"]

    def stats(self) -> dict:
        return self._control_json("GET", "stats")

    def webhooks(self) -> list[dict]:
        return self._control_json("GET", "webhooks")["webhooks"]

    def reset(self) -> None:
        self._control_json("POST", "reset")

    def stop(self) -> None:
        self.http.close()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
        self.app.close()


class RunningTeamtailorSandbox(RunningSandbox):
    """Adds Teamtailor's API calls, with the right headers unless a test overrides them."""

    def results(self) -> list[dict]:
        return self._control_json("GET", "partner-results")["partner_results"]

    def notes(self) -> list[dict]:
        return self._control_json("GET", "notes")["notes"]

    def api(
        self,
        method: str,
        path: str,
        *,
        payload: Any = None,
        headers: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
    ) -> requests.Response:
        """Call the public API (``/v1``) as a correct client would."""
        base = {
            "Authorization": f"Token token={self.config.api_key}",
            "X-Api-Version": self.config.public_api_versions[0],
            "Accept": "application/vnd.api+json",
        }
        return self._call(method, f"/v1/{path.lstrip('/')}", base, payload, headers, params)

    def partner(
        self,
        method: str,
        path: str,
        *,
        payload: Any = None,
        headers: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
    ) -> requests.Response:
        """Call the partner API (``/partner/v1``) as Stagehook should."""
        base = {
            "Authorization": f"Bearer {self.config.partner_api_key}",
            "X-Api-Version": self.config.partner_api_version,
            "Accept": "application/vnd.api+json",
        }
        return self._call(method, f"/partner/v1/{path.lstrip('/')}", base, payload, headers, params)

    def _call(self, method, path, base, payload, headers, params) -> requests.Response:
        data = None
        if payload is not None:
            data = payload if isinstance(payload, (bytes, str)) else json.dumps(payload)
            base = {**base, "Content-Type": "application/vnd.api+json"}
        # A header set to None in ``headers`` is left out (to test its absence).
        merged = {k: v for k, v in {**base, **(headers or {})}.items() if v is not None}
        return self.http.request(method, self.url + path, data=data, headers=merged, params=params, timeout=30)

    def trigger(
        self,
        candidate_id: str | int,
        *,
        job_id: str | int | None = None,
        package_id: str | int | None = None,
        webhook_data: dict | None = None,
    ) -> dict:
        """Fire a partner trigger (Teamtailor POSTs the signed partner event to Stagehook)."""
        payload = {"candidate_id": str(candidate_id), "webhook_data": webhook_data or {}}
        if job_id is not None:
            payload["job_id"] = str(job_id)
        if package_id is not None:
            payload["package_id"] = str(package_id)
        return self._control_json("POST", "trigger", payload)

    def move(self, application_id: str | int, stage_id: str | int) -> dict:
        """Move an application (Teamtailor sends the signed ``job_application.update``)."""
        return self._control_json("POST", f"applications/{application_id}/move", {"stage_id": str(stage_id)})

    def activate(self, connection_token: str) -> dict:
        return self._control_json("POST", "activate", {"connection_token": connection_token})

    def wait_background(self, timeout: float = 10.0) -> None:
        self.app.wait_background(timeout)


# An ATS's handle class (its API and control helpers). Another ATS may instead put its class in
# tests/integrations/<ats>/sandbox_handle.py as ``HANDLE`` (no edit here); any other registered
# sandbox gets the generic RunningSandbox.
HANDLES: dict[str, type[RunningSandbox]] = {"teamtailor": RunningTeamtailorSandbox}


def handle_class(name: str) -> type[RunningSandbox]:
    if name in HANDLES:
        return HANDLES[name]
    module_name = f"tests.integrations.{name}.sandbox_handle"
    try:
        found = importlib.util.find_spec(module_name)
    except ModuleNotFoundError:
        found = None
    if found is None:
        return RunningSandbox
    handle = getattr(importlib.import_module(module_name), "HANDLE", None)
    if not (isinstance(handle, type) and issubclass(handle, RunningSandbox)):
        raise TypeError(f"{module_name}.HANDLE must be a subclass of tests.sandbox_fixtures.RunningSandbox")
    return handle


@contextlib.contextmanager
def serve_sandbox(name: str, **overrides: Any) -> Iterator[RunningSandbox]:
    """Serve the registered sandbox ``name`` on 127.0.0.1:<free port> until the block ends."""
    app = build(sandbox_spec(name), host=LOOPBACK, port=0, **overrides)
    server = bind(app, host=LOOPBACK, port=0)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), name=f"{name}-sandbox", daemon=True)
    thread.start()
    handle = handle_class(name)(app, server, thread)
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture
def sandbox_server() -> Iterator[Callable[..., RunningSandbox]]:
    """Factory: ``sandbox_server("teamtailor", rate_limit=5)``; every server stops after the test."""
    with contextlib.ExitStack() as stack:
        yield lambda name, **overrides: stack.enter_context(serve_sandbox(name, **overrides))


@pytest.fixture
def teamtailor_sandbox() -> Iterator[RunningTeamtailorSandbox]:
    with serve_sandbox("teamtailor") as handle:
        yield handle


# --- a receiver standing in for Stagehook ------------------------------------------------------
@dataclasses.dataclass
class Received:
    method: str
    path: str
    query: dict[str, str]
    headers: Headers  # case-insensitive, as HTTP headers are
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class WebhookReceiver:
    """Records every request; answers ``respond(...)``'s status/body (default 202, empty JSON)."""

    def __init__(self):
        self.requests: list[Received] = []
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._answers: list[tuple[int, Any]] = []
        self.default_answer: tuple[int, Any] = (202, {})
        self.server = _server(self._app)
        self.url = f"http://{LOOPBACK}:{self.server.server_port}/"
        self.thread = threading.Thread(
            target=self.server.serve_forever, args=(0.05,), name="webhook-receiver", daemon=True
        )
        self.thread.start()

    def respond(self, status: int, body: Any = None, *, times: int | None = None) -> None:
        """Answer the next ``times`` requests (or every one) with ``status`` and ``body``."""
        with self._lock:
            if times is None:
                self.default_answer = (status, body)
            else:
                self._answers.extend([(status, body)] * times)

    def _app(self, environ, start_response):
        request = Request(environ)
        received = Received(
            method=request.method,
            path=request.path,
            query=dict(request.args),
            headers=Headers(request.headers),
            body=request.get_data(),
        )
        with self._arrived:
            self.requests.append(received)
            status, body = self._answers.pop(0) if self._answers else self.default_answer
            self._arrived.notify_all()
        if isinstance(body, (str, bytes)):
            response = Response(body, status=status, content_type="text/plain")
        else:
            response = Response(
                json.dumps(body if body is not None else {}), status=status, content_type="application/json"
            )
        return response(environ, start_response)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.requests) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {count} requests, got {len(self.requests)}")
                self._arrived.wait(left)
            return list(self.requests)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    try:
        yield receiver
    finally:
        receiver.stop()
