"""POST /teamtailor/webhook: the partner trigger through the shared intake, to an ordered
assessment, an invitation and the partner result moving to "sent" in the sandbox."""

import json

import pytest
from django.core import mail

from assessments.models import Assessment
from integrations.events import event_dispatch
from integrations.models import AssessmentLink, RemoteApplication, WebhookEvent
from integrations.providers import StageChanged
from tests.factories import StageMappingFactory

from .conftest import partner_signature, post_json, sandbox_partner_body, sandbox_partner_headers

pytestmark = pytest.mark.django_db


def _post(client, sandbox, body, **headers):
    raw = json.dumps(body).encode()
    event_id = body["partner-event"]["id"]
    return post_json(client, "/teamtailor/webhook", raw, **{**sandbox_partner_headers(sandbox, event_id), **headers})


def test_trigger_orders_invites_and_marks_result_sent(
    client, teamtailor_sandbox, sandbox_connection, package, reference_fixtures, django_capture_on_commit_callbacks
):
    body = sandbox_partner_body(teamtailor_sandbox, reference_fixtures, package_id=package.pk)
    result_id = body["partner-event"]["partner-result"]["id"]

    with django_capture_on_commit_callbacks(execute=True):
        response = _post(client, teamtailor_sandbox, body)

    assert response.status_code == 200
    assert response.json() == {"received": True, "duplicate": False}
    event = WebhookEvent.objects.get()
    assert (event.provider, event.event_id, event.event_type, event.status) == (
        "teamtailor", body["partner-event"]["id"], "partner.trigger", "processed",
    )
    assert "Authorization" not in event.headers and "Teamtailor-Signature" not in event.headers
    assessment = Assessment.objects.get()
    assert assessment.source == sandbox_connection.source_key
    assert assessment.mode == "order"
    assert assessment.package == package
    assert assessment.remote_order_id == result_id
    assert assessment.callback_url == body["partner-event"]["partner-result"]["update-url"]
    assert (assessment.remote_candidate_id, assessment.remote_job_id) == ("54321", "12345")
    assert assessment.remote_job_title == "Full-stack web developer"
    assert (assessment.candidate_first_name, assessment.candidate_last_name) == ("Juston", "Becker")
    assert assessment.candidate_email == "applicant100@example.com"
    assert assessment.options == {"threshold": 75}  # the ATS's ids live on the link row
    link = AssessmentLink.objects.get(assessment=assessment)
    assert (link.connection, link.remote_order_id, link.update_url) == (
        sandbox_connection, result_id, body["partner-event"]["partner-result"]["update-url"]
    )
    assert (link.remote_candidate_id, link.remote_job_id, link.remote_stage_id) == ("54321", "12345", "1")
    assert assessment.status == "invited"
    assert [m.to for m in mail.outbox] == [["applicant100@example.com"]]

    result = next(r for r in teamtailor_sandbox.results() if r["id"] == result_id)
    assert result["attributes"]["status"] == "sent"


def test_same_event_five_times_one_effect(
    client, teamtailor_sandbox, sandbox_connection, package, reference_fixtures, django_capture_on_commit_callbacks
):
    body = sandbox_partner_body(teamtailor_sandbox, reference_fixtures, package_id=package.pk)
    answers = []
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(5):
            answers.append(_post(client, teamtailor_sandbox, body))
    assert [a.status_code for a in answers] == [200] * 5
    assert [a.json()["duplicate"] for a in answers] == [False, True, True, True, True]
    assert WebhookEvent.objects.count() == 1
    assert Assessment.objects.count() == 1
    assert len(mail.outbox) == 1


