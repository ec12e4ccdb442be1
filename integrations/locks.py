"""Locks shared by every worker: redis-py's ``Lock`` (a key with a timeout, released only by its
owner) on the Redis the rate limiter uses; a process-local lock when there is no Redis (local
development with ``memory://``, where there is only one process anyway)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import redis
from django.conf import settings

NAMESPACE = "stagehook-lock"

_clients: dict[str, redis.Redis] = {}
_local_locks: dict[str, threading.Lock] = {}
_guard = threading.Lock()


class LockNotAcquired(Exception):
    """The lock stayed taken for longer than the caller was willing to wait."""


def redis_client() -> redis.Redis | None:
    """The Redis shared by all workers (``RATE_LIMIT_STORAGE_URL``), or None without one."""
    url = settings.RATE_LIMIT_STORAGE_URL
    if not url.startswith(("redis://", "rediss://", "unix://")):
        return None
    with _guard:
        if url not in _clients:
            _clients[url] = redis.Redis.from_url(url)
        return _clients[url]


def _local(name: str) -> threading.Lock:
    with _guard:
        return _local_locks.setdefault(name, threading.Lock())


@contextlib.contextmanager
def distributed_lock(name: str, *, timeout: float, wait: float) -> Iterator[None]:
    """Hold ``name`` across all workers for at most ``timeout`` seconds (it expires by itself if
    the holder dies); wait up to ``wait`` seconds for it, else raise ``LockNotAcquired``."""
    client = redis_client()
    if client is None:
        lock = _local(name)
        if not lock.acquire(timeout=wait):
            raise LockNotAcquired(name)
        try:
            yield
        finally:
            lock.release()
        return
    lock = client.lock(f"{NAMESPACE}:{name}", timeout=timeout, blocking=True, blocking_timeout=wait)
    if not lock.acquire():
        raise LockNotAcquired(name)
    try:
        yield
    finally:
        with contextlib.suppress(redis.exceptions.LockError):
            lock.release()


def try_lock(name: str, *, timeout: float):
    """Take ``name`` now or return None: the lock object to ``release()`` later."""
    client = redis_client()
    if client is None:
        lock = _local(name)
        return _LocalHeld(lock) if lock.acquire(blocking=False) else None
    lock = client.lock(f"{NAMESPACE}:{name}", timeout=timeout)
    return lock if lock.acquire(blocking=False) else None


class _LocalHeld:
    def __init__(self, lock: threading.Lock):
        self.lock = lock

    def release(self) -> None:
        self.lock.release()
