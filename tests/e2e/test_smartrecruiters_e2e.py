"""SmartRecruiters end to end: the SmartRecruiters sandbox (integrations/smartrecruiters/sandbox) as a
real HTTP server, Stagehook on ``live_server`` and a real Celery worker on Redis.

Consent (``smartrecruiters_configure``, then the sandbox signs in on our consent page and approves)
-> an active connection with one activated subscription; an order -> invitation -> the candidate
answers -> the sandbox holds the COMPLETED result with integer scores, per-question results and the
PDF; an inline order -> URL -> completion -> result; the same order five times -> one assessment;
the sandbox answering 503 for a while -> the results arrive after; a signed status webhook from the
sandbox is verified over its raw ``link`` header and read through that link; a burst of 300
write-backs never draws a 429."""

import re

import pytest
from django.core.management import call_command

from assessments import services as assessment_services
from assessments.models import Assessment
from integrations.models import Connection, ConnectionStatus, Delivery, StageMapping, SyncRun, SyncStatus, WebhookEvent
from integrations.smartrecruiters.constants import PROVIDER_NAME, SUBSCRIPTION_REF
from integrations.smartrecruiters.sandbox.state import ADA_ID, BACKEND_JOB_ID, SUPPORT_JOB_ID
from tests.factories import AssessmentFactory, MembershipFactory, PackageFactory, QuestionFactory, TenantFactory, UserFactory
from tests.sandbox_fixtures import serve_sandbox
from tenants.models import Role

from .conftest import read_mailbox, wait_for
from .test_teamtailor_e2e import _take_interview

pytestmark = pytest.mark.e2e
PASSWORD = "correct horse battery"
GRACE_ID = "1d2e3f4a-5b6c-4d7e-8f90-a1b2c3d4e5f6"  # the sandbox's seeded Grace Hopper (Backend Engineer)


@pytest.fixture
def sandbox(live_server, settings):
    with serve_sandbox("smartrecruiters", stagehook_url=f"{live_server.url}/smartrecruiters/") as handle:
        settings.SMARTRECRUITERS_API_BASE = handle.url
        settings.SMARTRECRUITERS_CLIENT_ID = handle.config.master_client_id
        settings.SMARTRECRUITERS_CLIENT_SECRET = handle.config.master_client_secret
        yield handle


@pytest.fixture
def package(transactional_db):
    package = PackageFactory(tenant=TenantFactory(name="Acme Corp"), name="Support interview")
    QuestionFactory(package=package, position=1, text="How do you calm an unhappy customer?",
                    rubric=["listens", "apologises", "solves the problem"])
    QuestionFactory(package=package, position=2, text="Why Acme?", rubric=["mentions the product"])
    return package


@pytest.fixture
def connection(sandbox, package, celery_worker, live_server):
    """Installed as a customer's admin does it: Stagehook's partner configuration PUT, then the
    sandbox opens our consent page, signs in, approves and follows the redirect back."""
    user = UserFactory(password=PASSWORD)
    MembershipFactory(user=user, tenant=package.tenant, role=Role.ADMIN)
    call_command("smartrecruiters_configure")
    consent = sandbox.consent(login={"login": user.email, "password": PASSWORD}, form={"tenant": str(package.tenant.pk)})
    assert consent["integrated"] is True and consent["returned"] is True, consent
    connection = Connection.objects.get(provider=PROVIDER_NAME, remote_account_id=sandbox.config.company_id)
    assert connection.status == ConnectionStatus.ACTIVE and connection.api_base_url == sandbox.url
    [subscription] = sandbox.subscriptions()
    assert subscription["status"] == "active", subscription
    assert subscription["id"] == connection.subscription_ids[SUBSCRIPTION_REF]["id"]
    assert subscription["callbackUrl"].startswith(f"{live_server.url}/smartrecruiters/webhooks?companyId=")
    # Activation queued the first full sync, and the worker runs it now: a test's stage move must
    # not race it (a sync that mirrors the move first leaves the webhook nothing new to do).
    run = wait_for(lambda: SyncRun.objects.filter(connection=connection)
                   .exclude(status__in=[SyncStatus.QUEUED, SyncStatus.RUNNING]).first(),
                   timeout=60, what="the first sync after activation")
    assert run.status == SyncStatus.SUCCEEDED, run.error
    return connection


def _statuses(order: dict) -> list[str]:
    return [entry["status_after"] for entry in order["history"] if entry["accepted"]]


def _order(sandbox, order_id: str) -> dict:
    return next(o for o in sandbox.orders() if o["orderId"] == order_id)


def test_order_invite_complete_result_with_score_and_pdf(sandbox, connection, package, mailbox, live_server):
    ordered = sandbox.order(ADA_ID, SUPPORT_JOB_ID, package=str(package.pk))["order"]
    assert ordered["state"] == "accepted", ordered
    order_id = ordered["orderId"]
    mails = wait_for(lambda: read_mailbox(mailbox), timeout=60, what="the invitation e-mail")
    assert "ada.lovelace@example.com" in mails[0]
    link = re.search(re.escape(live_server.url) + r"/i/[A-Za-z0-9_-]+/", mails[0]).group(0)
    sandbox.wait_for_result("PENDING", order_id=order_id, timeout=60)

    _take_interview(link)

    done = sandbox.wait_for_result("COMPLETED", order_id=order_id, timeout=60)
    assessment = Assessment.objects.get(remote_order_id=order_id)
    result = done["result"]
    assert result["score"] == {"raw": round(assessment.score_value), "min": 0, "max": 100}
    assert isinstance(result["score"]["raw"], int)
    assert len(result["assessmentResults"]) == 2
    assert all(isinstance(r["score"]["raw"], int) for r in result["assessmentResults"])
    assert result["attachments"][0]["url"].startswith(f"{live_server.url}/r/")
    order = wait_for(lambda: (o := _order(sandbox, order_id))["attachments"] and o, timeout=60, what="the PDF")
    [pdf] = order["attachments"]
    assert pdf["is_pdf"] and pdf["size"] > 1000
    assert all(entry["accepted"] for entry in order["history"])
    assert _statuses(order) == ["PENDING", "IN_PROGRESS", "COMPLETED"]


