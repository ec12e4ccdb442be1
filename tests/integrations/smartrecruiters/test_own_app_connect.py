"""A company's own app: the connect form -> SmartRecruiters' authorize page (the stub) -> our callback:
the state (signed, expiring, one-time, bound to the session and tenant), the code exchange, the
stored tokens, the subscription, the first sync; errors in recruiter words; trigger mode only."""

import html
import re
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from django.core import signing
from django.core.cache import cache
from django.db import connection as db

from integrations import ratelimit
from assessments.models import Assessment
from integrations.models import Connection, ConnectionEvent, ConnectionStatus, SyncRun
from integrations.smartrecruiters import auth
from integrations.smartrecruiters import own_app as own_app_module
from integrations.smartrecruiters.provider import OWN_APP_NO_ORDERS
from integrations.smartrecruiters.constants import (
    CRED_ACCESS_TOKEN,
    CRED_APP_CLIENT_ID,
    CRED_APP_CLIENT_SECRET,
    CRED_EXPIRES_AT,
    CRED_GRANT,
    CRED_REFRESH_TOKEN,
    CRED_SCOPES,
    CRED_WEBHOOK_KEYS,
    GRANT_AUTHORIZATION_CODE,
    OWN_APP_SCOPES,
    SUBSCRIPTION_REF,
    WEBHOOK_EVENTS,
)
from tests.factories import MembershipFactory, UserFactory
from tenants.models import Role

from .conftest import COMPANY_ID, WEBHOOK_KEY, Answer, own_app_authorize, own_app_connect, own_app_start
from .stub import APP_ID, APP_SECRET

TOKEN = r"/identity/oauth/token"


def test_the_form_says_which_redirect_uri_to_register_and_that_it_is_trigger_mode(client, admin_user, own_app):
    client.force_login(admin_user)
    html = client.get("/smartrecruiters/own-app/connect").content.decode()
    assert "http://testserver/smartrecruiters/oauth/callback" in html and "redirect_uri mismatch" in html
    assert "Trigger mode only" in html and "candidates_manage" in html
    page = client.get("/app/connections/").content.decode()
    assert "Connect SmartRecruiters (own app)" in page and "/smartrecruiters/own-app/connect" in page


def test_connecting_stores_the_tokens_encrypted_subscribes_and_starts_the_first_sync(client, admin_user, tenant, own_app):
    client.force_login(admin_user)
    location = own_app_start(client, tenant)
    parts = urlsplit(location)
    query = parse_qs(parts.query)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{own_app.url}/identity/oauth/allow"
    assert query["client_id"] == [APP_ID] and query["scope"] == [OWN_APP_SCOPES]
    assert query["redirect_uri"] == ["http://testserver/smartrecruiters/oauth/callback"] and query["state"][0]

    response = client.get(own_app_authorize(location))
    assert response.status_code == 200
    html = response.content.decode()
    assert "SmartRecruiters is connected" in html and "own-app-granted" in html and "own-app-missing" not in html
    connection = Connection.objects.get(remote_account_id=COMPANY_ID)
    assert connection.status == ConnectionStatus.ACTIVE and connection.tenant == tenant and auth.is_own_app(connection)
    credentials = connection.credentials
    assert credentials[CRED_GRANT] == GRANT_AUTHORIZATION_CODE
    assert credentials[CRED_APP_CLIENT_ID] == APP_ID and credentials[CRED_APP_CLIENT_SECRET] == APP_SECRET
    assert credentials[CRED_ACCESS_TOKEN] in own_app.tokens and credentials[CRED_REFRESH_TOKEN] in own_app.refresh_tokens
    assert credentials[CRED_SCOPES] == OWN_APP_SCOPES and credentials[CRED_EXPIRES_AT] > 0
    assert credentials[CRED_WEBHOOK_KEYS] == [WEBHOOK_KEY]
    with db.cursor() as cursor:  # encrypted at rest
        cursor.execute("SELECT credentials::text FROM integrations_connection WHERE id = %s", [connection.pk])
        raw = cursor.fetchone()[0]
    assert credentials[CRED_ACCESS_TOKEN] not in raw and APP_SECRET not in raw
    [exchange] = [s for s in own_app.calls("POST", TOKEN) if s.form.get("grant_type") == "authorization_code"]
    assert exchange.form["client_id"] == APP_ID and exchange.form["client_secret"] == APP_SECRET
    assert exchange.form["redirect_uri"] == "http://testserver/smartrecruiters/oauth/callback"
    [sub] = own_app.calls("POST", r"/webhooks-api/v201907/subscriptions")
    assert sub.json()["events"] == list(WEBHOOK_EVENTS) and sub.headers["Authorization"] == f"Bearer {credentials[CRED_ACCESS_TOKEN]}"
    assert connection.subscription_ids[SUBSCRIPTION_REF]["active"] is True
    run = SyncRun.objects.get(connection=connection)
    assert run.full and run.reason == "first sync after activation"
    assert f"/app/connections/{connection.pk}/sync/" in html
    page = client.get("/app/connections/").content.decode()
    assert "Own app, trigger mode" in page and f"own-app-disconnect-{connection.pk}" in page


