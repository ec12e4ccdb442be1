"""The recruiter's dashboard and branding editor in a real browser (Debian's Chromium): the
numbers are read from the SVG and its tables, filters change them, another tenant sees none;
a branding change shows in the preview and in the next invitation."""

import re
from pathlib import Path

import pytest
from django.core import mail

from assessments.services import CandidateSnapshot, assessment_order
from tenants.models import Role
from tests.assessments.dashboard_data import seed_dashboard_tenant
from tests.factories import MembershipFactory, QuestionFactory, TenantFactory, UserFactory

CHROMIUM = Path("/usr/bin/chromium")
PASSWORD = "correct horse battery"

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (`make chromium`)"),
]


def _browser(p):
    return p.chromium.launch(executable_path=str(CHROMIUM),
                             args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])


def _login(page, base, email):
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/app/")


def _bars(page, chart):
    return {bar.get_attribute("data-label"): int(bar.get_attribute("data-value"))
            for bar in page.locator(f'svg[data-chart="{chart}"] rect.bar').all()}


@pytest.fixture
def seeded(live_server, transactional_db):
    tenant = TenantFactory(name="Acme", slug="acme")
    backend, sales = seed_dashboard_tenant(tenant)
    recruiter = UserFactory(email="rec@acme.test", username="rec@acme.test")
    MembershipFactory(user=recruiter, tenant=tenant)
    outsider = UserFactory(email="out@globex.test", username="out@globex.test")
    MembershipFactory(user=outsider, tenant=TenantFactory(name="Globex", slug="globex"))
    return live_server.url, backend.pk, sales.pk


def test_dashboard_charts_show_the_counted_numbers_and_filters_change_them(seeded):
    from playwright.sync_api import expect, sync_playwright

    base, backend_id, sales_id = seeded
    with sync_playwright() as p:
        browser = _browser(p)
        try:
            page = browser.new_page()
            _login(page, base, "rec@acme.test")
            expect(page.get_by_role("heading", level=1)).to_have_text("Acme")
            assert _bars(page, "funnel") == {"Ordered": 11, "Invited": 10, "Started": 7, "Completed": 5,
                                             "Expired": 1, "Failed": 1, "Cancelled": 1}
            expect(page.locator('[data-kpi="completion-rate"]')).to_have_text("50.0 %")
            expect(page.locator('[data-kpi="median-completion"]')).to_have_text("30 min")
            scores = [int(b.get_attribute("data-value"))
                      for b in page.locator(f'svg[data-chart="scores-{backend_id}"] rect.bar').all()]
            assert scores == [0, 1, 0, 0, 0, 0, 1, 1, 0, 1]
            assert page.locator(f'svg[data-chart="scores-{backend_id}"] line.threshold').get_attribute(
                "data-threshold").startswith("60")
            assert sum(_bars(page, "per-day").values()) == 9 + 1  # the expired one was invited 10 days ago
            assert _bars(page, "by-source") == {"Teamtailor": 9, "SmartRecruiters": 2}
            assert _bars(page, "by-job") == {"Backend engineer": 9, "Account executive": 2}
            # the table behind the funnel says the same
            expect(page.locator('[data-table="funnel"] td[data-key="completed"]')).to_have_text("5")

            page.select_option("select[name=package]", str(sales_id))
            page.get_by_role("button", name="Apply").click()
            page.wait_for_url(re.compile(rf".*package={sales_id}.*"))
            assert _bars(page, "funnel")["Ordered"] == 2 and _bars(page, "funnel")["Completed"] == 1
            assert _bars(page, "by-source") == {"SmartRecruiters": 2}
            expect(page.locator('[data-kpi="median-completion"]')).to_have_text("50 min")

            page.select_option("select[name=package]", "")
            page.select_option("select[name=period]", "7")
            page.get_by_role("button", name="Apply").click()
            page.wait_for_url(re.compile(r".*period=7.*"))
            assert _bars(page, "funnel")["Ordered"] == 10 and _bars(page, "funnel")["Expired"] == 0
            page.reload()  # the filters live in the URL
            assert page.locator("select[name=period]").input_value() == "7"
        finally:
            browser.close()


