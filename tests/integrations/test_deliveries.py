"""The outbox: a Delivery per status change, sent with retries, in order, re-sendable."""

import datetime as dt

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from assessments.services import assessment_set_status
from integrations import deliveries
from integrations.deliveries import MAX_ATTEMPTS, backoff_delay, delivery_send_by_id
from integrations.models import ConnectionStatus, Delivery, DeliveryAttempt, DeliveryStatus, ErrorCode
from integrations.selectors import assessment_remote_refs
from integrations.tasks import deliver
from tests.factories import AssessmentFactory, UserFactory

from .conftest import API_KEY, Reply

pytestmark = pytest.mark.django_db


@pytest.fixture
def assessment(connection):
    return AssessmentFactory(tenant=connection.tenant, source=connection.source_key, mode="order")


def move(assessment, to_status):
    return assessment_set_status(assessment=assessment, to_status=to_status, actor="test")


def send_again(delivery: Delivery) -> Delivery:
    """The next try, at the time it was scheduled for."""
    delivery.refresh_from_db()
    delivery_send_by_id(delivery_id=delivery.pk, now=delivery.next_attempt_at)
    delivery.refresh_from_db()
    return delivery


# --- creation --------------------------------------------------------------------------------------
def test_status_change_creates_a_delivery_and_queues_it_after_commit(
    assessment, connection, fake_ats, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        move(assessment, "invited")
    delivery = Delivery.objects.get()
    assert (delivery.connection, delivery.assessment, delivery.channel, delivery.assessment_status) == (
        connection, assessment, "result", "invited"
    )
    assert delivery.payload == {"status": "invited"}
    assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 1 and delivery.sent_at
    seen = fake_ats.seen[0]
    assert (seen.method, seen.path, seen.json()) == ("PUT", f"/results/{assessment.pk}", {"status": "invited"})
    assert seen.headers["Authorization"] == f"Bearer {API_KEY}"
    attempt = DeliveryAttempt.objects.get()
    assert (attempt.status_code, attempt.error_code) == (200, "") and attempt.duration_ms >= 0


def test_delivery_rolls_back_with_the_status_change(assessment, fake_ats, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            move(assessment, "invited")
            assert Delivery.objects.count() == 1  # same transaction
            raise RuntimeError("the status change fails after the signal")
    assessment.refresh_from_db()
    assert assessment.status == "ordered"
    assert not Delivery.objects.exists()
    assert callbacks == [] and fake_ats.seen == []


def test_no_delivery_for_assessments_not_from_a_connection(connection, fake_ats):
    manual = AssessmentFactory(tenant=connection.tenant, source="")
    other = AssessmentFactory(tenant=connection.tenant, source="api:key-7")
    move(manual, "invited")
    move(other, "invited")
    assert not Delivery.objects.exists()


def test_no_delivery_through_a_disconnected_connection(assessment, connection):
    connection.status = ConnectionStatus.DISCONNECTED
    connection.save()
    move(assessment, "invited")
    assert not Delivery.objects.exists()


def test_provider_may_decline_a_write_back(assessment):
    move(assessment, "cancelled")  # the test provider sends nothing for cancellations
    assert not Delivery.objects.exists()


# --- retries ---------------------------------------------------------------------------------------
def test_503_is_retried_with_backoff_until_it_succeeds(assessment, fake_ats):
    fake_ats.reply(Reply(503, {}), Reply(503, {}), Reply(200, {"result_id": "r-9"}))
    move(assessment, "invited")
    delivery = Delivery.objects.get()
    before = timezone.now()
    deliver.delay(delivery.pk)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code, delivery.error_code) == (
        DeliveryStatus.FAILED, 1, 503, ErrorCode.REMOTE_ERROR
    )
    first_delay = (delivery.next_attempt_at - before).total_seconds()
    assert deliveries.BACKOFF_MIN_SECONDS - 1 <= first_delay <= deliveries.BACKOFF_BASE_SECONDS + 1

    deliver.delay(delivery.pk)  # a task arriving before the next attempt is due does nothing
    delivery.refresh_from_db()
    assert delivery.attempts == 1 and len(fake_ats.seen) == 1

    scheduled = delivery.next_attempt_at
    delivery = send_again(delivery)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 2)
    assert (
        deliveries.BACKOFF_MIN_SECONDS - 1
        <= (delivery.next_attempt_at - scheduled).total_seconds()
        <= 2 * deliveries.BACKOFF_BASE_SECONDS + 1
    )

    delivery = send_again(delivery)
    assert (delivery.status, delivery.attempts, delivery.last_status_code, delivery.error_code) == (
        DeliveryStatus.SENT, 3, 200, ""
    )
    assert delivery.next_attempt_at is None and delivery.remote_refs == {"result_id": "r-9"}
    assert assessment_remote_refs(assessment=assessment) == {"result_id": "r-9"}
    assert list(delivery.attempt_rows.values_list("status_code", "error_code")) == [
        (503, ErrorCode.REMOTE_ERROR), (503, ErrorCode.REMOTE_ERROR), (200, "")
    ]
    assert len(fake_ats.seen) == 3


