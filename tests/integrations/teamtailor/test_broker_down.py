"""Broker unreachable (issue 7 #12): once a request's rows are committed, a failed enqueue is
logged and the caller is answered its success; the sweepers queue the work later.

The broker is a Redis port nothing listens on (``broker_down``); the database transactions are
real (``transaction=True``) so ``on_commit`` runs inside the request, as in production."""

import json
import logging

import pytest
from django.test import Client

from assessments.apikeys import tenant_api_key_create
from assessments.models import Assessment, Status
from assessments.tokens import token_new
from integrations.models import Delivery, DeliveryStatus, WebhookEvent, WebhookStatus
from integrations.selectors import webhook_events_to_requeue
from tests.factories import AssessmentFactory, QuestionFactory

from .conftest import SIGNED_EVENT_ID, company_headers, partner_body, partner_headers, post_json

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def http():
    # A 500 is an answer to assert on, not an exception in the test.
    return Client(raise_request_exception=False)


def _queue_errors(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "tenants.queueing" and r.levelno == logging.ERROR]


def _order(connection, package, **fields) -> Assessment:
    return AssessmentFactory(
        tenant=connection.tenant, package=package, source=connection.source_key, mode="order",
        remote_order_id="pr-1", callback_url="https://api.teamtailor.com/v1/partner-results/pr-1", **fields,
    )


def test_partner_event_is_stored_and_acknowledged(http, broker_down, caplog, connection, package, reference_fixtures):
    raw = json.dumps(partner_body(reference_fixtures, package_id=package.pk)).encode()
    response = post_json(http, "/teamtailor/webhook", raw, **partner_headers(event_id=SIGNED_EVENT_ID))
    assert response.status_code == 200, response.content
    event = WebhookEvent.objects.get()
    assert event.status == WebhookStatus.RECEIVED
    assert any("process_webhook_event" in line for line in _queue_errors(caplog))


def test_company_webhook_is_stored_and_acknowledged(http, broker_down, caplog, connection):
    raw = json.dumps({"payload": {"event_name": "job.update", "data": {
        "id": "2", "type": "jobs", "attributes": {"title": "Designer", "updated-at": "2026-11-25T09:00:00.000+01:00"},
    }}}).encode()
    response = post_json(http, "/teamtailor/company-webhooks", raw, **company_headers(raw))
    assert response.status_code == 200, response.content
    assert WebhookEvent.objects.get().status == WebhookStatus.RECEIVED
    assert any("process_webhook_event" in line for line in _queue_errors(caplog))


def test_an_event_left_unqueued_is_the_inbox_sweepers(broker_down, connection, package, reference_fixtures, http):
    raw = json.dumps(partner_body(reference_fixtures, package_id=package.pk)).encode()
    assert post_json(http, "/teamtailor/webhook", raw, **partner_headers(event_id=SIGNED_EVENT_ID)).status_code == 200
    event = WebhookEvent.objects.get()
    WebhookEvent.objects.filter(pk=event.pk).update(received_at=event.received_at.replace(year=2000))
    assert list(webhook_events_to_requeue(limit=10)) == [event]


def test_results_api_stores_the_result_and_answers_200(http, broker_down, caplog, connection, package):
    assessment = _order(connection, package, status=Status.IN_PROGRESS)
    _, raw_key = tenant_api_key_create(tenant=connection.tenant, name="engine")
    body = {"score": {"value": 80, "min": 0, "max": 100}, "summary": "Good.", "report_url": "https://e.example/r/1"}
    response = http.post(
        f"/api/v1/assessments/{assessment.pk}/result", data=json.dumps(body), content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw_key}",
    )
    assert response.status_code == 200, response.content
    assessment.refresh_from_db()
    assert assessment.status == Status.COMPLETED
    delivery = Delivery.objects.get(assessment=assessment, assessment_status=Status.COMPLETED)
    assert delivery.status == DeliveryStatus.PENDING  # the outbox sweeper sends it
    assert any("deliver" in line for line in _queue_errors(caplog))


def test_candidate_submit_completes_and_lands_on_the_thank_you_page(http, broker_down, caplog, connection, package):
    question = QuestionFactory(package=package, position=2, text="Why us?")
    token, digest = token_new()
    assessment = _order(connection, package, status=Status.INVITED, token_hash=digest)
    path = f"/i/{token}/"
    assert http.post(path, {"consent": "on"}).status_code == 302
    answers = {f"q_{q.pk}": "An answer." for q in package.questions.all()}
    assert f"q_{question.pk}" in answers
    response = http.post(path + "questions/", answers)
    assert response.status_code == 302 and response["Location"] == path + "done/"
    assessment.refresh_from_db()
    assert assessment.status == Status.COMPLETED
    assert any("deliver" in line for line in _queue_errors(caplog))


def test_cancel_click_cancels_and_answers_200(http, broker_down, caplog, connection, package, reference_fixtures):
    result_id = "1a6d5a41-f0dd-4226-9d3b-186392bea484"
    assessment = AssessmentFactory(
        tenant=connection.tenant, package=package, mode="order", source=connection.source_key,
        remote_order_id=result_id, remote_candidate_id="54321", remote_job_id="12345", status=Status.INVITED,
        callback_url=f"https://api.teamtailor.com/partner/v1/partner-results/{result_id}",
    )
    body = partner_body(reference_fixtures, package_id=package.pk, event_id=SIGNED_EVENT_ID, result_id=result_id)
    response = post_json(
        http, "/teamtailor/actions/cancel", json.dumps(body).encode(), **partner_headers(event_id=SIGNED_EVENT_ID)
    )
    assert response.status_code == 200, response.content
    assessment.refresh_from_db()
    assert assessment.status == Status.CANCELLED
    assert Delivery.objects.get(assessment=assessment, assessment_status=Status.CANCELLED).status == DeliveryStatus.PENDING
    assert any("deliver" in line for line in _queue_errors(caplog))
