"""GET /teamtailor/activation and /teamtailor/activation/validate, and the token page in /app/."""

import base64
import json

import jwt
import pytest
from django.db import connection as db

from integrations.models import Connection, ConnectionEvent, secret_hash
from integrations.teamtailor import services
from tenants.models import Role
from tests.factories import ConnectionFactory, MembershipFactory, TenantFactory

from .conftest import PARTNER_API_KEY

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _partner_key(settings):
    settings.TEAMTAILOR_PARTNER_API_KEY = PARTNER_API_KEY
    settings.ATS_EXTRA_ALLOWED_HOSTS = []


@pytest.fixture
def pending(tenant):
    return services.teamtailor_connection_get_or_create(tenant=tenant)


def _jws(claims, key=PARTNER_API_KEY, algorithm="HS256"):
    return jwt.encode(claims, key, algorithm=algorithm)


def _validate(client, provider_key=None, *, host="api.teamtailor.com", query="?company_id=vAXspNm0J2Y"):
    headers = {}
    if provider_key is not None:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {provider_key}"
    if host:
        headers["HTTP_TEAMTAILOR_HOST"] = host
    return client.get(f"/teamtailor/activation/validate{query}", **headers)


def test_activation_form_shape(client):
    response = client.get("/teamtailor/activation?company_id=vAXspNm0J2Y")
    assert response.status_code == 200
    body = response.json()
    assert body["validateEndpoint"] == "activation/validate"
    fields = body["config"]["fields"]
    assert {"type", "content", "icon"} <= set(fields[0]) and fields[0]["type"] == "infobox"
    token_field = next(f for f in fields if f.get("id") == "connection_token")
    assert token_field["type"] == "password" and token_field["required"] is True


def test_activation_form_rejects_post(client):
    assert client.post("/teamtailor/activation").status_code == 405


def test_validate_binds_connection(client, pending):
    token = services.teamtailor_connection_token_issue(connection=pending)
    key = _jws({"connection_token": token})

    response = _validate(client, key, host="api.na.teamtailor.com")

    assert response.status_code == 200, response.content
    pending.refresh_from_db()
    assert pending.status == "active"
    assert pending.provider_key_hash == secret_hash(key)
    assert pending.credentials["provider_key"] == key
    assert pending.region == "us" and pending.api_base_url == "https://api.na.teamtailor.com"
    assert pending.remote_account_id == "vAXspNm0J2Y"
    assert pending.connection_token_hash is None
    # Stored encrypted: the raw key is not in the database column.
    with db.cursor() as cursor:
        cursor.execute("SELECT credentials FROM integrations_connection WHERE id = %s", [pending.pk])
        stored = cursor.fetchone()[0]
    assert key not in str(stored) and "provider_key" not in str(stored)


def test_validate_kebab_case_claim_and_connection_partner_key(client, tenant, settings):
    settings.TEAMTAILOR_PARTNER_API_KEY = ""
    connection = ConnectionFactory(tenant=tenant, remote_account_id="", status="pending",
                                   credentials={"partner_api_key": PARTNER_API_KEY})
    token = services.teamtailor_connection_token_issue(connection=connection)
    response = _validate(client, _jws({"connection-token": token}), query="")
    assert response.status_code == 200, response.content
    connection.refresh_from_db()
    assert connection.status == "active" and connection.region == "eu"


def test_validate_again_with_same_key_is_ok(client, pending):
    token = services.teamtailor_connection_token_issue(connection=pending)
    key = _jws({"connection_token": token})
    assert _validate(client, key).status_code == 200
    again = _validate(client, key)
    assert again.status_code == 200 and again.json()["created"] is False


def test_token_is_one_time(client, pending):
    token = services.teamtailor_connection_token_issue(connection=pending)
    assert _validate(client, _jws({"connection_token": token})).status_code == 200
    response = _validate(client, _jws({"connection_token": token, "other": "key"}))
    assert response.status_code == 400
    assert response.json() == {"errors": ["The connection token is invalid or has already been used."]}


def test_new_token_replaces_old(client, pending):
    old = services.teamtailor_connection_token_issue(connection=pending)
    services.teamtailor_connection_token_issue(connection=pending)
    assert _validate(client, _jws({"connection_token": old})).status_code == 400


@pytest.mark.parametrize(
    "make_key,status",
    [
        (lambda token: None, 401),
        (lambda token: "", 401),
        (lambda token: _jws({"connection_token": token}, key="another-partner-key-long-enough-for-hs256"), 401),
        (
            lambda token: base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
            + "."
            + base64.urlsafe_b64encode(json.dumps({"connection_token": token}).encode()).rstrip(b"=").decode()
            + ".",
            401,
        ),
        (lambda token: _jws({"connection_token": token}, key=PARTNER_API_KEY * 2, algorithm="HS512"), 401),
        (lambda token: _jws({"connection_token": "shtt_unknown"}), 400),
        (lambda token: _jws({}), 400),
        (lambda token: "opaque-provider-key-without-token", 400),
    ],
    ids=["no-bearer", "empty-bearer", "other-key", "alg-none", "hs512", "unknown-token", "no-token", "opaque-unbound"],
)
def test_validate_refusals_bind_nothing(client, pending, make_key, status):
    token = services.teamtailor_connection_token_issue(connection=pending)
    response = _validate(client, make_key(token))
    assert response.status_code == status
    assert isinstance(response.json()["errors"], list) and response.json()["errors"]
    pending.refresh_from_db()
    assert pending.status == "pending" and pending.provider_key_hash is None
    assert pending.connection_token_hash == secret_hash(token)