def test_another_tenants_recruiter_sees_none_of_it(seeded):
    from playwright.sync_api import expect, sync_playwright

    base, backend_id, _ = seeded
    with sync_playwright() as p:
        browser = _browser(p)
        try:
            page = browser.new_page()
            _login(page, base, "out@globex.test")
            expect(page.get_by_role("heading", level=1)).to_have_text("Globex")
            assert set(_bars(page, "funnel").values()) == {0}
            assert page.locator(f'svg[data-chart="scores-{backend_id}"]').count() == 0
            html = page.content()
            assert "Backend engineer" not in html and "SmartRecruiters" not in html and "Acme" not in html
            response = page.goto(f"{base}/app/?tenant=acme")
            assert response.status == 404
        finally:
            browser.close()


@pytest.fixture
def branding_admin(live_server, transactional_db, settings):
    settings.SITE_URL = live_server.url
    tenant = TenantFactory(name="Acme", slug="acme")
    admin = UserFactory(email="admin@acme.test", username="admin@acme.test")
    MembershipFactory(user=admin, tenant=tenant, role=Role.ADMIN)
    package = QuestionFactory(package__tenant=tenant, package__name="Backend interview").package
    return live_server.url, tenant, package


def test_branding_change_shows_in_the_preview_and_the_next_invitation(branding_admin):
    from playwright.sync_api import expect, sync_playwright

    base, tenant, package = branding_admin
    with sync_playwright() as p:
        browser = _browser(p)
        try:
            page = browser.new_page()
            _login(page, base, "admin@acme.test")
            page.goto(f"{base}/app/branding/")
            # live: typing updates the preview without a click (static/js/branding-preview.js)
            page.fill("textarea[name=welcome_text]", "Welcome to {company}, {candidate_first_name}!")
            expect(page.locator('[data-preview="welcome"]')).to_have_text("Welcome to Acme, Alex!")
            page.fill("textarea[name=welcome_text]", "Hi {nope}")
            expect(page.locator("[data-preview-errors]")).to_contain_text("Unknown placeholder {nope}")
            page.fill("textarea[name=welcome_text]", "")
            expect(page.locator("[data-preview-errors]")).to_have_count(0)
            page.fill("input[name=primary_colour]", "#aa0033")
            page.fill("input[name=email_subject]", "{company} wants to meet you, {candidate_first_name}")
            page.fill("textarea[name=email_body]", "Dear {candidate_first_name}, <script>alert(1)</script> go: {link}")
            page.get_by_role("button", name="Preview").click()
            expect(page.locator('[data-preview="subject"]')).to_have_text("Acme wants to meet you, Alex")
            expect(page.locator('[data-preview="body"]')).to_contain_text("Dear Alex, <script>alert(1)</script> go:")
            expect(page.locator('[data-preview="colour"]')).to_have_text("#aa0033")
            # the preview's colour is applied through the theme stylesheet (no inline styles); the
            # stylesheet loads after the preview's text, so its colour is awaited, not read once
            expect(page.locator(".brand-preview h3").first).to_have_css("color", "rgb(170, 0, 51)")
            assert page.locator(".brand-preview h3").first.get_attribute("style") is None

            page.fill("textarea[name=sms_text]", "{nope}")
            page.get_by_role("button", name="Save").click()
            expect(page.locator('[data-error-for="sms_text"]')).to_contain_text("Unknown placeholder {nope}")
            page.fill("textarea[name=sms_text]", "")
            page.get_by_role("button", name="Save").click()
            expect(page.get_by_text("Branding saved")).to_be_visible()
            expect(page.locator('[data-table="versions"] tbody tr')).to_have_count(1)
        finally:
            browser.close()

    mail.outbox.clear()
    assessment_order(tenant=tenant, package=package, mode="order", actor="e2e",
                     candidate=CandidateSnapshot(first_name="Grace", email="grace@example.com"))
    message = mail.outbox[-1]  # transactional_db: sent on commit, eagerly
    assert message.subject == "Acme wants to meet you, Grace"
    assert message.body.startswith("Dear Grace, <script>alert(1)</script> go: http")  # plain text: inert
    html = message.alternatives[0][0]
    assert "&lt;script&gt;" in html and "<script>" not in html and "#aa0033" in html
