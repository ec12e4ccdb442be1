"""The own-app write-back against the SmartRecruiters sandbox (over real HTTP, validated as
SmartRecruiters would): note, PDF and score property arrive once each although the sandbox fails
the first tries of each step (its path faults)."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.core.cache import cache

from integrations import ratelimit
from integrations.deliveries import delivery_resend, delivery_send_by_id
from integrations.models import Connection, ConnectionStatus, Delivery, DeliveryChannel, DeliveryStatus
from integrations.smartrecruiters import writeback
from integrations.smartrecruiters.constants import (
    CRED_ACCESS_TOKEN,
    CRED_APP_CLIENT_ID,
    CRED_APP_CLIENT_SECRET,
    CRED_EXPIRES_AT,
    CRED_GRANT,
    CRED_REFRESH_TOKEN,
    CRED_SCOPES,
    GRANT_AUTHORIZATION_CODE,
    PROVIDER_NAME,
)
from integrations.smartrecruiters.models import ConnectionSettings

from .test_own_app_writeback import complete
from .test_sandbox_own_app import ADA, JOB, tokens_for

NOTE_PATH = r"^/messages/shares$"
ATTACHMENTS_PATH = rf"^/candidates/{ADA}/jobs/{JOB}/attachments$"
PROPERTY_PATH = rf"^/candidates/{ADA}/jobs/{JOB}/properties/"


@pytest.fixture
def sr(sandbox_server, settings):
    sandbox = sandbox_server("smartrecruiters", rate_limit=10_000)
    settings.ATS_EXTRA_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.SMARTRECRUITERS_API_BASE = sandbox.url
    settings.SMARTRECRUITERS_AUTHORIZE_BASE = sandbox.url
    cache.clear()
    ratelimit.limiter_get().reset()
    yield sandbox
    cache.clear()


@pytest.fixture
def own_app_connection(sr, tenant):
    """An own-app connection as the authorization-code callback stores it, on the sandbox's tokens."""
    tokens = tokens_for(sr)
    return Connection.objects.create(
        tenant=tenant, provider=PROVIDER_NAME, remote_account_id=sr.config.company_id, status=ConnectionStatus.ACTIVE,
        api_base_url=sr.url, credentials={
            CRED_GRANT: GRANT_AUTHORIZATION_CODE, CRED_APP_CLIENT_ID: sr.config.own_app_client_id,
            CRED_APP_CLIENT_SECRET: sr.config.own_app_client_secret, CRED_ACCESS_TOKEN: tokens["access_token"],
            CRED_REFRESH_TOKEN: tokens["refresh_token"], CRED_EXPIRES_AT: int(time.time() + tokens["expires_in"]),
            CRED_SCOPES: tokens["scope"],
        },
    )


