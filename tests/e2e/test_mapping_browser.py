"""The stage-mapping wizard and "Use in ATS" in a real browser (Debian's Chromium through Playwright)
against the live Django server, with the ATS pipeline seeded in the mirror."""

from pathlib import Path

import pytest

from integrations.models import RemoteApplication, RemoteJob, RemoteStage, StageMapping, StageMappingVersion
from tenants.models import Role
from tests.factories import ConnectionFactory, MembershipFactory, PackageFactory, StageMappingFactory

CHROMIUM = Path("/usr/bin/chromium")
PASSWORD = "correct horse battery"

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (`make chromium`)"),
]


@pytest.fixture
def world(live_server, transactional_db):
    recruiter = MembershipFactory(role=Role.RECRUITER, tenant__name="Acme Corp")
    connection = ConnectionFactory(tenant=recruiter.tenant, name="Acme Teamtailor")
    for position, (stage_id, name) in enumerate([("s1", "Inbox"), ("s2", "Interview"), ("s3", "Offer")]):
        RemoteStage.objects.create(connection=connection, remote_id=stage_id, name=name, position=position)
    RemoteJob.objects.create(connection=connection, remote_id="j1", title="Backend engineer")
    RemoteJob.objects.create(connection=connection, remote_id="j2", title="Designer")
    for i, job in enumerate(["j1", "j1", "j2"]):
        RemoteApplication.objects.create(connection=connection, remote_id=f"a{i}", remote_job_id=job, remote_stage_id="s2")
    backend = PackageFactory(tenant=recruiter.tenant, name="Backend test")
    culture = PackageFactory(tenant=recruiter.tenant, name="Culture interview")
    # What the YAML set up before anyone used the wizard.
    StageMappingFactory(connection=connection, remote_stage_id="s1", package=culture, remote_stage_name="Inbox")
    outsider = MembershipFactory(role=Role.ADMIN, tenant__name="Other Inc")
    ConnectionFactory(tenant=outsider.tenant, name="Other connection")
    return {"url": live_server.url, "recruiter": recruiter.user.email, "outsider": outsider.user.email,
            "connection": connection.pk, "backend": backend.pk, "culture": culture.pk}


def _browser(p):
    return p.chromium.launch(
        executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
    )


def _signed_in_page(browser, base, email):
    page = browser.new_page()
    _login(page, base, email)
    return page


