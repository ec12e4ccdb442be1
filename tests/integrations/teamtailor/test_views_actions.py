"""POST /teamtailor/actions/<name>: the buttons we put on the partner-result card ("Resend
invitation", "Cancel interview"), what a click does, its security matrix, and the headers every
partner call carries (``Teamtailor-Host``, ``Teamtailor-Api-Token``) recorded on the connection."""

from __future__ import annotations

import json
import logging

import pytest
from django.core import mail
from django.db import connection as db_connection

from assessments import services as assessment_services
from assessments.models import Assessment, AssessmentEvent
from integrations.models import Connection, Delivery, WebhookEvent
from integrations.services import assessment_link_get_or_create, assessment_link_result_set
from tests.factories import AssessmentFactory, ConnectionFactory, TenantFactory

from .conftest import (
    API_KEY,
    PARTNER_AUTH_CASES,
    SIGNED_EVENT_ID,
    PROVIDER_KEY,
    partner_body,
    partner_headers,
    partner_signature,
    post_json,
    sandbox_partner_body,
    sandbox_partner_headers,
    unix_now,
)

pytestmark = pytest.mark.django_db

MIB = 1024 * 1024
EVENT_ID = SIGNED_EVENT_ID
RESULT_ID = "1a6d5a41-f0dd-4226-9d3b-186392bea484"
RESEND = {"buttonText": "Resend invitation", "endpoint": "actions/resend"}
CANCEL = {"buttonText": "Cancel interview", "endpoint": "actions/cancel"}


def _click_body(reference_fixtures, package, *, result_id=RESULT_ID, event_id=EVENT_ID) -> bytes:
    """What Teamtailor sends on a click: "the same partner event as originally sent"."""
    body = partner_body(reference_fixtures, package_id=package.pk, event_id=event_id, result_id=result_id)
    return json.dumps(body).encode()


def _click(client, name, raw, **headers):
    return post_json(client, f"/teamtailor/actions/{name}", raw, **{**partner_headers(event_id=EVENT_ID), **headers})


@pytest.fixture
def invited(connection, package):
    """An order-mode interview whose invitation went out (the card shows both buttons)."""
    assessment = AssessmentFactory(
        tenant=connection.tenant, package=package, mode="order", source=connection.source_key,
        remote_order_id=RESULT_ID, remote_candidate_id="54321", remote_job_id="12345",
        callback_url=f"https://api.teamtailor.com/partner/v1/partner-results/{RESULT_ID}", status="invited",
        candidate_email="applicant100@example.com",
    )
    return assessment


def _effects() -> tuple[int, int, int]:
    return WebhookEvent.objects.count(), len(mail.outbox), AssessmentEvent.objects.count()


# --- the buttons in our write-backs ---------------------------------------------------------------------
def test_buttons_follow_the_interview_through_the_sandbox(
    client, teamtailor_sandbox, sandbox_connection, package, reference_fixtures, django_capture_on_commit_callbacks
):
    body = sandbox_partner_body(teamtailor_sandbox, reference_fixtures, package_id=package.pk)
    result_id = body["partner-event"]["partner-result"]["id"]
    raw = json.dumps(body).encode()
    with django_capture_on_commit_callbacks(execute=True):
        headers = sandbox_partner_headers(teamtailor_sandbox, body["partner-event"]["id"])
        response = post_json(client, "/teamtailor/webhook", raw, **headers)
    assert response.status_code == 200

    def card():
        return next(r for r in teamtailor_sandbox.results() if r["id"] == result_id)["attributes"]

    assert card()["status"] == "sent" and card()["actions"] == [RESEND, CANCEL]
    assessment = Assessment.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        assessment_services.assessment_start(assessment=assessment)
    assert card()["status"] == "pending" and card()["actions"] == [CANCEL]
    with django_capture_on_commit_callbacks(execute=True):
        assessment_services.assessment_record_result(
            assessment=assessment, score_value="80", score_min="0", score_max="100", score_label="Good",
            summary="Solid.", transcript=[], details={}, actor="test",
        )
    assert card()["status"] == "completed" and card()["actions"] == []


