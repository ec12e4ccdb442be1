"""A write-back never holds a worker process waiting for a rate slot: with no slot free within
``SLOT_WAIT_SECONDS`` (and nothing sent yet) the delivery is deferred — re-queued with a countdown
to the key's next turn, not an attempt — and sent once when its turn comes."""

import time
import uuid

import pytest
from django.utils import timezone

from assessments.services import assessment_set_status
from integrations import deliveries, ratelimit
from integrations.deliveries import delivery_send_by_id
from integrations.errors import RateLimited, SlotBusy
from integrations.http import AtsClient
from integrations.models import Delivery, DeliveryAttempt, DeliveryStatus
from integrations.ratelimit import Rate, RateLimiter
from integrations.tasks import deliver
from tests.factories import AssessmentFactory

from .conftest import PROVIDER, Reply, TestAtsProvider
from .test_ratelimit import redis_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def rate(monkeypatch):
    """The fake ATS's client with a rate limit (a fresh key per test): ``rate.limit`` per window."""
    holder = {"rate": Rate(1, 60), "credential": f"cred-{uuid.uuid4()}"}

    def client(self, connection):
        key = connection.credentials["api_key"]
        return AtsClient(provider=PROVIDER, base_url=connection.api_base_url, credential=holder["credential"],
                         headers={"Authorization": f"Bearer {key}"}, timeout=(1.0, 2.0), rate=holder["rate"])

    monkeypatch.setattr(TestAtsProvider, "_client", client)
    ratelimit.limiter_get().reset()
    return holder


def rate_key(holder) -> str:
    from integrations.http import credential_fingerprint

    return f"{PROVIDER}:{credential_fingerprint(holder['credential'])}"


def order(connection):
    assessment = AssessmentFactory(tenant=connection.tenant, source=connection.source_key, mode="order")
    assessment_set_status(assessment=assessment, to_status="invited", actor="test")
    return Delivery.objects.get(assessment=assessment)


def test_a_busy_rate_limit_defers_the_delivery_without_an_attempt(
    connection, fake_ats, rate, django_capture_on_commit_callbacks, monkeypatch
):
    first, second = order(connection), order(connection)
    deliver.delay(first.pk)  # takes the one slot of the window
    queued = []
    monkeypatch.setattr(deliveries, "enqueue_after_commit",
                        lambda task, *args, countdown=None: queued.append((task.name, args, countdown)))
    started, before = time.monotonic(), timezone.now()
    deliver.delay(second.pk)
    took = time.monotonic() - started

    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == DeliveryStatus.SENT and len(fake_ats.seen) == 1  # the second was never sent
    # Not an attempt: status and attempts as they were, no attempt row, no error recorded.
    assert (second.status, second.attempts, second.error_code, second.last_status_code) == (
        DeliveryStatus.PENDING, 0, "", None
    )
    assert not DeliveryAttempt.objects.filter(delivery=second).exists()
    # The worker did not wait for the window (60 s): it came back at once...
    assert took < deliveries.SLOT_WAIT_SECONDS + 2
    # ...with the task queued again for when the slot frees, and the row due then.
    [(name, args, countdown)] = queued
    assert (name, args) == ("integrations.tasks.deliver", (second.pk,))
    assert 55 <= countdown <= 61
    due_in = (second.next_attempt_at - before).total_seconds()
    assert abs(due_in - countdown) < 2


def test_a_deferred_delivery_is_sent_once_when_its_turn_comes(connection, fake_ats, rate, monkeypatch):
    rate["rate"] = Rate(1, 2)
    monkeypatch.setattr(deliveries, "enqueue_after_commit", lambda *a, **k: None)
    first, second = order(connection), order(connection)
    deliver.delay(first.pk)
    deliver.delay(second.pk)
    second.refresh_from_db()
    assert second.status == DeliveryStatus.PENDING and len(fake_ats.seen) == 1

    deliver.delay(second.pk)  # a duplicate task before its turn: nothing (not due)
    second.refresh_from_db()
    assert (second.status, second.attempts, len(fake_ats.seen)) == (DeliveryStatus.PENDING, 0, 1)

    deadline = time.monotonic() + 10
    while timezone.now() < second.next_attempt_at and time.monotonic() < deadline:
        time.sleep(0.05)  # waiting for the turn the row says, bounded by the deadline
    deliver.delay(second.pk)
    deliver.delay(second.pk)  # and a duplicate after it: one effect
    second.refresh_from_db()
    assert (second.status, second.attempts) == (DeliveryStatus.SENT, 1)
    assert [s.path for s in fake_ats.seen] == [f"/results/{first.assessment_id}", f"/results/{second.assessment_id}"]
    assert DeliveryAttempt.objects.filter(delivery=second).count() == 1


