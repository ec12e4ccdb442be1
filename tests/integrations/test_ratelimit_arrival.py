"""Arrival-safe rate slots (``RateLimiter.slot``): a slot counts from the call's departure until a
window after its answer, so the ATS — which counts arrivals — never sees more than the limit in any
window, however unevenly the calls travel; a slot of a call that never answers frees itself."""

import multiprocessing
import random
import time
import uuid

import pytest

from integrations.errors import RateLimited
from integrations.ratelimit import SLOT_POLL_SECONDS, Rate, RateLimiter

from .test_ratelimit import redis_url


class Clock:
    def __init__(self, start: float = 1_000_000.0):
        self.now = start

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", "redis"])
def limiter(request, monkeypatch):
    url = "memory://" if request.param == "memory" else redis_url()
    clock = Clock(time.time())
    monkeypatch.setattr("integrations.ratelimit.time.time", clock)
    limiter = RateLimiter(url)
    limiter.clock = clock
    return limiter


def test_a_slot_counts_from_the_answer_not_from_the_departure(limiter):
    key, rate, clock = f"k-{uuid.uuid4()}", Rate(2, 1), limiter.clock
    assert limiter.slot_try(key, rate, member="a", in_flight=30) == 0.0
    assert limiter.slot_try(key, rate, member="b", in_flight=30) == 0.0
    # Both still in flight: ask again soon (an answer may free a slot any moment).
    assert 0 < limiter.slot_try(key, rate, member="c", in_flight=30) <= SLOT_POLL_SECONDS
    clock.now += 0.4
    limiter.slot_done(key, "a")  # a's answer came back 0.4 s after it left
    clock.now += 0.7
    # 1.1 s after a's departure a departure-counted window would be free; a's answer was 0.7 s ago.
    assert limiter.slot_try(key, rate, member="c", in_flight=30) == pytest.approx(0.3, abs=0.01)
    clock.now += 0.31
    assert limiter.slot_try(key, rate, member="c", in_flight=30) == 0.0


def test_a_call_that_never_answers_frees_its_slot_after_its_bound(limiter):
    key, rate, clock = f"k-{uuid.uuid4()}", Rate(1, 1), limiter.clock
    assert limiter.slot_try(key, rate, member="lost", in_flight=5) == 0.0  # its worker was killed
    clock.now += 1.5
    assert 0 < limiter.slot_try(key, rate, member="next", in_flight=5) <= SLOT_POLL_SECONDS
    clock.now += 4.6  # the bound (5 s) and a window (1 s) have passed
    assert limiter.slot_try(key, rate, member="next", in_flight=5) == 0.0


def test_the_slot_context_waits_and_stamps_the_answer(limiter):
    key, rate = f"k-{uuid.uuid4()}", Rate(1, 1)
    with limiter.slot(key, rate) as waited:
        assert waited == 0.0
    with pytest.raises(RateLimited) as raised:
        with limiter.slot(key, rate, max_wait=0.1):
            pass
    assert raised.value.retry_after == pytest.approx(1.0, abs=0.05)


def test_a_block_holds_slots_back_too(limiter):
    limiter.block("blocked", 2)
    assert limiter.slot_try("blocked", Rate(100, 1), member="a", in_flight=5) > 1.0


def test_reset_forgets_the_slots(limiter):
    key = f"k-{uuid.uuid4()}"
    assert limiter.slot_try(key, Rate(1, 10), member="a", in_flight=5) == 0.0
    limiter.reset()
    assert limiter.slot_try(key, Rate(1, 10), member="b", in_flight=5) == 0.0


def _calls(url: str, key: str, rate: Rate, count: int, seed: int, out) -> None:
    limiter = RateLimiter(url)  # its own connection, as in another worker
    travel = random.Random(seed)
    for _ in range(count):
        with limiter.slot(key, rate, max_wait=30):
            departed = time.time()
            time.sleep(travel.uniform(0, 0.08))  # the call in flight, unevenly long
            answered = time.time()
        out.append((departed, answered))


def test_workers_together_never_let_more_than_the_limit_arrive_in_any_window():
    """Four processes, calls taking 0-80 ms: when a call departs, the calls that may still arrive
    within a window of it (in flight, or answered less than a window ago) are fewer than the limit."""
    url = redis_url()
    key, rate = f"arrival-{uuid.uuid4()}", Rate(5, 1)
    with multiprocessing.Manager() as manager:
        out = manager.list()
        processes = [multiprocessing.Process(target=_calls, args=(url, key, rate, 6, n, out)) for n in range(4)]
        for process in processes:
            process.start()
        for process in processes:
            process.join(60)
        calls = sorted(out)
    assert len(calls) == 24
    for j, (departed, _answered) in enumerate(calls):
        overlapping = [i for i, (d, a) in enumerate(calls[:j]) if a > departed - rate.seconds]
        assert len(overlapping) < rate.limit, (j, overlapping)
    # And the limit is used: 24 calls at 5 per (1 s + travel) take well under 24 / 4.5 s.
    assert calls[-1][0] - calls[0][0] < 24 / 4.5