def test_trigger_mode_result_is_created_with_its_buttons(
    teamtailor_sandbox, sandbox_connection, package, django_capture_on_commit_callbacks
):
    assessment = AssessmentFactory(
        tenant=sandbox_connection.tenant, package=package, mode="trigger", source=sandbox_connection.source_key,
        remote_candidate_id="54321", remote_job_id="12345", status="ordered",
    )
    with django_capture_on_commit_callbacks(execute=True):
        assessment_services.assessment_set_status(assessment=assessment, to_status="invited", actor="test")
    [result] = teamtailor_sandbox.results()
    assert result["created_via"] == "partner-api" and result["attributes"]["actions"] == [RESEND, CANCEL]


# --- clicks through the sandbox, Stagehook served for real ------------------------------------------------
@pytest.fixture
def live_sandbox(teamtailor_sandbox, sandbox_connection, live_server):
    teamtailor_sandbox.configure(stagehook_url=f"{live_server.url}/teamtailor/")
    return teamtailor_sandbox


def _trigger(sandbox, package) -> str:
    answer = sandbox.trigger(54321, job_id=12345, package_id=package.pk)
    assert answer["stagehook"][0]["status"] == 200, answer
    result_id = answer["partner_result"]["id"]
    [result] = [r for r in sandbox.results() if r["id"] == result_id]
    assert result["status"] == "sent" and result["attributes"]["actions"] == [RESEND, CANCEL]
    return result_id


def test_clicking_resend_in_the_sandbox_sends_the_invitation_again(live_sandbox, sandbox_connection, package):
    result_id = _trigger(live_sandbox, package)
    assert [m.to for m in mail.outbox] == [["applicant100@example.com"]]
    first_link = mail.outbox[0].body

    response = live_sandbox.control("POST", f"partner-results/{result_id}/actions/0")

    assert response.status_code == 200, response.text
    [answer] = response.json()["stagehook"]
    assert answer["status"] == 200
    assert answer["body"]["action"] == "resend" and answer["body"]["message"] == "The invitation was sent again."
    assert [m.to for m in mail.outbox] == [["applicant100@example.com"]] * 2
    assert mail.outbox[1].body != first_link  # a fresh link; the old one stops working
    assessment = Assessment.objects.get()
    assert assessment.status == "invited"
    assert assessment.events.filter(actor="teamtailor:action", note__startswith="invitation re-sent").count() == 1
    [click] = WebhookEvent.objects.filter(event_type="partner.action.resend")
    assert click.connection_id == sandbox_connection.pk
    card = next(r for r in live_sandbox.results() if r["id"] == result_id)
    assert card["action_clicks"][0]["status"] == 200 and card["card_error"] is None


def test_clicking_cancel_in_the_sandbox_cancels_and_fails_the_result(live_sandbox, package):
    result_id = _trigger(live_sandbox, package)

    response = live_sandbox.control("POST", f"partner-results/{result_id}/actions/1")

    assert response.status_code == 200, response.text
    assert response.json()["stagehook"][0]["body"]["message"] == "The interview was cancelled."
    assessment = Assessment.objects.get()
    assert assessment.status == "cancelled"
    card = next(r for r in live_sandbox.results() if r["id"] == result_id)
    assert card["status"] == "failed"
    assert "cancelled" in card["attributes"]["summary"].lower()
    assert card["attributes"]["actions"] == []
    # The buttons are gone: the card offers nothing more to click.
    assert live_sandbox.control("POST", f"partner-results/{result_id}/actions/0").status_code == 404
    assert len(mail.outbox) == 1


# --- clicks, one by one ----------------------------------------------------------------------------------
def test_cancel_twice_is_one_effect(client, invited, package, reference_fixtures, django_capture_on_commit_callbacks):
    raw = _click_body(reference_fixtures, package)
    first = _click(client, "cancel", raw)
    # A second click: the same body, a fresh signature timestamp.
    second = _click(client, "cancel", raw, **partner_headers(event_id=EVENT_ID, timestamp=unix_now() - 5))
    assert (first.status_code, second.status_code) == (200, 200)
    assert first.json()["status"] == second.json()["status"] == "failed"
    invited.refresh_from_db()
    assert invited.status == "cancelled"
    assert invited.events.filter(to_status="cancelled").count() == 1
    assert Delivery.objects.filter(assessment=invited).count() == 1