def test_a_duplicate_task_right_after_a_failure_is_not_an_attempt_even_at_the_shortest_backoff(
    assessment, fake_ats, monkeypatch
):
    # The shortest jitter the backoff can draw (seen once in CI: a 1.02 s backoff inside the
    # 1 s early-arrival slack let a duplicate task count as the next attempt).
    monkeypatch.setattr(deliveries.random, "uniform", lambda low, high: low)
    assert deliveries.BACKOFF_MIN_SECONDS > deliveries.EARLY_ARRIVAL_SLACK_SECONDS
    fake_ats.reply(Reply(503, {}))
    move(assessment, "invited")
    delivery = Delivery.objects.get()
    deliver.delay(delivery.pk)
    deliver.delay(delivery.pk)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, len(fake_ats.seen)) == (DeliveryStatus.FAILED, 1, 1)


def test_backoff_grows_and_honours_retry_after():
    for attempts in range(1, 9):
        ceiling = min(deliveries.BACKOFF_CAP_SECONDS, deliveries.BACKOFF_BASE_SECONDS * 2 ** (attempts - 1))
        delays = [backoff_delay(attempts=attempts) for _ in range(50)]
        assert all(deliveries.BACKOFF_MIN_SECONDS <= d <= ceiling for d in delays)
        assert len(set(delays)) > 1  # jitter
    assert backoff_delay(attempts=1, retry_after=300) >= 300


def test_429_waits_at_least_the_ats_reset(assessment, fake_ats):
    fake_ats.reply(Reply(429, {}, headers={"X-Rate-Limit-Reset": "120"}))
    move(assessment, "invited")
    delivery = Delivery.objects.get()
    before = timezone.now()
    deliver.delay(delivery.pk)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.error_code, delivery.last_status_code) == (
        DeliveryStatus.FAILED, ErrorCode.RATE_LIMITED, 429
    )
    assert delivery.next_attempt_at >= before + dt.timedelta(seconds=120)


def test_dead_after_the_last_attempt(assessment, fake_ats):
    fake_ats.default = Reply(503, {})
    move(assessment, "invited")
    delivery = Delivery.objects.get()
    deliver.delay(delivery.pk)
    for _ in range(MAX_ATTEMPTS - 1):
        delivery = send_again(delivery)
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == (DeliveryStatus.DEAD, MAX_ATTEMPTS, None)
    assert DeliveryAttempt.objects.filter(delivery=delivery).count() == MAX_ATTEMPTS
    deliver.delay(delivery.pk)  # dead: left alone
    assert len(fake_ats.seen) == MAX_ATTEMPTS


def test_refused_payload_is_dead_at_once(assessment, fake_ats):
    fake_ats.reply(Reply(422, {"errors": ["bad status"]}))
    move(assessment, "invited")
    deliver.delay(Delivery.objects.get().pk)
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.error_code, delivery.attempts) == (DeliveryStatus.DEAD, ErrorCode.BAD_PAYLOAD, 1)
    assert "bad status" in delivery.last_error


def test_refused_credentials_flag_the_connection(assessment, connection, fake_ats):
    fake_ats.reply(Reply(401, {}))
    move(assessment, "invited")
    deliver.delay(Delivery.objects.get().pk)
    connection.refresh_from_db()
    assert Delivery.objects.get().error_code == ErrorCode.AUTH_FAILED
    assert connection.status == ConnectionStatus.NEEDS_ATTENTION


def test_host_not_allowed_is_dead_and_never_called(assessment, fake_ats, settings):
    settings.ATS_EXTRA_ALLOWED_HOSTS = []
    move(assessment, "invited")
    deliver.delay(Delivery.objects.get().pk)
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.error_code) == (DeliveryStatus.DEAD, ErrorCode.HOST_NOT_ALLOWED)
    assert fake_ats.seen == []


# --- order -----------------------------------------------------------------------------------------
def test_a_newer_state_supersedes_an_undelivered_older_one(assessment, fake_ats, django_capture_on_commit_callbacks):
    fake_ats.reply(Reply(503, {}))
    with django_capture_on_commit_callbacks(execute=True):
        move(assessment, "invited")  # first try fails: "invited" is in backoff
    with django_capture_on_commit_callbacks(execute=True):
        move(assessment, "in_progress")  # the full newer state: goes out now, "invited" never will
    first, second = Delivery.objects.order_by("id")
    assert first.status == DeliveryStatus.SUPERSEDED and first.next_attempt_at is None
    assert f"superseded by delivery {second.pk}" in first.last_error
    assert first.attempts == 1 and DeliveryAttempt.objects.filter(delivery=first).count() == 1  # kept
    assert second.status == DeliveryStatus.SENT and second.attempts == 1
    assert [s.json()["status"] for s in fake_ats.seen] == ["invited", "in_progress"]

    # The superseded one's own task (its backoff) finds nothing to do, and the admin cannot revive it.
    assert send_again(first).status == DeliveryStatus.SUPERSEDED
    assert deliveries.delivery_resend(delivery=first) is False
    assert [s.json()["status"] for s in fake_ats.seen] == ["invited", "in_progress"]