def test_new_event_for_same_partner_result_is_one_assessment(
    client, teamtailor_sandbox, sandbox_connection, package, reference_fixtures, django_capture_on_commit_callbacks
):
    body = sandbox_partner_body(teamtailor_sandbox, reference_fixtures, package_id=package.pk)
    again = json.loads(json.dumps(body))
    again["partner-event"]["id"] = "another-delivery-of-the-same-trigger"
    with django_capture_on_commit_callbacks(execute=True):
        assert _post(client, teamtailor_sandbox, body).status_code == 200
        assert _post(client, teamtailor_sandbox, again).status_code == 200
    assert WebhookEvent.objects.count() == 2
    assert Assessment.objects.count() == 1
    assert len(mail.outbox) == 1


def test_bulk_mode_without_job_and_without_threshold(
    client, teamtailor_sandbox, sandbox_connection, package, reference_fixtures, django_capture_on_commit_callbacks
):
    body = sandbox_partner_body(teamtailor_sandbox, reference_fixtures, package_id=package.pk, job_id=None, threshold="")
    del body["partner-event"]["candidate"]["job"]
    with django_capture_on_commit_callbacks(execute=True):
        assert _post(client, teamtailor_sandbox, body).status_code == 200
    assessment = Assessment.objects.get()
    assert assessment.remote_job_id == "" and "threshold" not in assessment.options


@pytest.mark.parametrize(
    "webhook_data,message",
    [
        ({}, "Choose a Stagehook interview package in the trigger."),
        ({"package": "999999"}, "The chosen Stagehook interview package is not available."),
        ({"package": "abc"}, "The chosen Stagehook interview package is not available."),
    ],
)
def test_package_missing_or_unknown_is_shown_on_the_card(
    client, teamtailor_sandbox, sandbox_connection, package, reference_fixtures, webhook_data, message
):
    body = sandbox_partner_body(teamtailor_sandbox, reference_fixtures, package_id=package.pk)
    body["partner-event"]["webhook-data"] = webhook_data
    response = _post(client, teamtailor_sandbox, body)
    assert response.status_code == 400
    assert response.json() == {"error": message}
    assert WebhookEvent.objects.count() == 0 and Assessment.objects.count() == 0


def test_another_tenants_package_is_refused(
    client, teamtailor_sandbox, sandbox_connection, reference_fixtures
):
    from tests.factories import PackageFactory

    foreign = PackageFactory()
    body = sandbox_partner_body(teamtailor_sandbox, reference_fixtures, package_id=foreign.pk)
    assert _post(client, teamtailor_sandbox, body).status_code == 400
    assert Assessment.objects.count() == 0


def test_company_mismatch_is_unauthorized(client, teamtailor_sandbox, sandbox_connection, package, reference_fixtures):
    body = sandbox_partner_body(teamtailor_sandbox, reference_fixtures, package_id=package.pk)
    body["company"]["uuid"] = "someone-else"
    response = _post(client, teamtailor_sandbox, body)
    assert response.status_code == 401 and WebhookEvent.objects.count() == 0


def _without_connection_secret(connection):
    credentials = dict(connection.credentials)
    del credentials["webhook_secret"]
    connection.credentials = credentials
    connection.save()


@pytest.mark.parametrize("signature", ["", "t=1,v1=00"], ids=["unsigned", "garbage"])
def test_without_any_webhook_secret_partner_calls_are_refused_outside_local_development(
    client, teamtailor_sandbox, sandbox_connection, package, reference_fixtures, settings, signature
):
    settings.DEBUG, settings.TEAMTAILOR_PARTNER_WEBHOOK_SECRET = False, ""
    settings.TEAMTAILOR_ALLOW_UNSIGNED_PARTNER_CALLS = False
    _without_connection_secret(sandbox_connection)
    body = sandbox_partner_body(teamtailor_sandbox, reference_fixtures, package_id=package.pk)
    response = _post(client, teamtailor_sandbox, body, HTTP_TEAMTAILOR_SIGNATURE=signature)
    assert response.status_code == 401 and response.json() == {"error": "Unauthorized."}
    assert WebhookEvent.objects.count() == 0 and Assessment.objects.count() == 0