def test_resend_twice_is_two_sends_but_a_replay_is_one(client, invited, package, reference_fixtures):
    raw = _click_body(reference_fixtures, package)
    headers = partner_headers(event_id=EVENT_ID)
    assert _click(client, "resend", raw, **headers).json()["duplicate"] is False
    replay = _click(client, "resend", raw, **headers)  # the very same signed request again
    assert replay.status_code == 200 and replay.json()["duplicate"] is True
    assert len(mail.outbox) == 1
    again = partner_headers(event_id=EVENT_ID, timestamp=unix_now() - 5)  # a second click
    assert _click(client, "resend", raw, **again).json()["duplicate"] is False
    assert len(mail.outbox) == 2


def test_answer_names_the_new_state_and_its_buttons(client, invited, package, reference_fixtures):
    response = _click(client, "resend", _click_body(reference_fixtures, package))
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert response.json() == {
        "action": "resend", "message": "The invitation was sent again.", "duplicate": False,
        "status": "sent", "actions": [RESEND, CANCEL],
    }


def test_trigger_mode_result_is_found_by_its_stored_id(client, connection, package, reference_fixtures):
    assessment = AssessmentFactory(
        tenant=connection.tenant, package=package, mode="trigger", source=connection.source_key,
        remote_candidate_id="54321", status="invited",
    )
    link = assessment_link_get_or_create(assessment=assessment, connection=connection)
    assessment_link_result_set(link=link, remote_result_id="created-by-us")
    # Docs are silent on what a click on a result we created carries: a bare partner-result id
    # (no original partner event) is accepted, signed over that id.
    raw = json.dumps({"partner-result": {"id": "created-by-us"}}).encode()
    headers = partner_headers(event_id="created-by-us")
    response = _click(client, "cancel", raw, **headers)
    assert response.status_code == 200, response.content
    assessment.refresh_from_db()
    assert assessment.status == "cancelled"


def test_without_a_result_id_the_candidates_one_open_interview_is_used(client, invited, package, reference_fixtures):
    body = partner_body(reference_fixtures, package_id=package.pk, event_id=EVENT_ID)
    del body["partner-event"]["partner-result"]
    response = _click(client, "cancel", json.dumps(body).encode())
    assert response.status_code == 200
    invited.refresh_from_db()
    assert invited.status == "cancelled"


def test_several_open_interviews_of_the_candidate_are_ambiguous(
    client, invited, connection, package, reference_fixtures
):
    AssessmentFactory(
        tenant=connection.tenant, package=package, source=connection.source_key, remote_order_id="other",
        remote_candidate_id="54321", remote_job_id="12345", status="invited",
    )
    body = partner_body(reference_fixtures, package_id=package.pk, event_id=EVENT_ID)
    del body["partner-event"]["partner-result"]
    response = _click(client, "cancel", json.dumps(body).encode())
    assert response.status_code == 409 and "several" in response.json()["error"]
    assert Assessment.objects.filter(status="cancelled").count() == 0


@pytest.mark.parametrize(
    "status,action,message",
    [
        ("completed", "cancel", "The candidate has already completed this interview. It can no longer be cancelled."),
        ("completed", "resend", "The candidate has already completed this interview. The invitation cannot be re-sent."),
        ("in_progress", "resend", "The candidate has already started this interview: the invitation cannot be re-sent."),
        ("expired", "cancel", "This interview has expired. It can no longer be cancelled."),
    ],
)
def test_an_illegal_state_is_409_with_a_message_for_the_card(
    client, invited, package, reference_fixtures, status, action, message
):
    Assessment.objects.filter(pk=invited.pk).update(status=status)
    before = _effects()
    response = _click(client, action, _click_body(reference_fixtures, package))
    assert response.status_code == 409
    assert response.json() == {"error": message}
    assert _effects() == before  # nothing stored, nothing sent
    invited.refresh_from_db()
    assert invited.status == status


def test_unknown_action_is_404(client, invited, package, reference_fixtures):
    response = _click(client, "archive", _click_body(reference_fixtures, package))
    assert response.status_code == 404 and "archive" in response.json()["error"]
    assert WebhookEvent.objects.count() == 0