def test_deliveries_of_other_channels_keep_their_order(assessment, fake_ats, django_capture_on_commit_callbacks):
    fake_ats.reply(Reply(503, {}))
    with django_capture_on_commit_callbacks(execute=True):
        move(assessment, "invited")  # channel "result", first try fails
    type(assessment).objects.filter(pk=assessment.pk).update(mode="trigger")
    assessment.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        move(assessment, "in_progress")  # channel "note": does not replace a "result", waits for it
    first, second = Delivery.objects.order_by("id")
    assert (first.channel, second.channel) == ("result", "note")
    assert first.status == DeliveryStatus.FAILED
    assert second.status == DeliveryStatus.PENDING and second.attempts == 0
    assert second.next_attempt_at > first.next_attempt_at
    assert [s.json()["status"] for s in fake_ats.seen] == ["invited"]

    with django_capture_on_commit_callbacks(execute=True):
        send_again(first)  # succeeds, and wakes the next one
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == second.status == DeliveryStatus.SENT
    assert [s.json()["status"] for s in fake_ats.seen] == ["invited", "invited", "in_progress"]


def test_a_dead_delivery_does_not_block_later_ones(assessment, fake_ats):
    fake_ats.reply(Reply(400, {}))
    move(assessment, "invited")
    deliver.delay(Delivery.objects.get().pk)
    move(assessment, "in_progress")
    later = Delivery.objects.order_by("id").last()
    deliver.delay(later.pk)
    later.refresh_from_db()
    assert later.status == DeliveryStatus.SENT


# --- re-send from the admin ------------------------------------------------------------------------
def test_resend_action_revives_a_dead_delivery(client, assessment, fake_ats, django_capture_on_commit_callbacks):
    fake_ats.reply(Reply(400, {}))
    move(assessment, "invited")
    deliver.delay(Delivery.objects.get().pk)
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.DEAD

    admin = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:integrations_delivery_changelist"),
            {"action": "resend_now", "_selected_action": [delivery.pk]},
            follow=True,
        )
    assert response.status_code == 200
    assert "1 delivery(ies) queued to re-send." in response.content.decode()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.SENT, 1)
    assert delivery.attempt_rows.count() == 2  # the history is kept


def test_resend_leaves_sent_and_overtaken_deliveries_alone(assessment, fake_ats):
    fake_ats.reply(Reply(400, {}))
    move(assessment, "invited")
    deliver.delay(Delivery.objects.get().pk)
    move(assessment, "in_progress")
    dead, sent = Delivery.objects.order_by("id")
    deliver.delay(sent.pk)
    assert deliveries.delivery_resend(delivery=sent) is False
    assert deliveries.delivery_resend(delivery=dead) is False  # "in_progress" reached the ATS after it
    dead.refresh_from_db()
    assert dead.status == DeliveryStatus.DEAD


def test_the_admin_lists_superseded_deliveries(client, assessment, fake_ats, django_capture_on_commit_callbacks):
    fake_ats.reply(Reply(503, {}))
    with django_capture_on_commit_callbacks(execute=True):
        move(assessment, "invited")
    with django_capture_on_commit_callbacks(execute=True):
        move(assessment, "in_progress")
    superseded = Delivery.objects.get(status=DeliveryStatus.SUPERSEDED)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    page = client.get(reverse("admin:integrations_delivery_changelist"), {"status__exact": "superseded"}).content.decode()
    assert "Superseded by a newer state" in page and f"/{superseded.pk}/change/" in page
    detail = client.get(reverse("admin:integrations_delivery_change", args=[superseded.pk])).content.decode()
    assert f"superseded by delivery {superseded.pk + 1}" in detail


def test_a_dead_delivery_with_a_newer_state_on_its_way_is_not_resent(assessment, fake_ats):
    fake_ats.reply(Reply(400, {}))
    move(assessment, "invited")
    dead = Delivery.objects.get()
    deliver.delay(dead.pk)
    dead.refresh_from_db()
    assert dead.status == DeliveryStatus.DEAD
    fake_ats.reply(Reply(503, {}))
    move(assessment, "in_progress")
    newer = Delivery.objects.order_by("id").last()
    deliver.delay(newer.pk)
    newer.refresh_from_db()
    assert newer.status == DeliveryStatus.FAILED  # in backoff, carrying the newer full state
    assert deliveries.delivery_resend(delivery=dead) is False
    dead.refresh_from_db()
    assert dead.status == DeliveryStatus.DEAD