def test_without_any_webhook_secret_local_development_accepts_the_bearer_alone(
    client, teamtailor_sandbox, sandbox_connection, package, reference_fixtures, settings,
    django_capture_on_commit_callbacks,
):
    settings.TEAMTAILOR_PARTNER_WEBHOOK_SECRET = ""
    settings.TEAMTAILOR_ALLOW_UNSIGNED_PARTNER_CALLS = True
    _without_connection_secret(sandbox_connection)
    body = sandbox_partner_body(teamtailor_sandbox, reference_fixtures, package_id=package.pk)
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(client, teamtailor_sandbox, body, HTTP_TEAMTAILOR_SIGNATURE="")
    assert response.status_code == 200 and Assessment.objects.count() == 1


def test_the_deployment_secret_verifies_a_connection_without_its_own(
    client, teamtailor_sandbox, sandbox_connection, package, reference_fixtures, settings,
    django_capture_on_commit_callbacks,
):
    settings.TEAMTAILOR_PARTNER_WEBHOOK_SECRET = "deployment-wide-partner-secret"
    _without_connection_secret(sandbox_connection)
    body = sandbox_partner_body(teamtailor_sandbox, reference_fixtures, package_id=package.pk)
    event_id = body["partner-event"]["id"]
    for refused in ("", partner_signature(secret=teamtailor_sandbox.config.webhook_secret, event_id=event_id)):
        assert _post(client, teamtailor_sandbox, body, HTTP_TEAMTAILOR_SIGNATURE=refused).status_code == 401
    assert WebhookEvent.objects.count() == 0
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(client, teamtailor_sandbox, body, HTTP_TEAMTAILOR_SIGNATURE=partner_signature(
            secret="deployment-wide-partner-secret", event_id=event_id))
    assert response.status_code == 200 and Assessment.objects.count() == 1


def test_a_connections_own_secret_overrides_the_deployments(
    client, teamtailor_sandbox, sandbox_connection, package, reference_fixtures, settings
):
    settings.TEAMTAILOR_PARTNER_WEBHOOK_SECRET = "deployment-wide-partner-secret"
    body = sandbox_partner_body(teamtailor_sandbox, reference_fixtures, package_id=package.pk)
    response = _post(client, teamtailor_sandbox, body, HTTP_TEAMTAILOR_SIGNATURE=partner_signature(
        secret="deployment-wide-partner-secret", event_id=body["partner-event"]["id"]))
    assert response.status_code == 401 and WebhookEvent.objects.count() == 0


def test_an_order_for_an_application_our_stage_mapping_already_invited_is_one_interview(
    client, teamtailor_sandbox, sandbox_connection, package, reference_fixtures, django_capture_on_commit_callbacks
):
    """The partner event names candidate and job, not the application: the mirror resolves it, so
    the recruiter's order joins the interview the stage mapping started (one live interview per
    application and package, whichever way it was asked for)."""
    StageMappingFactory(connection=sandbox_connection, remote_stage_id="12", package=package)
    RemoteApplication.objects.create(connection=sandbox_connection, remote_id="636", remote_candidate_id="54321",
                                     remote_job_id="12345", remote_stage_id="11")
    with django_capture_on_commit_callbacks(execute=True):
        outcome = event_dispatch(connection=sandbox_connection, event=StageChanged(
            remote_application_id="636", remote_candidate_id="54321", remote_job_id="12345", remote_stage_id="12",
        ))
    triggered = Assessment.objects.get()
    assert outcome.assessment_id == triggered.pk and triggered.mode == "trigger"

    body = sandbox_partner_body(teamtailor_sandbox, reference_fixtures, package_id=package.pk)
    with django_capture_on_commit_callbacks(execute=True):
        assert _post(client, teamtailor_sandbox, body).status_code == 200

    assert Assessment.objects.count() == 1
    assert WebhookEvent.objects.get(event_type="partner.trigger").status == "processed"
    assert len(mail.outbox) == 1
