"""Content-Security-Policy in a real browser (issue 7 #10): the admin, allauth's sign-in, the
Swagger UI page and a candidate's page work under the policy, with no CSP violation reported."""

from pathlib import Path

import pytest

from assessments.models import Status
from assessments.tokens import token_new
from tests.factories import AssessmentFactory, QuestionFactory, UserFactory

CHROMIUM = Path("/usr/bin/chromium")
PASSWORD = "correct horse battery"

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (`make chromium`)"),
]


@pytest.fixture
def site(live_server, transactional_db):
    UserFactory(email="ops@vendor.test", username="ops@vendor.test", is_staff=True, is_superuser=True)
    token, digest = token_new()
    assessment = AssessmentFactory(status=Status.INVITED, token_hash=digest)
    QuestionFactory(package=assessment.package, position=1, text="Tell us about a project.")
    return live_server.url, f"/i/{token}/"


def test_admin_signin_swagger_and_candidate_pages_run_under_the_policy(site):
    from playwright.sync_api import expect, sync_playwright

    base, candidate_path = site
    violations: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        )
        try:
            page = browser.new_page()
            page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
            seen_headers: dict[str, str] = {}
            page.on("response", lambda r: seen_headers.setdefault(r.url, r.headers.get("content-security-policy", "")))

            # allauth's sign-in, reached through the admin.
            page.goto(base + "/admin/")
            expect(page).to_have_url(__import__("re").compile(r"/accounts/login/"))
            page.get_by_label("E-mail").fill("ops@vendor.test")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            expect(page.locator("#site-name")).to_be_visible()

            # The admin's scripts (the add form's widgets, the sidebar filter) run.
            page.goto(base + "/admin/assessments/tenantapikey/add/")
            expect(page.locator("#tenantapikey_form")).to_be_visible()
            page.goto(base + "/admin/assessments/assessment/")
            expect(page.locator("#changelist")).to_be_visible()

            # Swagger UI renders the schema: its script ran and fetched /api/schema/.
            page.goto(base + "/api/docs/")
            expect(page.locator(".swagger-ui .opblock").first).to_be_visible(timeout=15_000)
            expect(page.locator(".swagger-ui")).to_contain_text("/api/v1/packages/list")

            # A candidate's page, under the strict policy.
            page.goto(base + candidate_path)
            expect(page.get_by_role("heading", level=1)).to_be_visible()
        finally:
            browser.close()
    assert violations == []
    assert "default-src 'none'" in seen_headers[base + candidate_path]
    assert "script-src 'self'" in seen_headers[base + "/api/docs/"]
