"""Our token endpoint, per RFC 6749 §4.4 and §5.2."""

import pytest

from integrations.models import ConnectionStatus, secret_hash
from integrations.smartrecruiters.models import AccessToken

from .conftest import basic

FORM = "application/x-www-form-urlencoded"
URL = "/smartrecruiters/oauth/token"


def post(client, body: str, **headers):
    return client.post(URL, data=body, content_type=FORM, **headers)


def test_client_credentials_in_the_body_get_a_short_lived_hashed_token(client, minted):
    response = post(client, f"grant_type=client_credentials&client_id={minted.client.client_id}"
                            f"&client_secret={minted.client_secret}")
    assert response.status_code == 200
    data = response.json()
    assert set(data) == {"access_token", "token_type", "expires_in"}
    assert data["token_type"] == "Bearer" and data["expires_in"] == 3600
    assert response["Cache-Control"] == "no-store"
    row = AccessToken.objects.get()
    assert row.token_hash == secret_hash(data["access_token"]) and row.connection == minted.client.connection
    assert data["access_token"] not in str(AccessToken.objects.values_list())


def test_http_basic_works_too(client, minted):
    response = post(client, "grant_type=client_credentials",
                    HTTP_AUTHORIZATION=basic(minted.client.client_id, minted.client_secret))
    assert response.status_code == 200 and response.json()["token_type"] == "Bearer"


@pytest.mark.parametrize("body", [
    "grant_type=client_credentials&client_id={id}&client_secret=wrong",
    "grant_type=client_credentials&client_id=sh_sr_unknown&client_secret={secret}",
    "grant_type=client_credentials",
])
def test_unknown_or_wrong_client_is_invalid_client_400_in_the_body(client, minted, body):
    response = post(client, body.format(id=minted.client.client_id, secret=minted.client_secret))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_client"
    assert not AccessToken.objects.exists()


def test_invalid_client_with_basic_is_401_with_a_challenge(client, minted):
    response = post(client, "grant_type=client_credentials", HTTP_AUTHORIZATION=basic(minted.client.client_id, "nope"))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response["WWW-Authenticate"].startswith("Basic")


def test_unsupported_grant_type(client, minted):
    response = post(client, f"grant_type=password&client_id={minted.client.client_id}&client_secret={minted.client_secret}")
    assert response.status_code == 400 and response.json()["error"] == "unsupported_grant_type"


@pytest.mark.parametrize("body,content_type", [
    ("client_id=x&client_secret=y", FORM),  # no grant_type
    ('{"grant_type": "client_credentials"}', "application/json"),
])
def test_invalid_request(client, minted, body, content_type):
    response = client.post(URL, data=body, content_type=content_type)
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_two_authentication_methods_are_invalid_request(client, minted):
    response = post(client, f"grant_type=client_credentials&client_secret={minted.client_secret}",
                    HTTP_AUTHORIZATION=basic(minted.client.client_id, minted.client_secret))
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_get_is_refused(client, minted):
    assert client.get(URL).status_code == 405


def test_a_disconnected_connection_gets_no_token(client, minted):
    connection = minted.client.connection
    connection.status = ConnectionStatus.DISCONNECTED
    connection.save()
    response = post(client, f"grant_type=client_credentials&client_id={minted.client.client_id}"
                            f"&client_secret={minted.client_secret}")
    assert response.status_code == 400 and response.json()["error"] == "invalid_client"


def test_the_token_opens_the_package_list_and_expires(client, bearer, package):
    assert client.get("/smartrecruiters/packages", HTTP_AUTHORIZATION=bearer).status_code == 200
    AccessToken.objects.update(expires_at="2000-01-01T00:00:00Z")
    assert client.get("/smartrecruiters/packages", HTTP_AUTHORIZATION=bearer).status_code == 401