def test_note_pdf_and_score_arrive_once_each_through_the_sandbox_failing_the_first_tries(
    sr, own_app_connection, package, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    ConnectionSettings.objects.create(connection=own_app_connection, score_property_id="stagehook-score",  # seeded
                                      score_property_label="Interview score", score_property_type="NUMBER")
    sr.faults(status=503, count=1, path=NOTE_PATH, method="POST")
    assessment = complete(own_app_connection, package, capture, candidate=ADA, job=JOB)
    delivery = Delivery.objects.get(assessment=assessment, channel=DeliveryChannel.NOTE)

    def retry(faults: dict | None = None) -> Delivery:
        delivery.refresh_from_db()
        assert delivery.status == DeliveryStatus.FAILED and delivery.last_status_code == 503, delivery.last_error
        if faults:
            sr.faults(**faults)
        with capture(execute=True):
            delivery_send_by_id(delivery_id=delivery.pk, now=delivery.next_attempt_at + dt.timedelta(seconds=2))
        delivery.refresh_from_db()
        return delivery

    assert not sr.state.shares
    retry({"status": 503, "count": 2, "path": ATTACHMENTS_PATH, "method": "POST"})  # note ok, file 503
    # The first 503 may have come after storing: the retry looked among the candidate's messages first.
    assert len(sr.state.shares) == 1 and set(delivery.remote_refs) == {writeback.REF_NOTE_UNCONFIRMED, writeback.REF_NOTE}
    retry()  # file 503 again
    retry({"status": 503, "count": 1, "path": PROPERTY_PATH, "method": "PUT"})  # file ok, property 503
    assert set(delivery.remote_refs) == {writeback.REF_NOTE_UNCONFIRMED, writeback.REF_NOTE, writeback.REF_ATTACHMENT}
    retry()
    assert delivery.status == DeliveryStatus.SENT, delivery.last_error
    assert delivery.attempts == 5

    [note] = sr.state.shares
    assert note["correlationId"] == writeback.note_reference(delivery) and note["candidates"] == [ADA]
    assert note["shareWith"] == {"hiringTeamOf": [JOB]} and "Status: Completed" in note["content"]
    [attachment] = list(sr.state.app_attachments.values())
    assert attachment["type"] == "GENERIC_FILE" and attachment["is_pdf"] and attachment["name"] == writeback.report_filename(assessment)
    assert sr.state.property_values[(ADA, JOB)]["stagehook-score"]["value"] == writeback.score(assessment)["raw"]
    routes = sr.stats()["requests_by_route"]
    assert routes["POST /messages/shares"] == 2 and routes["GET /messages"] == 1
    assert routes["POST /candidates/<cid>/jobs/<job_id>/attachments"] == 3
    assert routes["PUT /candidates/<cid>/jobs/<job_id>/properties/<property_id>"] == 2


def _completed(connection, package, capture) -> Delivery:
    assessment = complete(connection, package, capture, candidate=ADA, job=JOB)
    return Delivery.objects.get(assessment=assessment, channel=DeliveryChannel.NOTE)


def _retry(delivery: Delivery, capture) -> Delivery:
    with capture(execute=True):
        delivery_send_by_id(delivery_id=delivery.pk, now=delivery.next_attempt_at + dt.timedelta(seconds=2))
    delivery.refresh_from_db()
    return delivery


@pytest.mark.parametrize("fault", [{"status": 503}, {"delay": 1.5}], ids=["503-after-storing", "timeout-after-storing"])
def test_a_note_the_sandbox_stored_but_whose_answer_was_lost_is_found_not_posted_again(
    sr, own_app_connection, package, django_capture_on_commit_callbacks, settings, fault
):
    settings.ATS_HTTP_TIMEOUT = 1.0  # the delay outlasts our read timeout: the answer never arrives
    sr.faults(count=1, path=NOTE_PATH, method="POST", lose_answer=True, **fault)
    delivery = _completed(own_app_connection, package, django_capture_on_commit_callbacks)
    assert delivery.status == DeliveryStatus.FAILED and len(sr.state.shares) == 1, delivery.last_error
    delivery = _retry(delivery, django_capture_on_commit_callbacks)
    assert delivery.status == DeliveryStatus.SENT, delivery.last_error
    [note] = sr.state.shares
    assert delivery.remote_refs[writeback.REF_NOTE] == note["id"]
    assert note["content"].endswith(f"Stagehook reference: {writeback.note_reference(delivery)}")
    routes = sr.stats()["requests_by_route"]
    assert routes["POST /messages/shares"] == 1 and routes["GET /messages"] == 1


def test_a_standard_users_app_holds_the_note_until_the_role_is_given(
    sr, own_app_connection, package, django_capture_on_commit_callbacks
):
    sr.control("POST", "authorize", {"mode": "approve", "role": "STANDARD"})
    sr.faults(status=503, count=1, path=NOTE_PATH, method="POST", lose_answer=True)
    delivery = _retry(_completed(own_app_connection, package, django_capture_on_commit_callbacks),
                      django_capture_on_commit_callbacks)
    assert delivery.status == DeliveryStatus.DEAD and delivery.last_status_code == 403
    assert delivery.last_error.startswith("Note held") and len(sr.state.shares) == 1
    assert set(delivery.remote_refs) == {writeback.REF_NOTE_UNCONFIRMED, writeback.REF_ATTACHMENT}
    assert len(sr.state.app_attachments) == 1  # the PDF went on

    sr.control("POST", "authorize", {"mode": "approve", "role": "ADMINISTRATOR"})
    with django_capture_on_commit_callbacks(execute=True):
        assert delivery_resend(delivery=delivery)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT, delivery.last_error
    [note] = sr.state.shares
    assert delivery.remote_refs[writeback.REF_NOTE] == note["id"] and len(sr.state.app_attachments) == 1
    assert sr.stats()["requests_by_route"]["POST /messages/shares"] == 1


def test_the_picker_offers_the_sandbox_companys_properties(sr, own_app_connection):
    from integrations.smartrecruiters.services import smartrecruiters_score_properties_fetch, smartrecruiters_score_property_set

    offered = smartrecruiters_score_properties_fetch(connection=own_app_connection)
    assert {"id": "stagehook-score", "label": "Interview score", "type": "NUMBER"} in offered
    assert all(p["type"] in writeback.SCORE_PROPERTY_TYPES for p in offered)
    row = smartrecruiters_score_property_set(connection=own_app_connection, property_id="stagehook-score", actor="test")
    assert (row.score_property_label, row.score_property_type) == ("Interview score", "NUMBER")
