"""Write-back of assessment statuses to Teamtailor partner results, through the real status
machine, the outbox and the sandbox's partner API (which validates every update like Teamtailor)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from assessments import services as assessment_services
from assessments.models import Assessment
from integrations.errors import HostNotAllowed, RemoteError
from integrations.models import Delivery
from integrations.providers import provider_get
from integrations.models import AssessmentLink
from integrations.teamtailor.writeback import attributes_for, score_percent
from tests.factories import AssessmentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def provider():
    return provider_get("teamtailor")


def _order_mode(sandbox, connection, package, *, candidate_id="54321", job_id="12345", **fields):
    result = sandbox.state.partner_result_create(candidate_id=candidate_id, job_id=job_id, created_via="trigger")
    defaults = dict(
        tenant=connection.tenant, package=package, mode="order", source=connection.source_key,
        remote_order_id=result["id"], callback_url=f"{sandbox.url}/partner/v1/partner-results/{result['id']}",
        remote_candidate_id=candidate_id, remote_job_id=job_id, status="ordered",
    )
    defaults.update(fields)
    return AssessmentFactory(**defaults), result["id"]


def _sandbox_result(sandbox, result_id):
    return next(r for r in sandbox.results() if r["id"] == result_id)


def _expired_trigger_delivery(connection, package, provider) -> Delivery:
    """A trigger-mode assessment that expired unanswered, and its write-back (not sent yet)."""
    assessment = AssessmentFactory(
        tenant=connection.tenant, package=package, mode="trigger", source=connection.source_key,
        remote_candidate_id="54323", remote_job_id="12345", status="expired", status_reason="no answer",
    )
    spec = provider.delivery_for(connection=connection, assessment=assessment, to_status="expired")
    return Delivery.objects.create(connection=connection, assessment=assessment, channel=spec.channel, payload=spec.payload)


def _complete(assessment, *, score="82.5", **extra):
    started = timezone.now() - dt.timedelta(minutes=32, seconds=14)
    return assessment_services.assessment_record_result(
        assessment=assessment, score_value=score, score_min="0", score_max="100", score_label="Strong",
        summary="Covered 7 of 8 rubric points.", transcript=[],
        details={"questions": [{"question_id": 7, "position": 1, "question": "Explain a hard bug.", "percent": "87.50"}]},
        attachments=[{"url": "https://files.example.com/transcript.pdf", "name": "Transcript"}, {"url": "ftp://x"}],
        started_at=started, completed_at=started + dt.timedelta(minutes=32, seconds=14), actor="test", **extra,
    )


def test_order_mode_lifecycle_reaches_the_sandbox(
    teamtailor_sandbox, sandbox_connection, package, settings, django_capture_on_commit_callbacks
):
    assessment, result_id = _order_mode(teamtailor_sandbox, sandbox_connection, package, options={"threshold": 70})

    with django_capture_on_commit_callbacks(execute=True):
        assessment_services.assessment_set_status(assessment=assessment, to_status="invited", actor="test")
    assert _sandbox_result(teamtailor_sandbox, result_id)["attributes"]["status"] == "sent"

    with django_capture_on_commit_callbacks(execute=True):
        assessment_services.assessment_start(assessment=Assessment.objects.get(pk=assessment.pk))
    assert _sandbox_result(teamtailor_sandbox, result_id)["attributes"]["status"] == "pending"

    with django_capture_on_commit_callbacks(execute=True):
        _complete(Assessment.objects.get(pk=assessment.pk))

    result = _sandbox_result(teamtailor_sandbox, result_id)
    attributes = result["attributes"]
    assert attributes["status"] == "completed"
    assert attributes["assessment"] == {"score": 83, "grade": "top_fit", "duration": 1934}
    assert attributes["summary"] == "Covered 7 of 8 rubric points."
    assert attributes["url"].startswith(f"{settings.SITE_URL}/r/")
    assert attributes["attachments"] == [{"url": "https://files.example.com/transcript.pdf", "description": "Transcript"}]
    assert attributes["details"]["result"] == "pass" and attributes["details"]["threshold"] == "70"
    assert attributes["details"]["package"] == package.name
    assert attributes["assessment-criteria"] == [{"id": "question-7", "score": 88}]
    # Every update was accepted by the sandbox's validation, and sent as PUT.
    history = [h for h in result["history"] if h["source"] != "webhook answer"]
    assert [h["accepted"] for h in history] == [True, True, True]
    assert {h["source"] for h in history} == {"PUT"}
    deliveries = Delivery.objects.filter(assessment=assessment).order_by("id")
    assert [d.status for d in deliveries] == ["sent", "sent", "sent"]
    assert {d.channel for d in deliveries} == {"result"}
    assert deliveries[0].remote_refs == {"partner_result_id": result_id}
    # The signed report link is made when sending, never stored in the outbox row.
    assert "url" not in deliveries[2].payload["attributes"]


def test_below_threshold_is_fail(teamtailor_sandbox, sandbox_connection, package, django_capture_on_commit_callbacks):
    assessment, result_id = _order_mode(teamtailor_sandbox, sandbox_connection, package, options={"threshold": 90})
    with django_capture_on_commit_callbacks(execute=True):
        assessment_services.assessment_set_status(assessment=assessment, to_status="invited", actor="test")
        _complete(Assessment.objects.get(pk=assessment.pk))
    attributes = _sandbox_result(teamtailor_sandbox, result_id)["attributes"]
    assert attributes["details"]["result"] == "fail"
    assert attributes["assessment"]["grade"] == "might_not_be_fit"


@pytest.mark.parametrize(
    "to_status,words",
    [("expired", "expired"), ("cancelled", "cancelled"), ("failed", "failed")],
)
def test_unfinished_statuses_are_failed_with_a_summary(
    teamtailor_sandbox, sandbox_connection, package, django_capture_on_commit_callbacks, to_status, words
):
    assessment, result_id = _order_mode(teamtailor_sandbox, sandbox_connection, package)
    with django_capture_on_commit_callbacks(execute=True):
        assessment_services.assessment_set_status(assessment=assessment, to_status="invited", actor="test")
        assessment_services.assessment_set_status(
            assessment=Assessment.objects.get(pk=assessment.pk), to_status=to_status, actor="test", reason="by the test"
        )
    attributes = _sandbox_result(teamtailor_sandbox, result_id)["attributes"]
    assert attributes["status"] == "failed"
    assert words in attributes["summary"] and "by the test" in attributes["summary"]


def test_trigger_mode_creates_one_result_then_updates_it(
    teamtailor_sandbox, sandbox_connection, package, django_capture_on_commit_callbacks
):
    assessment = AssessmentFactory(
        tenant=sandbox_connection.tenant, package=package, mode="trigger", source=sandbox_connection.source_key,
        remote_application_id="637", remote_candidate_id="54322", remote_job_id="12345", status="ordered",
    )
    before = {r["id"] for r in teamtailor_sandbox.results()}
    with django_capture_on_commit_callbacks(execute=True):
        assessment_services.assessment_set_status(assessment=assessment, to_status="invited", actor="test")
    created = [r for r in teamtailor_sandbox.results() if r["id"] not in before]
    assert len(created) == 1
    result_id = created[0]["id"]
    assert created[0]["created_via"] == "partner-api"
    assert (created[0]["candidate_id"], created[0]["job_id"]) == ("54322", "12345")
    assert created[0]["attributes"]["status"] == "sent"
    assessment.refresh_from_db()
    # The id lives on the integration's link row; the assessments app's options stay untouched.
    assert AssessmentLink.objects.get(assessment=assessment).remote_result_id == result_id
    assert assessment.options == {}

    with django_capture_on_commit_callbacks(execute=True):
        assessment_services.assessment_start(assessment=assessment)
        _complete(Assessment.objects.get(pk=assessment.pk))

    assert {r["id"] for r in teamtailor_sandbox.results()} - before == {result_id}
    result = _sandbox_result(teamtailor_sandbox, result_id)
    assert result["attributes"]["status"] == "completed"
    assert result["attributes"]["assessment"]["score"] == 83
    assert result["history"][-1]["source"] == "PUT" and result["history"][-1]["accepted"] is True
    assert set(Delivery.objects.filter(assessment=assessment).values_list("channel", flat=True)) == {"note"}


def test_trigger_mode_final_status_on_create_is_also_sent_as_update(teamtailor_sandbox, sandbox_connection, package, provider):
    delivery = _expired_trigger_delivery(sandbox_connection, package, provider)
    result = provider.deliver(delivery)
    stored = _sandbox_result(teamtailor_sandbox, result.remote_refs["partner_result_id"])
    sources = [h["source"] for h in stored["history"]]
    assert sources == ["POST (create)", "PUT"]
    assert stored["attributes"]["status"] == "failed"


def test_update_url_on_a_foreign_host_is_never_called(teamtailor_sandbox, sandbox_connection, package, provider):
    assessment, _ = _order_mode(
        teamtailor_sandbox, sandbox_connection, package, callback_url="https://evil.example.com/partner/v1/partner-results/1"
    )
    spec = provider.delivery_for(connection=sandbox_connection, assessment=assessment, to_status="invited")
    delivery = Delivery.objects.create(connection=sandbox_connection, assessment=assessment, channel=spec.channel, payload=spec.payload)
    with pytest.raises(HostNotAllowed):
        provider.deliver(delivery)


def test_update_url_of_another_region_is_never_called(sandbox_connection, package, provider, settings):
    settings.ATS_EXTRA_ALLOWED_HOSTS = []
    sandbox_connection.api_base_url = "https://api.teamtailor.com"
    sandbox_connection.save()
    assessment = AssessmentFactory(
        tenant=sandbox_connection.tenant, package=package, source=sandbox_connection.source_key, remote_order_id="r1",
        callback_url="https://api.na.teamtailor.com/partner/v1/partner-results/r1", status="invited",
    )
    spec = provider.delivery_for(connection=sandbox_connection, assessment=assessment, to_status="invited")
    delivery = Delivery.objects.create(connection=sandbox_connection, assessment=assessment, channel=spec.channel, payload=spec.payload)
    with pytest.raises(HostNotAllowed):
        provider.deliver(delivery)


def test_sandbox_503_is_a_retryable_error_then_succeeds(teamtailor_sandbox, sandbox_connection, package, provider):
    assessment, result_id = _order_mode(teamtailor_sandbox, sandbox_connection, package, status="invited")
    spec = provider.delivery_for(connection=sandbox_connection, assessment=assessment, to_status="invited")
    delivery = Delivery.objects.create(connection=sandbox_connection, assessment=assessment, channel=spec.channel, payload=spec.payload)
    teamtailor_sandbox.faults(status=503, count=1)
    with pytest.raises(RemoteError) as failure:
        provider.deliver(delivery)
    assert failure.value.retryable and failure.value.status_code == 503
    assert provider.deliver(delivery).status_code == 200
    assert _sandbox_result(teamtailor_sandbox, result_id)["attributes"]["status"] == "sent"


def test_delivery_for_channels_and_statuses(sandbox_connection, package, provider):
    order = AssessmentFactory(tenant=sandbox_connection.tenant, package=package, callback_url="https://api.teamtailor.com/x")
    trigger = AssessmentFactory(tenant=sandbox_connection.tenant, package=package)
    assert provider.delivery_for(connection=sandbox_connection, assessment=order, to_status="ordered") is None
    assert provider.delivery_for(connection=sandbox_connection, assessment=order, to_status="invited").channel == "result"
    assert provider.delivery_for(connection=sandbox_connection, assessment=trigger, to_status="invited").channel == "note"
    assert attributes_for(order, "in_progress") == {
        "status": "pending", "actions": [{"buttonText": "Cancel interview", "endpoint": "actions/cancel"}],
    }


@pytest.mark.parametrize(
    "value,low,high,expected",
    [("3", "1", "5", 50), ("82.5", "0", "100", 83), ("120", "0", "100", 100), (None, "0", "100", None), ("1", "1", "1", None)],
)
def test_score_on_teamtailors_scale(value, low, high, expected):
    assessment = Assessment(
        score_value=None if value is None else Decimal(value), score_min=Decimal(low), score_max=Decimal(high)
    )
    assert score_percent(assessment) == expected


def test_trigger_mode_update_failing_after_the_create_is_retried_on_the_same_result(
    teamtailor_sandbox, sandbox_connection, package, provider
):
    """The create went through, the update failed: the outbox rolls the attempt back, but the
    retry updates the result created then — Teamtailor never gets a second one."""
    from integrations.deliveries import delivery_send
    from integrations.models import DeliveryStatus

    delivery = _expired_trigger_delivery(sandbox_connection, package, provider)
    before = {r["id"] for r in teamtailor_sandbox.results()}
    teamtailor_sandbox.faults(status=503, count=1, method="PUT", path="/partner-results/")

    delivery = delivery_send(delivery=delivery)
    assert delivery.status == DeliveryStatus.FAILED
    created = [r for r in teamtailor_sandbox.results() if r["id"] not in before]
    assert len(created) == 1 and delivery.remote_refs == {"partner_result_id": created[0]["id"]}

    delivery = delivery_send(delivery=delivery, now=delivery.next_attempt_at)
    assert delivery.status == DeliveryStatus.SENT
    after = [r for r in teamtailor_sandbox.results() if r["id"] not in before]
    assert [r["id"] for r in after] == [created[0]["id"]]
    assert [h["source"] for h in after[0]["history"]] == ["POST (create)", "PUT"]
    assert after[0]["attributes"]["status"] == "failed"
