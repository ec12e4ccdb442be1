"""Teamtailor end to end: the sandbox as a real HTTP server, Stagehook on ``live_server`` and a real
Celery worker on Redis. Activation -> trigger -> invitation e-mail -> the candidate answers on
/i/<token>/ -> the sandbox shows the partner result completed with the score; plus duplicate
deliveries, an outage of the sandbox, a burst of write-backs under Teamtailor's rate limit, and a
worker process killed in the middle of a write-back."""

import os
import re
import signal

import pytest
import requests

from assessments import services as assessment_services
from assessments.models import Assessment
from integrations.models import Delivery, WebhookEvent
from integrations.teamtailor import services as teamtailor_services
from tests.factories import AssessmentFactory, PackageFactory, QuestionFactory, TenantFactory
from tests.sandbox_fixtures import serve_sandbox

from .conftest import read_mailbox, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture
def sandbox(live_server):
    with serve_sandbox("teamtailor", stagehook_url=f"{live_server.url}/teamtailor/") as handle:
        yield handle


@pytest.fixture
def package(transactional_db):
    package = PackageFactory(tenant=TenantFactory(name="Acme Corp"), name="Backend interview")
    QuestionFactory(package=package, position=1, text="Tell us about a project you are proud of.",
                    rubric=["names the goal", "explains own contribution", "describes the outcome"])
    QuestionFactory(package=package, position=2, text="Why do you want to join Acme?", rubric=["mentions the product"])
    return package


@pytest.fixture
def connection(sandbox, package, celery_worker):
    """Activated the way a tenant admin does it: a connection token from Stagehook, pasted into
    Teamtailor's activation form; the sandbox validates it against the live server."""
    config = sandbox.config
    connection = teamtailor_services.teamtailor_connection_get_or_create(tenant=package.tenant)
    connection.credentials = {
        "partner_api_key": config.partner_api_key,
        "webhook_secret": config.webhook_secret,
        "api_key": config.api_key,
        "company_webhook_secret": config.company_webhook_secret,
    }
    connection.save()
    token = teamtailor_services.teamtailor_connection_token_issue(connection=connection)
    activation = sandbox.activate(token)
    assert activation["activated"] is True, activation
    connection.refresh_from_db()
    assert connection.status == "active" and connection.api_base_url == sandbox.url
    assert connection.remote_account_id == "" or connection.remote_account_id == config.company_uuid
    return connection


def _result(sandbox, result_id):
    return next((r for r in sandbox.results() if r["id"] == result_id), None)


def _status(sandbox, result_id):
    result = _result(sandbox, result_id)
    return result and result["attributes"]["status"]


def _take_interview(link: str) -> None:
    """The candidate's browser, as plain HTTP: consent, then answer every question."""
    http = requests.Session()
    http.trust_env = False
    landing = http.get(link, timeout=10)
    assert landing.status_code == 200
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', landing.text).group(1)
    started = http.post(link, data={"csrfmiddlewaretoken": csrf, "consent": "on"}, timeout=10)
    assert started.status_code == 200 and "/questions/" in started.url, started.text[:500]
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', started.text).group(1)
    answers = {name: "The goal was a faster checkout; my own contribution was the design; the outcome: "
               "conversion up. I like the product." for name in re.findall(r'name="(q_\d+)"', started.text)}
    assert answers
    done = http.post(started.url, data={"csrfmiddlewaretoken": csrf, **answers}, timeout=10)
    assert done.status_code == 200 and "/done/" in done.url, done.text[:500]


def test_trigger_to_completed_result(sandbox, connection, package, mailbox, live_server):
    fired = sandbox.trigger("54321", job_id="12345", package_id=package.pk, webhook_data={"threshold": "50"})
    result_id = fired["partner_result"]["id"]
    assert [a["status"] for a in fired["stagehook"]] == [200]

    mails = wait_for(lambda: read_mailbox(mailbox), timeout=60, what="the invitation e-mail")
    assert "applicant100@example.com" in mails[0]
    link = re.search(re.escape(live_server.url) + r"/i/[A-Za-z0-9_-]+/", mails[0]).group(0)
    wait_for(lambda: _status(sandbox, result_id) == "sent", timeout=60, what="partner result sent")

    _take_interview(link)

    wait_for(lambda: _status(sandbox, result_id) == "completed", timeout=60, what="partner result completed")
    attributes = _result(sandbox, result_id)["attributes"]
    assessment = Assessment.objects.get(remote_order_id=result_id)
    assert assessment.status == "completed"
    assert attributes["assessment"]["score"] == round(assessment.score_value)
    assert 0 <= attributes["assessment"]["score"] <= 100
    assert attributes["url"].startswith(f"{live_server.url}/r/")
    assert attributes["details"]["result"] in ("pass", "fail")
    history = [h for h in _result(sandbox, result_id)["history"] if h["source"] != "webhook answer"]
    assert all(h["accepted"] for h in history)
    assert [h["status_after"] for h in history] == ["sent", "pending", "completed"]