def test_deferred_deliveries_come_back_spaced_at_the_rate(connection, fake_ats, rate, monkeypatch):
    rate["rate"] = Rate(2, 10)  # a turn every 5 s
    rows = [order(connection) for _ in range(5)]
    queued = []
    monkeypatch.setattr(deliveries, "enqueue_after_commit", lambda task, *args, countdown=None: queued.append(countdown))
    for row in rows:
        deliver.delay(row.pk)
    assert len(fake_ats.seen) == 2
    assert len(queued) == 3
    gaps = [b - a for a, b in zip(queued, queued[1:])]
    assert all(4.5 <= gap <= 5.5 for gap in gaps), queued
    assert 5 <= queued[0] <= 11  # not before a slot of the window frees


def test_a_429_from_the_ats_is_still_an_attempt_with_its_backoff(connection, fake_ats, rate):
    rate["rate"] = Rate(10, 1)
    fake_ats.reply(Reply(429, {}, headers={"X-Rate-Limit-Reset": "30"}))
    delivery = order(connection)
    deliver.delay(delivery.pk)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (DeliveryStatus.FAILED, 1, 429)


def test_once_a_call_went_out_the_rest_of_the_work_waits_for_its_slot(connection, fake_ats, rate):
    """A write-back of two calls: the second is not skipped or deferred (the first cannot be undone)."""
    rate["rate"] = Rate(1, 1)
    client = TestAtsProvider()._client(connection)
    started = time.monotonic()
    with ratelimit.defer_when_busy(0.1):
        client.get("one")
        client.get("two")  # the window's one slot is taken: waited for, about a second
    assert time.monotonic() - started >= 0.9
    assert [s.path for s in fake_ats.seen] == ["/one", "/two"]


def test_nothing_sent_yet_means_slot_busy_and_outside_the_scope_the_wait_is_as_before(connection, fake_ats, rate):
    client = TestAtsProvider()._client(connection)
    client.get("one")
    with pytest.raises(SlotBusy) as busy, ratelimit.defer_when_busy(0.5):
        client.get("two")
    assert busy.value.key == rate_key(rate) and busy.value.rate == Rate(1, 60)
    assert 55 <= busy.value.retry_after <= 61
    # Outside the scope: the caller's own max_wait (60 s by default) — here a short one, a plain RateLimited.
    with pytest.raises(RateLimited) as plain:
        ratelimit.limiter_get().slot(rate_key(rate), Rate(1, 60), max_wait=0.1).__enter__()
    assert not isinstance(plain.value, SlotBusy)
    assert [s.path for s in fake_ats.seen] == ["/one"]


@pytest.mark.parametrize("storage", ["memory", "redis"])
def test_turns_are_spaced_by_the_rate_and_never_before_the_earliest(storage):
    limiter = RateLimiter("memory://" if storage == "memory" else redis_url())
    key, rate = f"k-{uuid.uuid4()}", Rate(5, 1)  # a turn every 0.2 s
    turns = [limiter.turn(key, rate, earliest=3.0) for _ in range(4)]
    assert turns[0] == pytest.approx(3.0, abs=0.05)
    assert [round(b - a, 2) for a, b in zip(turns, turns[1:])] == pytest.approx([0.2, 0.2, 0.2], abs=0.05)
    # A later caller asking to come back later still than the queue: its own earliest wins.
    assert limiter.turn(key, rate, earliest=10.0) == pytest.approx(10.0, abs=0.05)
    assert limiter.turn(f"other-{key}", rate, earliest=0.5) == pytest.approx(0.5, abs=0.05)
