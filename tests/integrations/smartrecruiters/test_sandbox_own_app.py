"""The SmartRecruiters sandbox for a customer's own app (authorization code, issue 11): the
authorization page and its control modes, the authorization-code and refresh-token grants,
scoped app tokens, the company, files on applications, candidate properties, notes with a
correlationId, faults on these paths and the verbs that show what Stagehook left. Over real HTTP."""

from __future__ import annotations

import io
import json
import re
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from .sandbox_handle import PARTNER, WEBHOOKS

ADA = "0c9b1e3e-5c52-4b1e-9f3d-6d1f0a7b2c44"
JOB = "3fd6cba7-2ad1-4f8b-a8d5-5a1b1a4c2f11"
OTHER_JOB = "7a1e2b3c-4d5e-4f60-8a9b-0c1d2e3f4a5b"
SCOPES = "candidates_read candidates_manage jobs_read webhooks_manage users_read"
CALLBACK = "http://127.0.0.1:8123/smartrecruiters/oauth/callback"
ATTACHMENT_KEYS = {"id", "name", "type", "contentType", "actions"}  # retrieve_application_attachments.json
PDF = b"%PDF-1.4\n% a tiny report\n"


@pytest.fixture
def sr(sandbox_server):
    """A running SmartRecruiters sandbox; a generous rate window (these tests are not about it)."""
    return sandbox_server("smartrecruiters", rate_limit=10_000)


def authorize(sr, **params):
    query = {"client_id": sr.config.own_app_client_id, "redirect_uri": CALLBACK, "scope": SCOPES, "state": "st-1", **params}
    query = {k: v for k, v in query.items() if v is not None}
    return sr.http.get(f"{sr.url}/identity/oauth/allow", params=query, allow_redirects=False, timeout=10)


def back(response) -> dict[str, str]:
    """The query of the redirect back to the app (one value per name)."""
    assert response.status_code == 302, response.text
    location = response.headers["Location"]
    assert location.split("?")[0] in (CALLBACK, "https://stagehook.example/smartrecruiters/oauth/callback"), location
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query, keep_blank_values=True).items()}


def grant(sr, **form):
    base = {"client_id": sr.config.own_app_client_id, "client_secret": sr.config.own_app_client_secret}
    return sr.http.post(f"{sr.url}/identity/oauth/token", data={**base, **form}, timeout=10)


def code_for(sr, **params) -> str:
    sr.control("POST", "authorize", {"mode": "approve", "drop_scope": params.pop("drop_scope", None)})
    return back(authorize(sr, **params))["code"]


def tokens_for(sr, **params) -> dict:
    code = code_for(sr, **params)
    response = grant(sr, grant_type="authorization_code", code=code, redirect_uri=params.get("redirect_uri", CALLBACK))
    assert response.status_code == 200, response.text
    return {**response.json(), "code": code}


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.form: dict | None = None
        self.buttons: dict[str, dict] = {}
        self.hidden: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.form = attrs
        elif tag == "button" and attrs.get("id"):
            self.buttons[attrs["id"]] = attrs
        elif tag == "input" and attrs.get("type") == "hidden":
            self.hidden[attrs["name"]] = attrs.get("value", "")


def page_of(response) -> _Page:
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/html"), response.text
    page = _Page()
    page.feed(response.text)
    return page


def click(sr, page: _Page, button: str):
    chosen = page.buttons[button]
    data = {**page.hidden, chosen["name"]: chosen["value"]}
    assert page.form["method"].lower() == "post"
    return sr.http.post(sr.url + page.form["action"], data=data, allow_redirects=False, timeout=10)


# --- the authorization page -----------------------------------------------------------------------
def test_the_consent_page_shows_the_company_and_scopes_and_allow_gives_a_code(sr):
    response = authorize(sr)
    page = page_of(response)
    assert sr.config.company_name in response.text
    for scope in SCOPES.split():
        assert scope in response.text
    assert set(page.buttons) == {"allow", "deny"} and page.form["action"] == "/identity/oauth/allow"
    answer = back(click(sr, page, "allow"))
    assert answer["state"] == "st-1" and len(answer["code"]) >= 20
    tokens = grant(sr, grant_type="authorization_code", code=answer["code"], redirect_uri=CALLBACK)
    assert tokens.status_code == 200, tokens.text
    body = tokens.json()
    assert body["token_type"] == "Bearer" and body["scope"] == SCOPES and body["expires_in"] == sr.config.app_token_ttl
    assert body["access_token"] and body["refresh_token"] and tokens.headers["Cache-Control"] == "no-store"
    # The same page cannot be submitted twice.
    assert click(sr, page, "allow").status_code == 400


