"""POST /teamtailor/company-webhooks: TT-Signature verification, the connection it belongs to, and
the normalized events (stage change -> trigger-mode assessment, rejection, candidate, job)."""

import base64
import hashlib
import hmac
import json

import pytest
from django.core import mail

from assessments.models import Assessment
from integrations.models import RemoteApplication, RemoteCandidate, RemoteJob, WebhookEvent
from tests.factories import ConnectionFactory, StageMappingFactory, TenantFactory

from .conftest import COMPANY_WEBHOOK_SECRET, company_headers, post_json

pytestmark = pytest.mark.django_db

URL = "/teamtailor/company-webhooks"


def _body(event_name, data) -> bytes:
    return json.dumps({"payload": {"event_name": event_name, "data": data}, "signature": "ignored"}).encode()


def _application(application_id="637", stage_id="13", rejected_at=None, updated="2026-11-25T10:00:00.000+01:00"):
    return {
        "id": application_id,
        "type": "job-applications",
        "attributes": {"rejected-at": rejected_at, "changed-stage-at": updated, "updated-at": updated},
        "relationships": {
            "candidate": {"data": {"type": "candidates", "id": "54322"}},
            "job": {"data": {"type": "jobs", "id": "12345"}},
            "stage": {"data": {"type": "stages", "id": stage_id}},
        },
    }


def _candidate(candidate_id="54322", email="ada.lovelace@example.com"):
    return {
        "id": candidate_id,
        "type": "candidates",
        "attributes": {"first-name": "Ada", "last-name": "Lovelace", "email": email, "phone": None,
                       "updated-at": "2026-11-25T09:00:00.000+01:00"},
    }


def _send(client, raw, secret=COMPANY_WEBHOOK_SECRET, path=URL, **extra):
    return post_json(client, path, raw, **{**company_headers(raw, secret=secret), **extra})


@pytest.fixture
def mapped_sandbox(sandbox_server, webhook_receiver, settings, tenant, package):
    """A sandbox sending its webhooks to ``webhook_receiver``, and the tenant's connection to it
    with stage 13 mapped to ``package``."""
    settings.ATS_EXTRA_ALLOWED_HOSTS = ["127.0.0.1"]
    sandbox = sandbox_server("teamtailor", stagehook_url=webhook_receiver.url)
    config = sandbox.config
    connection = ConnectionFactory(
        tenant=tenant, remote_account_id=config.company_uuid, region="eu", api_base_url=sandbox.url,
        credentials={"partner_api_key": config.partner_api_key, "api_key": config.api_key,
                     "company_webhook_secret": config.company_webhook_secret},
    )
    StageMappingFactory(connection=connection, remote_stage_id="13", package=package)
    return sandbox, connection


def test_sandbox_stage_move_is_accepted_and_orders_a_trigger_mode_interview(
    client, mapped_sandbox, webhook_receiver, package, django_capture_on_commit_callbacks
):
    """The sandbox signs exactly as Teamtailor does; its webhook, replayed byte for byte, passes."""
    sandbox, connection = mapped_sandbox
    config = sandbox.config

    with django_capture_on_commit_callbacks(execute=True):
        assert _send(client, _body("candidate.update", _candidate()), secret=config.company_webhook_secret).status_code == 200
    assert RemoteCandidate.objects.get(connection=connection, remote_id="54322").email == "ada.lovelace@example.com"

    sandbox.move("637", "13")
    received = webhook_receiver.wait_for(1)[0]
    assert received.path == "/company-webhooks"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(URL, data=received.body, content_type="application/json",
                               HTTP_TT_SIGNATURE=received.headers["Tt-Signature"])
    assert response.status_code == 200, response.content

    event = WebhookEvent.objects.get(event_type="job_application.update")
    assert event.connection == connection and event.status == "processed"
    application = RemoteApplication.objects.get(connection=connection, remote_id="637")
    assert (application.remote_stage_id, application.remote_job_id, application.remote_candidate_id) == ("13", "12345", "54322")
    assessment = Assessment.objects.get()
    assert assessment.mode == "trigger" and assessment.package == package
    assert (assessment.remote_application_id, assessment.remote_candidate_id) == ("637", "54322")
    assert [m.to for m in mail.outbox] == [["ada.lovelace@example.com"]]
    # Trigger mode write-back: a partner result created in the sandbox for the candidate and job.
    created = [r for r in sandbox.results() if r["created_via"] == "partner-api"]
    assert len(created) == 1 and created[0]["attributes"]["status"] == "sent"
    assert (created[0]["candidate_id"], created[0]["job_id"]) == ("54322", "12345")


