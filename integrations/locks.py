"""Locks of the periodic tasks: held by one worker, released only by the worker that holds them.

On the Redis cache this is redis-py's ``Lock`` (a random token per holder, released by a Lua script
that deletes the key only while it still holds that token), under the key Django's cache would use,
so ``cache.get``/``cache.delete`` see the same lock. Other caches (local development's in-process
memory) get the same contract from an owner token checked before delete.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import Iterator

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
