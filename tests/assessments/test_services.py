"""assessment_order (validation, idempotency, concurrency), results and the candidate's answers."""

import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection, transaction
from django.utils import timezone

from assessments.exceptions import AssessmentError, AssessmentErrorCode, IllegalTransition
from assessments.models import Assessment, AssessmentEvent, Mode, Status
from assessments.services import (
    CandidateSnapshot,
    assessment_order,
    assessment_record_result,
    assessment_start,
    assessment_submit_answers,
)
from assessments.signals import assessment_status_changed
from tests.factories import AssessmentFactory, PackageFactory, QuestionFactory

ADA = CandidateSnapshot(first_name="Ada", last_name="Lovelace", email="ada@example.com", phone="")


def order(package, **kwargs):
    defaults = dict(tenant=package.tenant, package=package, mode=Mode.ORDER, actor="test", candidate=ADA)
    return assessment_order(**{**defaults, **kwargs})


# --- ordering -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_order_creates_sets_expiry_records_event_and_invites_after_commit(django_capture_on_commit_callbacks):
    package = PackageFactory(expires_after_days=3)
    before = timezone.now()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assessment, created = order(package, source="conn:1", remote_order_id="o-1", remote_job_title="Engineer")
        # Nothing is sent before the transaction commits.
        assert mail.outbox == []
    assert created is True
    assert len(callbacks) == 1
    assessment.refresh_from_db()
    assert before + timedelta(days=3) <= assessment.expires_at <= timezone.now() + timedelta(days=3)
    assert assessment.candidate_email == "ada@example.com"
    assert assessment.status == Status.INVITED
    assert assessment.token_hash and len(assessment.token_hash) == 64
    assert len(mail.outbox) == 1
    assert list(assessment.events.values_list("from_status", "to_status")) == [
        ("", Status.ORDERED), (Status.ORDERED, Status.INVITED)
    ]


@pytest.mark.django_db
def test_order_default_expiry_is_seven_days():
    package = PackageFactory(expires_after_days=0)
    assessment, _ = order(package, send_invitation=False)
    delta = assessment.expires_at - timezone.now()
    assert timedelta(days=6, hours=23) < delta <= timedelta(days=7)


@pytest.mark.django_db
def test_order_explicit_expiry_and_no_invitation(django_capture_on_commit_callbacks):
    package = PackageFactory()
    when = timezone.now() + timedelta(days=2)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assessment, _ = order(package, expires_at=when, send_invitation=False)
    assert callbacks == []
    assert assessment.expires_at == when
    assert assessment.status == Status.ORDERED


@pytest.mark.django_db
def test_same_order_id_returns_the_existing_assessment():
    package = PackageFactory()
    first, created1 = order(package, source="conn:1", remote_order_id="o-1", send_invitation=False)
    second, created2 = order(package, source="conn:1", remote_order_id="o-1", send_invitation=False)
    assert (created1, created2) == (True, False)
    assert first.pk == second.pk
    # Another source with the same order id is another order.
    third, created3 = order(package, source="conn:2", remote_order_id="o-1", send_invitation=False)
    assert created3 and third.pk != first.pk


@pytest.mark.django_db
def test_same_order_id_is_returned_even_when_closed_or_package_deactivated():
    package = PackageFactory()
    first, _ = order(package, source="s", remote_order_id="o-9", send_invitation=False)
    Assessment.objects.filter(pk=first.pk).update(status=Status.COMPLETED)
    package.active = False
    package.save()
    again, created = order(package, source="s", remote_order_id="o-9", send_invitation=False)
    assert (again.pk, created) == (first.pk, False)


@pytest.mark.django_db
def test_same_application_and_package_while_open_returns_existing_then_new_after_close():
    package = PackageFactory()
    first, _ = order(package, source="s", remote_application_id="app-1", send_invitation=False)
    again, created = order(package, source="s", remote_application_id="app-1", send_invitation=False)
    assert (again.pk, created) == (first.pk, False)

    other_package = PackageFactory(tenant=package.tenant)
    other, created = order(other_package, source="s", remote_application_id="app-1", send_invitation=False)
    assert created and other.pk != first.pk

    Assessment.objects.filter(pk=first.pk).update(status=Status.EXPIRED)
    fresh, created = order(package, source="s", remote_application_id="app-1", send_invitation=False)
    assert created and fresh.pk != first.pk