@pytest.mark.parametrize("result_id", ["no-such-result", "someone-elses"])
def test_unknown_or_foreign_partner_result_is_404(client, invited, package, reference_fixtures, result_id):
    other = ConnectionFactory(tenant=TenantFactory(), provider="teamtailor", remote_account_id="other-company")
    AssessmentFactory(tenant=other.tenant, source=other.source_key, remote_order_id="someone-elses", status="invited")
    response = _click(client, "cancel", _click_body(reference_fixtures, package, result_id=result_id))
    assert response.status_code == 404
    assert response.json() == {"error": "This Stagehook interview was not found."}
    assert Assessment.objects.filter(status="cancelled").count() == 0 and WebhookEvent.objects.count() == 0


# --- security matrix -------------------------------------------------------------------------------------
UNAUTHORIZED_CASES = {
    **PARTNER_AUTH_CASES,
    "signature of the result id instead of the event": lambda: {
        "HTTP_TEAMTAILOR_SIGNATURE": partner_signature(event_id=RESULT_ID)
    },
}


@pytest.mark.parametrize("case", UNAUTHORIZED_CASES, ids=list(UNAUTHORIZED_CASES))
@pytest.mark.parametrize("name", ["cancel", "resend", "archive"])
def test_action_rejections(client, invited, package, reference_fixtures, case, name):
    before = _effects()
    response = _click(client, name, _click_body(reference_fixtures, package),
                      HTTP_TEAMTAILOR_API_TOKEN="sneaky-token", **UNAUTHORIZED_CASES[case]())
    assert response.status_code == 401
    assert response.json() == {"error": "Unauthorized."}
    assert _effects() == before
    invited.refresh_from_db()
    assert invited.status == "invited"
    assert Connection.objects.get().credentials["api_key"] == API_KEY


def test_unknown_and_wrong_answer_alike(client, invited, package, reference_fixtures):
    raw = _click_body(reference_fixtures, package)
    unknown = _click(client, "cancel", raw, HTTP_AUTHORIZATION="Bearer nope")
    wrong = _click(client, "cancel", raw, HTTP_TEAMTAILOR_SIGNATURE=partner_signature(secret="x"))
    assert (unknown.status_code, unknown.content) == (wrong.status_code, wrong.content)


@pytest.mark.parametrize(
    "raw,content_type,status",
    [
        (b'{"partner-event": ', "application/json", 400),
        (b"[1, 2]", "application/json", 400),
        (b'{"no": "event"}', "application/json", 400),
        (b"{}", "text/plain", 415),
        (b"{}", "application/x-www-form-urlencoded", 415),
        (b"{" + b" " * (MIB + 1) + b"}", "application/json", 413),
    ],
    ids=["truncated", "not-an-object", "nothing-identifies-the-result", "text-plain", "form", "over-1-mib"],
)
def test_bad_bodies(client, invited, raw, content_type, status):
    before = _effects()
    response = client.post("/teamtailor/actions/cancel", data=raw, content_type=content_type,
                           **partner_headers(event_id=EVENT_ID))
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json") and response.json()["error"]
    assert _effects() == before
    invited.refresh_from_db()
    assert invited.status == "invited"


def test_get_is_405(client, invited):
    response = client.get("/teamtailor/actions/cancel", **partner_headers(event_id=EVENT_ID))
    assert response.status_code == 405 and response.json()["error"]


def test_company_mismatch_is_unauthorized(client, invited, package, reference_fixtures):
    body = partner_body(reference_fixtures, package_id=package.pk, event_id=EVENT_ID, result_id=RESULT_ID)
    body["company"]["uuid"] = "someone-else"
    response = _click(client, "cancel", json.dumps(body).encode())
    assert response.status_code == 401 and WebhookEvent.objects.count() == 0


def test_the_click_is_kept_without_secrets(client, invited, package, reference_fixtures):
    assert _click(client, "resend", _click_body(reference_fixtures, package),
                  HTTP_TEAMTAILOR_API_TOKEN="company-api-token-2").status_code == 200
    event = WebhookEvent.objects.get()
    assert (event.event_type, event.status) == ("partner.action.resend", "processed")
    stored = json.dumps(event.headers)
    assert PROVIDER_KEY not in stored and "company-api-token-2" not in stored and "v1=" not in stored


