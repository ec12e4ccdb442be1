"""Deadline and reminders per package: due date, a reminder when not started after N hours, and
one before the deadline, each at most once."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from assessments.models import Assessment, Status
from assessments.selectors import assessment_ids_due_early_reminder, assessment_ids_due_reminder
from assessments.services import CandidateSnapshot, assessment_extend_deadline, assessment_order
from assessments.tasks import send_early_reminders, send_reminders
from tests.factories import PackageFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def order(django_capture_on_commit_callbacks):
    def make(package, *, invited_hours_ago=0, expires_in_hours=None):
        with django_capture_on_commit_callbacks(execute=True):
            assessment, _ = assessment_order(
                tenant=package.tenant, package=package, mode="order", actor="test",
                candidate=CandidateSnapshot(first_name="Ada", email="ada@example.com"),
                expires_at=timezone.now() + timedelta(hours=expires_in_hours) if expires_in_hours else None,
            )
        Assessment.objects.filter(pk=assessment.pk).update(
            invited_at=timezone.now() - timedelta(hours=invited_hours_ago))
        return Assessment.objects.get(pk=assessment.pk)

    return make


def test_due_date_follows_the_package(order):
    package = PackageFactory(expires_after_days=3)
    assessment = order(package)
    assert abs(assessment.expires_at - (timezone.now() + timedelta(days=3))) < timedelta(minutes=1)


def test_not_started_reminder_after_the_packages_hours_once(order):
    package = PackageFactory(reminder_after_hours=12, reminder_before_hours=24)
    fresh = order(package, invited_hours_ago=2)
    due = order(package, invited_hours_ago=13)
    assert assessment_ids_due_early_reminder() == [due.pk]
    mail.outbox.clear()
    assert send_early_reminders.delay().get() == 1
    assert len(mail.outbox) == 1 and mail.outbox[0].subject.startswith("Reminder:")
    assert "You have not started your interview yet." in mail.outbox[0].body
    assert "expires soon" not in mail.outbox[0].body
    due.refresh_from_db()
    assert due.early_reminded_at is not None and due.reminded_at is None
    assert due.events.filter(note__startswith="reminder (not started yet) sent").exists()
    assert send_early_reminders.delay().get() == 0
    fresh.refresh_from_db()
    assert fresh.early_reminded_at is None


def test_the_deadline_reminder_uses_the_packages_window(order):
    package = PackageFactory(reminder_after_hours=None, reminder_before_hours=72)
    inside = order(package, invited_hours_ago=100, expires_in_hours=60)
    outside = order(package, invited_hours_ago=100, expires_in_hours=80)
    assert assessment_ids_due_reminder() == [inside.pk]
    assert assessment_ids_due_early_reminder() == []  # switched off for this package
    assert send_reminders.delay().get() == 1
    assert Assessment.objects.get(pk=outside.pk).reminded_at is None


def test_no_early_reminder_inside_the_deadline_window(order):
    """Both would be due: only the one before the deadline goes out."""
    package = PackageFactory(reminder_after_hours=12, reminder_before_hours=24)
    assessment = order(package, invited_hours_ago=30, expires_in_hours=10)
    assert assessment_ids_due_early_reminder() == []
    assert assessment_ids_due_reminder() == [assessment.pk]


def test_a_package_without_reminders_sends_none(order):
    package = PackageFactory(reminder_after_hours=None, reminder_before_hours=None)
    order(package, invited_hours_ago=100, expires_in_hours=2)
    assert assessment_ids_due_reminder() == [] and assessment_ids_due_early_reminder() == []


def test_extending_the_deadline_makes_the_deadline_reminder_due_again(order):
    package = PackageFactory(reminder_after_hours=None, reminder_before_hours=24)
    assessment = order(package, invited_hours_ago=100, expires_in_hours=10)
    assert send_reminders.delay().get() == 1
    assessment_extend_deadline(assessment=assessment, expires_at=timezone.now() + timedelta(hours=20), actor="t")
    assert assessment_ids_due_reminder() == [assessment.pk]
    assert Assessment.objects.get(pk=assessment.pk).status == Status.INVITED
