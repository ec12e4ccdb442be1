"""A German-language order in a real browser: the candidate page speaks German, shows the tenant's
logo and colour, and the candidate can switch language."""

import re
from pathlib import Path

import pytest
from django.core import mail

from assessments.services import CandidateSnapshot, assessment_order
from tenants.branding import branding_update
from tests.factories import PackageFactory, QuestionFactory

CHROMIUM = Path("/usr/bin/chromium")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (`make chromium`)"),
]


@pytest.fixture
def german_link(live_server, settings, transactional_db):
    settings.SITE_URL = live_server.url
    package = PackageFactory(tenant__name="Acme", tenant__slug="acme", name="Backend-Interview")
    QuestionFactory(package=package)
    branding_update(tenant=package.tenant, values={"primary_colour": "#aa0033", "default_language": "en",
                                                   "welcome_text": "Willkommen bei {company}!"}, logo=PNG)
    mail.outbox.clear()
    assessment_order(tenant=package.tenant, package=package, mode="order", actor="e2e", language="de-DE",
                     time_zone="Europe/Berlin",
                     candidate=CandidateSnapshot(first_name="Greta", email="greta@example.com"))
    message = mail.outbox[-1]
    assert message.body.startswith("Hallo Greta,")
    return re.search(re.escape(live_server.url) + r"/i/[A-Za-z0-9_-]+/", message.body).group(0)


def test_german_candidate_page_with_the_tenants_branding(german_link):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM),
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            page = browser.new_page()
            page.goto(german_link)
            expect(page.get_by_role("heading", level=1)).to_have_text("Hallo Greta, Acme lädt Sie zu einem Interview ein")
            expect(page.locator("[data-branded=welcome]")).to_have_text("Willkommen bei Acme!")
            expect(page.get_by_role("heading", name="Datenschutzhinweis")).to_be_visible()
            expect(page.locator("[data-deadline]")).to_contain_text("CET")
            expect(page.locator("img.brand-logo")).to_have_attribute("alt", "Acme")
            button = page.get_by_role("button", name="Interview starten")
            assert button.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(170, 0, 51)"
            button.click()
            expect(page.get_by_role("alert")).to_contain_text("Bitte bestätigen Sie Ihr Einverständnis")
            page.get_by_role("link", name="Svenska").click()
            expect(page.get_by_role("heading", level=1)).to_have_text("Hej Greta, Acme bjuder in dig till en intervju")
        finally:
            browser.close()
