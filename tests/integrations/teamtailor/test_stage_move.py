"""Score rules written to Teamtailor: the stage_move delivery PATCHes the job-application's stage
in the sandbox (which checks the stage belongs to the application's job), or leaves a note."""

import pytest

from assessments import services as assessment_services
from assessments.models import Assessment
from integrations import mapping
from integrations.models import Delivery, DeliveryChannel, DeliveryStatus, RemoteStage
from tests.factories import AssessmentFactory

pytestmark = pytest.mark.django_db


def _trigger_assessment(connection, package, rules):
    return AssessmentFactory(
        tenant=connection.tenant, package=package, mode="trigger", source=connection.source_key,
        remote_application_id="637", remote_candidate_id="54322", remote_job_id="12345", status="invited",
        options={mapping.SCORE_RULES_OPTION: rules},
    )


def _complete(assessment, score):
    return assessment_services.assessment_record_result(
        assessment=assessment, score_value=score, score_min="0", score_max="100", score_label="", summary="Done.",
        transcript=[], details={}, actor="test",
    )


def test_a_pass_moves_the_application_in_teamtailor(teamtailor_sandbox, sandbox_connection, package,
                                                   django_capture_on_commit_callbacks):
    assessment = _trigger_assessment(sandbox_connection, package, {"pass_threshold": 70, "pass_stage": "14"})
    assert teamtailor_sandbox.state.applications["637"]["stage_id"] == "11"
    with django_capture_on_commit_callbacks(execute=True):
        _complete(Assessment.objects.get(pk=assessment.pk), "85")
    move = Delivery.objects.get(assessment=assessment, channel=DeliveryChannel.STAGE_MOVE)
    assert (move.status, move.last_status_code, move.payload["to_stage_id"]) == (DeliveryStatus.SENT, 200, "14")
    assert teamtailor_sandbox.state.applications["637"]["stage_id"] == "14"
    # The result was written first.
    result = Delivery.objects.get(assessment=assessment, channel=DeliveryChannel.NOTE, assessment_status="completed")
    assert result.status == DeliveryStatus.SENT and result.sent_at <= move.sent_at


def test_a_fail_without_a_stage_leaves_a_note(teamtailor_sandbox, sandbox_connection, package,
                                             django_capture_on_commit_callbacks):
    sandbox_connection.credentials = {**sandbox_connection.credentials, "note_user_id": "34"}
    sandbox_connection.save()
    assessment = _trigger_assessment(sandbox_connection, package, {"pass_threshold": 70, "fail_threshold": 40})
    with django_capture_on_commit_callbacks(execute=True):
        _complete(Assessment.objects.get(pk=assessment.pk), "30")
    move = Delivery.objects.get(assessment=assessment, channel=DeliveryChannel.STAGE_MOVE)
    assert move.status == DeliveryStatus.SENT
    assert teamtailor_sandbox.state.applications["637"]["stage_id"] == "11"
    notes = [n for n in teamtailor_sandbox.notes() if n["candidate_id"] == "54322"]
    assert len(notes) == 1 and "below the fail threshold 40" in notes[0]["note"]


def test_a_stage_of_another_job_is_refused_and_recorded_dead(teamtailor_sandbox, sandbox_connection, package,
                                                             django_capture_on_commit_callbacks):
    RemoteStage.objects.create(connection=sandbox_connection, remote_id="7", remote_job_id="27", name="Interview")
    assessment = _trigger_assessment(sandbox_connection, package, {"pass_threshold": 50, "pass_stage": "7"})
    with django_capture_on_commit_callbacks(execute=True):
        _complete(Assessment.objects.get(pk=assessment.pk), "90")
    move = Delivery.objects.get(assessment=assessment, channel=DeliveryChannel.STAGE_MOVE)
    assert (move.status, move.last_status_code, move.attempts) == (DeliveryStatus.DEAD, 422, 1)
    assert "not a stage of job 12345" in move.last_error
    assert teamtailor_sandbox.state.applications["637"]["stage_id"] == "11"
