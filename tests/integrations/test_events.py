"""Processing of stored events: provider.parse -> normalized events -> dispatch."""

import json

import pytest
from celery.exceptions import Retry

from assessments.models import Assessment
from integrations.models import (
    ConnectionStatus,
    ErrorCode,
    RemoteApplication,
    RemoteCandidate,
    RemoteJob,
    WebhookEvent,
    WebhookStatus,
)
from integrations.selectors import stage_mapping_match
from integrations.tasks import process_webhook_event
from tests.factories import ConnectionFactory, PackageFactory, StageMappingFactory

pytestmark = pytest.mark.django_db

CANDIDATE = {"id": "cand-1", "first_name": "Grace", "last_name": "Hopper", "email": "grace@example.com"}


def stored(connection, event_type, data, event_id=None) -> WebhookEvent:
    event_id = event_id or f"{event_type}-{WebhookEvent.objects.count() + 1}"
    body = {"id": event_id, "type": event_type, "data": data}
    return WebhookEvent.objects.create(
        provider="testats", connection=connection, event_id=event_id, event_type=event_type,
        raw_body=json.dumps(body).encode(),
    )


def process(event: WebhookEvent) -> WebhookEvent:
    process_webhook_event.delay(event.pk)
    event.refresh_from_db()
    return event


def stage_data(stage_id, *, application="app-1", job="job-1", changed_at="2026-11-01T10:00:00+00:00"):
    return {"application_id": application, "job_id": job, "stage_id": stage_id, "candidate": CANDIDATE,
            "changed_at": changed_at}


# --- order mode ------------------------------------------------------------------------------------
def test_assessment_ordered_orders_the_package(connection):
    package = PackageFactory(tenant=connection.tenant)
    event = process(stored(connection, "order", {
        "order_id": "o-1", "package_id": package.pk, "candidate": CANDIDATE, "application_id": "app-1",
        "job_id": "job-1", "job_title": "Engineer", "callback_url": "https://ats.example/results/1",
        "options": {"threshold": "70"},
    }))
    assert (event.status, event.attempts, event.error_code) == (WebhookStatus.PROCESSED, 1, "")
    assert event.processed_at is not None
    assessment = Assessment.objects.get()
    assert (assessment.mode, assessment.source, assessment.package, assessment.tenant) == (
        "order", connection.source_key, package, connection.tenant
    )
    assert (assessment.remote_order_id, assessment.remote_application_id, assessment.remote_candidate_id) == (
        "o-1", "app-1", "cand-1"
    )
    assert (assessment.remote_job_id, assessment.remote_job_title, assessment.callback_url) == (
        "job-1", "Engineer", "https://ats.example/results/1"
    )
    assert assessment.options == {"threshold": "70"} and assessment.candidate_email == "grace@example.com"
    assert RemoteCandidate.objects.get(connection=connection, remote_id="cand-1").email == "grace@example.com"


def test_processing_twice_has_one_effect(connection):
    package = PackageFactory(tenant=connection.tenant)
    event = stored(connection, "order", {"order_id": "o-1", "package_id": package.pk, "candidate": CANDIDATE})
    process(event)
    WebhookEvent.objects.filter(pk=event.pk).update(status=WebhookStatus.RECEIVED)  # as if re-queued
    assert process(event).status == WebhookStatus.PROCESSED
    assert process(event).attempts == 2  # already processed: the second run returned early
    assert Assessment.objects.count() == 1


@pytest.mark.parametrize("package_kind", ["missing", "other_tenant", "inactive", "not_a_number"])
def test_unknown_package_fails_without_retry(connection, package_kind):
    package_id = {
        "missing": lambda: 999999,
        "other_tenant": lambda: PackageFactory().pk,
        "inactive": lambda: PackageFactory(tenant=connection.tenant, active=False).pk,
        "not_a_number": lambda: "abc",
    }[package_kind]()
    event = process(stored(connection, "order", {"order_id": "o-1", "package_id": package_id, "candidate": CANDIDATE}))
    assert (event.status, event.error_code, event.attempts) == (WebhookStatus.FAILED, ErrorCode.BAD_PAYLOAD, 1)
    assert "package" in event.error
    assert not Assessment.objects.exists()


def test_assessment_domain_error_is_a_bad_payload(connection):
    package = PackageFactory(tenant=connection.tenant)
    no_contact = {"id": "cand-2", "first_name": "No", "last_name": "Contact"}
    event = process(stored(connection, "order", {"order_id": "o-1", "package_id": package.pk, "candidate": no_contact}))
    assert (event.status, event.error_code) == (WebhookStatus.FAILED, ErrorCode.BAD_PAYLOAD)
    assert "NO_CONTACT" in event.error