def test_as_a_popup_the_callback_page_tells_the_opener_and_closes(client, admin_user, tenant, own_app):
    client.force_login(admin_user)
    form = client.get("/smartrecruiters/own-app/connect")
    assert form["Cross-Origin-Opener-Policy"] == "same-origin-allow-popups" and b"own-app-connect-popup" in form.content
    response = own_app_connect(client, tenant, popup=True)
    html = response.content.decode()
    assert response.status_code == 200 and 'data-popup="1"' in html and 'data-outcome="connected"' in html
    assert "js/smartrecruiters_own_app.js" in html and response["Cross-Origin-Opener-Policy"] == "unsafe-none"


def test_full_page_the_callback_page_stays(client, admin_user, tenant, own_app):
    client.force_login(admin_user)
    html = own_app_connect(client, tenant).content.decode()
    assert 'data-popup="0"' in html and "Go to Connections" in html


def _callback_with(path: str, **changes) -> str:
    parts = urlsplit(path)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query.update(changes)
    from urllib.parse import urlencode

    return f"{parts.path}?{urlencode(query)}"


def test_a_tampered_state_is_refused_and_nothing_is_exchanged(client, admin_user, tenant, own_app):
    client.force_login(admin_user)
    path = own_app_authorize(own_app_start(client, tenant))
    state = parse_qs(urlsplit(path).query)["state"][0]
    payload = signing.loads(state, salt=own_app_module.STATE_SALT)
    forged = signing.dumps({**payload, "t": payload["t"] + 1}, salt="another salt")
    for bad in (state[:-2] + ("AA" if not state.endswith("AA") else "BB"), forged, ""):
        response = client.get(_callback_with(path, state=bad))
        assert response.status_code == 400 and "does not match a connection started in this browser" in response.content.decode()
    assert not [s for s in own_app.calls("POST", TOKEN)]
    assert not Connection.objects.exists()


def test_a_state_from_another_session_is_refused(client, admin_user, tenant, own_app, django_user_model):
    from django.test import Client

    client.force_login(admin_user)
    path = own_app_authorize(own_app_start(client, tenant))
    other = Client()
    other.force_login(admin_user)  # the same admin in another browser
    response = other.get(path)
    assert response.status_code == 400 and "already used" in response.content.decode()
    assert not Connection.objects.exists()


def test_an_expired_state_is_refused(client, admin_user, tenant, own_app):
    import time

    client.force_login(admin_user)
    path = own_app_authorize(own_app_start(client, tenant))
    payload = signing.loads(parse_qs(urlsplit(path).query)["state"][0], salt=own_app_module.STATE_SALT)

    class Earlier(signing.TimestampSigner):
        def timestamp(self):
            return signing.b62_encode(int(time.time()) - own_app_module.STATE_MAX_AGE - 5)

    old = Earlier(salt=own_app_module.STATE_SALT).sign_object(payload)
    response = client.get(_callback_with(path, state=old))
    assert response.status_code == 400 and "longer than 10 minutes" in response.content.decode()
    # ... and the authorization it named is gone: its fresh state no longer works either.
    assert "already used" in client.get(path).content.decode()


