"""The shared sandbox kit, on its own: a toy ATS composed on it, with Teamtailor's and
SmartRecruiters' rate rules (10 req/s, 8 concurrent, 1 concurrent on GET /candidates,
X-RateLimit-* headers) as parameters, not subclasses."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from werkzeug.routing import Rule
from werkzeug.test import Client
from werkzeug.wrappers import Request, Response

from integrations.sandbox import (
    GENERIC_VERBS,
    KitSettings,
    PathLimit,
    RateHeaders,
    RateLimiter,
    RateRules,
    Routes,
    SandboxKit,
    UnknownSandbox,
    Verb,
    sandbox_names,
    sandbox_spec,
)
from integrations.sandbox.cli import verbs_for

TEAMTAILOR_LIKE = RateRules(
    limit=50,
    window=10.0,
    headers=RateHeaders(limit="X-Rate-Limit-Limit", remaining="X-Rate-Limit-Remaining", reset="X-Rate-Limit-Reset"),
)
SMARTRECRUITERS_LIKE = RateRules(
    limit=10,
    window=1.0,
    concurrent=8,
    paths=(PathLimit("GET", r"/candidates", 1),),
    headers=RateHeaders(
        limit="X-RateLimit-Limit",
        remaining="X-RateLimit-Remaining",
        concurrent_limit="X-RateLimit-Concurrent-Limit",
        concurrent_remaining="X-RateLimit-Concurrent-Remaining",
    ),
)


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# --- the limiter --------------------------------------------------------------------------------
def test_a_fixed_window_per_credential_with_the_declared_headers():
    clock = Clock()
    limiter = RateLimiter(TEAMTAILOR_LIKE, clock=clock)
    answers = [limiter.admit("key-a") for _ in range(51)]
    for admission in answers:
        admission.release()
    assert [a.allowed for a in answers] == [True] * 50 + [False]
    assert answers[0].headers == {"X-Rate-Limit-Limit": "50", "X-Rate-Limit-Remaining": "49", "X-Rate-Limit-Reset": "10"}
    assert answers[-1].reason == "rate" and answers[-1].headers["X-Rate-Limit-Remaining"] == "0"
    assert limiter.admit("key-b").allowed  # another credential has its own window
    clock.now += 10.0
    assert limiter.admit("key-a").allowed  # the whole allowance is back after the window


def test_smartrecruiters_rules_ten_per_second_and_concurrency_headers():
    clock = Clock()
    limiter = RateLimiter(SMARTRECRUITERS_LIKE, clock=clock)
    first = limiter.admit("Bearer x", method="GET", path="/jobs")
    assert first.headers == {
        "X-RateLimit-Limit": "10",
        "X-RateLimit-Remaining": "9",
        "X-RateLimit-Concurrent-Limit": "8",
        "X-RateLimit-Concurrent-Remaining": "7",
    }
    first.release()
    for _ in range(9):
        limiter.admit("Bearer x", path="/jobs").release()
    assert not limiter.admit("Bearer x", path="/jobs").allowed
    clock.now += 1.0
    assert limiter.admit("Bearer x", path="/jobs").allowed


def test_eight_concurrent_per_credential_then_429_until_one_is_released():
    limiter = RateLimiter(SMARTRECRUITERS_LIKE, clock=Clock())
    held = [limiter.admit("k", path="/jobs") for _ in range(8)]
    assert all(a.allowed for a in held)
    refused = limiter.admit("k", path="/jobs")
    assert not refused.allowed and refused.reason == "concurrent"
    assert refused.headers["X-RateLimit-Concurrent-Remaining"] == "0"
    held[0].release()
    assert limiter.admit("k", path="/jobs").allowed


def test_one_concurrent_call_on_a_declared_path():
    limiter = RateLimiter(SMARTRECRUITERS_LIKE, clock=Clock())
    with limiter.admit("k", method="GET", path="/candidates") as first:
        assert first.allowed
        second = limiter.admit("k", method="GET", path="/candidates")
        assert not second.allowed and second.reason == "path-concurrent"
        assert limiter.admit("k", method="GET", path="/candidates/1").allowed  # another path
        assert limiter.admit("other", method="GET", path="/candidates").allowed  # another credential
    assert limiter.admit("k", method="GET", path="/candidates").allowed


def test_a_refused_request_holds_no_slot_and_uses_no_allowance():
    limiter = RateLimiter(RateRules(limit=2, window=60.0, concurrent=1), clock=Clock())
    with limiter.admit("k"):
        assert not limiter.admit("k").allowed
    assert limiter.admit("k").allowed  # the refused one did not count


# --- a toy ATS composed on the kit ------------------------------------------------------------------
class ToyAts:
    """The least an ATS sandbox does: its error shape, its config, one API route, one control route."""

    def __init__(self, rules: RateRules):
        self.settings = {"stagehook_url": "http://127.0.0.1:9/", "colour": "blue"}
        self.records: list[str] = []
        self.gate = threading.Event()
        self.kit = SandboxKit(
            KitSettings(rate=rules, redact_headers=("authorization", "x-secret")),
            name="toy",
            render_error=lambda status, title, detail: Response(
                json.dumps({"toy_error": {"status": status, "title": title, "detail": detail}}),
                status=status,
                content_type="application/json",
            ),
            config_view=lambda: dict(self.settings),
            config_change=lambda **changes: self.settings.update(changes),
            mutable_config={"stagehook_url"},
            extra_stats=lambda: {"records": len(self.records)},
            on_reset=self.records.clear,
        )
        self.routes = Routes(
            [
                Rule("/candidates", endpoint="candidates", methods=["GET"]),
                Rule("/jobs", endpoint="jobs", methods=["GET"]),
                Rule("/_sandbox/records", endpoint="control_records", methods=["GET"]),
            ]
        )

    def __call__(self, environ, start_response):
        request = Request(environ)
        if self.kit.is_control(request):
            response = self.kit.control(request, fallback=self._route)
        else:
            response = self.kit.api(request, key=request.headers.get("Authorization", ""), handler=self._route)
        return response(environ, start_response)

    def _route(self, request: Request) -> Response:
        return self.routes.dispatch(request, self, error=lambda s, t, d: Response(t, status=s))

    def candidates(self, request: Request) -> Response:
        self.records.append("candidates")
        self.gate.wait(10)
        return Response("[]", content_type="application/json")

    def jobs(self, request: Request) -> Response:
        self.records.append("jobs")
        return Response("[]", content_type="application/json")

    def control_records(self, request: Request) -> Response:
        return Response(json.dumps(self.records), content_type="application/json")


def _client(app) -> Client:
    def loopback(environ, start_response):
        # A loopback peer, as a sandbox's real clients are, unless the test names another.
        if not environ.get("REMOTE_ADDR"):
            environ["REMOTE_ADDR"] = "127.0.0.1"
        return app(environ, start_response)

    return Client(loopback)


def test_the_kit_serves_429_in_the_ats_shape_with_headers():
    app = ToyAts(RateRules(limit=2, window=60.0, headers=SMARTRECRUITERS_LIKE.headers))
    client = _client(app)
    assert client.get("/jobs", headers={"Authorization": "Bearer a"}).status_code == 200
    assert client.get("/jobs", headers={"Authorization": "Bearer a"}).headers["X-RateLimit-Remaining"] == "0"
    refused = client.get("/jobs", headers={"Authorization": "Bearer a"})
    assert refused.status_code == 429
    assert refused.json["toy_error"]["title"] == "Too Many Requests"
    assert refused.headers["X-RateLimit-Limit"] == "2"
    stats = client.get("/_sandbox/stats").json
    assert stats["requests"] == 3 and stats["rate_limited"] == 1 and stats["records"] == 2
    assert list(stats["rate_limited_by_key"]) == ["Bearer …er a"]


def test_concurrent_requests_on_the_one_slot_path_get_429():
    app = ToyAts(SMARTRECRUITERS_LIKE)
    client_a, client_b = _client(app), _client(app)
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(client_a.get, "/candidates", headers={"Authorization": "Bearer a"})
        deadline_ok = _wait_until(lambda: app.records == ["candidates"])
        assert deadline_ok
        second = client_b.get("/candidates", headers={"Authorization": "Bearer a"})
        assert second.status_code == 429
        assert second.json["toy_error"]["detail"] == "Too many concurrent requests"
        app.gate.set()
        assert first.result(10).status_code == 200
    assert client_b.get("/candidates", headers={"Authorization": "Bearer a"}).status_code == 200


def _wait_until(condition, timeout: float = 5.0) -> bool:
    event = threading.Event()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        event.wait(0.01)
    return False


def test_injected_faults_answer_in_the_ats_shape_for_a_count():
    app = ToyAts(SMARTRECRUITERS_LIKE)
    client = _client(app)
    assert client.post("/_sandbox/faults", json={"status": 503, "count": 2}).json["faults"]["status"] == 503
    answers = [client.get("/jobs").status_code for _ in range(3)]
    assert answers == [503, 503, 200]
    assert client.get("/_sandbox/stats").json["faults_served"] == 2
    assert client.post("/_sandbox/faults", json={"status": "x"}).status_code == 400
    assert client.delete("/_sandbox/faults").json["faults"]["active"] is False


def test_a_lost_answer_fault_serves_the_request_then_answers_the_fault():
    app = ToyAts(SMARTRECRUITERS_LIKE)
    client = _client(app)
    client.post("/_sandbox/faults", json={"status": 503, "count": 1, "path": "^/jobs$"})
    assert client.get("/jobs").status_code == 503 and app.records == []  # before: nothing happened
    described = client.post("/_sandbox/faults", json={"status": 503, "count": 1, "lose_answer": True}).json["faults"]
    assert described["lose_answer"] is True and described["active"] is True
    lost = client.get("/jobs")
    assert lost.status_code == 503 and app.records == ["jobs"]  # served: only its answer is lost
    assert "its answer 200 is lost" in lost.json["toy_error"]["detail"]
    assert client.get("/jobs").status_code == 200 and app.records == ["jobs", "jobs"]


def test_a_lost_answer_with_a_delay_is_late_after_the_effect():
    app = ToyAts(SMARTRECRUITERS_LIKE)
    client = _client(app)
    app.kit.faults.update({"delay": 0.3, "count": 1, "lose_answer": True})
    served_at: list[float] = []
    app.jobs = lambda request: served_at.append(time.monotonic()) or Response("[]", content_type="application/json")
    started = time.monotonic()
    answer = client.get("/jobs")
    assert answer.status_code == 200 and served_at[0] - started < 0.3 <= time.monotonic() - started


def test_generic_control_endpoints_config_reset_and_the_ats_own():
    app = ToyAts(SMARTRECRUITERS_LIKE)
    client = _client(app)
    client.get("/jobs")
    assert client.get("/_sandbox/records").json == ["jobs"]  # the ATS's own control route
    assert client.post("/_sandbox/config", json={"colour": "red"}).status_code == 400
    assert client.post("/_sandbox/config", json={"stagehook_url": "http://127.0.0.1:8/"}).json["stagehook_url"] == (
        "http://127.0.0.1:8/"
    )
    assert client.post("/_sandbox/reset").json == {"reset": True}
    assert client.get("/_sandbox/records").json == []
    assert client.get("/_sandbox/stats").json["requests"] == 0
    assert client.get("/_sandbox/stats", environ_overrides={"REMOTE_ADDR": "10.0.0.8"}).status_code == 403


def test_the_outbox_drops_duplicates_and_redacts_declared_headers(webhook_receiver):
    app = ToyAts(SMARTRECRUITERS_LIKE)
    app.kit.faults.update({"duplicate_webhooks": 2})
    answers = app.kit.outbox.deliver(
        kind="toy-event",
        url=webhook_receiver.url,
        body=b'{"id": 1}',
        headers={"Content-Type": "application/json", "X-Secret": "s3cret", "X-Signature": "v1=abc"},
    )
    assert [a["status"] for a in answers] == [202, 202]
    app.kit.faults.update({"drop_webhooks": 1})
    assert app.kit.outbox.deliver(kind="toy-event", url=webhook_receiver.url, body=b"{}", headers={}) == [{"dropped": True}]
    log = app.kit.outbox.snapshot()
    assert [entry["copy"] for entry in log] == [1, 2, 1]
    assert "X-Secret" not in log[0]["request_headers"] and log[0]["request_headers"]["X-Signature"] == "v1=abc"
    stats = app.kit.stats()
    assert stats["webhooks_sent"] == 2 and stats["webhooks_duplicated"] == 1 and stats["webhooks_dropped"] == 1
    assert len(webhook_receiver.wait_for(2)) == 2
    app.kit.close()


# --- registry and verbs -----------------------------------------------------------------------------
def test_registered_sandboxes_are_found_by_folder():
    assert "teamtailor" in sandbox_names()
    spec = sandbox_spec("teamtailor")
    assert spec.name == "teamtailor" and spec.defaults.port == 8101
    assert {"trigger", "move", "results"} <= {v.name for v in spec.verbs}


@pytest.mark.parametrize("name", ["nope", "../teamtailor", "Teamtailor", "", "sandbox"])
def test_an_unknown_sandbox_says_which_exist(name):
    with pytest.raises(UnknownSandbox):
        sandbox_spec(name)


def test_an_ats_verb_may_not_shadow_a_generic_one():
    with pytest.raises(ValueError, match="stats"):
        verbs_for([Verb("stats", "mine", lambda cli, o: None)])
    names = [v.name for v in verbs_for([Verb("order", "order a package", lambda cli, o: None)])]
    assert names == ["order", *[v.name for v in GENERIC_VERBS]]


def test_the_outbox_signs_each_copy_as_it_goes_out(webhook_receiver):
    app = ToyAts(SMARTRECRUITERS_LIKE)
    app.kit.faults.update({"duplicate_webhooks": 2})
    signed: list[int] = []

    def sign(body: bytes) -> dict[str, str]:
        signed.append(len(body))
        return {"X-Signature": f"v1=copy{len(signed)}", "Authorization": "Bearer secret-token"}

    app.kit.outbox.deliver(kind="toy-event", url=webhook_receiver.url, body=b'{"id": 2}', headers={}, sign=sign)
    received = webhook_receiver.wait_for(2)
    assert [r.headers["X-Signature"] for r in received] == ["v1=copy1", "v1=copy2"]
    log = app.kit.outbox.snapshot()
    assert [e["request_headers"] for e in log] == [{"X-Signature": "v1=copy1"}, {"X-Signature": "v1=copy2"}]
    app.kit.close()


def test_the_test_plugin_serves_a_registered_sandbox_with_its_handle(sandbox_server):
    from tests.sandbox_fixtures import RunningSandbox, RunningTeamtailorSandbox, handle_class

    assert handle_class("teamtailor") is RunningTeamtailorSandbox
    assert handle_class("no_handle_module_here") is RunningSandbox
    running = sandbox_server("teamtailor", rate_limit=7)
    assert running.url.startswith("http://127.0.0.1:") and running.config.rate_limit == 7
    assert running.stats()["requests"] == 0 and running.faults(status=503)["status"] == 503