def test_unparseable_payload_fails_without_retry(connection):
    event = process(stored(connection, "mystery", {}))
    assert (event.status, event.error_code, event.attempts) == (WebhookStatus.FAILED, ErrorCode.BAD_PAYLOAD, 1)


def test_event_without_connection_fails(connection):
    package = PackageFactory(tenant=connection.tenant)
    event = process(stored(None, "order", {"order_id": "o-1", "package_id": package.pk, "candidate": CANDIDATE}))
    assert (event.status, event.error_code) == (WebhookStatus.FAILED, ErrorCode.UNKNOWN_CONNECTION)


def test_unexpected_error_asks_celery_for_a_retry_and_stays_failed_meanwhile(connection):
    event = stored(connection, "explode", {})
    with pytest.raises(Retry) as exc:  # eager Celery hands the retry back instead of scheduling it
        process_webhook_event.delay(event.pk)
    assert isinstance(exc.value.exc, RuntimeError) and exc.value.when > 0
    event.refresh_from_db()
    assert (event.status, event.error_code, event.attempts) == (WebhookStatus.FAILED, ErrorCode.INTERNAL, 1)
    assert "the provider has a bug" in event.error
    with pytest.raises(Retry):  # the retry runs the event again
        process_webhook_event.delay(event.pk)
    event.refresh_from_db()
    assert event.attempts == 2


def test_partial_effects_roll_back_with_a_failed_event(connection):
    # The stage move is mirrored, then ordering fails: neither survives, so a reprocess can redo both.
    StageMappingFactory(connection=connection, remote_stage_id="s-2")
    no_contact = dict(stage_data("s-2"), candidate={"id": "cand-9"})
    event = process(stored(connection, "stage", no_contact))
    assert event.status == WebhookStatus.FAILED
    assert not RemoteApplication.objects.exists()


# --- trigger mode ----------------------------------------------------------------------------------
def test_stage_changed_to_a_mapped_stage_orders_in_trigger_mode(connection):
    mapping = StageMappingFactory(connection=connection, remote_stage_id="s-2")
    RemoteJob.objects.create(connection=connection, remote_id="job-1", title="Engineer")
    event = process(stored(connection, "stage", stage_data("s-2")))
    assert event.status == WebhookStatus.PROCESSED
    assessment = Assessment.objects.get()
    assert (assessment.mode, assessment.package, assessment.source) == ("trigger", mapping.package, connection.source_key)
    assert (assessment.remote_application_id, assessment.remote_candidate_id, assessment.remote_job_id) == (
        "app-1", "cand-1", "job-1"
    )
    assert assessment.remote_job_title == "Engineer" and assessment.remote_order_id == ""
    application = RemoteApplication.objects.get(connection=connection, remote_id="app-1")
    assert (application.remote_stage_id, application.remote_job_id, application.remote_candidate_id) == (
        "s-2", "job-1", "cand-1"
    )


def test_unmapped_stage_is_recorded(connection):
    StageMappingFactory(connection=connection, remote_stage_id="s-2")
    event = process(stored(connection, "stage", stage_data("s-1")))
    assert (event.status, event.error_code) == (WebhookStatus.IGNORED, ErrorCode.STAGE_NOT_MAPPED)
    assert RemoteApplication.objects.get().remote_stage_id == "s-1"
    assert not Assessment.objects.exists()


def test_same_stage_twice_and_out_of_order_have_one_effect(connection):
    StageMappingFactory(connection=connection, remote_stage_id="s-2")
    process(stored(connection, "stage", stage_data("s-2", changed_at="2026-11-01T10:00:00+00:00")))
    again = process(stored(connection, "stage", stage_data("s-2", changed_at="2026-11-01T10:05:00+00:00")))
    older = process(stored(connection, "stage", stage_data("s-1", changed_at="2026-11-01T09:00:00+00:00")))
    assert again.status == older.status == WebhookStatus.IGNORED
    assert Assessment.objects.count() == 1
    assert RemoteApplication.objects.get().remote_stage_id == "s-2"


def test_job_mapping_overrides_the_default(connection):
    default = StageMappingFactory(connection=connection, remote_stage_id="s-2")
    override = StageMappingFactory(connection=connection, remote_stage_id="s-2", remote_job_id="job-1")
    inactive = StageMappingFactory(connection=connection, remote_stage_id="s-3", remote_job_id="job-1", active=False)
    assert stage_mapping_match(connection=connection, remote_job_id="job-1", remote_stage_id="s-2") == override
    assert stage_mapping_match(connection=connection, remote_job_id="job-2", remote_stage_id="s-2") == default
    assert stage_mapping_match(connection=connection, remote_job_id="job-1", remote_stage_id=inactive.remote_stage_id) is None
    other = ConnectionFactory(provider="testats")
    assert stage_mapping_match(connection=other, remote_job_id="job-1", remote_stage_id="s-2") is None
    process(stored(connection, "stage", stage_data("s-2")))
    assert Assessment.objects.get().package == override.package