def test_same_partner_event_five_times(sandbox, connection, package, mailbox):
    sandbox.faults(duplicate_webhooks=5)
    fired = sandbox.trigger("54322", job_id="12345", package_id=package.pk)
    result_id = fired["partner_result"]["id"]
    assert [a["status"] for a in fired["stagehook"]] == [200] * 5
    wait_for(lambda: _status(sandbox, result_id) == "sent", timeout=60, what="partner result sent")
    assert WebhookEvent.objects.filter(provider="teamtailor", event_type="partner.trigger").count() == 1
    assert Assessment.objects.count() == 1
    assert len(read_mailbox(mailbox)) == 1


def test_result_arrives_after_an_outage(sandbox, connection, package, mailbox):
    sandbox.faults(status=503, seconds=3)
    fired = sandbox.trigger("54323", job_id="12345", package_id=package.pk)
    result_id = fired["partner_result"]["id"]
    # Backoff: the first retry comes within 30 s, never sooner than the outage allows to matter.
    wait_for(lambda: _status(sandbox, result_id) == "sent", timeout=90, interval=0.5, what="result after the outage")
    # The sandbox holds the update a moment before the worker records the answer on its row.
    delivery = wait_for(
        lambda: Delivery.objects.filter(assessment__remote_order_id=result_id, status="sent").first(),
        timeout=30, what="delivery recorded as sent",
    )
    assert delivery.attempts >= 2
    assert delivery.attempt_rows.filter(status_code=503).exists()


def test_burst_of_200_write_backs_stays_under_the_rate_limit(sandbox, connection, package):
    assessments = []
    for n in range(200):
        result = sandbox.state.partner_result_create(candidate_id="54324", job_id="27", created_via="trigger")
        assessments.append(AssessmentFactory(
            tenant=connection.tenant, package=package, mode="order", source=connection.source_key,
            remote_order_id=result["id"], callback_url=f"{sandbox.url}/partner/v1/partner-results/{result['id']}",
            remote_candidate_id="54324", remote_job_id="27", status="ordered", candidate_email=f"burst{n}@example.com",
        ))
    for assessment in assessments:
        assessment_services.assessment_set_status(assessment=assessment, to_status="invited", actor="e2e")

    def all_sent():
        return Delivery.objects.filter(assessment__in=assessments, status="sent").count() == 200

    wait_for(all_sent, timeout=180, interval=1, what="200 write-backs")
    stats = sandbox.stats()
    assert stats["rate_limited"] == 0
    assert {_status(sandbox, a.remote_order_id) for a in assessments[:5]} == {"sent"}


def _pool_processes(worker) -> list[int]:
    return [int(pid) for pid in open(f"/proc/{worker.pid}/task/{worker.pid}/children").read().split()]


def test_a_worker_killed_mid_write_back_sends_it_again(sandbox, connection, package, celery_worker):
    """acks_late + reject_on_worker_lost: the task of a pool process killed in the middle of its
    HTTP call goes back to the queue, runs again, and the ATS ends with one result, once recorded."""
    result = sandbox.state.partner_result_create(candidate_id="54324", job_id="27", created_via="trigger")
    assessment = AssessmentFactory(
        tenant=connection.tenant, package=package, mode="order", source=connection.source_key,
        remote_order_id=result["id"], callback_url=f"{sandbox.url}/partner/v1/partner-results/{result['id']}",
        remote_candidate_id="54324", remote_job_id="27", status="ordered", candidate_email="killed@example.com",
    )
    sandbox.faults(delay=5)
    before = sandbox.stats()["requests"]
    assessment_services.assessment_set_status(assessment=assessment, to_status="invited", actor="e2e")

    wait_for(lambda: sandbox.stats()["requests"] > before, timeout=30, what="the write-back in flight")
    assert _status(sandbox, result["id"]) == "sending"
    for pid in _pool_processes(celery_worker):
        os.kill(pid, signal.SIGKILL)
    sandbox.clear_faults()

    delivery = wait_for(
        lambda: Delivery.objects.filter(assessment=assessment, status="sent").first(),
        timeout=60, what="the write-back sent again by a fresh pool process",
    )
    # The killed attempt's transaction was rolled back with its connection: one attempt on record.
    assert delivery.attempts == 1
    assert _status(sandbox, result["id"]) == "sent"
    assert celery_worker.poll() is None  # the worker itself lived on