def test_deny_on_the_page_redirects_with_access_denied(sr):
    answer = back(click(sr, page_of(authorize(sr, state="s-2")), "deny"))
    assert answer["error"] == "access_denied" and answer["state"] == "s-2" and "code" not in answer
    assert answer["error_description"]


def test_a_forged_form_post_is_refused(sr):
    forged = sr.http.post(f"{sr.url}/identity/oauth/allow", data={"request": "made-up", "decision": "allow"},
                          allow_redirects=False, timeout=10)
    assert forged.status_code == 400 and "Location" not in forged.headers


@pytest.mark.parametrize(
    "redirect_uri, allowed",
    [
        ("http://127.0.0.1:8123/smartrecruiters/oauth/callback", True),
        ("http://127.0.0.1:55001/smartrecruiters/oauth/callback", True),
        ("http://localhost:8000/smartrecruiters/oauth/callback", True),
        ("http://127.0.0.1:8000/smartrecruiters/oauth/elsewhere", False),
        ("http://evil.example/smartrecruiters/oauth/callback", False),
        ("https://127.0.0.1:8000/smartrecruiters/oauth/callback", False),
        ("http://127.0.0.1:8000/smartrecruiters/oauth/callback?next=/x", False),
        ("", False),
    ],
)
def test_the_seeded_app_accepts_loopback_callbacks_only(sr, redirect_uri, allowed):
    response = authorize(sr, redirect_uri=redirect_uri)
    if allowed:
        assert response.status_code == 200
    else:
        assert response.status_code == 400 and "Location" not in response.headers
        assert "redirect_uri mismatch" in response.text


def test_an_unknown_client_gets_the_mismatch_page_without_a_redirect(sr):
    response = authorize(sr, client_id="nobody")
    assert response.status_code == 400 and "Location" not in response.headers and "redirect_uri mismatch" in response.text


@pytest.mark.parametrize("scope", [None, "", "   ", "candidates_read teleport"])
def test_a_missing_empty_or_unknown_scope_redirects_with_invalid_scope(sr, scope):
    answer = back(authorize(sr, scope=scope, state="s-3"))
    assert answer["error"] == "invalid_scope" and answer["state"] == "s-3" and "code" not in answer


def test_control_modes_approve_deny_and_drop_scope(sr):
    assert sr.control("POST", "authorize", {"mode": "deny"}).status_code == 200
    assert back(authorize(sr))["error"] == "access_denied"
    tokens = tokens_for(sr, drop_scope="candidates_manage")
    assert tokens["scope"] == "candidates_read jobs_read webhooks_manage users_read"
    assert sr.control("POST", "authorize", {"mode": "sometimes"}).status_code == 400
    assert sr.control("POST", "authorize", {"mode": "approve", "drop_scope": "teleport"}).status_code == 400
    assert sr.control("GET", "authorize").json()["authorize"] == {"mode": "approve", "drop_scope": "candidates_manage",
                                                                  "role": "ADMINISTRATOR"}
    assert sr.control("POST", "authorize", {"mode": "approve", "role": "STANDARD"}).json()["authorize"]["role"] == "STANDARD"
    assert sr.control("POST", "authorize", {"mode": "approve"}).json()["authorize"]["role"] == "STANDARD"  # kept
    assert sr.control("POST", "authorize", {"mode": "approve", "role": "OWNER"}).status_code == 400
    sr.reset()
    assert sr.control("GET", "authorize").json()["authorize"] == {"mode": "page", "drop_scope": None, "role": "ADMINISTRATOR"}


def test_a_redirect_uri_no_longer_registered_is_refused_at_the_exchange(sr):
    app = {"company_id": sr.config.company_id, "client_id": "acme-app", "client_secret": "acme-secret"}
    exact = "https://stagehook.example/smartrecruiters/oauth/callback"
    sr.control("POST", "apps", {**app, "redirect_uris": [exact]})
    sr.control("POST", "authorize", {"mode": "approve"})
    code = back(authorize(sr, client_id="acme-app", redirect_uri=exact))["code"]
    sr.control("POST", "apps", {**app, "redirect_uris": ["https://other.example/cb"]})  # the app's admin changed it
    refused = sr.http.post(f"{sr.url}/identity/oauth/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": exact,
        "client_id": "acme-app", "client_secret": "acme-secret"}, timeout=10)
    assert refused.status_code == 400 and refused.json() == {
        "error": "invalid_grant", "error_description": f"redirect_uri {exact!r} is not registered for this app."}