# --- Teamtailor-Host and Teamtailor-Api-Token on every partner call ------------------------------------------
def _webhook(client, reference_fixtures, package, update_url=None, **headers):
    raw = json.dumps(partner_body(reference_fixtures, package_id=package.pk, event_id=EVENT_ID, update_url=update_url)).encode()
    return post_json(client, "/teamtailor/webhook", raw, **{**partner_headers(event_id=EVENT_ID), **headers})


def _set(connection, **fields):
    Connection.objects.filter(pk=connection.pk).update(**fields)
    connection.refresh_from_db()


def test_a_host_change_within_the_region_is_recorded(client, connection, package, reference_fixtures, settings):
    settings.ATS_EXTRA_ALLOWED_HOSTS = ["127.0.0.1"]
    _set(connection, api_base_url="http://127.0.0.1:8101")  # e.g. moved off a dev host
    assert _webhook(client, reference_fixtures, package, HTTP_TEAMTAILOR_HOST="api.teamtailor.com").status_code == 200
    connection.refresh_from_db()
    assert (connection.api_base_url, connection.region) == ("https://api.teamtailor.com", "eu")


def test_a_connection_without_a_region_takes_the_hosts(client, connection, package, reference_fixtures):
    _set(connection, api_base_url="", region="")
    # Teamtailor's update-url is on the account's own (AU) host.
    response = _webhook(client, reference_fixtures, package, HTTP_TEAMTAILOR_HOST="https://api.au.teamtailor.com",
                        update_url=f"https://api.au.teamtailor.com/partner/v1/partner-results/{RESULT_ID}")
    assert response.status_code == 200
    connection.refresh_from_db()
    assert (connection.api_base_url, connection.region) == ("https://api.au.teamtailor.com", "au")


def test_a_dev_host_keeps_the_region(client, connection, package, reference_fixtures, settings):
    settings.ATS_EXTRA_ALLOWED_HOSTS = ["127.0.0.1"]
    assert _webhook(client, reference_fixtures, package, HTTP_TEAMTAILOR_HOST="127.0.0.1:8101").status_code == 200
    connection.refresh_from_db()
    assert (connection.api_base_url, connection.region) == ("http://127.0.0.1:8101", "eu")


@pytest.mark.parametrize(
    "host", ["evil.example.com", "api.teamtailor.com.evil.example", "http://api.teamtailor.com", "api.teamtailor.com/x"]
)
def test_a_host_we_do_not_call_is_ignored(client, connection, package, reference_fixtures, host, caplog):
    caplog.set_level(logging.INFO)
    assert _webhook(client, reference_fixtures, package, HTTP_TEAMTAILOR_HOST=host).status_code == 200
    connection.refresh_from_db()
    assert (connection.api_base_url, connection.region) == ("https://api.teamtailor.com", "eu")
    assert "ignored" in caplog.text and host not in caplog.text


@pytest.mark.parametrize("host", ["api.na.teamtailor.com", "https://api.au.teamtailor.com"])
def test_a_host_of_another_region_is_refused_everywhere(
    client, invited, connection, package, reference_fixtures, host, caplog
):
    caplog.set_level(logging.INFO)
    before = _effects()
    webhook = _webhook(client, reference_fixtures, package, HTTP_TEAMTAILOR_HOST=host)
    click = _click(client, "cancel", _click_body(reference_fixtures, package), HTTP_TEAMTAILOR_HOST=host)
    config = client.get("/teamtailor/config", HTTP_AUTHORIZATION=f"Bearer {PROVIDER_KEY}", HTTP_TEAMTAILOR_HOST=host)
    for response in (webhook, click, config):
        assert response.status_code == 403
        assert "data region" in json.dumps(response.json())
    assert _effects() == before
    connection.refresh_from_db()
    assert (connection.api_base_url, connection.region) == ("https://api.teamtailor.com", "eu")
    invited.refresh_from_db()
    assert invited.status == "invited"
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "region" in r.getMessage()]
    assert warnings and all(host not in r.getMessage() for r in caplog.records)


