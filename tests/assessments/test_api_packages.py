"""POST /api/v1/packages/list: the unified-API package list (HTTP Basic + optional body signature)."""

import base64
import hashlib
import hmac
import json
import math
import time

import pytest

from assessments.apikeys import tenant_api_key_create, tenant_api_key_revoke
from assessments.models import PackageType
from tests.factories import PackageFactory, QuestionFactory, TenantFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/packages/list"
BODY = json.dumps({"job_id": "J-1", "account_id": "acme", "provider": "kombo"}).encode()


def _basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def _sign(key: str, body: bytes) -> str:
    # Computed independently of assessments.apikeys, as a client would.
    return "sha256=" + hmac.new(key.encode(), body, hashlib.sha256).hexdigest()


@pytest.fixture
def setup():
    tenant = TenantFactory(slug="acme")
    api_key, raw = tenant_api_key_create(tenant=tenant, name="unified API")
    interview = PackageFactory(tenant=tenant, name="Backend interview", description="Talk", type=PackageType.INTERVIEW)
    QuestionFactory(package=interview)
    test = PackageFactory(tenant=tenant, name="Aptitude", description="", type=PackageType.SKILLS_TEST)
    PackageFactory(tenant=tenant, name="Retired", active=False)
    PackageFactory(name="Someone else's")  # another tenant
    return tenant, api_key, raw, [test, interview]


def _post(client, body=BODY, **headers):
    return client.post(URL, data=body, content_type="application/json", **headers)


def test_lists_the_tenants_active_packages(client, setup):
    _, api_key, raw, expected = setup

    response = _post(client, HTTP_AUTHORIZATION=_basic(api_key.prefix, raw))

    assert response.status_code == 200, response.content
    assert response.json() == {
        "packages": [
            {"id": str(p.pk), "name": p.name, "description": p.description, "type": p.type} for p in expected
        ]
    }


def test_the_tenant_slug_is_accepted_as_username(client, setup):
    _, _, raw, expected = setup
    response = _post(client, HTTP_AUTHORIZATION=_basic("acme", raw))
    assert response.status_code == 200
    assert [p["name"] for p in response.json()["packages"]] == [p.name for p in expected]


def test_an_empty_body_is_fine(client, setup):
    _, api_key, raw, _ = setup
    response = _post(client, body=b"", HTTP_AUTHORIZATION=_basic(api_key.prefix, raw))
    assert response.status_code == 200 and len(response.json()["packages"]) == 2


@pytest.mark.parametrize(
    "make_auth",
    [
        lambda key, raw: None,
        lambda key, raw: _basic(key.prefix, raw[:-1] + "#"),
        lambda key, raw: _basic("someone-else", raw),
        lambda key, raw: _basic(key.prefix, ""),
        lambda key, raw: f"Bearer {raw}",
        lambda key, raw: "Basic !!!not-base64",
        lambda key, raw: "Basic",
        lambda key, raw: _basic(key.prefix, key.prefix[:-1] + "\x00." + raw.split(".", 1)[1]),
        lambda key, raw: _basic(key.prefix, "shk_\x00\x00\x00\x00\x00\x00\x00\x00." + raw.split(".", 1)[1]),
    ],
)
def test_bad_credentials_are_401(client, setup, make_auth):
    _, api_key, raw, _ = setup
    auth = make_auth(api_key, raw)
    response = _post(client, **({"HTTP_AUTHORIZATION": auth} if auth else {}))
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert "packages" not in response.json()


def test_missing_credentials_ask_for_basic(client, setup):
    response = _post(client)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Basic")


def test_revoked_key_is_401(client, setup):
    _, api_key, raw, _ = setup
    tenant_api_key_revoke(api_key=api_key)
    assert _post(client, HTTP_AUTHORIZATION=_basic(api_key.prefix, raw)).status_code == 401