def test_a_state_is_used_once_and_a_replayed_code_is_refused(client, admin_user, tenant, own_app):
    client.force_login(admin_user)
    path = own_app_authorize(own_app_start(client, tenant))
    assert client.get(path).status_code == 200
    again = client.get(path)  # reloading the callback
    assert again.status_code == 400 and "already used" in again.content.decode()
    # The same code under a fresh state: SmartRecruiters refuses it (and revokes what it gave).
    code = parse_qs(urlsplit(path).query)["code"][0]
    fresh = own_app_authorize(own_app_start(client, tenant))
    replay = client.get(_callback_with(fresh, code=code))
    assert replay.status_code == 400
    assert "refused the authorization code: it was already used or has expired" in replay.content.decode()
    assert "Start again" in replay.content.decode()


def test_denied_consent_connects_nothing_and_says_how_to_fix_it(client, admin_user, tenant, own_app):
    own_app.authorize_mode = "deny"
    client.force_login(admin_user)
    response = own_app_connect(client, tenant, popup=True)
    html = response.content.decode()
    assert response.status_code == 400 and "Access was denied in SmartRecruiters" in html and "choose “Allow”" in html
    assert 'data-outcome="failed"' in html  # the pop-up stays open on the error
    assert not Connection.objects.exists() and not own_app.calls("POST", TOKEN)


def test_a_scope_not_granted_is_named(client, admin_user, tenant, own_app):
    own_app.drop_scope = "candidates_manage"
    client.force_login(admin_user)
    response = own_app_connect(client, tenant)
    html = response.content.decode()
    assert response.status_code == 200 and "own-app-missing" in html and "<code>candidates_manage</code>" in html
    connection = Connection.objects.get()
    assert connection.status == ConnectionStatus.ACTIVE and "candidates_manage" in connection.status_reason
    assert "candidates_manage" not in connection.credentials[CRED_SCOPES].split()


def test_wrong_app_credentials_are_explained(client, admin_user, tenant, own_app):
    client.force_login(admin_user)
    path = own_app_authorize(own_app_start(client, tenant))
    own_app.apps[APP_ID] = "rotated-in-smartrecruiters"
    response = client.get(path)
    assert response.status_code == 400 and "did not accept the app's client id and secret" in html.unescape(response.content.decode())


def test_only_an_admin_connects(client, tenant, own_app):
    user = UserFactory()
    MembershipFactory(user=user, tenant=tenant, role=Role.RECRUITER)
    client.force_login(user)
    assert client.get("/smartrecruiters/own-app/connect").status_code == 403
    assert client.post("/smartrecruiters/own-app/connect", {"tenant": tenant.pk, "client_id": APP_ID,
                                                          "client_secret": APP_SECRET}).status_code == 403


def test_the_vendors_app_is_used_when_the_form_leaves_it_empty(client, admin_user, tenant, own_app, settings):
    settings.SMARTRECRUITERS_OWN_APP_CLIENT_ID = APP_ID
    settings.SMARTRECRUITERS_OWN_APP_CLIENT_SECRET = APP_SECRET
    client.force_login(admin_user)
    location = own_app_start(client, tenant, client_id="", client_secret="")
    assert parse_qs(urlsplit(location).query)["client_id"] == [APP_ID]
    assert client.get(own_app_authorize(location)).status_code == 200


def test_reauthorizing_keeps_the_connection_and_its_subscription(client, admin_user, tenant, own_connection, own_app):
    first_refresh = own_connection.credentials[CRED_REFRESH_TOKEN]
    response = own_app_connect(client, tenant)
    assert response.status_code == 200 and "re-authorized" in response.content.decode()
    connection = Connection.objects.get()
    assert connection.pk == own_connection.pk and connection.credentials[CRED_REFRESH_TOKEN] != first_refresh
    assert len(own_app.calls("POST", r"/webhooks-api/v201907/subscriptions")) == 1


def _order_calls(client, fake_sr, reference_fixtures, package, headers) -> list:
    """Every order endpoint of the URL map, called as SmartRecruiters calls it (valid bodies)."""
    import json

    from .conftest import order_body

    def post(path, inline):
        body = order_body(reference_fixtures, package_id=package.pk, fake_sr=fake_sr, inline=inline)
        body["companyId"] = COMPANY_ID
        return client.post(path, data=json.dumps(body), content_type="application/json", **headers)

    return [
        ("GET packages", client.get("/smartrecruiters/packages", HTTP_REQUESTER='{"email": "r@example.com"}', **headers)),
        ("GET packages/<id>", client.get(f"/smartrecruiters/packages/{package.pk}", **headers)),
        ("POST packages/orders", post("/smartrecruiters/packages/orders", inline=False)),
        ("POST packages/inline/orders", post("/smartrecruiters/packages/inline/orders", inline=True)),
    ]


