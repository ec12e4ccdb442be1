"""The expiry sweep: open assessments past their deadline become expired through the status
machine (so the change is announced); everything else is left alone; running twice is harmless."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from assessments.models import Assessment, AssessmentEvent, Status
from assessments.services import assessment_expire
from assessments.signals import assessment_status_changed
from assessments.tasks import expire_assessments
from tests.factories import AssessmentFactory


@pytest.fixture
def announced():
    received = []

    def receiver(sender, assessment, from_status, to_status, actor, **kwargs):
        received.append((assessment.pk, from_status, to_status, actor))

    assessment_status_changed.connect(receiver, dispatch_uid="test-expiry")
    yield received
    assessment_status_changed.disconnect(dispatch_uid="test-expiry")


@pytest.mark.django_db
def test_expires_open_assessments_past_the_deadline(announced):
    past = timezone.now() - timedelta(minutes=5)
    future = timezone.now() + timedelta(hours=1)
    due = {s: AssessmentFactory(status=s, expires_at=past) for s in (Status.ORDERED, Status.INVITED, Status.IN_PROGRESS)}
    not_yet = AssessmentFactory(status=Status.INVITED, expires_at=future)
    no_deadline = AssessmentFactory(status=Status.INVITED, expires_at=None)
    closed = [AssessmentFactory(status=s, expires_at=past) for s in (Status.COMPLETED, Status.CANCELLED, Status.FAILED)]

    assert expire_assessments.delay().get() == 3

    for status, assessment in due.items():
        assessment.refresh_from_db()
        assert assessment.status == Status.EXPIRED
        assert assessment.status_reason == "deadline passed"
        event = assessment.events.get()
        assert (event.from_status, event.to_status, event.actor) == (status, Status.EXPIRED, "system:expiry")
    assert sorted(announced) == sorted((a.pk, s, Status.EXPIRED, "system:expiry") for s, a in due.items())
    for untouched, status in [(not_yet, Status.INVITED), (no_deadline, Status.INVITED)] + [(c, c.status) for c in closed]:
        untouched.refresh_from_db()
        assert untouched.status == status


@pytest.mark.django_db
def test_running_twice_changes_nothing_more(announced):
    AssessmentFactory(status=Status.INVITED, expires_at=timezone.now() - timedelta(seconds=1))
    assert expire_assessments.delay().get() == 1
    assert expire_assessments.delay().get() == 0
    assert AssessmentEvent.objects.count() == 1
    assert len(announced) == 1


@pytest.mark.django_db
def test_deadline_moved_after_listing_is_respected():
    assessment = AssessmentFactory(status=Status.INVITED, expires_at=timezone.now() - timedelta(seconds=1))
    Assessment.objects.filter(pk=assessment.pk).update(expires_at=timezone.now() + timedelta(days=1))
    assert assessment_expire(assessment_id=assessment.pk) is None
    assessment.refresh_from_db()
    assert assessment.status == Status.INVITED


@pytest.mark.django_db
def test_one_failing_row_does_not_stop_the_sweep():
    bad = AssessmentFactory(status=Status.INVITED, expires_at=timezone.now() - timedelta(minutes=2))
    good = AssessmentFactory(status=Status.INVITED, expires_at=timezone.now() - timedelta(minutes=1))

    def picky(sender, assessment, **kwargs):
        if assessment.pk == bad.pk:
            raise RuntimeError("listener failed for this row")

    assessment_status_changed.connect(picky, dispatch_uid="test-picky")
    try:
        assert expire_assessments.delay().get() == 1
    finally:
        assessment_status_changed.disconnect(dispatch_uid="test-picky")
    bad.refresh_from_db()
    good.refresh_from_db()
    assert (bad.status, good.status) == (Status.INVITED, Status.EXPIRED)  # bad rolled back, retried next run


@pytest.mark.django_db(transaction=True)
def test_a_row_held_by_another_worker_is_skipped_not_waited_for():
    assessment = AssessmentFactory(status=Status.IN_PROGRESS, expires_at=timezone.now() - timedelta(minutes=1))
    locked, release = threading.Event(), threading.Event()

    def holder():
        try:
            with transaction.atomic():
                Assessment.objects.select_for_update().get(pk=assessment.pk)
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert locked.wait(10)
        assert assessment_expire(assessment_id=assessment.pk) is None
    finally:
        release.set()
        thread.join(10)
    assert assessment_expire(assessment_id=assessment.pk).status == Status.EXPIRED


@pytest.mark.django_db
def test_expired_candidate_link_after_the_sweep():
    from django.test import Client

    from assessments.tokens import token_new

    token, digest = token_new()
    AssessmentFactory(status=Status.INVITED, token_hash=digest, expires_at=timezone.now() - timedelta(minutes=1))
    expire_assessments.delay()
    assert Client().get(f"/i/{token}/").status_code == 410
