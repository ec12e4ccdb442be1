"""Locks shared by every worker, both on redis-py's ``Lock`` (a key with a timeout, released by a
Lua script only while it still holds its owner's random token):

- ``periodic_lock``: the periodic tasks' non-blocking lock, under the key Django's cache would use
  (so ``cache.get``/``cache.delete`` see it); other caches (local development's in-process memory)
  get the same contract from an owner token checked before delete.
- ``distributed_lock`` / ``try_lock``: a lock a caller waits for (token refresh, one concurrent
  call per credential), on the Redis the rate limiter uses; a process-local lock when there is no
  Redis (local development with ``memory://``, where there is only one process anyway).
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import threading
from collections.abc import Iterator

import redis
from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

logger = logging.getLogger(__name__)


def _redis_lock(cache: RedisCache, key: str, *, ttl: int):
    full_key = cache.make_and_validate_key(key)
    client = cache._cache.get_client(full_key, write=True)
    return client.lock(full_key, timeout=ttl, blocking=False, thread_local=False)


@contextlib.contextmanager
def periodic_lock(name: str, *, ttl: int) -> Iterator[bool]:
    """True inside when this worker holds ``name``; the lock expires by itself after ``ttl``
    seconds if the worker dies. On exit it is released only if it is still this worker's: a lock
    that expired and was taken by another worker stays with that worker."""
    key = f"stagehook:lock:{name}"
    cache = caches["default"]
    if isinstance(cache, RedisCache):
        lock = _redis_lock(cache, key, ttl=ttl)
        acquired = bool(lock.acquire())
        try:
            yield acquired
        finally:
            if acquired and not _redis_release(lock):
                logger.warning("lock %s expired before the run ended: left to its new holder", name)
        return
    token = secrets.token_hex(16)
    acquired = cache.add(key, token, timeout=ttl)
    try:
        yield acquired
    finally:
        if acquired:
            if cache.get(key) == token:
                cache.delete(key)
            else:
                logger.warning("lock %s expired before the run ended: left to its new holder", name)


def _redis_release(lock) -> bool:
    from redis.exceptions import LockError

    try:
        lock.release()
    except LockError:  # expired, or now held by another worker (the token differs)
        return False
    return True


# --- locks a caller waits for -----------------------------------------------------------------
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