def test_the_api_token_is_stored_encrypted_and_never_logged(client, connection, package, reference_fixtures, caplog):
    caplog.set_level(logging.DEBUG)
    token = "tt-company-api-key-" + "x" * 24
    assert _webhook(client, reference_fixtures, package, HTTP_TEAMTAILOR_API_TOKEN=token).status_code == 200
    connection.refresh_from_db()
    assert connection.credentials["api_key"] == token
    with db_connection.cursor() as cursor:
        cursor.execute("SELECT credentials::text FROM integrations_connection WHERE id = %s", [connection.pk])
        [stored] = cursor.fetchone()
    assert token not in stored and "api_key" not in stored
    assert token not in json.dumps(WebhookEvent.objects.get().headers)
    assert token not in caplog.text


def test_the_api_token_and_host_come_with_clicks_and_the_config_form_too(
    client, invited, connection, package, reference_fixtures, settings
):
    settings.ATS_EXTRA_ALLOWED_HOSTS = ["127.0.0.1"]
    click = _click(client, "resend", _click_body(reference_fixtures, package), HTTP_TEAMTAILOR_API_TOKEN="from-a-click")
    assert click.status_code == 200
    connection.refresh_from_db()
    assert connection.credentials["api_key"] == "from-a-click"
    response = client.get("/teamtailor/config", HTTP_AUTHORIZATION=f"Bearer {PROVIDER_KEY}",
                          HTTP_TEAMTAILOR_HOST="127.0.0.1:8101", HTTP_TEAMTAILOR_API_TOKEN="from-the-form")
    assert response.status_code == 200
    connection.refresh_from_db()
    assert connection.credentials["api_key"] == "from-the-form" and connection.api_base_url == "http://127.0.0.1:8101"


def test_a_rejected_call_records_nothing(client, connection, package, reference_fixtures, settings):
    settings.ATS_EXTRA_ALLOWED_HOSTS = ["127.0.0.1"]
    bad_signature = {"HTTP_TEAMTAILOR_SIGNATURE": partner_signature(secret="wrong")}
    no_package = json.dumps(partner_body(reference_fixtures, package_id="", event_id=EVENT_ID)).encode()
    for response in (
        _webhook(client, reference_fixtures, package, HTTP_TEAMTAILOR_API_TOKEN="nope-1",
                 HTTP_TEAMTAILOR_HOST="127.0.0.1:8101", **bad_signature),
        post_json(client, "/teamtailor/webhook", no_package, **{**partner_headers(event_id=EVENT_ID),
                  "HTTP_TEAMTAILOR_API_TOKEN": "nope-2", "HTTP_TEAMTAILOR_HOST": "127.0.0.1:8101"}),
    ):
        assert response.status_code in (400, 401)
    connection.refresh_from_db()
    assert connection.credentials["api_key"] == API_KEY and connection.api_base_url == "https://api.teamtailor.com"



def test_an_unsigned_click_without_any_webhook_secret_is_refused(client, invited, package, reference_fixtures, settings):
    settings.DEBUG, settings.TEAMTAILOR_PARTNER_WEBHOOK_SECRET = False, ""
    settings.TEAMTAILOR_ALLOW_UNSIGNED_PARTNER_CALLS = False
    invited_connection = invited.tenant.connections.get()
    invited_connection.credentials = {k: v for k, v in invited_connection.credentials.items() if k != "webhook_secret"}
    invited_connection.save()
    response = _click(client, "resend", _click_body(reference_fixtures, package), HTTP_TEAMTAILOR_SIGNATURE="")
    assert response.status_code == 401 and WebhookEvent.objects.count() == 0
    invited.refresh_from_db()
    assert invited.status == "invited" and len(mail.outbox) == 0


# --- replays: the canonical signature, not its spelling ---------------------------------------------
def _respellings(header: str) -> dict[str, str]:
    t, v1 = (part.split("=", 1)[1] for part in header.split(","))
    return {
        "hex upper case": f"t={t},v1={v1.upper()}",
        "spaces": f" t = {t} , v1 = {v1} ",
        "extra v0": f"t={t},v1={v1},v0={'0' * 64}",
        "extra t after": f"t={t},v1={v1},t={int(t) + 7}",
        "parts reordered": f"v1={v1},t={t}",
        "mixed case and v0 first": f"v0={'a' * 64},t={t},v1={v1[:32].upper()}{v1[32:]}",
    }