def test_a_registered_app_has_its_exact_redirect_uris_and_company(sr):
    created = sr.control(
        "POST", "apps",
        {"company_id": "OtherCo", "redirect_uris": ["https://stagehook.example/smartrecruiters/oauth/callback"],
         "client_id": "acme-app", "client_secret": "acme-secret"},
    )
    assert created.status_code == 201, created.text
    assert created.json()["app"]["client_secret"] == "acme-secret"
    exact = "https://stagehook.example/smartrecruiters/oauth/callback"
    assert authorize(sr, client_id="acme-app", redirect_uri=exact).status_code == 200
    assert authorize(sr, client_id="acme-app", redirect_uri=CALLBACK).status_code == 400  # not registered for it
    sr.control("POST", "authorize", {"mode": "approve"})
    code = back(authorize(sr, client_id="acme-app", redirect_uri=exact))["code"]
    response = sr.http.post(f"{sr.url}/identity/oauth/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": exact,
        "client_id": "acme-app", "client_secret": "acme-secret"}, timeout=10)
    token = response.json()["access_token"]
    assert sr.api("GET", "/configuration/company", token=token).json() == {"id": "OtherCo", "name": "OtherCo"}
    assert sr.api("GET", f"/candidates/{ADA}", token=token).status_code == 404  # another company's candidate
    listed = sr.control("GET", "apps").json()["apps"]
    assert {a["client_id"] for a in listed} == {sr.config.own_app_client_id, "acme-app"}
    assert all("client_secret" not in a for a in listed)
    for bad in ({"redirect_uris": []}, {"redirect_uris": ["not a url"]}, {"redirect_uris": ["http://x/cb#frag"]}):
        assert sr.control("POST", "apps", bad).status_code == 400


# --- the authorization-code grant -------------------------------------------------------------------
def test_a_code_is_valid_once_and_a_replay_revokes_its_tokens(sr):
    tokens = tokens_for(sr)
    assert sr.api("GET", "/candidates", token=tokens["access_token"]).status_code == 200
    replay = grant(sr, grant_type="authorization_code", code=tokens["code"], redirect_uri=CALLBACK)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    refused = sr.api("GET", "/candidates", token=tokens["access_token"])
    assert refused.status_code == 401 and "revoked" in refused.json()["message"]
    again = grant(sr, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_a_replay_also_revokes_the_rotated_tokens_of_that_code(sr):
    tokens = tokens_for(sr)
    rotated = grant(sr, grant_type="refresh_token", refresh_token=tokens["refresh_token"]).json()
    grant(sr, grant_type="authorization_code", code=tokens["code"], redirect_uri=CALLBACK)
    assert sr.api("GET", "/jobs", token=rotated["access_token"]).status_code == 401
    assert grant(sr, grant_type="refresh_token", refresh_token=rotated["refresh_token"]).json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    "change, status, error",
    [
        ({"redirect_uri": "http://127.0.0.1:9999/smartrecruiters/oauth/callback"}, 400, "invalid_grant"),
        ({"code": "not-a-code"}, 400, "invalid_grant"),
        ({"client_secret": "wrong"}, 401, "invalid_client"),
        ({"client_id": "nobody"}, 401, "invalid_client"),
        ({"redirect_uri": ""}, 400, "invalid_request"),
        ({"code": ""}, 400, "invalid_request"),
    ],
)
def test_code_exchange_errors(sr, change, status, error):
    code = code_for(sr)
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK, **change}
    response = grant(sr, **form)
    assert response.status_code == status and response.json()["error"] == error
    assert "access_token" not in response.json()
    # A failed exchange does not use the code up.
    assert grant(sr, grant_type="authorization_code", code=code, redirect_uri=CALLBACK).status_code == 200