def test_order_endpoints_refuse_a_company_connected_through_its_own_app_clearly(
    client, admin_user, tenant, package, own_app, reference_fixtures
):
    """The realistic way SmartRecruiters still calls our order endpoints for an own-app company: it
    was installed from the marketplace first (SmartRecruiters keeps the client credentials we minted
    then), and its admin has since connected it through the company's own app."""
    from integrations.models import WebhookEvent

    from .test_install import SETUP, consent_url

    client.force_login(admin_user)
    assert client.post(consent_url(own_app), {"tenant": tenant.pk}).status_code == 302  # the marketplace install
    minted = own_app.calls("POST", SETUP)[0].json()  # what SmartRecruiters got from us
    response = own_app_connect(client, tenant)
    assert response.status_code == 200, response.content.decode()[:2000]
    connection = Connection.objects.get()
    assert auth.is_own_app(connection) and connection.status == ConnectionStatus.ACTIVE
    assert "client_id" not in connection.credentials and "client_secret" not in connection.credentials
    client.logout()

    token = client.post("/smartrecruiters/oauth/token", data=(
        f"grant_type=client_credentials&client_id={minted['clientId']}&client_secret={minted['clientSecret']}"
    ), content_type="application/x-www-form-urlencoded")
    assert token.status_code == 200
    calls = _order_calls(client, own_app, reference_fixtures, package,
                         {"HTTP_AUTHORIZATION": f"Bearer {token.json()['access_token']}"})
    assert [name for name, _ in calls] == ["GET packages", "GET packages/<id>", "POST packages/orders",
                                           "POST packages/inline/orders"]
    for name, answer in calls:
        assert answer.status_code == 403, (name, answer.content)
        assert answer.json()["error"] == OWN_APP_NO_ORDERS, name
    assert not WebhookEvent.objects.exists() and not Assessment.objects.exists()


def test_without_partner_credentials_an_own_app_company_gives_order_endpoints_nothing(
    client, admin_user, tenant, package, own_app, reference_fixtures, settings
):
    """A vendor with no marketplace listing (no partner credentials) connects through the own app
    alone: nothing was ever minted for SmartRecruiters, so every order endpoint answers as for an
    unknown caller (401, no oracle), and nothing is stored."""
    from integrations.models import WebhookEvent
    from integrations.smartrecruiters.models import PartnerClient

    settings.SMARTRECRUITERS_CLIENT_ID = settings.SMARTRECRUITERS_CLIENT_SECRET = ""
    client.force_login(admin_user)
    assert own_app_connect(client, tenant).status_code == 200
    connection = Connection.objects.get()
    assert auth.is_own_app(connection) and not PartnerClient.objects.exists()
    assert all(s.form.get("grant_type") != "client_credentials" for s in own_app.calls("POST", TOKEN))  # no master token
    client.logout()
    for headers in ({}, {"HTTP_AUTHORIZATION": "Bearer not-a-token-of-ours"}):
        for name, answer in _order_calls(client, own_app, reference_fixtures, package, headers):
            assert answer.status_code == 401 and answer.json()["error"] == "Unauthorized.", (name, answer.content)
    assert not WebhookEvent.objects.exists() and not Assessment.objects.exists()