def test_inline_order_url_completion_result(sandbox, connection, package, mailbox, live_server):
    ordered = sandbox.order(ADA_ID, SUPPORT_JOB_ID, mode="inline", package=str(package.pk))["order"]
    link = ordered["inline_url"]
    assert link.startswith(f"{live_server.url}/i/"), ordered

    _take_interview(link)

    done = sandbox.wait_for_result("COMPLETED", order_id=ordered["orderId"], timeout=60)
    assert isinstance(done["result"]["score"]["raw"], int)
    assert done["attachments"] == []  # no attachments for inline orders
    assert read_mailbox(mailbox) == []


def test_the_same_order_five_times_is_one_assessment(sandbox, connection, package, mailbox):
    ordered = sandbox.order(ADA_ID, SUPPORT_JOB_ID, package=str(package.pk))["order"]
    for _ in range(4):
        again = sandbox.resend(ordered["orderId"])
        assert again["stagehook"][-1]["status"] == 202, again["stagehook"][-1]
    sandbox.wait_for_result("PENDING", order_id=ordered["orderId"], timeout=60)
    assert Assessment.objects.count() == 1
    assert WebhookEvent.objects.filter(provider=PROVIDER_NAME, event_type="order").count() == 1
    assert len(read_mailbox(mailbox)) == 1


def test_results_arrive_after_an_outage(sandbox, connection, package):
    ordered = sandbox.order(ADA_ID, SUPPORT_JOB_ID, package=str(package.pk))["order"]
    sandbox.faults(status=503, seconds=3)
    sandbox.wait_for_result("PENDING", order_id=ordered["orderId"], timeout=90)
    delivery = wait_for(
        lambda: Delivery.objects.filter(assessment__remote_order_id=ordered["orderId"], status="sent").first(),
        timeout=30, what="delivery recorded as sent",
    )
    assert delivery.attempts >= 2
    assert delivery.attempt_rows.filter(status_code=503).exists()


def test_a_signed_status_webhook_is_verified_and_read_through_its_link(sandbox, connection, package, mailbox):
    """The sandbox sends ``link: <url>; rel=self`` and signs that raw value; we verify it as sent,
    fetch the URL inside the brackets, and the mapped sub-status starts the interview."""
    StageMapping.objects.create(connection=connection, remote_job_id=BACKEND_JOB_ID, remote_stage_id="INTERVIEW",
                                remote_sub_status="AI interview", package=package)
    before = sandbox.stats()["requests"]
    moved = sandbox.move(GRACE_ID, BACKEND_JOB_ID, "INTERVIEW", "AI interview")
    event = wait_for(
        lambda: WebhookEvent.objects.filter(provider=PROVIDER_NAME, event_type="application.status.updated").first(),
        timeout=30, what="the stored webhook",
    )
    assert event.connection_id == connection.pk
    [delivery] = [d for d in sandbox.deliveries() if d["event_name"] == "application.status.updated"]
    assert delivery["status"] == "delivered" and delivery["answers"] == [202], (delivery, moved)
    assert delivery["link"].startswith("<") and delivery["link"].endswith(">; rel=self")
    wait_for(lambda: WebhookEvent.objects.get(pk=event.pk).status != "received", timeout=30,
             what="the webhook processed")
    event.refresh_from_db()
    assert (event.status, event.error) == ("processed", ""), (event.status, event.error)
    assert sandbox.stats()["requests"] > before  # the state was read back from the sandbox
    assessment = Assessment.objects.get(remote_candidate_id=GRACE_ID)
    assert assessment.package == package and assessment.remote_job_id == BACKEND_JOB_ID
    mails = wait_for(lambda: read_mailbox(mailbox), timeout=60, what="the invitation e-mail")
    assert "grace.hopper@example.com" in mails[0]


def test_a_burst_of_300_write_backs_draws_no_429(sandbox, connection, package):
    assessments = []
    for n in range(300):
        order = sandbox.state.order_create(company_id=sandbox.config.company_id, cid=ADA_ID, job_id=SUPPORT_JOB_ID,
                                           mode="ad-hoc", trigger="recruiter")
        assessments.append(AssessmentFactory(
            tenant=connection.tenant, package=package, mode="order", source=connection.source_key,
            remote_order_id=order["orderId"],
            callback_url=f"{sandbox.url}/assessment-api/v202010/orders/{order['orderId']}/results",
            remote_candidate_id=ADA_ID, remote_job_id=SUPPORT_JOB_ID, status="ordered",
            candidate_email=f"burst{n}@example.com",
        ))
    for assessment in assessments:
        assessment_services.assessment_set_status(assessment=assessment, to_status="invited", actor="e2e")

    def all_sent():
        return Delivery.objects.filter(assessment__in=assessments, status="sent").count() == 300

    wait_for(all_sent, timeout=240, interval=1, what="300 write-backs")
    assert sandbox.stats()["rate_limited"] == 0
    assert {_order(sandbox, a.remote_order_id)["result"]["status"] for a in assessments[:5]} == {"PENDING"}