def test_a_stage_move_of_an_unmirrored_candidate_reads_candidate_and_job_from_the_public_api(
    client, mapped_sandbox, webhook_receiver, django_capture_on_commit_callbacks
):
    """The company webhook names the candidate by id only: Stagehook asks Teamtailor who it is."""
    sandbox, connection = mapped_sandbox
    assert not RemoteCandidate.objects.exists()

    sandbox.move("637", "13")
    received = webhook_receiver.wait_for(1)[0]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(URL, data=received.body, content_type="application/json",
                               HTTP_TT_SIGNATURE=received.headers["Tt-Signature"])
    assert response.status_code == 200, response.content

    assert WebhookEvent.objects.get(event_type="job_application.update").status == "processed"
    candidate = RemoteCandidate.objects.get(connection=connection, remote_id="54322")
    assert (candidate.first_name, candidate.email) == ("Ada", "ada.lovelace@example.com")
    assessment = Assessment.objects.get()
    assert assessment.candidate_email == "ada.lovelace@example.com"
    # The job was not mirrored either: its title is read too, for the invitation and the list.
    assert assessment.remote_job_title == "Full-stack web developer"
    assert RemoteJob.objects.get(connection=connection, remote_id="12345").title == "Full-stack web developer"
    assert [m.to for m in mail.outbox] == [["ada.lovelace@example.com"]]


def _documented(application_id="637", stage_name="Stagehook interview", rejected_at=None):
    """A job_application.update exactly as Teamtailor documents it: no stage id, no candidate id."""
    return {
        "id": application_id, "type": "job-applications",
        "attributes": {
            "updated-at": "2026-11-25T10:00:00.000+01:00", "job-id": 12345, "job-title": "Full-stack web developer",
            "last-moved-at": "2026-11-25T10:00:00.000+01:00", "stage-name": stage_name, "referring-site": None,
            "referring-url": None, "referer-id": None, "rejected-at": rejected_at, "promotion-id": None,
            "company-uuid": "vAXspNm0J2Y", "transparent-recruiting-visible-at": None,
        },
    }


