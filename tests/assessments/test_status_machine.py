"""Every legal and illegal status move, the event row, the timestamps and the in-transaction signal."""

import itertools

import pytest
from django.db import transaction

from assessments.exceptions import AssessmentErrorCode, IllegalTransition
from assessments.models import AssessmentEvent, Status
from assessments.services import TRANSITIONS, assessment_cancel, assessment_set_status
from assessments.signals import assessment_status_changed
from tests.factories import AssessmentFactory

pytestmark = pytest.mark.django_db

OPEN = [Status.ORDERED, Status.INVITED, Status.IN_PROGRESS]
CLOSED = [Status.COMPLETED, Status.FAILED, Status.EXPIRED, Status.CANCELLED]

# Written out by hand (not derived from TRANSITIONS) so a wrong table fails here.
LEGAL = {
    (Status.ORDERED, Status.INVITED),
    (Status.ORDERED, Status.FAILED),
    (Status.ORDERED, Status.EXPIRED),
    (Status.ORDERED, Status.CANCELLED),
    (Status.INVITED, Status.IN_PROGRESS),
    (Status.INVITED, Status.FAILED),
    (Status.INVITED, Status.EXPIRED),
    (Status.INVITED, Status.CANCELLED),
    (Status.IN_PROGRESS, Status.COMPLETED),
    (Status.IN_PROGRESS, Status.FAILED),
    (Status.IN_PROGRESS, Status.EXPIRED),
    (Status.IN_PROGRESS, Status.CANCELLED),
}
ALL_PAIRS = list(itertools.product(Status.values, Status.values))


@pytest.fixture
def signals_received():
    received = []

    def receiver(sender, **kwargs):
        received.append({**kwargs, "sender": sender, "in_atomic": transaction.get_connection().in_atomic_block})

    assessment_status_changed.connect(receiver, dispatch_uid="test-status-machine")
    yield received
    assessment_status_changed.disconnect(dispatch_uid="test-status-machine")


def test_table_matches_the_specification():
    table = {(a, b) for a, targets in TRANSITIONS.items() for b in targets}
    assert table == LEGAL
    assert set(TRANSITIONS) == set(Status.values)


@pytest.mark.parametrize(("from_status", "to_status"), sorted(LEGAL))
def test_legal_move(from_status, to_status, signals_received):
    assessment = AssessmentFactory(status=from_status)
    result = assessment_set_status(assessment=assessment, to_status=to_status, actor="tester", reason="because")

    assessment.refresh_from_db()
    assert result.status == assessment.status == to_status
    assert assessment.status_reason == "because"
    event = AssessmentEvent.objects.get(assessment=assessment)
    assert (event.from_status, event.to_status, event.actor, event.note) == (from_status, to_status, "tester", "because")
    assert len(signals_received) == 1
    sent = signals_received[0]
    assert sent["assessment"].pk == assessment.pk
    assert (sent["from_status"], sent["to_status"], sent["actor"]) == (from_status, to_status, "tester")
    assert sent["sender"].__name__ == "Assessment"
    assert sent["in_atomic"] is True
    if to_status == Status.INVITED:
        assert assessment.invited_at is not None
    if to_status == Status.IN_PROGRESS:
        assert assessment.started_at is not None
    if to_status == Status.COMPLETED:
        assert assessment.completed_at is not None


@pytest.mark.parametrize(("from_status", "to_status"), [p for p in ALL_PAIRS if p not in LEGAL])
def test_illegal_move(from_status, to_status, signals_received):
    assessment = AssessmentFactory(status=from_status)
    with pytest.raises(IllegalTransition) as info:
        assessment_set_status(assessment=assessment, to_status=to_status, actor="tester")
    assert info.value.code == AssessmentErrorCode.ILLEGAL_TRANSITION
    assessment.refresh_from_db()
    assert assessment.status == from_status
    assert not AssessmentEvent.objects.filter(assessment=assessment).exists()
    assert signals_received == []


def test_unknown_status_is_illegal():
    assessment = AssessmentFactory(status=Status.INVITED)
    with pytest.raises(IllegalTransition):
        assessment_set_status(assessment=assessment, to_status="archived", actor="tester")


def test_the_move_uses_the_database_status_not_a_stale_instance():
    assessment = AssessmentFactory(status=Status.INVITED)
    stale = type(assessment).objects.get(pk=assessment.pk)
    assessment_set_status(assessment=assessment, to_status=Status.CANCELLED, actor="a")
    # ``stale`` still says invited, but the row is cancelled: the lock re-reads it.
    with pytest.raises(IllegalTransition):
        assessment_set_status(assessment=stale, to_status=Status.IN_PROGRESS, actor="b")


def test_a_failing_listener_rolls_the_move_back():
    assessment = AssessmentFactory(status=Status.INVITED)

    def explode(sender, **kwargs):
        raise RuntimeError("listener failed")

    assessment_status_changed.connect(explode, dispatch_uid="test-explode")
    try:
        with pytest.raises(RuntimeError):
            assessment_set_status(assessment=assessment, to_status=Status.IN_PROGRESS, actor="x")
    finally:
        assessment_status_changed.disconnect(dispatch_uid="test-explode")
    assessment.refresh_from_db()
    assert assessment.status == Status.INVITED
    assert assessment.started_at is None
    assert not AssessmentEvent.objects.filter(assessment=assessment).exists()


@pytest.mark.parametrize("status", OPEN)
def test_cancel_from_every_open_state(status, signals_received):
    assessment = AssessmentFactory(status=status)
    assessment = assessment_cancel(assessment=assessment, actor="recruiter", reason="position filled")
    assert assessment.status == Status.CANCELLED
    assert assessment.status_reason == "position filled"
    assert [s["to_status"] for s in signals_received] == [Status.CANCELLED]


def test_cancel_twice_is_a_no_op(signals_received):
    assessment = AssessmentFactory(status=Status.INVITED)
    assessment_cancel(assessment=assessment, actor="a")
    assessment_cancel(assessment=assessment, actor="a")
    assert AssessmentEvent.objects.filter(assessment=assessment).count() == 1
    assert len(signals_received) == 1


@pytest.mark.parametrize("status", [Status.COMPLETED, Status.FAILED, Status.EXPIRED])
def test_cancel_a_closed_assessment_is_refused(status):
    assessment = AssessmentFactory(status=status)
    with pytest.raises(IllegalTransition):
        assessment_cancel(assessment=assessment, actor="a")