def test_a_respelled_captured_click_is_the_same_click(client, invited, package, reference_fixtures):
    raw = _click_body(reference_fixtures, package)
    header = partner_signature()
    assert _click(client, "resend", raw, HTTP_TEAMTAILOR_SIGNATURE=header).json()["duplicate"] is False
    variants = _respellings(header)
    refused_as_new = 0
    for name, variant in variants.items():
        response = _click(client, "resend", raw, HTTP_TEAMTAILOR_SIGNATURE=variant)
        assert response.status_code == 200, (name, response.content)
        assert response.json()["duplicate"] is True, name
        refused_as_new += 1
    # A changed body under the same signature (it covers only t and the event id) is no new click either.
    body = json.loads(raw)
    body["partner-event"]["candidate"]["first-name"] = "Mallory"
    assert _click(client, "resend", json.dumps(body).encode(), HTTP_TEAMTAILOR_SIGNATURE=header).json()["duplicate"]
    assert refused_as_new == len(variants) == 6
    assert len(mail.outbox) == 1
    assert WebhookEvent.objects.filter(event_type="partner.action.resend").count() == 1


@pytest.mark.parametrize("name", ["resend", "cancel"])
def test_the_triggers_own_request_is_no_click(client, invited, package, reference_fixtures, name):
    raw = _click_body(reference_fixtures, package)  # a click carries the original event: same body
    headers = partner_headers(event_id=EVENT_ID)
    trigger = post_json(client, "/teamtailor/webhook", raw, **headers)
    assert trigger.status_code == 200
    for signature in (headers["HTTP_TEAMTAILOR_SIGNATURE"], _respellings(headers["HTTP_TEAMTAILOR_SIGNATURE"])["spaces"]):
        response = _click(client, name, raw, HTTP_TEAMTAILOR_SIGNATURE=signature)
        assert response.status_code == 401 and response.json() == {"error": "Unauthorized."}
    invited.refresh_from_db()
    assert invited.status == "invited" and len(mail.outbox) == 0
    assert not WebhookEvent.objects.filter(event_type__startswith="partner.action.").exists()
    # A real click later (a fresh signature) still works.
    later = partner_headers(event_id=EVENT_ID, timestamp=unix_now() + 3)
    assert _click(client, name, raw, **later).status_code == 200


def test_resend_is_rate_limited_per_assessment(client, invited, package, reference_fixtures):
    from integrations.teamtailor.services import RESEND_RATE

    raw = _click_body(reference_fixtures, package)
    # One base time: a loop that crosses a second boundary must not sign two clicks alike.
    base = unix_now()
    for i in range(RESEND_RATE.limit):
        response = _click(client, "resend", raw, **partner_headers(event_id=EVENT_ID, timestamp=base - i))
        assert response.status_code == 200 and response.json()["duplicate"] is False
    events_before = WebhookEvent.objects.count()
    refused = _click(client, "resend", raw, **partner_headers(event_id=EVENT_ID, timestamp=base - 60))
    assert refused.status_code == 429, refused.content
    assert "re-sent 5 times" in refused.json()["error"] and int(refused["Retry-After"]) > 0
    assert len(mail.outbox) == RESEND_RATE.limit and WebhookEvent.objects.count() == events_before
    # Cancel is not limited.
    assert _click(client, "cancel", raw, **partner_headers(event_id=EVENT_ID, timestamp=base - 61)).status_code == 200


def test_a_captured_click_replayed_at_the_other_action_is_refused(client, invited, package, reference_fixtures):
    raw = _click_body(reference_fixtures, package)
    header = partner_signature()
    assert _click(client, "resend", raw, HTTP_TEAMTAILOR_SIGNATURE=header).status_code == 200
    for signature in (header, _respellings(header)["hex upper case"]):
        response = _click(client, "cancel", raw, HTTP_TEAMTAILOR_SIGNATURE=signature)
        assert response.status_code == 401 and response.json() == {"error": "Unauthorized."}
    invited.refresh_from_db()
    assert invited.status == "invited"
    assert not WebhookEvent.objects.filter(event_type="partner.action.cancel").exists()
    # A refused click burns nothing: a real cancel (a fresh signature) works.
    fresh = partner_headers(event_id=EVENT_ID, timestamp=unix_now() + 2)
    assert _click(client, "cancel", raw, **fresh).status_code == 200