@pytest.mark.django_db
def test_one_live_interview_per_application_and_package_whichever_way_asked():
    package = PackageFactory()
    triggered, _ = order(package, source="s", remote_application_id="app-2", mode=Mode.TRIGGER, send_invitation=False)
    ordered, created = order(package, source="s", remote_application_id="app-2", remote_order_id="o-77",
                             send_invitation=False)
    assert (ordered.pk, created) == (triggered.pk, False)
    assert Assessment.objects.count() == 1


@pytest.mark.django_db
def test_order_id_of_another_tenant_is_a_conflict_not_a_leak():
    package = PackageFactory()
    order(package, source="shared", remote_order_id="o-1", send_invitation=False)
    stranger = PackageFactory()
    with pytest.raises(AssessmentError) as info:
        order(stranger, source="shared", remote_order_id="o-1", send_invitation=False)
    assert info.value.code == AssessmentErrorCode.SOURCE_CONFLICT


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"package": "other-tenant"}, AssessmentErrorCode.PACKAGE_NOT_FOUND),
        ({"package": "inactive"}, AssessmentErrorCode.PACKAGE_INACTIVE),
        ({"tenant": "inactive"}, AssessmentErrorCode.TENANT_INACTIVE),
        ({"mode": "telepathy"}, AssessmentErrorCode.INVALID_MODE),
        ({"candidate": CandidateSnapshot(first_name="No", last_name="Contact")}, AssessmentErrorCode.NO_CONTACT),
        ({"candidate": CandidateSnapshot(email="   ", phone=" ")}, AssessmentErrorCode.NO_CONTACT),
        ({"candidate": CandidateSnapshot(email="a" * 250 + "@x.io")}, AssessmentErrorCode.INVALID_CANDIDATE),
        ({"candidate": {"email": "ada@example.com"}}, AssessmentErrorCode.INVALID_CANDIDATE),
        ({"remote_order_id": "x" * 129}, AssessmentErrorCode.INVALID_ORDER),
        ({"options": ["not", "a", "dict"]}, AssessmentErrorCode.INVALID_ORDER),
        ({"expires_at": "past"}, AssessmentErrorCode.INVALID_ORDER),
    ],
)
def test_order_validation(change, code):
    package = PackageFactory()
    kwargs = dict(change)
    if kwargs.get("package") == "other-tenant":
        kwargs["package"] = PackageFactory()
    if kwargs.get("package") == "inactive":
        kwargs["package"] = PackageFactory(tenant=package.tenant, active=False)
    if kwargs.get("tenant") == "inactive":
        package.tenant.active = False
        package.tenant.save()
        kwargs.pop("tenant")
    if kwargs.get("expires_at") == "past":
        kwargs["expires_at"] = timezone.now() - timedelta(minutes=1)
    kwargs.setdefault("package", package)
    kwargs.setdefault("tenant", package.tenant)
    with pytest.raises(AssessmentError) as info:
        assessment_order(**{"mode": Mode.ORDER, "actor": "test", "candidate": ADA, **kwargs})
    assert info.value.code == code
    assert Assessment.objects.count() == 0


@pytest.mark.django_db
def test_order_with_phone_only_is_accepted():
    package = PackageFactory()
    assessment, created = order(package, candidate=CandidateSnapshot(phone="+46 70 123 45 67"), send_invitation=False)
    assert created and assessment.candidate_phone == "+46 70 123 45 67"


# --- concurrency (real PostgreSQL, real transactions) ------------------------------------------


