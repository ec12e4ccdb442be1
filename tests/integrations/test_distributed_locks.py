"""Distributed locks and the in-flight cap of the shared limiter (on the test Redis)."""

import threading
import time

import pytest

from integrations import ratelimit
from integrations.errors import RateLimited
from integrations.locks import LockNotAcquired, distributed_lock, redis_client, try_lock


def test_the_tests_run_on_redis():
    assert redis_client() is not None


def test_a_held_lock_makes_others_wait_then_give_up():
    with distributed_lock("test-held", timeout=5, wait=1):
        with pytest.raises(LockNotAcquired):
            with distributed_lock("test-held", timeout=5, wait=0.2):
                pass
    with distributed_lock("test-held", timeout=5, wait=0.2):
        pass


def test_a_dead_holders_lock_expires_by_itself():
    held = try_lock("test-expiry", timeout=0.3)
    assert held is not None and try_lock("test-expiry", timeout=0.3) is None
    deadline = time.monotonic() + 3
    again = None
    while again is None and time.monotonic() < deadline:
        again = try_lock("test-expiry", timeout=0.3)
    assert again is not None
    again.release()


def test_the_concurrency_cap_holds_across_threads_and_gives_up_after_max_wait():
    inside, peak, lock = 0, 0, threading.Lock()
    start = threading.Barrier(9)

    def work():
        nonlocal inside, peak
        start.wait(5)
        with ratelimit.concurrent("test-cap", 3, max_wait=10):
            with lock:
                inside += 1
                peak = max(peak, inside)
            time.sleep(0.2)  # the work being capped
            with lock:
                inside -= 1

    threads = [threading.Thread(target=work) for _ in range(9)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert peak == 3
    with ratelimit.concurrent("test-cap1", 1):
        with pytest.raises(RateLimited):
            with ratelimit.concurrent("test-cap1", 1, max_wait=0.2):
                pass
    with ratelimit.concurrent("test-cap1", 1, max_wait=0.2):
        pass