def test_a_code_expires_after_ten_minutes(sr):
    code = code_for(sr)
    sr.advance_clock(sr.config.code_ttl + 1)
    response = grant(sr, grant_type="authorization_code", code=code, redirect_uri=CALLBACK)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_another_apps_code_is_refused(sr):
    sr.control("POST", "apps", {"redirect_uris": [CALLBACK], "client_id": "b-app", "client_secret": "b-secret"})
    code = code_for(sr)
    response = sr.http.post(f"{sr.url}/identity/oauth/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK,
        "client_id": "b-app", "client_secret": "b-secret"}, timeout=10)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_http_basic_client_authentication_for_the_code_grant(sr):
    code = code_for(sr)
    response = sr.http.post(
        f"{sr.url}/identity/oauth/token", data={"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK},
        auth=(sr.config.own_app_client_id, sr.config.own_app_client_secret), timeout=10,
    )
    assert response.status_code == 200, response.text


# --- refresh, expiry, revocation, lifetime --------------------------------------------------------
def test_refresh_tokens_rotate(sr):
    tokens = tokens_for(sr)
    fresh = grant(sr, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert fresh.status_code == 200, fresh.text
    body = fresh.json()
    assert body["refresh_token"] != tokens["refresh_token"] and body["scope"] == SCOPES
    assert sr.api("GET", "/jobs", token=body["access_token"]).status_code == 200
    old = grant(sr, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert old.status_code == 400 and old.json()["error"] == "invalid_grant"
    assert grant(sr, grant_type="refresh_token", refresh_token=body["refresh_token"]).status_code == 200
    missing = grant(sr, grant_type="refresh_token")
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"


def test_expire_all_gives_401_and_a_refresh_gets_a_working_token(sr):
    tokens = tokens_for(sr)
    summary = sr.control("POST", "tokens", {"expire_all": True}).json()
    assert summary["expired"] >= 1 and summary["access_tokens"]["app"]["expired"] == 1
    expired = sr.api("GET", "/candidates", token=tokens["access_token"])
    assert expired.status_code == 401 and "expired" in expired.json()["message"]
    fresh = grant(sr, grant_type="refresh_token", refresh_token=tokens["refresh_token"]).json()
    assert sr.api("GET", "/candidates", token=fresh["access_token"]).status_code == 200


def test_revoke_refresh_refuses_the_refresh_tokens_issued_so_far(sr):
    tokens = tokens_for(sr)
    assert sr.control("POST", "tokens", {"revoke_refresh": True}).json()["revoked_refresh"] == 1
    refused = grant(sr, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    # A new authorization works again.
    assert grant(sr, grant_type="refresh_token", refresh_token=tokens_for(sr)["refresh_token"]).status_code == 200


def test_the_token_lifetime_setting(sr):
    assert sr.control("POST", "tokens", {"lifetime": 5}).json()["lifetime"] == 5
    tokens = tokens_for(sr)
    assert tokens["expires_in"] == 5
    sr.advance_clock(6)
    assert sr.api("GET", "/jobs", token=tokens["access_token"]).status_code == 401
    assert sr.control("POST", "tokens", {"lifetime": 0}).status_code == 400
    assert sr.control("POST", "tokens", {"lifetime": "soon"}).status_code == 400


def test_client_credentials_are_unchanged_and_do_not_work_for_the_app(sr):
    master = sr.token(sr.config.master_client_id, sr.config.master_client_secret)
    assert master.status_code == 200 and "refresh_token" not in master.json()
    app = sr.token(sr.config.own_app_client_id, sr.config.own_app_client_secret)
    assert app.status_code == 401 and app.json()["error"] == "invalid_client"


# --- scopes ---------------------------------------------------------------------------------------
def test_a_call_without_its_scope_is_403_naming_the_scope(sr):
    token = tokens_for(sr, drop_scope="candidates_manage")["access_token"]
    assert sr.api("GET", f"/candidates/{ADA}", token=token).status_code == 200
    calls = [
        ("PUT", f"/candidates/{ADA}/jobs/{JOB}/status", {"payload": {"status": "INTERVIEW"}}),
        ("POST", "/messages/shares", {"payload": {"content": f"#[CANDIDATE:{ADA}] x", "shareWith": {"hiringTeamOf": [JOB]}}}),
        ("PUT", f"/candidates/{ADA}/jobs/{JOB}/properties/stagehook-score", {"payload": {"value": 82}}),
        ("POST", f"/candidates/{ADA}/jobs/{JOB}/attachments",
         {"files": {"file": ("r.pdf", PDF, "application/pdf")}, "data": {"attachmentType": "GENERIC_FILE"}}),
    ]
    for method, path, kwargs in calls:
        response = sr.api(method, path, token=token, **kwargs)
        assert response.status_code == 403, (path, response.text)
        assert response.json()["message"] == "Missing scope candidates_manage"
    assert sr.state.shares == [] and sr.state.app_attachments == {} and sr.state.property_values == {}


@pytest.mark.parametrize(
    "dropped, method, path",
    [
        ("candidates_read", "GET", "/candidates"),
        ("candidates_read", "GET", f"/candidates/{ADA}/jobs/{JOB}/attachments"),
        ("jobs_read", "GET", "/jobs"),
        ("jobs_read", "GET", f"/jobs/{JOB}/hiring-team"),
        ("jobs_read", "GET", "/configuration/company"),
        ("jobs_read", "GET", "/configuration/candidate-properties"),
        ("jobs_read", "GET", "/configuration/hiring-processes"),
        ("webhooks_manage", "GET", f"{WEBHOOKS}/subscriptions"),
    ],
)
def test_each_read_needs_its_scope(sr, dropped, method, path):
    token = tokens_for(sr, drop_scope=dropped)["access_token"]
    response = sr.api(method, path, token=token)
    assert response.status_code == 403 and response.json()["message"] == f"Missing scope {dropped}"
    assert sr.api(method, path, token=tokens_for(sr)["access_token"]).status_code == 200


def test_an_app_token_has_no_assessment_or_partner_api(sr):
    token = tokens_for(sr)["access_token"]
    assert sr.api("GET", f"{PARTNER}/partner/configuration", token=token).status_code == 403
    orders = sr.api("GET", "/assessment-api/v202107/assessment-orders", token=token, params={"applicationId": "x"})
    assert orders.status_code == 403 and orders.json()["code"] == "FORBIDDEN"


def test_marketplace_customer_tokens_reach_the_new_endpoints(integrated):
    token = integrated.customer_token()
    assert integrated.api("GET", "/configuration/company", token=token).json()["id"] == integrated.config.company_id
    assert integrated.api("GET", "/configuration/candidate-properties", token=token).status_code == 200
    put = integrated.api("PUT", f"/candidates/{ADA}/jobs/{JOB}/properties/stagehook-score", token=token, payload={"value": 7})
    assert put.status_code == 204


@pytest.fixture
def integrated(sandbox_server):
    """The marketplace integration (client credentials) beside the app."""
    sandbox = sandbox_server("smartrecruiters", rate_limit=10_000)
    sandbox.partner_configuration("http://127.0.0.1:9/smartrecruiters/")
    sandbox.integrate()
    return sandbox


# --- the company, files, properties, notes ----------------------------------------------------------
@pytest.fixture
def token(sr):
    return tokens_for(sr)["access_token"]


def test_the_company(sr, token):
    response = sr.api("GET", "/configuration/company", token=token)
    assert response.json() == {"id": sr.config.company_id, "name": sr.config.company_name}


def test_a_jobs_hiring_team(sr, token):
    team = sr.api("GET", f"/jobs/{JOB}/hiring-team", token=token).json()
    assert team["totalFound"] == 1 and set(team["content"][0]) == {"id", "actions"}
    assert sr.api("GET", "/jobs/nope/hiring-team", token=token).status_code == 404


def upload(sr, token, *, cid=ADA, job=JOB, kind="GENERIC_FILE", file=("report.pdf", PDF, "application/pdf"), field="file"):
    """Always multipart (a form field is a part without a filename)."""
    parts = [("attachmentType", (None, kind))] if kind is not None else []
    parts += [(field, file)] if file is not None else [("note", (None, "no file here"))]
    return sr.api("POST", f"/candidates/{cid}/jobs/{job}/attachments", token=token, files=parts)


def test_a_file_on_an_application_is_stored_listed_and_served(sr, token):
    response = upload(sr, token)
    assert response.status_code == 201, response.text
    created = response.json()
    assert set(created) == ATTACHMENT_KEYS and created["type"] == "GENERIC_FILE"
    assert created["name"] == "report.pdf" and created["contentType"] == "application/pdf"
    assert set(created["actions"]) == {"download", "remove"}
    listed = sr.api("GET", f"/candidates/{ADA}/jobs/{JOB}/attachments", token=token).json()
    assert listed["totalFound"] == 1 and listed["content"] == [created]
    download = sr.http.get(created["actions"]["download"]["url"], headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert download.status_code == 200 and download.content == PDF
    assert sr.api("GET", f"/candidates/{ADA}/jobs/{OTHER_JOB}/attachments", token=token).status_code == 404
    (stored,) = sr.control("GET", f"application-attachments?candidate_id={ADA}").json()["attachments"]
    assert stored["is_pdf"] and stored["size"] == len(PDF) and stored["job_id"] == JOB
    assert sr.http.get(stored["url"], timeout=10).content == PDF
    assert sr.control("GET", "application-attachments?candidate_id=nobody").json()["attachments"] == []


@pytest.mark.parametrize(
    "options, status",
    [
        ({"cid": "nobody"}, 404),
        ({"job": OTHER_JOB}, 404),  # Ada has not applied there
        ({"kind": "PHOTO"}, 400),
        ({"kind": None}, 400),
        ({"file": ("empty.pdf", b"", "application/pdf")}, 400),
        ({"file": None}, 400),
        ({"field": "document"}, 400),
    ],
)
def test_a_refused_file_stores_nothing(sr, token, options, status):
    response = upload(sr, token, **options)
    assert response.status_code == status, response.text
    assert sr.state.app_attachments == {}


def test_a_file_must_be_multipart(sr, token):
    response = sr.api("POST", f"/candidates/{ADA}/jobs/{JOB}/attachments", token=token, payload={"file": "x"})
    assert response.status_code == 415


def test_candidate_properties_configured_set_and_listed(sr, token):
    configured = sr.api("GET", "/configuration/candidate-properties", token=token).json()
    by_id = {p["id"]: p for p in configured["content"]}
    assert configured["totalFound"] == len(by_id) == 2
    assert by_id["stagehook-score"] == {"id": "stagehook-score", "label": "Interview score", "type": "NUMBER"}
    assert [p["type"] for p in configured["content"]].count("TEXT") == 1
    base = f"/candidates/{ADA}/jobs/{JOB}/properties"
    assert sr.api("GET", base, token=token).json() == {"totalFound": 0, "content": []}
    assert sr.api("PUT", f"{base}/stagehook-score", token=token, payload={"value": 82}).status_code == 204
    assert sr.api("PUT", f"{base}/interview-notes", token=token, payload={"value": "calm and clear"}).status_code == 204
    values = {v["id"]: v["value"] for v in sr.api("GET", base, token=token).json()["content"]}
    assert values == {"stagehook-score": 82, "interview-notes": "calm and clear"}
    assert sr.api("PUT", f"{base}/stagehook-score", token=token, payload={"value": 90}).status_code == 204  # replaces
    (shown,) = [p for p in sr.control("GET", f"properties?candidate_id={ADA}").json()["properties"] if p["property_id"] == "stagehook-score"]
    assert shown["value"] == 90 and shown["job_id"] == JOB and shown["label"] == "Interview score"
    assert sr.api("GET", "/configuration/candidate-properties/stagehook-score", token=token).json()["type"] == "NUMBER"


@pytest.mark.parametrize(
    "path_end, body, status",
    [
        ("stagehook-score", {"value": "82"}, 400),
        ("stagehook-score", {"value": True}, 400),
        ("stagehook-score", {"value": None}, 400),
        ("stagehook-score", {}, 400),
        ("stagehook-score", {"value": 82, "extra": 1}, 400),
        ("interview-notes", {"value": 82}, 400),
        ("no-such-property", {"value": 82}, 404),
    ],
)
def test_a_refused_property_value_stores_nothing(sr, token, path_end, body, status):
    response = sr.api("PUT", f"/candidates/{ADA}/jobs/{JOB}/properties/{path_end}", token=token, payload=body)
    assert response.status_code == status, response.text
    assert sr.state.property_values == {}


def test_a_property_of_an_unknown_application_is_404(sr, token):
    assert sr.api("PUT", f"/candidates/{ADA}/jobs/{OTHER_JOB}/properties/stagehook-score", token=token,
                  payload={"value": 1}).status_code == 404
    assert sr.api("GET", f"/candidates/nobody/jobs/{JOB}/properties", token=token).status_code == 404


def test_a_note_keeps_its_correlation_id(sr, token):
    body = {"content": f"#[CANDIDATE:{ADA}] Interview completed: 82/100", "correlationId": "delivery-42",
            "shareWith": {"hiringTeamOf": [JOB]}}
    response = sr.api("POST", "/messages/shares", token=token, payload=body)
    assert response.status_code == 201, response.text
    assert response.json()["correlationId"] == "delivery-42" and response.json()["id"]
    (note,) = sr.control("GET", f"notes?candidate_id={ADA}").json()["notes"]
    assert note["correlationId"] == "delivery-42" and note["candidates"] == [ADA] and note["id"] == response.json()["id"]
    assert sr.control("GET", f"notes?candidate_id={OTHER_JOB}").json()["notes"] == []


@pytest.mark.parametrize(
    "body",
    [
        {"content": "#[CANDIDATE:nobody] x", "shareWith": {"hiringTeamOf": [JOB]}},
        {"content": f"#[CANDIDATE:{ADA}] x", "shareWith": {"hiringTeamOf": [JOB], "team": True}},
        {"content": f"#[CANDIDATE:{ADA}] x", "shareWith": {"everyone": "yes"}},
        {"content": f"#[CANDIDATE:{ADA}] x", "correlationId": 42, "shareWith": {}},
        {"content": "", "shareWith": {}},
    ],
)
def test_a_refused_note_is_not_kept(sr, token, body):
    assert sr.api("POST", "/messages/shares", token=token, payload=body).status_code == 400
    assert sr.state.shares == []


def _note(sr, token, text: str, job: str = JOB) -> str:
    response = sr.api("POST", "/messages/shares", token=token,
                      payload={"content": f"#[CANDIDATE:{ADA}] {text}", "shareWith": {"hiringTeamOf": [job]}})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_a_candidates_messages_newest_first_in_pages(sr, token):
    ids = [_note(sr, token, f"note {n}") for n in range(3)]
    other = _note(sr, token, "on the other job", job=OTHER_JOB)
    first = sr.api("GET", "/messages", token=token, params={"candidateId": ADA, "jobId": JOB, "limit": 2}).json()
    assert [m["id"] for m in first["content"]] == [ids[2], ids[1]] and first["nextPageId"]
    assert set(first["content"][0]) == {"id", "content", "createdOn"} and first["content"][0]["content"].endswith("note 2")
    rest = sr.api("GET", "/messages", token=token,
                  params={"candidateId": ADA, "jobId": JOB, "limit": 2, "pageId": first["nextPageId"]}).json()
    assert [m["id"] for m in rest["content"]] == [ids[0]] and "nextPageId" not in rest
    everything = sr.api("GET", "/messages", token=token, params={"candidateId": ADA}).json()
    assert [m["id"] for m in everything["content"]] == [other, *reversed(ids)]
    assert sr.api("GET", "/messages", token=token, params={"candidateId": "nobody"}).status_code == 404
    assert sr.api("GET", "/messages", token=token, params={"candidateId": ADA, "jobId": "nope"}).status_code == 404


@pytest.mark.parametrize("params", [{}, {"candidateId": ADA, "limit": "0"}, {"candidateId": ADA, "limit": "101"},
                                    {"candidateId": ADA, "limit": "ten"}, {"candidateId": ADA, "pageId": "garbage!"}])
def test_a_bad_messages_query_is_refused(sr, token, params):
    response = sr.api("GET", "/messages", token=token, params=params)
    assert response.status_code == 400 and response.json()["message"]


def test_only_an_administrators_app_reads_messages(sr, token):
    _note(sr, token, "posted by a standard user's app is fine")
    sr.control("POST", "authorize", {"mode": "approve", "role": "STANDARD"})  # applies to issued tokens at once
    refused = sr.api("GET", "/messages", token=token, params={"candidateId": ADA})
    assert refused.status_code == 403 and "ADMINISTRATOR" in refused.json()["message"]
    assert "scope" not in refused.json()["message"]
    assert _note(sr, token, "notes still go")
    sr.control("POST", "authorize", {"mode": "approve", "role": "ADMINISTRATOR"})
    assert len(sr.api("GET", "/messages", token=token, params={"candidateId": ADA}).json()["content"]) == 2
    without_scope = tokens_for(sr, drop_scope="candidates_read")["access_token"]
    assert sr.api("GET", "/messages", token=without_scope, params={"candidateId": ADA}).json()["message"] == (
        "Missing scope candidates_read")


def test_a_customer_token_reads_messages_with_its_scope(sr):
    sr.integrate()
    customer = sr.customer_token()
    body = sr.api("GET", "/messages", token=customer, params={"candidateId": ADA}).json()
    assert body == {"content": []}


def test_a_lost_answer_fault_keeps_the_note(sr, token):
    sr.faults(status=503, count=1, path=r"^/messages/shares$", method="POST", lose_answer=True)
    response = sr.api("POST", "/messages/shares", token=token,
                      payload={"content": f"#[CANDIDATE:{ADA}] stored, answer lost", "shareWith": {"hiringTeamOf": [JOB]}})
    assert response.status_code == 503 and "is lost" in response.json()["message"]
    [note] = sr.state.shares
    [listed] = sr.api("GET", "/messages", token=token, params={"candidateId": ADA, "jobId": JOB}).json()["content"]
    assert listed["id"] == note["id"] and listed["content"].endswith("stored, answer lost")


# --- faults and counters ----------------------------------------------------------------------------
def test_faults_on_one_path_fail_its_first_calls_only(sr, token):
    faults = sr.faults(status=503, count=2, path=r"/attachments$", method="POST")
    assert faults["path"] == "/attachments$" and faults["method"] == "POST"
    assert sr.api("GET", "/configuration/company", token=token).status_code == 200  # another path: untouched
    assert sr.api("GET", f"/candidates/{ADA}/jobs/{JOB}/attachments", token=token).status_code == 200  # another method
    assert [upload(sr, token).status_code for _ in range(3)] == [503, 503, 201]
    assert len(sr.state.app_attachments) == 1
    stats = sr.stats()
    assert stats["faults_served"] == 2
    assert stats["requests_by_route"]["POST /candidates/<cid>/jobs/<job_id>/attachments"] == 3
    assert stats["requests_by_route"]["GET /configuration/company"] == 1
    assert stats["requests_by_route"]["POST /identity/oauth/token"] == 1
    assert sr.control("POST", "faults", {"path": "(unclosed"}).status_code == 400


def test_faults_apply_to_the_token_endpoint_and_the_page(sr):
    sr.faults(status=503, count=1, path=r"^/identity/oauth/token$")
    code = code_for(sr)
    assert grant(sr, grant_type="authorization_code", code=code, redirect_uri=CALLBACK).status_code == 503
    assert grant(sr, grant_type="authorization_code", code=code, redirect_uri=CALLBACK).status_code == 200
    sr.faults(status=500, count=1, path=r"^/identity/oauth/allow$")
    assert authorize(sr).status_code == 500


# --- the verbs ------------------------------------------------------------------------------------------
def run(sr, *args: str) -> str:
    out = io.StringIO()
    call_command("sandbox", "smartrecruiters", "--url", sr.url, *args, stdout=out)
    return out.getvalue()


def test_the_own_app_verbs(sr, token):
    created = json.loads(run(sr, "app", "--company", "SmartCompany123", "--redirect-uri", "https://x.example/cb",
                             "--client-id", "verb-app", "--client-secret", "verb-secret"))
    assert created["client_id"] == "verb-app" and created["client_secret"] == "verb-secret"
    assert created["redirect_uris"] == ["https://x.example/cb"] and created["company_id"] == "SmartCompany123"
    generated = json.loads(run(sr, "app", "--redirect-uri", "https://y.example/cb"))
    assert generated["client_id"].startswith("sr-app-") and len(generated["client_secret"]) >= 32
    assert "approve" in run(sr, "authorize", "--mode", "approve", "--drop-scope", "users_read")
    assert sr.state.authorize_mode == {"mode": "approve", "drop_scope": "users_read"}
    assert "is STANDARD" in run(sr, "authorize", "--mode", "approve", "--drop-scope", "users_read", "--role", "STANDARD")
    assert sr.state.app_user_role == "STANDARD"
    assert json.loads(run(sr, "tokens", "--lifetime", "120"))["lifetime"] == 120
    assert json.loads(run(sr, "tokens", "--expire-all"))["expired"] >= 1
    assert json.loads(run(sr, "tokens", "--revoke-refresh"))["revoked_refresh"] >= 1

    sr.api("POST", "/messages/shares", token=tokens_for(sr)["access_token"], payload={
        "content": f"#[CANDIDATE:{ADA}] Interview completed", "correlationId": "d-1", "shareWith": {"hiringTeamOf": [JOB]}})
    fresh = tokens_for(sr)["access_token"]
    upload(sr, fresh)
    sr.api("PUT", f"/candidates/{ADA}/jobs/{JOB}/properties/stagehook-score", token=fresh, payload={"value": 82})
    notes = run(sr, "notes", "--candidate", ADA)
    assert "correlationId d-1" in notes and "Interview completed" in notes
    assert "report.pdf" in run(sr, "attachments", "--candidate", ADA) and "PDF" in run(sr, "attachments")
    assert re.search(r"stagehook-score \(Interview score\) = 82", run(sr, "properties", "--candidate", ADA))
    assert json.loads(run(sr, "notes", "--json"))["notes"][0]["correlationId"] == "d-1"
    assert "no notes" in run(sr, "notes", "--candidate", "nobody")
    with pytest.raises(CommandError):
        run(sr, "authorize", "--mode", "sometimes")


def test_drop_scope_applies_to_the_page_too(sr):
    sr.control("POST", "authorize", {"mode": "page", "drop_scope": "webhooks_manage"})
    code = back(click(sr, page_of(authorize(sr)), "allow"))["code"]
    body = grant(sr, grant_type="authorization_code", code=code, redirect_uri=CALLBACK).json()
    assert body["scope"] == "candidates_read candidates_manage jobs_read users_read"
    assert sr.api("GET", f"{WEBHOOKS}/subscriptions", token=body["access_token"]).json()["message"] == "Missing scope webhooks_manage"


def test_the_page_escapes_what_it_shows(sr):
    sr.control("POST", "apps", {"client_id": "x-app", "redirect_uris": [CALLBACK], "name": "<script>alert(1)</script>",
                                "company_id": "Evil<b>Co"})
    response = authorize(sr, client_id="x-app", state="<img src=x>")
    assert response.status_code == 200
    assert "<script>alert(1)" not in response.text and "&lt;script&gt;" in response.text
    assert "<b>Co" not in response.text and "<img" not in response.text
