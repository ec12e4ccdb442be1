"""The own-app flow end to end against the SmartRecruiters sandbox: Stagehook served for real
(``live_server``), the sandbox's authorization page, its code and refresh grants, the webhook
subscription's activation handshake (the sandbox calls our live server) and the first sync.
Without a browser (the sandbox auto-approves) and in Chromium (a person clicks Allow), as a
full-page redirect and as a pop-up."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from django.conf import settings as django_settings
from django.core.cache import cache

from integrations import ratelimit
from integrations.models import Connection, ConnectionStatus, RemoteJob, SyncRun, SyncStatus
from integrations.smartrecruiters.constants import CRED_REFRESH_TOKEN, CRED_SCOPES, OWN_APP_SCOPES, SUBSCRIPTION_REF
from integrations.smartrecruiters.provider import _customer_client
from tests.factories import MembershipFactory, TenantFactory, UserFactory
from tenants.models import Role

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [pytest.mark.e2e]


@pytest.fixture
def sr(sandbox_server, live_server, settings):
    handle = sandbox_server("smartrecruiters", rate_limit=10_000)
    settings.ATS_EXTRA_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.SMARTRECRUITERS_API_BASE = handle.url
    settings.SMARTRECRUITERS_AUTHORIZE_BASE = handle.url
    settings.SITE_URL = live_server.url
    cache.clear()
    ratelimit.limiter_get().reset()
    yield handle
    cache.clear()


@pytest.fixture
def admin(transactional_db):
    tenant = TenantFactory(name="Second demo")
    user = UserFactory()
    MembershipFactory(user=user, tenant=tenant, role=Role.ADMIN)
    return tenant, user


def _session_cookie(client, user) -> str:
    client.force_login(user)
    return client.cookies[django_settings.SESSION_COOKIE_NAME].value


def _assert_connected(sr) -> Connection:
    connection = Connection.objects.get(remote_account_id=sr.config.company_id)
    assert connection.status == ConnectionStatus.ACTIVE, connection.status_reason
    assert connection.credentials[CRED_SCOPES] == OWN_APP_SCOPES
    sub = connection.subscription_ids[SUBSCRIPTION_REF]
    assert sub["active"] and [s for s in sr.subscriptions() if s["id"] == sub["id"]]
    run = SyncRun.objects.get(connection=connection)
    assert run.full and run.status == SyncStatus.SUCCEEDED, (run.status, run.error)
    assert RemoteJob.objects.filter(connection=connection).exists()
    return connection


def test_without_a_browser_connect_refresh_and_call(client, admin, sr, live_server):
    tenant, user = admin
    sr.control("POST", "authorize", {"mode": "approve"})
    http = requests.Session()
    http.cookies.set(django_settings.SESSION_COOKIE_NAME, _session_cookie(client, user))
    form = http.get(f"{live_server.url}/smartrecruiters/own-app/connect", timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
    answer = http.post(f"{live_server.url}/smartrecruiters/own-app/connect", timeout=60, allow_redirects=False, data={
        "csrfmiddlewaretoken": token, "tenant": tenant.pk, "client_id": sr.config.own_app_client_id,
        "client_secret": sr.config.own_app_client_secret}, headers={"Referer": form.url})
    assert answer.status_code == 302 and answer.headers["Location"].startswith(f"{sr.url}/identity/oauth/allow?")
    back = http.get(answer.headers["Location"], allow_redirects=False, timeout=30)
    assert back.status_code == 302 and urlsplit(back.headers["Location"]).path == "/smartrecruiters/oauth/callback"
    done = http.get(back.headers["Location"], timeout=120)
    assert done.status_code == 200 and "SmartRecruiters is connected" in done.text, done.text[-3000:]
    connection = _assert_connected(sr)

    # Tokens expire at the sandbox: the next call refreshes (rotating the refresh token) and works.
    old_refresh = connection.credentials[CRED_REFRESH_TOKEN]
    sr.expire_tokens()
    assert _customer_client(connection).candidate(next(iter(sr.state.candidates)))["id"]
    assert Connection.objects.get(pk=connection.pk).credentials[CRED_REFRESH_TOKEN] != old_refresh


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (`make chromium`)")
@pytest.mark.parametrize("popup", [False, True], ids=["full-page", "pop-up"])
def test_in_a_browser(client, admin, sr, live_server, popup):
    from playwright.sync_api import expect, sync_playwright

    tenant, user = admin
    sr.control("POST", "authorize", {"mode": "page"})
    cookie = _session_cookie(client, user)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM),
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            context = browser.new_context()
            context.add_cookies([{"name": django_settings.SESSION_COOKIE_NAME, "value": cookie,
                                  "url": live_server.url}])
            page = context.new_page()
            page.goto(f"{live_server.url}/app/connections/")
            page.get_by_text("Connect SmartRecruiters (own app)").click()
            expect(page.locator("#own-app-redirect-uri")).to_have_text(f"{live_server.url}/smartrecruiters/oauth/callback")
            page.fill("#client_id", sr.config.own_app_client_id)
            page.fill("#client_secret", sr.config.own_app_client_secret)
            if popup:
                with page.expect_popup() as opened:
                    page.locator("#own-app-connect-popup").click()
                window = opened.value
                window.locator("#allow").click()
                # The pop-up closes itself and the form page moves on to the connections page.
                window.wait_for_event("close", timeout=120_000)
                page.wait_for_url(f"{live_server.url}/app/connections/", timeout=30_000)
                expect(page.get_by_text("Own app, trigger mode")).to_be_visible()
            else:
                page.locator("#own-app-connect").click()
                page.locator("#allow").click()
                page.wait_for_url(f"{live_server.url}/smartrecruiters/oauth/callback?*", timeout=120_000)
                expect(page.locator("#own-app-done")).to_be_visible()
                expect(page.locator("#own-app-granted")).to_contain_text("candidates_manage")
        finally:
            browser.close()
    _assert_connected(sr)
