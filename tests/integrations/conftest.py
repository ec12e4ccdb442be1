"""A throw-away provider ("testats") and a fake ATS served over real HTTP on 127.0.0.1.

The shared machinery is tested through them: nothing of ours is patched, the HTTP client talks to a
real socket, and the provider is registered like any ATS's would be.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field

import pytest
from django.http import JsonResponse
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from integrations.errors import PayloadError
from integrations.http import AtsClient
from integrations.models import Connection, secret_hash
from integrations.providers import (
    ApplicationRejected,
    AssessmentOrdered,
    Candidate,
    CandidateChanged,
    ConnectionRemoved,
    DeliverySpec,
    InboundRejected,
    JobChanged,
    Provider,
    StageChanged,
    VerifiedInbound,
    WriteBackResult,
    provider_register,
    provider_unregister,
)
from tests.factories import ConnectionFactory

PROVIDER = "testats"


# --- a fake ATS over HTTP ---------------------------------------------------------------------------
@dataclass
class Seen:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)


@dataclass
class Reply:
    status: int = 200
    body: object = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


class FakeAts:
    """Answers from a script of ``Reply``s (then ``default``), recording every request."""

    def __init__(self):
        self.seen: list[Seen] = []
        self.script: deque[Reply] = deque()
        self.default = Reply(200, {"ok": True})
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self.port = self._server.server_port
        self.url = f"http://127.0.0.1:{self.port}/"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def reply(self, *replies: Reply) -> None:
        self.script.extend(replies)

    @Request.application
    def _app(self, request: Request) -> Response:
        self.seen.append(
            Seen(request.method, request.path, request.query_string.decode(), dict(request.headers), request.get_data())
        )
        reply = self.script.popleft() if self.script else self.default
        if reply.delay:
            time.sleep(reply.delay)
        body = reply.body if isinstance(reply.body, (bytes, str)) else json.dumps(reply.body)
        return Response(body, status=reply.status, headers=reply.headers, content_type="application/json")

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def fake_ats(settings):
    settings.ATS_EXTRA_ALLOWED_HOSTS = ["127.0.0.1"]
    server = FakeAts()
    yield server
    server.close()


def _time(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


# --- a provider ------------------------------------------------------------------------------------
def _candidate(data: dict) -> Candidate:
    return Candidate(
        remote_id=str(data.get("id", "")), first_name=data.get("first_name", ""), last_name=data.get("last_name", ""),
        email=data.get("email", ""), phone=data.get("phone", ""),
    )


class TestAtsProvider(Provider):
    """Inbound: ``Authorization: Bearer <provider key>`` and a JSON body ``{"id", "type", ...}``.
    Outbound: ``PUT <api_base_url>results/<assessment id>`` with ``{"status": ...}``."""

    __test__ = False
    name = PROVIDER

    def verify_inbound(self, request, *, raw_body: bytes, kind: str) -> VerifiedInbound:
        auth = request.headers.get("Authorization", "")
        key = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else ""
        connection = (
            Connection.objects.filter(provider=PROVIDER, provider_key_hash=secret_hash(key)).first() if key else None
        )
        if connection is None:
            raise InboundRejected(401, "unauthorized")
        try:
            payload = json.loads(raw_body)
        except ValueError:
            raise InboundRejected(400, "malformed JSON") from None
        if not isinstance(payload, dict) or not payload.get("id"):
            raise InboundRejected(400, "missing id")
        return VerifiedInbound(connection, str(payload["id"]), str(payload.get("type", "")), payload)

    def acknowledge(self, event, *, duplicate: bool):
        return JsonResponse({"received": event.event_id, "duplicate": duplicate}, status=202)

    def parse(self, event):
        payload = json.loads(bytes(event.raw_body))
        kind, data = payload.get("type"), payload.get("data", {})
        if kind == "order":
            return [
                AssessmentOrdered(
                    remote_order_id=data["order_id"], package_id=str(data["package_id"]),
                    candidate=_candidate(data["candidate"]), remote_application_id=data.get("application_id", ""),
                    remote_job_id=data.get("job_id", ""), remote_job_title=data.get("job_title", ""),
                    callback_url=data.get("callback_url", ""), options=data.get("options", {}),
                )
            ]
        if kind == "stage":
            return [
                StageChanged(
                    remote_application_id=data["application_id"], remote_candidate_id=data["candidate"]["id"],
                    remote_job_id=data.get("job_id", ""), remote_stage_id=data["stage_id"],
                    changed_at=_time(data.get("changed_at")), candidate=_candidate(data["candidate"]),
                )
            ]
        if kind == "reject":
            return [ApplicationRejected(remote_application_id=data["application_id"], rejected_at=_time(data.get("rejected_at")))]
        if kind == "candidate":
            return [CandidateChanged(candidate=_candidate(data), deleted=data.get("deleted", False))]
        if kind == "job":
            return [JobChanged(remote_job_id=data["id"], title=data.get("title", ""), deleted=data.get("deleted", False))]
        if kind == "removed":
            return [ConnectionRemoved(reason="uninstalled")]
        if kind == "explode":
            raise RuntimeError("the provider has a bug")
        raise PayloadError(f"unknown type {kind!r}")

    def _client(self, connection) -> AtsClient:
        key = connection.credentials["api_key"]
        return AtsClient(
            provider=PROVIDER, base_url=connection.api_base_url, credential=key,
            headers={"Authorization": f"Bearer {key}"}, timeout=(1.0, 2.0),
        )

    def delivery_for(self, *, connection, assessment, to_status):
        if to_status == "cancelled":
            return None
        channel = "result" if assessment.mode == "order" else "note"
        return DeliverySpec(channel=channel, payload={"status": to_status})

    def deliver(self, delivery) -> WriteBackResult:
        response = self._client(delivery.connection).put(
            f"results/{delivery.assessment_id}", json=delivery.payload
        )
        return WriteBackResult(response.status_code, {"result_id": str(response.json().get("result_id", ""))})

    def validate_credentials(self, connection) -> None:
        self._client(connection).get("me")


@pytest.fixture
def test_provider():
    provider = provider_register(TestAtsProvider())
    yield provider
    provider_unregister(PROVIDER)


PROVIDER_KEY = "provider-key-0123456789"
API_KEY = "api-key-secret-abcdef"


@pytest.fixture
def connection(db, test_provider, fake_ats):
    return ConnectionFactory(
        provider=PROVIDER, provider_key_hash=secret_hash(PROVIDER_KEY), api_base_url=fake_ats.url,
        credentials={"api_key": API_KEY},
    )
