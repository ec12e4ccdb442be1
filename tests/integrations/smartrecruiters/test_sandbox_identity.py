"""The SmartRecruiters sandbox's identity endpoint, partner configuration and setUpIntegration,
over real HTTP."""

import pytest

from .fake_stagehook import integrated, sr, stagehook  # noqa: F401  (fixtures)
from .sandbox_handle import PARTNER, STAGEHOOK_CLIENT, WEBHOOKS

ADA = "0c9b1e3e-5c52-4b1e-9f3d-6d1f0a7b2c44"
JOB = "3fd6cba7-2ad1-4f8b-a8d5-5a1b1a4c2f11"


def test_master_credentials_get_a_token(sr):
    response = sr.token(sr.config.master_client_id, sr.config.master_client_secret)
    assert response.status_code == 200
    body = response.json()
    assert set(body) >= {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer" and body["expires_in"] == sr.config.token_ttl
    assert response.headers["X-RateLimit-Limit"] == "10"


def test_http_basic_client_authentication_works_too(sr):
    response = sr.http.post(
        f"{sr.url}/identity/oauth/token", data={"grant_type": "client_credentials"},
        auth=(sr.config.master_client_id, sr.config.master_client_secret), timeout=10,
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "form, status, error",
    [
        ({"grant_type": "client_credentials", "client_id": "sandbox-sr-master-client", "client_secret": "wrong"}, 401, "invalid_client"),
        ({"grant_type": "client_credentials", "client_id": "nobody", "client_secret": "x"}, 401, "invalid_client"),
        ({"grant_type": "password", "client_id": "sandbox-sr-master-client", "client_secret": "x"}, 400, "unsupported_grant_type"),
        ({"grant_type": "client_credentials", "client_id": "sandbox-sr-master-client"}, 400, "invalid_request"),
    ],
)
def test_token_errors_follow_rfc_6749(sr, form, status, error):
    response = sr.http.post(f"{sr.url}/identity/oauth/token", data=form, timeout=10)
    assert response.status_code == status
    assert response.json()["error"] == error
    assert "access_token" not in response.json()


def test_a_json_token_request_is_refused(sr):
    response = sr.http.post(
        f"{sr.url}/identity/oauth/token",
        json={"grant_type": "client_credentials", "client_id": sr.config.master_client_id, "client_secret": sr.config.master_client_secret},
        timeout=10,
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


API_CALLS = [
    ("GET", f"{PARTNER}/partner/configuration"),
    ("PUT", f"{PARTNER}/partner/configuration"),
    ("POST", f"{PARTNER}/integration/company/SmartCompany123"),
    ("PATCH", f"{PARTNER}/orders/1b0b6c2e-7a3f-4d4e-9a53-2f7c1d9e8a10/results"),
    ("POST", f"{PARTNER}/orders/1b0b6c2e-7a3f-4d4e-9a53-2f7c1d9e8a10/results/attachment"),
    ("GET", "/assessment-api/v202107/assessment-orders?applicationId=x"),
    ("GET", f"{WEBHOOKS}/subscriptions"),
    ("POST", f"{WEBHOOKS}/subscriptions"),
    ("PUT", f"{WEBHOOKS}/subscriptions/x/activation"),
    ("POST", f"{WEBHOOKS}/subscriptions/x/secret-key"),
    ("GET", "/candidates"),
    ("GET", f"/candidates/{ADA}"),
    ("GET", f"/candidates/{ADA}/jobs/{JOB}"),
    ("PUT", f"/candidates/{ADA}/jobs/{JOB}/status"),
    ("GET", "/jobs"),
    ("GET", f"/jobs/{JOB}"),
    ("GET", "/configuration/hiring-processes"),
    ("POST", "/messages/shares"),
]


@pytest.mark.parametrize("method, path", API_CALLS)
@pytest.mark.parametrize("token", [None, "not-a-token"])
def test_every_api_refuses_a_missing_or_unknown_token(sr, method, path, token):
    response = sr.api(method, path, token=token, payload={})
    assert response.status_code == 401
    assert response.json()["code"] == "UNAUTHORIZED"


@pytest.mark.parametrize("method, path", API_CALLS)
def test_every_api_refuses_an_expired_token(integrated, method, path):
    master, customer = integrated.master_token(), integrated.customer_token()
    integrated.advance_clock(integrated.config.token_ttl + 1)
    for token in (master, customer):
        response = integrated.api(method, path, token=token, payload={})
        assert response.status_code == 401, (token, response.text)
        assert "expired" in response.json()["message"]


def test_expire_tokens_control_ends_every_token(integrated):
    token = integrated.customer_token()
    assert integrated.api("GET", "/jobs", token=token).status_code == 200
    assert integrated.expire_tokens() >= 1
    assert integrated.api("GET", "/jobs", token=token).status_code == 401
    # A new token works again.
    assert integrated.api("GET", "/jobs", token=integrated.customer_token()).status_code == 200


def test_a_token_of_the_wrong_level_is_403(integrated):
    assert integrated.api("GET", "/candidates", token=integrated.master_token()).status_code == 403
    assert integrated.api("GET", f"{PARTNER}/partner/configuration", token=integrated.customer_token()).status_code == 403


# --- partner configuration ---------------------------------------------------------------------
CONFIG = {
    "consentUrl": "http://127.0.0.1:8000/smartrecruiters/integration",
    "consentDisplayMode": "POPUP",
    "assessmentPackageListUrl": "http://127.0.0.1:8000/smartrecruiters/packages",
    "singleAssessmentPackageUrl": "http://127.0.0.1:8000/smartrecruiters/packages/{id}",
    "oauthTokenUrl": "http://127.0.0.1:8000/smartrecruiters/oauth/token",
    "supportedAssessmentTypes": ["VIDEO_INTERVIEW"],
}


def test_configuration_is_404_until_put_then_served(sr):
    token = sr.master_token()
    assert sr.api("GET", f"{PARTNER}/partner/configuration", token=token).status_code == 404
    put = sr.api("PUT", f"{PARTNER}/partner/configuration", token=token, payload=CONFIG)
    assert put.status_code == 200, put.text
    got = sr.api("GET", f"{PARTNER}/partner/configuration", token=token)
    assert got.status_code == 200 and got.json()["consentUrl"] == CONFIG["consentUrl"]


@pytest.mark.parametrize(
    "change",
    [
        {"consentUrl": None},
        {"oauthTokenUrl": None},
        {"supportedAssessmentTypes": None},
        {"consentDisplayMode": "IFRAME"},
        {"consentUrl": "not a url"},
        {"supportedAssessmentTypes": []},
        {"supportedAssessmentTypes": ["VIDEO_INTERVIEW", "QUIZ"]},
        {"fields": [{"id": f"f{i}", "name": "n", "description": "d"} for i in range(6)]},
        {"fields": [{"id": "seniority", "name": "Seniority"}]},
    ],
)
def test_an_invalid_configuration_is_400_and_not_stored(sr, change):
    body = {k: v for k, v in {**CONFIG, **change}.items() if v is not None}
    token = sr.master_token()
    response = sr.api("PUT", f"{PARTNER}/partner/configuration", token=token, payload=body)
    assert response.status_code == 400, response.text
    assert response.json()["errors"]
    assert sr.api("GET", f"{PARTNER}/partner/configuration", token=token).status_code == 404


def test_configuration_wants_json(sr):
    response = sr.api(
        "PUT", f"{PARTNER}/partner/configuration", token=sr.master_token(), payload="consentUrl=x",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 415


# --- setUpIntegration --------------------------------------------------------------------------
def test_set_up_integration_is_404_without_configuration(sr):
    assert sr.consent()["consent_url"] is None  # consenting, but SmartRecruiters knows no consent page
    assert sr.set_up_integration().status_code == 404


def test_set_up_integration_is_403_without_consent_then_200_then_409(sr, stagehook):
    sr.partner_configuration(stagehook.url)
    refused = sr.set_up_integration()
    assert refused.status_code == 403 and refused.json()["code"] == "NO_CONSENT"
    sr.consent()
    answer = sr.set_up_integration()
    assert answer.status_code == 200, answer.text
    customer = answer.json()
    assert set(customer) == {"clientId", "clientSecret"}
    assert sr.token(customer["clientId"], customer["clientSecret"]).status_code == 200
    again = sr.set_up_integration()
    assert again.status_code == 409 and again.json()["code"] == "ALREADY_INTEGRATED"
    company = next(c for c in sr.companies()["companies"] if c["id"] == sr.config.company_id)
    assert company["integrated"] and company["has_partner_credentials"]
    assert sr.app.state.companies[sr.config.company_id]["partner_credentials"] == STAGEHOOK_CLIENT


def test_set_up_integration_needs_client_credentials_in_the_body(sr, stagehook):
    sr.partner_configuration(stagehook.url)
    sr.consent()
    response = sr.set_up_integration(credentials={"clientId": "only-the-id"})
    assert response.status_code == 400
    assert not sr.app.state.companies[sr.config.company_id]["integrated"]


def test_set_up_integration_needs_the_client_credentials_write_scope(sandbox_server, stagehook):
    sandbox = sandbox_server("smartrecruiters", master_scopes=("partner_configuration_manage",))
    sandbox.partner_configuration(stagehook.url)
    sandbox.consent()
    response = sandbox.set_up_integration()
    assert response.status_code == 403 and "client_credentials_write" in response.json()["message"]
