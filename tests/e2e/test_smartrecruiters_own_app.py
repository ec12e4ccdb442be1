"""SmartRecruiters through a customer's own app (authorization code), end to end: the SmartRecruiters
sandbox as a real HTTP server (its authorize page, token grants, notes, attachments, candidate
properties), Stagehook on ``live_server``, a real Celery worker on Redis and Debian's Chromium
through Playwright.

A tenant admin connects from /app/connections/ in a pop-up (the sandbox's consent page, Allow, the
pop-up closes itself and the opener shows the connection) and as a full-page redirect; the first
sync brings the pipeline; the admin maps a status in the wizard and picks the score property; a
candidate moved into that status in the sandbox (its signed webhook reaches us) is invited, takes
the interview, and the note, the PDF on the application and the score property arrive in the
sandbox once each, though the sandbox fails the first tries of each."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from assessments.models import Assessment
from integrations.models import Connection, ConnectionStatus, Delivery, StageMapping, SyncRun
from integrations.smartrecruiters import writeback
from integrations.smartrecruiters.auth import is_own_app
from integrations.smartrecruiters.constants import PROVIDER_NAME
from integrations.smartrecruiters.sandbox.state import BACKEND_JOB_ID
from tenants.models import Role
from tests.factories import MembershipFactory, PackageFactory, QuestionFactory, TenantFactory, UserFactory
from tests.sandbox_fixtures import serve_sandbox

from .conftest import read_mailbox, wait_for
from .test_teamtailor_e2e import _take_interview

CHROMIUM = Path("/usr/bin/chromium")
PASSWORD = "correct horse battery"
GRACE_ID = "1d2e3f4a-5b6c-4d7e-8f90-a1b2c3d4e5f6"  # the sandbox's seeded Grace Hopper (Backend Engineer)
STATUS, SUB_STATUS = "INTERVIEW", "AI interview"

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (`make chromium`)"),
]


# --- the world --------------------------------------------------------------------------------
@pytest.fixture
def sandbox(live_server, settings, monkeypatch):
    """The sandbox is both SmartRecruiters hosts (authorize/token and API). The worker process
    reads its settings from the environment: set before ``celery_worker`` starts."""
    with serve_sandbox("smartrecruiters", stagehook_url=f"{live_server.url}/smartrecruiters/") as handle:
        values = {
            "SMARTRECRUITERS_API_BASE": handle.url,
            "SMARTRECRUITERS_AUTHORIZE_BASE": handle.url,
            "SMARTRECRUITERS_CLIENT_ID": handle.config.master_client_id,
            "SMARTRECRUITERS_CLIENT_SECRET": handle.config.master_client_secret,
            "SMARTRECRUITERS_OWN_APP_CLIENT_ID": handle.config.own_app_client_id,
            "SMARTRECRUITERS_OWN_APP_CLIENT_SECRET": handle.config.own_app_client_secret,
        }
        for name, value in values.items():
            setattr(settings, name, value)
            monkeypatch.setenv(name, value)
        yield handle


@pytest.fixture
def world(sandbox, celery_worker, live_server, transactional_db):
    tenant = TenantFactory(name="Acme Robotics")
    admin = UserFactory(password=PASSWORD)
    MembershipFactory(user=admin, tenant=tenant, role=Role.ADMIN)
    package = PackageFactory(tenant=tenant, name="Support screening")
    QuestionFactory(package=package, position=1, text="Tell us about a project you are proud of.",
                    rubric=["names the goal", "explains own contribution", "describes the outcome"])
    QuestionFactory(package=package, position=2, text="Why do you want to join Acme?", rubric=["mentions the product"])
    return {"base": live_server.url, "admin": admin.email, "tenant": tenant, "package": package}


def _browser(p):
    return p.chromium.launch(
        executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
    )


def _login(page, base: str, email: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/app/**")


def _own_app_connection() -> Connection:
    connection = Connection.objects.get(provider=PROVIDER_NAME)
    assert is_own_app(connection)
    return connection


# --- connecting ------------------------------------------------------------------------------
SCOPES_ASKED = ("candidates_read", "candidates_manage", "jobs_read", "webhooks_manage", "users_read")


def _connect_form(page, base: str) -> None:
    """/app/connections/ -> "Connect SmartRecruiters (own app)": the app's form, the vendor's
    default app set up (client id and secret left empty)."""
    from playwright.sync_api import expect

    page.goto(f"{base}/app/connections/")
    page.get_by_role("link", name="Connect SmartRecruiters (own app)").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Connect SmartRecruiters")
    expect(page.locator("#own-app-redirect-uri")).to_have_text(f"{base}/smartrecruiters/oauth/callback")


def _consent_page(page, sandbox):
    """The sandbox's consent page (SmartRecruiters' identity/oauth/allow): company and scopes shown;
    its Allow button."""
    from playwright.sync_api import expect

    page.wait_for_url(f"{sandbox.url}/identity/oauth/allow**")
    body = page.locator("body")
    expect(body).to_contain_text(sandbox.config.company_name)
    for scope in SCOPES_ASKED:
        expect(body).to_contain_text(scope)
    return page.locator("#allow")


def _connect_full_page(page, base: str, sandbox) -> None:
    from playwright.sync_api import expect

    _connect_form(page, base)
    page.get_by_role("button", name="Connect in SmartRecruiters").click()
    _consent_page(page, sandbox).click()
    page.wait_for_url(f"{base}/smartrecruiters/oauth/callback**")
    expect(page.locator("#own-app-done")).to_have_text("SmartRecruiters is connected")
    for scope in SCOPES_ASKED:
        expect(page.locator("#own-app-granted")).to_contain_text(scope)  # the scopes granted, shown


def _assert_connected(sandbox, base: str) -> Connection:
    connection = Connection.objects.get(provider=PROVIDER_NAME)
    assert is_own_app(connection)
    assert connection.status == ConnectionStatus.ACTIVE, connection.status_reason
    assert connection.remote_account_id == sandbox.config.company_id
    assert set(connection.credentials["scopes"].split()) == set(SCOPES_ASKED)
    # One webhook subscription, activated, pointing at us.
    [subscription] = [s for s in sandbox.subscriptions() if s["status"] == "active"]
    assert subscription["callbackUrl"].startswith(f"{base}/smartrecruiters/webhooks")
    return connection


def test_connect_in_a_popup_the_popup_closes_and_the_opener_refreshes(sandbox, world):
    from playwright.sync_api import expect, sync_playwright

    base = world["base"]
    with sync_playwright() as p:
        browser = _browser(p)
        try:
            opener = browser.new_page()
            _login(opener, base, world["admin"])
            _connect_form(opener, base)
            with opener.expect_popup() as info:
                opener.get_by_role("button", name="Connect in a pop-up").click()
            popup = info.value
            allow = _consent_page(popup, sandbox)
            # The callback page tells the opener and closes itself; the opener goes to the
            # connections page, which shows the new connection.
            with popup.expect_event("close", timeout=30_000):
                allow.click()
            opener.wait_for_url(f"{base}/app/connections/", timeout=30_000)
            card = opener.locator("section.connection", has_text=sandbox.config.company_id)
            expect(card.locator(".status")).to_contain_text("Active")
            expect(card.locator(".own-app-panel")).to_contain_text("trigger mode")
        finally:
            browser.close()
    _assert_connected(sandbox, base)


def test_connect_as_a_full_page_redirect(sandbox, world):
    from playwright.sync_api import sync_playwright

    base = world["base"]
    with sync_playwright() as p:
        browser = _browser(p)
        try:
            page = browser.new_page()
            _login(page, base, world["admin"])
            _connect_full_page(page, base, sandbox)
        finally:
            browser.close()
    _assert_connected(sandbox, base)


# --- the whole trigger mode ------------------------------------------------------------------
WRITE_PATHS = {
    "note": (r"/messages/shares$", "POST"),
    "pdf": (r"/attachments$", "POST"),
    "property": (r"/properties/[^/]+$", "PUT"),
}


def _fail_next(sandbox, step: str) -> None:
    """The sandbox answers 503 to the next call of this write-back step (and only that call)."""
    path, method = WRITE_PATHS[step]
    faults = sandbox.faults(clear=True, status=503, count=1, path=path, method=method)
    assert faults["active"], faults


def _sandbox_list(sandbox, what: str, candidate_id: str) -> list[dict]:
    """What the sandbox holds of ``what`` (notes, application-attachments, properties) for a candidate."""
    body = sandbox._control_json("GET", f"{what}?candidate_id={candidate_id}")
    return body[what.split("-")[-1]]


def _fault_taken(sandbox) -> bool:
    return not sandbox.stats()["faults"]["active"]


def test_status_move_invite_complete_note_pdf_and_score_property_once_each(sandbox, world, mailbox):
    from playwright.sync_api import expect, sync_playwright

    base, package = world["base"], world["package"]
    with sync_playwright() as p:
        browser = _browser(p)
        try:
            page = browser.new_page()
            _login(page, base, world["admin"])
            _connect_full_page(page, base, sandbox)
        finally:
            browser.close()
    connection = _assert_connected(sandbox, base)
    # Connecting started the first full sync: the wizard has the pipeline once it is done.
    run = wait_for(lambda: SyncRun.objects.filter(connection=connection).exclude(status__in=["queued", "running"]).first(),
                   timeout=120, what="the first sync")
    assert run.status == "succeeded", run.error

    with sync_playwright() as p:
        browser = _browser(p)
        try:
            page = browser.new_page()
            _login(page, base, world["admin"])
            # Map the sub-status INTERVIEW › AI interview to the package, for all jobs.
            page.goto(f"{base}/app/connections/")
            card = page.locator("section.connection", has_text=sandbox.config.company_id)
            card.get_by_role("link", name="Edit the stage mapping").click()
            page.get_by_role("link", name="Show sub-stages").click()
            page.get_by_label("Packages for Interview › Interview: AI interview", exact=True).select_option(
                label=package.name)
            page.get_by_role("button", name="Next: per-job overrides").click()
            page.get_by_role("button", name="Next: score rules").click()
            page.get_by_role("button", name="Next: review").click()
            expect(page.locator("table.review")).to_contain_text(package.name)
            page.get_by_role("button", name="Save mapping").click()
            expect(page.locator(".messages")).to_contain_text("Saved as version")

            # The score goes into the "Interview score" candidate property.
            page.goto(f"{base}/app/connections/")
            card.get_by_role("link", name="Connection settings").click()
            page.get_by_label("Candidate property for the score").select_option(label="Interview score (number)")
            page.get_by_role("button", name="Save").click()
            expect(page.locator(".messages")).to_contain_text("Interview score")
        finally:
            browser.close()
    [mapping] = StageMapping.objects.filter(connection=connection)
    assert (mapping.remote_job_id, mapping.remote_stage_id, mapping.remote_sub_status, mapping.package_id) == (
        "", STATUS, SUB_STATUS, package.pk)

    # Meanwhile every access token expired: the worker renews ours (refresh grant) on the first 401.
    first_access = Connection.objects.get(pk=connection.pk).credentials["access_token"]
    assert sandbox._control_json("POST", "tokens", {"expire_all": True})

    # A recruiter moves Grace Hopper into the mapped status in SmartRecruiters: the signed webhook
    # reaches us, the application is read back, she is invited.
    moved = sandbox.move(GRACE_ID, BACKEND_JOB_ID, STATUS, SUB_STATUS)
    assert [d["answers"][-1] for d in moved["deliveries"]] == [202], moved
    mails = wait_for(lambda: read_mailbox(mailbox), timeout=60, what="the invitation e-mail")
    assert "grace.hopper@example.com" in mails[0]
    link = re.search(re.escape(base) + r"/i/[A-Za-z0-9_-]+/", mails[0]).group(0)

    # The sandbox fails the first try of each write-back step: the note, then (on the retry) the
    # PDF, then (on the next) the property. Each failure is set only after the previous one was
    # served, and each retry is at least 5 s after its failure (the outbox's shortest backoff).
    _fail_next(sandbox, "note")
    _take_interview(link)
    assessment = wait_for(lambda: Assessment.objects.filter(remote_candidate_id=GRACE_ID, status="completed").first(),
                          timeout=30, what="the completed interview")
    for step in ("pdf", "property"):
        wait_for(lambda: _fault_taken(sandbox), timeout=180, interval=0.1, what=f"the failure before the {step}")
        _fail_next(sandbox, step)
    delivery = wait_for(lambda: Delivery.objects.filter(assessment=assessment, status="sent").first(),
                        timeout=240, interval=1, what="the write-back sent")
    assert _fault_taken(sandbox)
    assert delivery.attempts == 4, delivery.attempts
    assert list(delivery.attempt_rows.order_by("id").values_list("status_code", flat=True)) == [503, 503, 503, 201]

    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.ACTIVE, connection.status_reason
    assert connection.credentials["access_token"] != first_access  # renewed by the worker

    # In SmartRecruiters: one note, one PDF on the application, the score in the property.
    score = round(assessment.score_value)
    assert score > 0  # the answers cover rubric points: a real score, not a default 0
    [note] = _sandbox_list(sandbox, "notes", GRACE_ID)
    assert note["content"].startswith(f"#[CANDIDATE:{GRACE_ID}]"), note
    assert f"Score: {score}/100" in note["content"] and f"{base}/r/" in note["content"]
    assert note["shareWith"] == {"hiringTeamOf": [BACKEND_JOB_ID]}
    reference = writeback.note_reference(delivery)
    assert note["correlationId"] == reference and note["content"].endswith(f"\nStagehook reference: {reference}")
    [pdf] = _sandbox_list(sandbox, "application-attachments", GRACE_ID)
    assert (pdf["type"], pdf["is_pdf"], pdf["job_id"]) == ("GENERIC_FILE", True, BACKEND_JOB_ID), pdf
    assert pdf["size"] > 1000
    [value] = _sandbox_list(sandbox, "properties", GRACE_ID)
    assert (value["property_id"], value["value"], value["job_id"]) == ("stagehook-score", score, BACKEND_JOB_ID), value
    # Each step was called twice: its failed first try and the one that went through.
    routes = sandbox.stats()["requests_by_route"]
    for step, (path, method) in WRITE_PATHS.items():
        rule = re.compile(f"^{method} .*" + path.replace("[^/]+", "<[^>]+>"))
        calls = sum(n for route, n in routes.items() if rule.search(route))
        assert calls == 2, (step, routes)
    # The note's 503 might have come after storing: its retry looked among Grace's messages first.
    assert routes["GET /messages"] == 1, routes