def test_a_key_only_sees_its_own_tenant(client, setup):
    other_tenant = TenantFactory()
    other_key, other_raw = tenant_api_key_create(tenant=other_tenant, name="x")
    mine = PackageFactory(tenant=other_tenant, name="Only mine")
    response = _post(client, HTTP_AUTHORIZATION=_basic(other_key.prefix, other_raw))
    assert [p["id"] for p in response.json()["packages"]] == [str(mine.pk)]
    # A valid key with another tenant's slug as username is refused.
    assert _post(client, HTTP_AUTHORIZATION=_basic("acme", other_raw)).status_code == 401


def test_a_valid_signature_is_accepted(client, setup):
    _, api_key, raw, _ = setup
    response = _post(client, HTTP_AUTHORIZATION=_basic(api_key.prefix, raw), HTTP_X_STAGEHOOK_SIGNATURE=_sign(raw, BODY))
    assert response.status_code == 200


@pytest.mark.parametrize(
    "signature",
    [
        lambda raw: _sign(raw, BODY + b" "),  # signs other bytes
        lambda raw: _sign(raw, json.dumps(json.loads(BODY), separators=(",", ":")).encode()),  # re-serialised
        lambda raw: _sign("another key", BODY),
        lambda raw: _sign(raw, BODY).replace("sha256=", "sha1="),
        lambda raw: _sign(raw, BODY)[7:],  # no scheme
        lambda raw: "",
        lambda raw: "sha256=zz",
    ],
)
def test_a_wrong_signature_is_401(client, setup, signature):
    _, api_key, raw, _ = setup
    response = _post(client, HTTP_AUTHORIZATION=_basic(api_key.prefix, raw), HTTP_X_STAGEHOOK_SIGNATURE=signature(raw))
    assert response.status_code == 401
    assert "packages" not in response.json()


@pytest.mark.parametrize(
    "body, field",
    [
        (b'{"job_id": {"nested": 1}}', "job_id"),
        (b'{"provider": ["a"]}', "provider"),
        (b'["job_id"]', "non_field_errors"),
    ],
)
def test_bad_bodies_are_400_naming_the_field(client, setup, body, field):
    _, api_key, raw, _ = setup
    response = _post(client, body=body, HTTP_AUTHORIZATION=_basic(api_key.prefix, raw))
    assert response.status_code == 400
    assert field in response.json()


def test_malformed_json_and_wrong_content_type(client, setup):
    _, api_key, raw, _ = setup
    auth = _basic(api_key.prefix, raw)
    assert _post(client, body=b"{nope", HTTP_AUTHORIZATION=auth).status_code == 400
    response = client.post(URL, data=b"job_id=1", content_type="application/x-www-form-urlencoded", HTTP_AUTHORIZATION=auth)
    assert response.status_code == 415


def test_get_is_not_allowed(client, setup):
    _, api_key, raw, _ = setup
    assert client.get(URL, HTTP_AUTHORIZATION=_basic(api_key.prefix, raw)).status_code == 405