def test_disconnect_deletes_the_subscription_drops_the_secrets_and_keeps_history(
    client, own_connection, own_app, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/smartrecruiters/own-app/{own_connection.pk}/disconnect")
    assert response.status_code == 302
    connection = Connection.objects.get()
    assert connection.status == ConnectionStatus.DISCONNECTED
    assert len(own_app.calls("DELETE", r"/webhooks-api/v201907/subscriptions/sub-1")) == 1
    credentials = connection.credentials
    for key in (CRED_APP_CLIENT_SECRET, CRED_ACCESS_TOKEN, CRED_REFRESH_TOKEN, CRED_WEBHOOK_KEYS):
        assert key not in credentials
    assert credentials[CRED_GRANT] == GRANT_AUTHORIZATION_CODE  # what it was stays readable
    assert list(ConnectionEvent.objects.filter(connection=connection).order_by("id").values_list("to_status", flat=True))[-1:] == [
        ConnectionStatus.DISCONNECTED]
    assert client.post(f"/smartrecruiters/own-app/{own_connection.pk}/disconnect").status_code == 404


def test_another_tenants_admin_cannot_disconnect_it(client, own_connection):
    from tests.factories import TenantFactory

    other = UserFactory()
    MembershipFactory(user=other, tenant=TenantFactory(), role=Role.ADMIN)
    client.force_login(other)
    assert client.post(f"/smartrecruiters/own-app/{own_connection.pk}/disconnect").status_code == 404
    assert Connection.objects.get().status == ConnectionStatus.ACTIVE


def test_webhooks_of_an_own_app_connection_are_verified_and_read_with_its_token(
    client, own_connection, own_app, django_capture_on_commit_callbacks
):
    import json

    from integrations.models import RemoteApplication, WebhookEvent

    from .test_webhooks import sign

    own_app.route("GET", r"/candidates/c-1/jobs/j-1", Answer(200, {"status": "INTERVIEW", "subStatus": "AI screen"}))
    raw = json.dumps({"job_id": "j-1", "candidate_id": "c-1", "application_id": "a-1"}).encode()
    url = f"/smartrecruiters/webhooks?companyId={COMPANY_ID}"
    bad = sign(raw, key="not-our-key", name="application.status.updated")
    assert client.post(url, data=raw, content_type="application/json", **bad).status_code == 401
    headers = sign(raw, name="application.status.updated", event_id="evt-own-1")
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(url, data=raw, content_type="application/json", **headers).status_code == 202
    assert WebhookEvent.objects.get().connection_id == own_connection.pk
    assert RemoteApplication.objects.get(remote_id="c-1:j-1").remote_stage_id == "INTERVIEW"
    [read] = own_app.calls("GET", r"/candidates/c-1/jobs/j-1")
    assert read.headers["Authorization"] == f"Bearer {own_connection.credentials[CRED_ACCESS_TOKEN]}"


# --- a redirect URI SmartRecruiters refuses (the sandbox, which refuses it as SmartRecruiters does) -----
CALLBACK = "http://testserver/smartrecruiters/oauth/callback"  # our redirect URI in these tests


@pytest.fixture
def sr_app(sandbox_server, settings):
    """The SmartRecruiters sandbox as the authorization and API host, with a company's app that
    lists our test callback as its one redirect URI; the authorization page approves at once.
    (Connecting cannot complete here: the webhook handshake needs a live Stagehook, as in
    test_own_app_sandbox.py; these tests are about what comes before it.)"""
    sr = sandbox_server("smartrecruiters", rate_limit=10_000)
    settings.ATS_EXTRA_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.SMARTRECRUITERS_API_BASE = settings.SMARTRECRUITERS_AUTHORIZE_BASE = sr.url
    settings.SITE_URL = "http://testserver"
    cache.clear()
    ratelimit.limiter_get().reset()
    sr.control("POST", "authorize", {"mode": "approve"})
    register(sr, [CALLBACK])
    yield sr
    cache.clear()


def register(sr, redirect_uris: list[str]) -> None:
    """The app's redirect URIs in SmartRecruiters (registering again replaces them)."""
    response = sr.control("POST", "apps", {"client_id": "acme-own-app", "client_secret": "acme-own-app-secret-0123456789",
                                           "company_id": sr.config.company_id, "redirect_uris": redirect_uris})
    assert response.status_code == 201, response.text


def sandbox_start(client, tenant) -> str:
    return own_app_start(client, tenant, client_id="acme-own-app", client_secret="acme-own-app-secret-0123456789")


def sandbox_back(sr, location: str) -> str:
    answer = sr.http.get(location, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    parts = urlsplit(answer.headers["Location"])
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == CALLBACK
    return f"{parts.path}?{parts.query}"


def error_of(response) -> tuple[str, str]:
    page = html.unescape(response.content.decode())
    code = re.search(r'id="own-app-error" data-code="([^"]+)"', page).group(1)
    return code, " ".join(re.sub(r"<[^>]+>", " ", page).split())


def test_an_app_that_does_not_list_our_redirect_uri_never_comes_back_and_the_form_names_it(
    client, admin_user, tenant, sr_app
):
    register(sr_app, ["https://stagehook.example/smartrecruiters/oauth/callback"])
    client.force_login(admin_user)
    location = sandbox_start(client, tenant)
    refused = sr_app.http.get(location, allow_redirects=False, timeout=10)
    assert refused.status_code == 400 and "Location" not in refused.headers and "redirect_uri mismatch" in refused.text
    form = html.unescape(client.get("/smartrecruiters/own-app/connect").content.decode())
    assert f'id="own-app-redirect-uri">{CALLBACK}<' in form and "redirect_uri mismatch" in form
    assert not Connection.objects.exists()


def test_a_redirect_uri_refused_at_the_code_exchange_says_so_with_the_uri_to_register(
    client, admin_user, tenant, sr_app
):
    client.force_login(admin_user)
    callback = sandbox_back(sr_app, sandbox_start(client, tenant))
    register(sr_app, ["https://stagehook.example/smartrecruiters/oauth/callback"])  # the app's admin changed it meanwhile
    response = client.get(callback)
    assert response.status_code == 400
    code, text = error_of(response)
    assert code == "redirect_uri_refused"
    assert f"SmartRecruiters refused Stagehook's redirect URI {CALLBACK}" in text
    assert f"redirect_uri {CALLBACK!r} is not registered for this app" in text  # SmartRecruiters' own words
    assert f"What to do: Register {CALLBACK} exactly" in text and "as the app's redirect URI in SmartRecruiters" in text
    assert "already used or has expired" not in text
    assert not Connection.objects.exists()


def test_our_redirect_uri_changed_between_authorize_and_exchange_is_a_redirect_uri_refusal(
    client, admin_user, tenant, sr_app, settings
):
    client.force_login(admin_user)
    callback = sandbox_back(sr_app, sandbox_start(client, tenant))
    register(sr_app, [CALLBACK, "http://testserver:8000/smartrecruiters/oauth/callback"])
    settings.SITE_URL = "http://testserver:8000"  # another web node with another SITE_URL took the callback
    response = client.get(callback)
    code, text = error_of(response)
    assert response.status_code == 400 and code == "redirect_uri_refused"
    assert "does not match the one of the authorization request" in text
    assert "Register http://testserver:8000/smartrecruiters/oauth/callback exactly" in text and "SITE_URL" in text


def test_a_refused_code_shows_smartrecruiters_words(client, admin_user, tenant, sr_app):
    client.force_login(admin_user)
    callback = sandbox_back(sr_app, sandbox_start(client, tenant))
    client.get(callback)  # the code is exchanged (the webhook handshake cannot reach this test's Stagehook)
    assert [s for s in sr_app.state.refresh_tokens.values() if s["state"] == "active"]
    code = parse_qs(urlsplit(callback).query)["code"][0]
    replay = client.get(_callback_with(sandbox_back(sr_app, sandbox_start(client, tenant)), code=code))
    error, text = error_of(replay)
    assert replay.status_code == 400 and error == "code_refused"
    assert "refused the authorization code: it was already used or has expired" in text
    assert "SmartRecruiters said: “The authorization code was already used" in text


@pytest.mark.parametrize("error,description", [
    ("redirect_uri_mismatch", "The redirect_uri is not registered"),
    ("invalid_request", "Invalid redirect_uri"),
])
def test_a_redirect_uri_error_sent_to_our_callback_says_so(client, admin_user, tenant, own_app, error, description):
    client.force_login(admin_user)
    path = own_app_authorize(own_app_start(client, tenant))
    parts = urlsplit(path)
    state = parse_qs(parts.query)["state"][0]
    response = client.get(f"{parts.path}?error={error}&error_description={quote(description)}&state={quote(state)}")
    code, text = error_of(response)
    assert response.status_code == 400 and code == "redirect_uri_refused"
    assert f"SmartRecruiters said: “{description}”" in text and f"Register {CALLBACK} exactly" in text
    assert not own_app.calls("POST", TOKEN)