def _in_thread(fn, results, key):
    def run():
        try:
            results[key] = fn()
        except Exception as exc:  # surfaced by the assertions below
            results[key] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _lock_waiters() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def _wait_for_a_lock_waiter(*, deadline: float) -> None:
    give_up = time.monotonic() + deadline
    while _lock_waiters() == 0:
        assert time.monotonic() < give_up, "B never waited on A's row"
        time.sleep(0.01)  # the poll's interval


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("ids", "ids_b"),
    [
        ({"remote_order_id": "race-1"}, {"remote_order_id": "race-1"}),
        ({"remote_application_id": "app-race"}, {"remote_application_id": "app-race"}),
        # Same application, different order ids: the open-per-application constraint decides.
        ({"remote_order_id": "o-a", "remote_application_id": "app-x"}, {"remote_order_id": "o-b", "remote_application_id": "app-x"}),
    ],
)
def test_concurrent_identical_orders_make_one_assessment(ids, ids_b):
    """Thread A inserts inside an open transaction; thread B misses it on lookup, blocks on the
    unique index, gets IntegrityError once A commits, and must answer with A's row."""
    package = PackageFactory()
    a_inserted, release_a = threading.Event(), threading.Event()
    results = {}

    def thread_a():
        with transaction.atomic():
            assessment, created = order(package, source="conn:7", send_invitation=False, **ids)
            a_inserted.set()
            release_a.wait(10)
        return assessment, created

    a = _in_thread(thread_a, results, "a")
    assert a_inserted.wait(10)
    b = _in_thread(lambda: order(package, source="conn:7", send_invitation=False, **ids_b), results, "b")
    # B must be blocked on A's uncommitted row before A commits, or the race is not exercised:
    # wait until PostgreSQL shows a session of this database waiting for a lock.
    _wait_for_a_lock_waiter(deadline=10.0)
    assert b.is_alive(), "B should be blocked by A's uncommitted insert"
    release_a.set()
    a.join(10)
    b.join(10)

    assert not isinstance(results["a"], Exception), results["a"]
    assert not isinstance(results["b"], Exception), results["b"]
    (a_row, a_created), (b_row, b_created) = results["a"], results["b"]
    assert (a_created, b_created) == (True, False)
    assert a_row.pk == b_row.pk
    assert Assessment.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_many_threads_ordering_the_same_thing_make_one_assessment():
    package = PackageFactory()
    barrier = threading.Barrier(8)
    results = {}

    def attempt():
        barrier.wait(10)
        return order(package, source="conn:8", remote_order_id="storm", send_invitation=False)

    threads = [_in_thread(attempt, results, i) for i in range(8)]
    for t in threads:
        t.join(20)
    errors = [r for r in results.values() if isinstance(r, Exception)]
    assert errors == []
    assert len({row.pk for row, _ in results.values()}) == 1
    assert sum(created for _, created in results.values()) == 1
    assert Assessment.objects.count() == 1


# --- results and answers ------------------------------------------------------------------------


RESULT = dict(
    score_value=Decimal("72.5"), score_min=0, score_max=100, score_label="Good", summary="Solid.",
    transcript=[{"question": "Q", "answer": "A"}], details={"engine": "vendor"},
    report_url="https://vendor.example/r/1", attachments=[{"url": "https://vendor.example/a.pdf", "content_type": "application/pdf"}],
)


@pytest.mark.django_db
def test_record_result_from_invited_passes_in_progress_and_completes():
    assessment = AssessmentFactory(status=Status.INVITED)
    seen = []
    assessment_status_changed.connect(lambda sender, **kw: seen.append(kw["to_status"]), weak=False, dispatch_uid="rr")
    try:
        done = assessment_record_result(assessment=assessment, actor="engine", **RESULT)
    finally:
        assessment_status_changed.disconnect(dispatch_uid="rr")
    assert seen == [Status.IN_PROGRESS, Status.COMPLETED]
    done.refresh_from_db()
    assert done.status == Status.COMPLETED
    assert done.score_value == Decimal("72.50") and done.score_max == Decimal("100.00")
    assert done.report_url == RESULT["report_url"]
    assert done.attachments == RESULT["attachments"]
    assert done.started_at and done.completed_at


