"""Every Teamtailor entry point against the attacks ARCHITECTURE.md lists: the right 4xx, a JSON
error, and nothing stored (no WebhookEvent, no Assessment, no binding)."""

import base64
import json

import jwt
import pytest

from assessments.models import Assessment
from integrations.models import Connection, WebhookEvent, secret_hash
from integrations.teamtailor import services

from .conftest import (
    COMPANY_WEBHOOK_SECRET,
    PARTNER_AUTH_CASES,
    SIGNED_EVENT_ID,
    PARTNER_API_KEY,
    PROVIDER_KEY,
    company_headers,
    partner_body,
    partner_headers,
    partner_signature,
    unix_now,
)

pytestmark = pytest.mark.django_db

MIB = 1024 * 1024
EVENT_ID = SIGNED_EVENT_ID


def _nothing_stored():
    assert WebhookEvent.objects.count() == 0
    assert Assessment.objects.count() == 0


def _json_error(response) -> str:
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    message = body.get("error") or body.get("errors")
    assert message, body
    return message


# --- POST /teamtailor/webhook ------------------------------------------------------------------------
def _partner_raw(reference_fixtures, package) -> bytes:
    return json.dumps(partner_body(reference_fixtures, package_id=package.pk, event_id=EVENT_ID)).encode()


@pytest.mark.parametrize("case", PARTNER_AUTH_CASES, ids=list(PARTNER_AUTH_CASES))
def test_partner_webhook_rejections(client, connection, package, reference_fixtures, case):
    headers = {**partner_headers(event_id=EVENT_ID), **PARTNER_AUTH_CASES[case]()}
    response = client.post("/teamtailor/webhook", data=_partner_raw(reference_fixtures, package),
                           content_type="application/json", **headers)
    assert response.status_code == 401
    assert _json_error(response) == "Unauthorized."
    _nothing_stored()


def test_partner_unknown_and_wrong_answer_alike(client, connection, package, reference_fixtures):
    raw = _partner_raw(reference_fixtures, package)
    unknown = client.post("/teamtailor/webhook", data=raw, content_type="application/json",
                          **{**partner_headers(event_id=EVENT_ID), "HTTP_AUTHORIZATION": "Bearer nope"})
    wrong = client.post("/teamtailor/webhook", data=raw, content_type="application/json",
                        **{**partner_headers(event_id=EVENT_ID), "HTTP_TEAMTAILOR_SIGNATURE": partner_signature(secret="x")})
    assert (unknown.status_code, unknown.content) == (wrong.status_code, wrong.content)


@pytest.mark.parametrize(
    "raw,content_type,status",
    [
        (b'{"partner-event": ', "application/json", 400),
        (b"[1, 2", "application/json", 400),
        (b'{"partner-event": {"webhook-data": {}}}', "application/json", 400),
        (b'{"no": "event"}', "application/json", 400),
        (b"{}", "text/plain", 415),
        (b"{}", "application/x-www-form-urlencoded", 415),
        (b"{" + b" " * (MIB + 1) + b"}", "application/json", 413),
    ],
    ids=["truncated", "not-an-object", "missing-event-id", "missing-partner-event", "text-plain", "form", "over-1-mib"],
)
def test_partner_webhook_bad_bodies(client, connection, package, raw, content_type, status):
    response = client.post("/teamtailor/webhook", data=raw, content_type=content_type, **partner_headers(event_id=EVENT_ID))
    assert response.status_code == status
    _json_error(response)
    _nothing_stored()


def test_partner_webhook_get_is_405(client, connection):
    response = client.get("/teamtailor/webhook", **partner_headers(event_id=EVENT_ID))
    assert response.status_code == 405
    _json_error(response)
    _nothing_stored()


def test_partner_replay_has_one_effect(client, connection, package, reference_fixtures, django_capture_on_commit_callbacks, settings):
    # The update-url is allowed but nothing listens there (a refused connection, no network): the
    # write-back is not what this test is about. (An off-list one is refused at intake: test_update_url.)
    settings.ATS_EXTRA_ALLOWED_HOSTS = ["127.0.0.1"]
    body = partner_body(reference_fixtures, package_id=package.pk, event_id=EVENT_ID,
                        update_url="http://127.0.0.1:9/partner/v1/partner-results/x")
    raw = json.dumps(body).encode()
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(3):
            response = client.post("/teamtailor/webhook", data=raw, content_type="application/json",
                                   **partner_headers(event_id=EVENT_ID))
            assert response.status_code == 200
    assert WebhookEvent.objects.count() == 1
    assert Assessment.objects.count() == 1


# --- POST /teamtailor/company-webhooks -----------------------------------------------------------------
COMPANY_RAW = json.dumps(
    {"payload": {"event_name": "job.update", "data": {"id": "2", "attributes": {"title": "T", "updated-at": "2026-01-01T00:00:00Z"}}}}
).encode()