def test_opaque_key_with_token_in_query(client, pending):
    token = services.teamtailor_connection_token_issue(connection=pending)
    response = _validate(client, "3f1b2c4d-opaque-uuid", query=f"?connection_token={token}")
    assert response.status_code == 200
    pending.refresh_from_db()
    assert pending.provider_key_hash == secret_hash("3f1b2c4d-opaque-uuid")


def test_foreign_host_refused(client, pending):
    token = services.teamtailor_connection_token_issue(connection=pending)
    response = _validate(client, _jws({"connection_token": token}), host="api.teamtailor.com.evil.example")
    assert response.status_code == 400
    pending.refresh_from_db()
    assert pending.status == "pending"


def test_dev_host_from_settings(client, pending, settings):
    settings.ATS_EXTRA_ALLOWED_HOSTS = ["127.0.0.1:8101"]
    token = services.teamtailor_connection_token_issue(connection=pending)
    assert _validate(client, _jws({"connection_token": token}), host="127.0.0.1:8101").status_code == 200
    pending.refresh_from_db()
    assert pending.api_base_url == "http://127.0.0.1:8101"


def test_company_already_connected_elsewhere(client, pending):
    ConnectionFactory(tenant=TenantFactory(), remote_account_id="vAXspNm0J2Y")
    token = services.teamtailor_connection_token_issue(connection=pending)
    response = _validate(client, _jws({"connection_token": token}))
    assert response.status_code == 409
    pending.refresh_from_db()
    assert pending.status == "pending" and pending.connection_token_hash == secret_hash(token)


# --- /app/integrations/teamtailor/ ------------------------------------------------------------------
def test_admin_issues_token_shown_once(client, tenant):
    membership = MembershipFactory(tenant=tenant, role=Role.ADMIN)
    client.force_login(membership.user)
    assert client.get("/app/integrations/teamtailor/").status_code == 200
    response = client.post("/app/integrations/teamtailor/", {"tenant": tenant.pk})
    assert response.status_code == 200
    token = response.context["issued"]["token"]
    assert token in response.content.decode()
    assert response["Cache-Control"] == "no-store"
    connection = Connection.objects.get(tenant=tenant, provider="teamtailor")
    assert connection.connection_token_hash == secret_hash(token)
    assert token not in client.get("/app/integrations/teamtailor/").content.decode()


def test_recruiter_and_other_tenants_cannot_issue(client, tenant):
    recruiter = MembershipFactory(tenant=tenant, role=Role.RECRUITER)
    client.force_login(recruiter.user)
    assert client.post("/app/integrations/teamtailor/", {"tenant": tenant.pk}).status_code == 403
    admin_elsewhere = MembershipFactory(role=Role.ADMIN)
    client.force_login(admin_elsewhere.user)
    assert client.post("/app/integrations/teamtailor/", {"tenant": tenant.pk}).status_code == 403
    assert not Connection.objects.filter(tenant=tenant).exists()


def test_anonymous_redirected_to_login(client):
    response = client.get("/app/integrations/teamtailor/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("host", ["api.na.teamtailor.com", "https://api.au.teamtailor.com"])
def test_reactivation_from_another_regions_host_is_refused_and_moves_nothing(client, pending, host):
    token = services.teamtailor_connection_token_issue(connection=pending)
    first_key = _jws({"connection_token": token})
    assert _validate(client, first_key).status_code == 200  # bound in the EU
    pending.refresh_from_db()
    before = (pending.region, pending.api_base_url, pending.provider_key_hash, pending.status)
    assert before[:2] == ("eu", "https://api.teamtailor.com")

    again = services.teamtailor_connection_token_issue(connection=pending)
    response = _validate(client, _jws({"connection_token": again, "n": 2}), host=host)
    assert response.status_code == 403, response.content
    assert "another data region" in response.json()["errors"][0]
    # The same key re-validated from the other region: refused too.
    assert _validate(client, first_key, host=host).status_code == 403
    pending.refresh_from_db()
    assert (pending.region, pending.api_base_url, pending.provider_key_hash, pending.status) == before
    assert pending.connection_token_hash == secret_hash(again)  # not consumed: nothing was stored


def test_reactivation_within_the_region_is_accepted(client, pending):
    token = services.teamtailor_connection_token_issue(connection=pending)
    assert _validate(client, _jws({"connection_token": token})).status_code == 200
    again = services.teamtailor_connection_token_issue(connection=pending)
    response = _validate(client, _jws({"connection_token": again, "n": 2}), host="https://api.teamtailor.com")
    assert response.status_code == 200 and response.json()["created"] is True
    # The status change of the first activation is recorded (the second changed no status).
    assert list(ConnectionEvent.objects.filter(connection=pending).values_list("from_status", "to_status", "actor")) == [
        ("pending", "active", "teamtailor:activation")
    ]