def test_rejected_application_is_not_triggered(connection):
    StageMappingFactory(connection=connection, remote_stage_id="s-2")
    rejected = process(stored(connection, "reject", {"application_id": "app-1", "rejected_at": "2026-11-01T08:00:00+00:00"}))
    assert rejected.status == WebhookStatus.PROCESSED
    event = process(stored(connection, "stage", stage_data("s-2")))
    assert event.status == WebhookStatus.IGNORED
    assert RemoteApplication.objects.get().rejected_at is not None
    assert not Assessment.objects.exists()


def test_mirrors_are_per_connection(connection):
    other = ConnectionFactory(provider="testats")
    process(stored(connection, "candidate", {"id": "cand-1", "email": "one@example.com"}))
    process(stored(other, "candidate", {"id": "cand-1", "email": "two@example.com"}))
    assert RemoteCandidate.objects.get(connection=connection).email == "one@example.com"
    assert RemoteCandidate.objects.get(connection=other).email == "two@example.com"


def test_candidate_and_job_changes_update_the_mirror(connection):
    process(stored(connection, "job", {"id": "job-1", "title": "Engineer"}))
    process(stored(connection, "job", {"id": "job-1", "title": "Senior Engineer"}))
    assert RemoteJob.objects.get(connection=connection).title == "Senior Engineer"
    process(stored(connection, "candidate", {"id": "cand-1", "email": "a@example.com"}))
    process(stored(connection, "candidate", {"id": "cand-1", "deleted": True}))
    process(stored(connection, "job", {"id": "job-1", "deleted": True}))
    assert not RemoteCandidate.objects.exists() and not RemoteJob.objects.exists()


def test_connection_removed_disconnects(connection):
    event = process(stored(connection, "removed", {}))
    connection.refresh_from_db()
    assert event.status == WebhookStatus.PROCESSED
    assert connection.status == ConnectionStatus.DISCONNECTED and connection.status_reason == "uninstalled"
    package = PackageFactory(tenant=connection.tenant)
    late = process(stored(connection, "order", {"order_id": "o-1", "package_id": package.pk, "candidate": CANDIDATE}))
    assert (late.status, late.error_code) == (WebhookStatus.FAILED, ErrorCode.UNKNOWN_CONNECTION)


# --- the intake's batches (process_webhook_events) ------------------------------------------------
def test_a_batch_processes_each_event_and_queues_only_the_failing_one_again(connection, monkeypatch):
    import integrations.tasks as tasks

    package = PackageFactory(tenant=connection.tenant)
    good = stored(connection, "order", {
        "order_id": "o-9", "package_id": package.pk, "candidate": CANDIDATE, "application_id": "app-9",
        "job_id": "job-1", "job_title": "Engineer", "callback_url": "https://ats.example/results/9",
    })
    bad, unparseable = stored(connection, "explode", {}), stored(connection, "mystery", {})
    queued = []
    monkeypatch.setattr(tasks, "enqueue_now", lambda task, *args, countdown=None, retries=0: queued.append(
        (task, args, countdown, retries)))
    tasks.process_webhook_events.delay([bad.pk, good.pk, unparseable.pk, good.pk])
    for event in (good, bad, unparseable):
        event.refresh_from_db()
    assert (good.status, good.attempts) == (WebhookStatus.PROCESSED, 1)  # listed twice, processed once
    assert Assessment.objects.filter(remote_order_id="o-9").count() == 1
    assert (unparseable.status, unparseable.error_code) == (WebhookStatus.FAILED, ErrorCode.BAD_PAYLOAD)
    assert (bad.status, bad.error_code) == (WebhookStatus.FAILED, ErrorCode.INTERNAL)
    # Only the unexpected failure is retried, on its own task and after a pause, as that task's
    # first retry (the batch's try counted), so the event gets no more tries than without a batch.
    assert [(task, args, retries) for task, args, _, retries in queued] == [(process_webhook_event, (bad.pk,), 1)]
    assert queued[0][2] > 0


def test_the_retries_a_task_is_queued_with_count_against_its_limit(connection):
    """What ``process_webhook_events`` relies on when it hands a failing event to
    ``process_webhook_event`` with ``retries=1``: Celery counts them against ``max_retries``."""
    from integrations.selectors import MAX_EVENT_ATTEMPTS

    event = stored(connection, "explode", {})
    with pytest.raises(Retry):  # one retry left
        process_webhook_event.apply_async((event.pk,), retries=MAX_EVENT_ATTEMPTS - 2)
    with pytest.raises(RuntimeError, match="the provider has a bug"):  # none left: the error itself
        process_webhook_event.apply_async((event.pk,), retries=MAX_EVENT_ATTEMPTS - 1)
