"""A candidate takes an interview in a real browser (Debian's Chromium through Playwright) against
the live Django server: invitation link -> landing -> consent -> answers -> thank-you."""

import re
from pathlib import Path

import pytest
from django.core import mail

from assessments.models import Assessment, Status
from assessments.services import CandidateSnapshot, assessment_order
from tests.factories import PackageFactory, QuestionFactory

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (`make chromium`)"),
]


@pytest.fixture
def invitation_link(live_server, settings, transactional_db):
    settings.SITE_URL = live_server.url
    package = PackageFactory(tenant__name="Acme Corp", name="Backend interview", duration_minutes=15)
    QuestionFactory(package=package, position=1, text="Tell us about a project you are proud of.",
                    rubric=["names the goal", "explains own contribution", "describes the outcome"])
    QuestionFactory(package=package, position=2, text="Why do you want to join Acme?",
                    rubric=["mentions the product"])
    mail.outbox.clear()
    assessment, _ = assessment_order(
        tenant=package.tenant, package=package, mode="order", actor="e2e",
        candidate=CandidateSnapshot(first_name="Grace", last_name="Hopper", email="grace@example.com"),
    )
    # transactional_db: the invitation was sent on commit, eagerly.
    link = re.search(re.escape(live_server.url) + r"/i/[A-Za-z0-9_-]+/", mail.outbox[-1].body).group(0)
    return assessment.pk, link


def test_candidate_takes_the_interview(invitation_link):
    from playwright.sync_api import expect, sync_playwright

    assessment_id, link = invitation_link
    # No database access inside this block: Playwright's sync API runs an event loop in this
    # thread, and the live server answers from its own thread.
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        )
        try:
            page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
            page.goto(link)
            expect(page.get_by_role("heading", level=1)).to_contain_text("Acme Corp invites you")
            expect(page.locator("body")).to_contain_text("Backend interview")
            expect(page.locator("body")).to_contain_text("Privacy notice")

            # Consent is required (checked by the server; the form has no client-side validation).
            page.get_by_role("button", name="Start the interview").click()
            expect(page.get_by_role("alert")).to_contain_text("Please confirm")
            page.get_by_label(re.compile("privacy notice")).check()
            page.get_by_role("button", name="Start the interview").click()

            expect(page).to_have_url(re.compile(r"/questions/$"))
            expect(page.locator("body")).to_contain_text("Question 1 of 2")
            page.get_by_label("Tell us about a project you are proud of.").fill(
                "The goal was a faster checkout. My contribution was the payment service. The outcome: fewer drop-outs."
            )
            page.get_by_label("Why do you want to join Acme?").fill("I use the product every day.")
            page.get_by_role("button", name="Submit answers").click()

            expect(page).to_have_url(re.compile(r"/done/$"))
            expect(page.get_by_role("heading", level=1)).to_have_text("Thank you!")

            page.goto(link)
            expect(page.locator("body")).to_contain_text("already completed")
        finally:
            browser.close()

    assessment = Assessment.objects.get(pk=assessment_id)
    assert assessment.status == Status.COMPLETED
    assert assessment.score_value == 100
    assert assessment.transcript[1]["answer"] == "I use the product every day."
