"""Trigger mode, complete, on the Teamtailor sandbox: a mapping saved as the wizard saves it -> the
sandbox's stage move -> one invitation -> the result -> the pass rule moves the application in
Teamtailor -> that move's own webhook and a later re-entry invite nobody again."""

import pytest
from django.core import mail

from assessments import services as assessment_services
from assessments.models import Assessment
from integrations import mapping
from integrations.models import Delivery, DeliveryChannel, DeliveryStatus, RemoteApplication, RemoteStage, WebhookEvent
from tests.factories import ConnectionFactory

pytestmark = pytest.mark.django_db

URL = "/teamtailor/company-webhooks"
PIPELINE_12345 = [("11", "Inbox"), ("12", "Phone screen"), ("13", "Stagehook interview"), ("14", "Offer"), ("15", "Hired")]


@pytest.fixture
def sandbox_and_connection(sandbox_server, webhook_receiver, settings, tenant):
    settings.ATS_EXTRA_ALLOWED_HOSTS = ["127.0.0.1"]
    sandbox = sandbox_server("teamtailor", stagehook_url=webhook_receiver.url)
    config = sandbox.config
    connection = ConnectionFactory(
        tenant=tenant, remote_account_id=config.company_uuid, region="eu", api_base_url=sandbox.url,
        credentials={"partner_api_key": config.partner_api_key, "api_key": config.api_key,
                     "company_webhook_secret": config.company_webhook_secret},
    )
    for position, (stage_id, name) in enumerate(PIPELINE_12345):  # as the jobs + stages sync mirrors them
        RemoteStage.objects.create(connection=connection, remote_id=stage_id, remote_job_id="12345", name=name,
                                   position=position)
    return sandbox, connection


def _deliver_webhooks(client, webhook_receiver, count, django_capture_on_commit_callbacks):
    for received in webhook_receiver.wait_for(count)[-1:]:
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(URL, data=received.body, content_type="application/json",
                                   HTTP_TT_SIGNATURE=received.headers["Tt-Signature"])
        assert response.status_code == 200, response.content


def test_map_move_invite_score_move_and_no_reinvite(
    client, sandbox_and_connection, webhook_receiver, package, django_capture_on_commit_callbacks
):
    sandbox, connection = sandbox_and_connection
    version = mapping.stage_mappings_save(connection=connection, rows=[
        {"stage": "13", "package": package.pk, "pass_threshold": 70, "pass_stage": "14"},
    ])
    assert version.number == 1

    sandbox.move("637", "13")
    _deliver_webhooks(client, webhook_receiver, 1, django_capture_on_commit_callbacks)
    assessment = Assessment.objects.get()
    assert (assessment.mode, assessment.remote_application_id, assessment.status) == ("trigger", "637", "invited")
    assert len(mail.outbox) == 1

    with django_capture_on_commit_callbacks(execute=True):
        assessment_services.assessment_record_result(
            assessment=assessment, score_value="88", score_min="0", score_max="100", score_label="Strong",
            summary="Good.", transcript=[], details={}, actor="test",
        )
    move = Delivery.objects.get(assessment=assessment, channel=DeliveryChannel.STAGE_MOVE)
    assert move.status == DeliveryStatus.SENT
    assert sandbox.state.applications["637"]["stage_id"] == "14"

    # Teamtailor reports our own move like any other: the mirror follows, "Offer" is not mapped.
    _deliver_webhooks(client, webhook_receiver, 2, django_capture_on_commit_callbacks)
    assert RemoteApplication.objects.get(connection=connection, remote_id="637").remote_stage_id == "14"

    # Back into the mapped stage: she already had the package, no second interview.
    sandbox.move("637", "13")
    _deliver_webhooks(client, webhook_receiver, 3, django_capture_on_commit_callbacks)
    assert WebhookEvent.objects.filter(event_type="job_application.update").count() == 3
    assert Assessment.objects.count() == 1 and len(mail.outbox) == 1
