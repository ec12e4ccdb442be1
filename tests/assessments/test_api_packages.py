"""POST /api/v1/packages/list: the unified-API package list (HTTP Basic + optional body signature)."""

import base64
import hashlib
import hmac
import json

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