@pytest.mark.django_db
def test_record_result_keeps_given_timestamps():
    assessment = AssessmentFactory(status=Status.IN_PROGRESS, started_at=timezone.now())
    started = timezone.now() - timedelta(hours=2)
    completed = timezone.now() - timedelta(hours=1)
    done = assessment_record_result(assessment=assessment, actor="engine", started_at=started, completed_at=completed, **RESULT)
    done.refresh_from_db()
    assert (done.started_at, done.completed_at) == (started, completed)


@pytest.mark.django_db
@pytest.mark.parametrize("status", [Status.ORDERED, Status.COMPLETED, Status.FAILED, Status.EXPIRED, Status.CANCELLED])
def test_record_result_refused_outside_invited_and_in_progress(status):
    assessment = AssessmentFactory(status=status)
    with pytest.raises(IllegalTransition):
        assessment_record_result(assessment=assessment, actor="engine", **RESULT)
    assessment.refresh_from_db()
    assert assessment.score_value is None


@pytest.mark.django_db
@pytest.mark.parametrize("bad", [{"score_value": 101}, {"score_value": "abc"}, {"score_value": float("nan")},
                                 {"score_min": 80}])
def test_record_result_validates_scores(bad):
    assessment = AssessmentFactory(status=Status.IN_PROGRESS)
    with pytest.raises(AssessmentError) as info:
        assessment_record_result(assessment=assessment, actor="engine", **{**RESULT, **bad})
    assert info.value.code == AssessmentErrorCode.INVALID_RESULT


@pytest.mark.django_db
def test_start_and_submit_answers_scores_with_the_engine():
    package = PackageFactory()
    q1 = QuestionFactory(package=package, position=1, text="Why us?", rubric=["mentions our product"])
    q2 = QuestionFactory(package=package, position=2, text="A project?", rubric=["names the goal"])
    assessment = AssessmentFactory(package=package, tenant=package.tenant, status=Status.INVITED,
                                   expires_at=timezone.now() + timedelta(days=1))
    assessment = assessment_start(assessment=assessment)
    assert assessment.status == Status.IN_PROGRESS
    assert assessment_start(assessment=assessment).status == Status.IN_PROGRESS  # second tab: no-op
    done = assessment_submit_answers(assessment=assessment, answers={q1.id: "I love the product.", q2.id: "No idea."})
    done.refresh_from_db()
    assert done.status == Status.COMPLETED
    assert done.score_value == Decimal("50.00")
    assert [t["answer"] for t in done.transcript] == ["I love the product.", "No idea."]
    assert done.details["questions"][0]["covered"] == ["mentions our product"]
    assert done.details["questions"][1]["missed"] == ["names the goal"]


@pytest.mark.django_db
def test_submit_requires_every_answer_and_in_progress():
    package = PackageFactory()
    q1 = QuestionFactory(package=package, position=1)
    QuestionFactory(package=package, position=2)
    assessment = AssessmentFactory(package=package, tenant=package.tenant, status=Status.INVITED)
    with pytest.raises(IllegalTransition):
        assessment_submit_answers(assessment=assessment, answers={})
    assessment_start(assessment=assessment)
    with pytest.raises(AssessmentError) as info:
        assessment_submit_answers(assessment=assessment, answers={q1.id: "only one"})
    assert info.value.code == AssessmentErrorCode.INVALID_ANSWERS
    assessment.refresh_from_db()
    assert assessment.status == Status.IN_PROGRESS


@pytest.mark.django_db
def test_start_after_the_deadline_is_refused():
    assessment = AssessmentFactory(status=Status.INVITED, expires_at=timezone.now() - timedelta(minutes=1))
    with pytest.raises(AssessmentError) as info:
        assessment_start(assessment=assessment)
    assert info.value.code == AssessmentErrorCode.EXPIRED
    assert not AssessmentEvent.objects.filter(assessment=assessment).exists()