def _login(page, base, email):
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/app/**")


def test_recruiter_maps_overrides_saves_and_restores(world):
    from playwright.sync_api import expect, sync_playwright

    base = world["url"]
    # No database access inside this block (Playwright's event loop runs in this thread).
    with sync_playwright() as p:
        browser = _browser(p)
        try:
            page = _signed_in_page(browser, base, world["recruiter"])
            page.goto(f"{base}/app/connections/")
            expect(page.locator("body")).to_contain_text("Acme Teamtailor")
            page.get_by_role("link", name="Edit the stage mapping").click()
            expect(page.get_by_role("heading", level=1)).to_contain_text("Stage mapping: Acme Teamtailor")

            # 1. "Interview" -> Backend test, for all jobs (Inbox keeps the YAML's package).
            page.get_by_label("Packages for Interview").select_option(label="Backend test")
            page.get_by_role("button", name="Next: per-job overrides").click()

            # 2. Designer gets no interview in that stage.
            page.get_by_label("Search jobs").fill("Desig")
            page.get_by_role("button", name="Search").click()
            expect(page.locator("ul.jobs")).not_to_contain_text("Backend engineer")
            page.get_by_role("link", name="Designer").click()
            page.get_by_label("Override for Interview").select_option(label="No interview for this job")
            page.get_by_role("button", name="Apply overrides for this job").click()
            expect(page.locator("ul.jobs")).to_contain_text("(overridden)")
            page.get_by_role("button", name="Next: score rules").click()

            # 3. A pass rule on the all-jobs row.
            page.locator("fieldset", has_text="All jobs · Interview → Backend test").get_by_label(
                "Pass threshold (0-100)").fill("70")
            page.locator("fieldset", has_text="All jobs · Interview → Backend test").get_by_label(
                "Then move to").first.select_option(label="Offer")
            page.get_by_role("button", name="Next: review").click()

            # 4. Review: what triggers what, and who sits there now (2 on Backend engineer, 1 on Designer).
            review = page.locator("table.review")
            expect(review).to_contain_text("Backend test")
            expect(review.locator("tr", has_text="All jobs").filter(has_text="Backend test")).to_contain_text("score ≥ 70 → move to Offer")
            expect(review.locator("tr", has_text="All jobs").filter(has_text="Backend test").locator("td").last).to_have_text("2")
            expect(review.locator("tr", has_text="Designer")).to_contain_text("No interview")
            expect(review.locator("tr", has_text="Designer").locator("td").last).to_have_text("1")
            page.get_by_role("button", name="Save mapping").click()
            expect(page.locator(".messages")).to_contain_text("Saved as version 2")

            # Version history: the YAML's state is version 1; restore it.
            versions = page.locator("table.versions")
            expect(versions.locator("#version-2")).to_contain_text("2 added")
            expect(versions.locator("#version-1")).to_contain_text("mappings before the first versioned save")
            page.get_by_role("button", name="Restore version 1").click()
            expect(page.locator(".messages")).to_contain_text("Version 1 restored as version 3")
            expect(page.locator("table.review")).not_to_contain_text("Backend test")
        finally:
            browser.close()

    assert list(StageMapping.objects.values_list("remote_job_id", "remote_stage_id", "package_id")) == [
        ("", "s1", world["culture"])]
    assert list(StageMappingVersion.objects.order_by("number").values_list("number", flat=True)) == [1, 2, 3]
    saved = StageMappingVersion.objects.get(number=2).rows
    assert {(r["job"], r["stage"], r["package"], r["pass_threshold"], r["pass_stage"]) for r in saved} == {
        ("", "s1", world["culture"], None, ""), ("", "s2", world["backend"], 70, "s3"), ("j2", "s2", None, None, "")}


def test_use_in_ats_from_the_package_page(world):
    from playwright.sync_api import expect, sync_playwright

    base = world["url"]
    with sync_playwright() as p:
        browser = _browser(p)
        try:
            page = _signed_in_page(browser, base, world["recruiter"])
            page.goto(f"{base}/app/packages/")
            page.locator("tr", has_text="Backend test").get_by_role("link", name="Use in ATS").click()
            expect(page.get_by_role("heading", level=1)).to_contain_text("Use “Backend test” in the ATS")
            page.get_by_label("Backend engineer").check()
            page.get_by_role("button", name="Next: trigger stage").click()
            page.get_by_label("Trigger stage for Backend engineer").select_option(label="Interview")
            page.get_by_role("button", name="Apply").click()
            expect(page.locator(".messages")).to_contain_text("Backend test is now used in Acme Teamtailor")
            expect(page.locator("table.review tr", has_text="Backend engineer")).to_contain_text("Backend test")
        finally:
            browser.close()

    row = StageMapping.objects.get(package_id=world["backend"])
    assert (row.connection_id, row.remote_job_id, row.remote_stage_id, row.remote_sub_status) == (
        world["connection"], "j1", "s2", "")
    assert StageMappingVersion.objects.order_by("-number").first().note == "“Use in ATS” for Backend test"


def test_another_tenants_recruiter_gets_404_everywhere(world):
    from playwright.sync_api import sync_playwright

    base, connection = world["url"], world["connection"]
    version = StageMappingVersion.objects.create(connection_id=connection, number=1, rows=[])
    wizard = f"{base}/app/connections/{connection}/mapping"
    urls = [
        wizard, f"{wizard}?step=stages&sub=1", f"{wizard}?step=jobs", f"{wizard}?step=jobs&job=j1",
        f"{wizard}?step=rules", f"{wizard}?step=review", f"{wizard}/refresh",
        f"{wizard}/versions/{version.pk}/restore", f"{base}/app/connections/use-package/{world['backend']}",
        f"{base}/app/connections/use-package/{world['backend']}?connection={connection}",
    ]
    with sync_playwright() as p:
        browser = _browser(p)
        try:
            context = browser.new_context()
            page = context.new_page()
            _login(page, base, world["outsider"])
            listing = page.goto(f"{base}/app/connections/")
            assert listing.status == 200 and "Acme Teamtailor" not in page.content()
            got = {url: page.goto(url).status for url in urls}
            csrf = next(c["value"] for c in context.cookies() if c["name"] == "csrftoken")
            posted = {
                url: context.request.post(url, headers={"X-CSRFToken": csrf, "Referer": base + "/"},
                                          form={"step": "review", "action": "save"}).status
                for url in [wizard, f"{wizard}/refresh", f"{wizard}/versions/{version.pk}/restore",
                            f"{base}/app/connections/use-package/{world['backend']}"]
            }
        finally:
            browser.close()
    assert got == {url: 404 for url in urls}
    assert posted == {url: 404 for url in posted}
    assert StageMapping.objects.count() == 1 and StageMappingVersion.objects.count() == 1
