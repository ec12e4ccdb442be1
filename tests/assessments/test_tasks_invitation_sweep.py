"""The invitation sweeper: an order whose invitation task was lost still reaches the candidate."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from assessments.models import Assessment, AssessmentEvent, Mode, Status
from assessments.services import CandidateSnapshot, assessment_order
from assessments.tasks import sweep_invitations
from tests.factories import PackageFactory, QuestionFactory

pytestmark = pytest.mark.django_db


def _order_without_task(package, email: str, *, age: timedelta) -> Assessment:
    # send_invitation=False stands for "the task never reached the broker".
    assessment, _ = assessment_order(
        tenant=package.tenant, package=package, mode=Mode.ORDER, actor="test",
        candidate=CandidateSnapshot(first_name="Ada", email=email), send_invitation=False,
    )
    Assessment.objects.filter(pk=assessment.pk).update(created_at=timezone.now() - age)
    return assessment


@pytest.fixture
def package():
    package = PackageFactory()
    QuestionFactory(package=package)
    return package


def test_a_stuck_order_is_invited_once_and_recent_ones_are_left_to_their_task(package):
    stuck = _order_without_task(package, "stuck@example.com", age=timedelta(minutes=20))
    recent = _order_without_task(package, "recent@example.com", age=timedelta(minutes=2))

    assert sweep_invitations() == 1
    stuck.refresh_from_db()
    recent.refresh_from_db()
    assert stuck.status == Status.INVITED
    assert recent.status == Status.ORDERED
    assert [m.to for m in mail.outbox] == [["stuck@example.com"]]

    assert sweep_invitations() == 0  # already invited: nothing more
    assert len(mail.outbox) == 1


def test_an_order_whose_invitation_is_being_retried_or_is_past_its_deadline_is_not_swept(package):
    retrying = _order_without_task(package, "retry@example.com", age=timedelta(hours=1))
    AssessmentEvent.objects.create(assessment=retrying, actor="system:invitation", note="invitation failed: timeout")
    late = _order_without_task(package, "late@example.com", age=timedelta(hours=1))
    Assessment.objects.filter(pk=late.pk).update(expires_at=timezone.now() - timedelta(minutes=1))

    assert sweep_invitations() == 0
    assert mail.outbox == []