def _nudge(client, sandbox, data, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = _send(client, _body("job_application.update", data), secret=sandbox.config.company_webhook_secret)
    assert response.status_code == 200, response.content
    return WebhookEvent.objects.get(event_type="job_application.update")


def test_the_documented_webhook_is_a_nudge_matched_by_the_stage_id_the_api_reports(
    client, mapped_sandbox, package, django_capture_on_commit_callbacks
):
    sandbox, connection = mapped_sandbox
    sandbox.state.applications["637"]["stage_id"] = "13"  # in Teamtailor, the application is in stage 13
    # The webhook's stage name is another stage's: only the id read from the API counts.
    event = _nudge(client, sandbox, _documented(stage_name="Some other stage"), django_capture_on_commit_callbacks)
    assert event.status == "processed", event.error
    application = RemoteApplication.objects.get(connection=connection, remote_id="637")
    assert (application.remote_stage_id, application.remote_candidate_id, application.remote_job_id) == ("13", "54322", "12345")
    assessment = Assessment.objects.get()
    assert (assessment.package, assessment.candidate_email) == (package, "ada.lovelace@example.com")


def test_a_stage_named_like_the_mapped_one_but_another_id_orders_nothing(
    client, mapped_sandbox, django_capture_on_commit_callbacks
):
    sandbox, connection = mapped_sandbox
    mapped_name = sandbox.state.stages["13"]["attributes"]["name"]
    sandbox.state.applications["637"]["stage_id"] = "14"
    event = _nudge(client, sandbox, _documented(stage_name=mapped_name), django_capture_on_commit_callbacks)
    assert (event.status, event.error_code) == ("ignored", "STAGE_NOT_MAPPED")
    assert "stage 14 is not mapped" in event.error.replace('"', "").replace("'", "")
    assert not Assessment.objects.exists() and not mail.outbox


def test_an_application_teamtailor_no_longer_has_fails_the_event_with_the_reason(
    client, mapped_sandbox, django_capture_on_commit_callbacks
):
    sandbox, _ = mapped_sandbox
    event = _nudge(client, sandbox, _documented(application_id="999999"), django_capture_on_commit_callbacks)
    assert (event.status, event.error_code) == ("failed", "BAD_PAYLOAD")
    assert event.error == "job application 999999 no longer exists in Teamtailor"
    assert not Assessment.objects.exists()


def test_without_the_companys_api_key_the_nudge_fails_visibly(client, mapped_sandbox, django_capture_on_commit_callbacks):
    sandbox, connection = mapped_sandbox
    connection.credentials = {k: v for k, v in connection.credentials.items() if k != "api_key"}
    connection.save()
    event = _nudge(client, sandbox, _documented(), django_capture_on_commit_callbacks)
    assert (event.status, event.error_code) == ("failed", "AUTH_FAILED")
    assert "no Teamtailor API key is stored" in event.error


def test_a_stage_move_of_a_candidate_the_ats_does_not_know_fails_the_event(
    client, mapped_sandbox, django_capture_on_commit_callbacks
):
    sandbox, _ = mapped_sandbox
    sandbox.state.applications["637"]["stage_id"] = "13"
    sandbox.state.applications["637"]["candidate_id"] = "999999"
    event = _nudge(client, sandbox, _documented(), django_capture_on_commit_callbacks)
    assert (event.status, event.error_code) == ("failed", "BAD_PAYLOAD")
    assert "999999" in event.error and "is unknown to the ATS" in event.error
    assert not Assessment.objects.exists()


def test_rejection_is_read_from_teamtailor_and_recorded(client, mapped_sandbox, django_capture_on_commit_callbacks):
    sandbox, connection = mapped_sandbox
    sandbox.state.applications["637"]["stage_id"] = "13"
    sandbox.state.applications["637"]["attributes"]["rejected-at"] = "2026-11-25T11:00:00.000+01:00"
    event = _nudge(client, sandbox, _documented(), django_capture_on_commit_callbacks)
    assert event.status == "processed"
    assert RemoteApplication.objects.get(connection=connection, remote_id="637").rejected_at is not None
    assert not Assessment.objects.exists()  # a rejected candidate is never invited


def test_an_event_stagehook_does_not_act_on_fails_with_the_reason(client, connection, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert _send(client, _body("user.update", {"id": "5"})).status_code == 200
    event = WebhookEvent.objects.get()
    assert (event.status, event.error_code) == ("failed", "BAD_PAYLOAD")
    assert event.error == "company webhook user.update is not one Stagehook acts on"


def test_job_and_candidate_events_update_the_mirror(client, connection, django_capture_on_commit_callbacks):
    job = {"id": "2", "type": "jobs", "attributes": {"title": "IT Designer 1", "status": "archived",
                                                      "updated-at": "2023-02-22T22:10:48.705+01:00"}}
    with django_capture_on_commit_callbacks(execute=True):
        assert _send(client, _body("job.update", job)).status_code == 200
        assert _send(client, _body("candidate.create", _candidate("77", "x@example.com"))).status_code == 200
    assert RemoteJob.objects.get(connection=connection, remote_id="2").title == "IT Designer 1"
    assert RemoteCandidate.objects.filter(connection=connection, remote_id="77").exists()
    with django_capture_on_commit_callbacks(execute=True):
        assert _send(client, _body("candidate.destroy", {"id": "77"})).status_code == 200
    assert not RemoteCandidate.objects.filter(connection=connection, remote_id="77").exists()


def test_same_body_twice_is_one_event_and_new_update_is_another(client, connection):
    raw = _body("job_application.update", _application())
    first, second = _send(client, raw), _send(client, raw)
    assert (first.json()["duplicate"], second.json()["duplicate"]) == (False, True)
    assert _send(client, _body("job_application.update", _application(updated="2026-11-25T12:00:00.000+01:00"))).status_code == 200
    assert WebhookEvent.objects.count() == 2


def test_the_signature_picks_the_connection(client, connection):
    other = ConnectionFactory(tenant=TenantFactory(), remote_account_id="other-company",
                              credentials={"company_webhook_secret": "another-company-secret"})
    raw = _body("job.update", {"id": "9", "attributes": {"title": "T", "updated-at": "2026-01-01T00:00:00Z"}})
    assert _send(client, raw, secret="another-company-secret").status_code == 200
    assert WebhookEvent.objects.get().connection == other
    # Same resource id from the first company: a separate event, scoped by connection.
    assert _send(client, raw).status_code == 200
    assert WebhookEvent.objects.filter(connection=connection).count() == 1


def test_company_id_in_the_url_restricts_to_that_connection(client, connection):
    ConnectionFactory(tenant=TenantFactory(), remote_account_id="other-company",
                      credentials={"company_webhook_secret": "another-company-secret"})
    raw = _body("job.update", {"id": "9", "attributes": {"title": "T"}})
    response = _send(client, raw, secret="another-company-secret", path=f"{URL}?company_id={connection.remote_account_id}")
    assert response.status_code == 401
    assert _send(client, raw, path=f"{URL}?company_id={connection.remote_account_id}").status_code == 200


def test_v1_signature_only_when_the_connection_allows_it(client, connection):
    raw = _body("job.update", {"id": "2", "attributes": {"title": "T"}})
    digest = hmac.new(COMPANY_WEBHOOK_SECRET.encode(), b"2", hashlib.sha256).hexdigest()
    v1 = base64.b64encode(digest.encode()).decode()
    assert post_json(client, URL, raw, HTTP_TT_SIGNATURE=v1).status_code == 401
    connection.credentials = {**connection.credentials, "allow_signature_v1": "true"}
    connection.save()
    assert post_json(client, URL, raw, HTTP_TT_SIGNATURE=v1).status_code == 200


def test_disconnected_connection_is_not_found(client, connection):
    connection.status = "disconnected"
    connection.save()
    assert _send(client, _body("job.update", {"id": "2"})).status_code == 401
    assert WebhookEvent.objects.count() == 0
