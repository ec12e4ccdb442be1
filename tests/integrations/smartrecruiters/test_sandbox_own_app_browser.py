"""The SmartRecruiters sandbox's authorization page in a real browser: a person clicks Allow (or
Deny) and lands on the app's callback with a code (or the error) and the state; the code then
buys tokens. The callback is the test plugin's recording receiver."""

from pathlib import Path
from urllib.parse import parse_qs, urlencode

import pytest

CHROMIUM = Path("/usr/bin/chromium")
SCOPES = "candidates_read candidates_manage jobs_read webhooks_manage users_read"

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (`make chromium`)"),
]


@pytest.fixture
def sr(sandbox_server):
    return sandbox_server("smartrecruiters")


def _click_through(sr, callback: str, button: str, state: str) -> dict[str, str]:
    from playwright.sync_api import expect, sync_playwright

    query = {"client_id": sr.config.own_app_client_id, "redirect_uri": callback, "scope": SCOPES, "state": state}
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        )
        try:
            page = browser.new_page()
            page.goto(f"{sr.url}/identity/oauth/allow?{urlencode(query)}")
            expect(page.get_by_text(sr.config.company_name)).to_be_visible()
            expect(page.get_by_text("candidates_manage")).to_be_visible()
            page.locator(f"#{button}").click()
            page.wait_for_url(f"{callback}?*")
            landed = page.url
        finally:
            browser.close()
    return {k: v[0] for k, v in parse_qs(landed.split("?", 1)[1], keep_blank_values=True).items()}


def test_allow_in_a_browser_lands_on_the_callback_with_a_code(sr, webhook_receiver):
    callback = webhook_receiver.url + "smartrecruiters/oauth/callback"
    answer = _click_through(sr, callback, "allow", "browser-state")
    assert answer["state"] == "browser-state" and answer["code"]
    (arrived,) = [r for r in webhook_receiver.wait_for(1) if r.path == "/smartrecruiters/oauth/callback"]
    assert arrived.query["code"] == answer["code"]
    tokens = sr.http.post(f"{sr.url}/identity/oauth/token", data={
        "grant_type": "authorization_code", "code": answer["code"], "redirect_uri": callback,
        "client_id": sr.config.own_app_client_id, "client_secret": sr.config.own_app_client_secret}, timeout=10)
    assert tokens.status_code == 200 and tokens.json()["scope"] == SCOPES


def test_deny_in_a_browser_lands_on_the_callback_with_access_denied(sr, webhook_receiver):
    callback = webhook_receiver.url + "smartrecruiters/oauth/callback"
    answer = _click_through(sr, callback, "deny", "s-deny")
    assert answer["error"] == "access_denied" and answer["state"] == "s-deny" and "code" not in answer
