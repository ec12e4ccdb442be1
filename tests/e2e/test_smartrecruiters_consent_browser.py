"""The SmartRecruiters consent page in a real browser (Debian's Chromium through Playwright) against
the live server and the stub SmartRecruiters: in a 600 px pop-up (POPUP mode: sign in, approve, the
pop-up closes itself) and as a full page (REDIRECT mode: back to SmartRecruiters)."""

import re
from pathlib import Path

import pytest

from integrations.models import Connection, ConnectionStatus
from tests.factories import MembershipFactory, TenantFactory, UserFactory
from tests.integrations.smartrecruiters.stub import MASTER_ID, MASTER_SECRET, FakeSmartRecruiters
from tenants.models import Role

CHROMIUM = Path("/usr/bin/chromium")
PASSWORD = "correct horse battery"

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (`make chromium`)"),
]


@pytest.fixture
def fake_sr(settings, live_server, transactional_db):
    server = FakeSmartRecruiters()
    settings.SITE_URL = live_server.url
    settings.ATS_EXTRA_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.SMARTRECRUITERS_API_BASE = server.url
    settings.SMARTRECRUITERS_CLIENT_ID, settings.SMARTRECRUITERS_CLIENT_SECRET = MASTER_ID, MASTER_SECRET
    yield server
    server.close()


@pytest.fixture
def admin_email(transactional_db):
    user = UserFactory()
    MembershipFactory(user=user, tenant=TenantFactory(name="Acme Corp"), role=Role.ADMIN)
    return user.email


def _browser(p):
    return p.chromium.launch(
        executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
    )


def _sign_in(page, email: str) -> None:
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_popup_mode_sign_in_approve_and_the_popup_closes(fake_sr, admin_email, live_server):
    from playwright.sync_api import expect, sync_playwright

    url = f"{live_server.url}/smartrecruiters/integration?companyId=PopupCo"
    with sync_playwright() as p:
        browser = _browser(p)
        try:
            opener = browser.new_page()
            opener.goto(f"{fake_sr.url}/opener")  # any SmartRecruiters page (the stub answers 404)
            with opener.expect_popup() as info:
                opener.evaluate(f"window.open({url!r}, 'sr-consent', 'width=600,height=700')")
            popup = info.value
            popup.wait_for_load_state()
            assert popup.evaluate("window.innerWidth") <= 600
            _sign_in(popup, admin_email)
            expect(popup.get_by_role("heading", level=1)).to_contain_text("Connect SmartRecruiters")
            expect(popup.locator("body")).to_contain_text("PopupCo")
            expect(popup.locator("body")).to_contain_text("write interview status")
            with popup.expect_event("close", timeout=30_000):
                popup.get_by_role("button", name="Approve and connect").click()
        finally:
            browser.close()
    connection = Connection.objects.get(remote_account_id="PopupCo")
    assert connection.status == ConnectionStatus.ACTIVE


def test_redirect_mode_returns_to_smartrecruiters(fake_sr, admin_email, live_server):
    from playwright.sync_api import sync_playwright

    back = f"{fake_sr.url}/settings/apps/back"
    url = f"{live_server.url}/smartrecruiters/integration?companyId=RedirectCo&redirect={back}"
    with sync_playwright() as p:
        browser = _browser(p)
        try:
            page = browser.new_page()
            page.goto(url)
            _sign_in(page, admin_email)
            with page.expect_navigation(url=re.compile(re.escape(back))):
                page.get_by_role("button", name="Approve and connect").click()
        finally:
            browser.close()
    assert Connection.objects.get(remote_account_id="RedirectCo").status == ConnectionStatus.ACTIVE