# --- the time-bound signature (issue 7 #11) ----------------------------------------------------------
def _sign_timed(key: str, body: bytes, timestamp) -> str:
    # As a client computes it: HMAC-SHA256(key, "<timestamp>." + raw body).
    return "sha256=" + hmac.new(key.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def _now(skew: int = 0) -> int:
    """Whole seconds at least ``skew`` from now, rounded away from now (the request takes a moment)."""
    return math.ceil(time.time()) + skew if skew > 0 else math.floor(time.time()) + skew


def _timed_headers(api_key, raw, *, body=BODY, timestamp=None, key=None, sent_timestamp=None) -> dict:
    timestamp = _now() if timestamp is None else timestamp
    return {
        "HTTP_AUTHORIZATION": _basic(api_key.prefix, raw),
        "HTTP_X_STAGEHOOK_TIMESTAMP": str(timestamp if sent_timestamp is None else sent_timestamp),
        "HTTP_X_STAGEHOOK_SIGNATURE": _sign_timed(key or raw, body, timestamp),
    }


def test_a_timed_signature_is_accepted_once(client, setup):
    _, api_key, raw, _ = setup
    headers = _timed_headers(api_key, raw)
    assert _post(client, **headers).status_code == 200
    replay = _post(client, **headers)
    assert replay.status_code == 401
    assert "Replayed" in replay.json()["detail"]


def test_a_new_timestamp_makes_a_new_request(client, setup):
    _, api_key, raw, _ = setup
    now = _now()
    assert _post(client, **_timed_headers(api_key, raw, timestamp=now)).status_code == 200
    assert _post(client, **_timed_headers(api_key, raw, timestamp=now - 1)).status_code == 200


TAMPER_CASES = {
    "timestamp 301 s old": lambda a, r: _timed_headers(a, r, timestamp=_now(-301)),
    "timestamp 301 s ahead": lambda a, r: _timed_headers(a, r, timestamp=_now(301)),
    "timestamp changed after signing": lambda a, r: _timed_headers(a, r, sent_timestamp=_now() - 1),
    "body changed after signing": lambda a, r: _timed_headers(a, r, body=BODY + b" "),
    "signed with another key": lambda a, r: _timed_headers(a, r, key="another key"),
    "untimed signature sent with a timestamp": lambda a, r: {
        **_timed_headers(a, r), "HTTP_X_STAGEHOOK_SIGNATURE": _sign(r, BODY)},
    "timestamp not a number": lambda a, r: {**_timed_headers(a, r), "HTTP_X_STAGEHOOK_TIMESTAMP": "yesterday"},
    "timestamp in milliseconds": lambda a, r: _timed_headers(a, r, timestamp=_now() * 1000),
    "negative timestamp": lambda a, r: {**_timed_headers(a, r), "HTTP_X_STAGEHOOK_TIMESTAMP": "-1"},
    "empty timestamp": lambda a, r: {**_timed_headers(a, r), "HTTP_X_STAGEHOOK_TIMESTAMP": ""},
    "upper-case hex": lambda a, r: {**(h := _timed_headers(a, r)),
                                    "HTTP_X_STAGEHOOK_SIGNATURE": "sha256=" + h["HTTP_X_STAGEHOOK_SIGNATURE"][7:].upper()},
}


@pytest.mark.parametrize("case", TAMPER_CASES)
def test_a_tampered_or_stale_timed_signature_is_401(client, setup, case):
    _, api_key, raw, _ = setup
    response = _post(client, **TAMPER_CASES[case](api_key, raw))
    assert response.status_code == 401, response.content
    assert "packages" not in response.json()


def test_the_deployment_can_refuse_the_untimed_signature(client, setup, settings):
    _, api_key, raw, _ = setup
    settings.API_SIGNATURE_REQUIRE_TIMESTAMP = True
    untimed = _post(client, HTTP_AUTHORIZATION=_basic(api_key.prefix, raw), HTTP_X_STAGEHOOK_SIGNATURE=_sign(raw, BODY))
    assert untimed.status_code == 401
    assert "X-Stagehook-Timestamp is required" in untimed.json()["detail"]
    assert _post(client, **_timed_headers(api_key, raw)).status_code == 200


def test_the_window_is_checked_against_an_injected_clock(setup):
    from assessments.apikeys import api_key_sign, api_key_signature_check

    _, api_key, raw, _ = setup
    signed_at = 1_800_000_000
    signature = api_key_sign(raw_key=raw, body=BODY, timestamp=signed_at)

    def check(now):
        return api_key_signature_check(
            api_key=api_key, raw_key=raw, body=BODY, signature=signature, timestamp=str(signed_at), now=now
        )

    assert "more than 300 seconds" in check(signed_at + 301)
    assert "more than 300 seconds" in check(signed_at - 301)
    assert check(signed_at + 300) is None
    assert "Replayed" in check(signed_at + 1)
