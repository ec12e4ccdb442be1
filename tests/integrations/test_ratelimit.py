import multiprocessing
import threading
import time
import uuid

import pytest
from django.conf import settings

from integrations.errors import RateLimited
from integrations.ratelimit import Rate, RateLimiter, limiter_get


def redis_url() -> str:
    url = settings.RATE_LIMIT_STORAGE_URL
    if not url.startswith("redis"):
        pytest.skip("needs RATE_LIMIT_STORAGE_URL (or REDIS_URL) pointing at Redis")
    return url


def max_in_any_window(stamps: list[float], seconds: float) -> int:
    stamps = sorted(stamps)
    return max(sum(1 for t in stamps[i:] if t < start + seconds) for i, start in enumerate(stamps))


def test_memory_storage_waits_instead_of_failing():
    limiter = RateLimiter("memory://")
    key, rate = f"k-{uuid.uuid4()}", Rate(3, 1)
    started = time.monotonic()
    waited = [limiter.acquire(key, rate) for _ in range(4)]
    assert waited[:3] == [0.0, 0.0, 0.0]
    assert waited[3] > 0.5 and time.monotonic() - started >= 0.9


def test_keys_are_independent():
    limiter = RateLimiter("memory://")
    rate = Rate(1, 10)
    assert limiter.try_acquire("a", rate) == 0.0
    assert limiter.try_acquire("b", rate) == 0.0
    assert limiter.try_acquire("a", rate) > 5


def test_block_holds_every_caller_back():
    limiter = RateLimiter("memory://")
    limiter.block("k", 2)
    wait = limiter.try_acquire("k", Rate(100, 1))
    assert 1.0 < wait <= 2.0
    with pytest.raises(RateLimited):
        limiter.acquire("k", Rate(100, 1), max_wait=0.3)


def test_limiter_follows_settings(settings):
    settings.RATE_LIMIT_STORAGE_URL = "memory://"
    assert limiter_get().storage_url == "memory://"


def _hammer(url: str, key: str, rate: Rate, count: int, out: list) -> None:
    limiter = RateLimiter(url)  # its own connection, as in another worker
    for _ in range(count):
        limiter.acquire(key, rate, max_wait=30)
        out.append(time.time())


def test_redis_limit_is_shared_by_concurrent_threads():
    url = redis_url()
    key, rate = f"shared-{uuid.uuid4()}", Rate(5, 1)
    stamps: list[float] = []
    threads = [threading.Thread(target=_hammer, args=(url, key, rate, 5, stamps)) for _ in range(4)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(stamps) == 20
    # 20 calls at 5 per second take at least three full windows, and no window holds more than 5
    # (0.9 s: the stamps are taken just after Redis granted the slot).
    assert time.monotonic() - started >= 3.0
    assert max_in_any_window(stamps, 0.9) <= 5


def _process_hammer(url, key, limit, seconds, count, queue):
    out: list[float] = []
    _hammer(url, key, Rate(limit, seconds), count, out)
    queue.put(out)


def test_redis_limit_is_shared_by_processes():
    url = redis_url()
    key = f"shared-{uuid.uuid4()}"
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    processes = [context.Process(target=_process_hammer, args=(url, key, 4, 1, 6, queue)) for _ in range(2)]
    for process in processes:
        process.start()
    stamps = [t for _ in processes for t in queue.get(timeout=30)]
    for process in processes:
        process.join(timeout=10)
    assert len(stamps) == 12
    assert max_in_any_window(stamps, 0.9) <= 4
    assert max(stamps) - min(stamps) >= 2.0