def _v2(secret=COMPANY_WEBHOOK_SECRET, raw=COMPANY_RAW, skew=0):
    return company_headers(raw, secret=secret, timestamp=unix_now(skew))["HTTP_TT_SIGNATURE"]


@pytest.mark.parametrize(
    "make_signature",
    [
        lambda: "",
        lambda: _v2(secret="wrong-secret"),
        lambda: _v2(skew=-301),
        lambda: _v2(skew=301),
        lambda: _v2(raw=COMPANY_RAW + b" "),
        lambda: base64.b64encode(b"t=1,v2=abc").decode(),
        lambda: "%%%not-base64%%%",
    ],
    ids=["missing", "wrong-secret", "301-s-old", "301-s-ahead", "other-body", "garbage-v2", "not-base64"],
)
def test_company_webhook_signature_rejections(client, connection, make_signature):
    response = client.post("/teamtailor/company-webhooks", data=COMPANY_RAW, content_type="application/json",
                           HTTP_TT_SIGNATURE=make_signature())
    assert response.status_code == 401
    assert _json_error(response) == "Unauthorized."
    _nothing_stored()


def test_company_webhook_with_unknown_bearer(client, connection):
    response = client.post("/teamtailor/company-webhooks", data=COMPANY_RAW, content_type="application/json",
                           HTTP_TT_SIGNATURE=_v2(), HTTP_AUTHORIZATION="Bearer unknown")
    assert response.status_code == 401
    _nothing_stored()


@pytest.mark.parametrize(
    "raw,content_type,status",
    [
        (b'{"payload": ', "application/json", 400),
        (b'{"payload": {"event_name": "job.update"}}', "application/json", 400),
        (b'{"payload": {"data": {"id": "2"}}}', "application/json", 400),
        (COMPANY_RAW, "text/plain", 415),
        (b"{" + b" " * (MIB + 1) + b"}", "application/json", 413),
    ],
    ids=["truncated", "missing-data", "missing-event-name", "text-plain", "over-1-mib"],
)
def test_company_webhook_bad_bodies(client, connection, raw, content_type, status):
    response = client.post("/teamtailor/company-webhooks", data=raw, content_type=content_type,
                           HTTP_TT_SIGNATURE=_v2(raw=raw))
    assert response.status_code == status
    _json_error(response)
    _nothing_stored()


def test_company_replay_has_one_effect(client, connection):
    for _ in range(3):
        response = client.post("/teamtailor/company-webhooks", data=COMPANY_RAW, content_type="application/json",
                               HTTP_TT_SIGNATURE=_v2())
        assert response.status_code == 200
    assert WebhookEvent.objects.count() == 1


# --- GET /teamtailor/activation/validate and /teamtailor/config ---------------------------------------------
def _alg_none(claims):
    header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{payload}."


@pytest.mark.parametrize(
    "authorization",
    [
        "",
        "Bearer ",
        "Token abc",
        "Bearer {other}",
        "Bearer {none}",
    ],
    ids=["missing", "empty", "wrong-scheme", "other-key", "alg-none"],
)
def test_activation_validate_rejections(client, tenant, settings, authorization):
    settings.TEAMTAILOR_PARTNER_API_KEY = PARTNER_API_KEY
    connection = services.teamtailor_connection_get_or_create(tenant=tenant)
    token = services.teamtailor_connection_token_issue(connection=connection)
    authorization = authorization.format(
        other=jwt.encode({"connection_token": token}, "another-key-long-enough-for-hs256-use", algorithm="HS256"),
        none=_alg_none({"connection_token": token}),
    )
    response = client.get("/teamtailor/activation/validate", HTTP_AUTHORIZATION=authorization,
                          HTTP_TEAMTAILOR_HOST="api.teamtailor.com")
    assert response.status_code == 401
    assert _json_error(response)
    connection.refresh_from_db()
    assert connection.provider_key_hash is None and connection.connection_token_hash == secret_hash(token)
    assert connection.status == "pending"


@pytest.mark.parametrize("authorization", ["", "Bearer nope", f"Token {PROVIDER_KEY}"])
def test_config_rejections(client, connection, package, authorization):
    response = client.get("/teamtailor/config?job_id=1&stage_id=2", HTTP_AUTHORIZATION=authorization)
    assert response.status_code == 401
    assert _json_error(response)
    assert package.name not in response.content.decode()


def test_nothing_in_the_inbox_keeps_secrets(client, connection, package, reference_fixtures, settings):
    settings.ATS_EXTRA_ALLOWED_HOSTS = []
    raw = _partner_raw(reference_fixtures, package)
    assert client.post("/teamtailor/webhook", data=raw, content_type="application/json",
                       HTTP_TEAMTAILOR_API_TOKEN="company-api-token", **partner_headers(event_id=EVENT_ID)).status_code == 200
    headers = json.dumps(WebhookEvent.objects.get().headers)
    assert PROVIDER_KEY not in headers and "company-api-token" not in headers and "v1=" not in headers
    assert Connection.objects.filter(provider_key_hash=secret_hash(PROVIDER_KEY)).exists()
