"""Outbound rate limits per ATS credential, shared by every worker when the storage is Redis.

``acquire(key, rate)`` waits for a slot in a moving window (never more than ``rate.limit`` calls in
any ``rate.seconds``) instead of failing, so callers together never exceed the ATS's limit. A 429
from the ATS ``block``s the key for everyone until the ATS's reset time.

``slot(key, rate)`` is the same for one HTTP call, counted the way the ATS counts: by *arrival*.
The ATS sees a request somewhere between its departure and its answer, so a slot is held from the
departure until ``rate.seconds`` after the answer came back (a slot still in flight counts, for at
most ``in_flight`` seconds: a killed worker's slot frees itself). Then any ``rate.seconds`` at the
ATS hold at most ``rate.limit`` arrivals however unevenly the requests travel, and the full limit
can be used: a departure-counted window needs a margin of requests for the travel-time jitter
(bench/RESULTS.md, writeback_rate: 45 of 50 per 10 s and 9 of 10 per s left the write-back rate at
or under 90 % of the allowed). ``concurrent(key, n)``
caps how many calls of a key are in flight at once, across workers (n slots, each a lock with a
timeout, so a killed worker's slot frees itself).

``defer_when_busy(max_wait)`` is for work that can come back later instead of waiting (a write-back
task re-queued with a countdown): inside it, until a call has actually gone out, no slot is waited
for longer than ``max_wait``; ``SlotBusy`` (a ``RateLimited``) says nothing was sent. Once a call
went out, the rest of the work waits as usual (its first call must not be repeated).
``turn(key, rate, earliest=)`` then spaces the callers that went away: each is told to come back
one ``rate.seconds / rate.limit`` after the previous one, so they return at the rate the slots free
instead of all at once.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import math
import random
import threading
import time
import uuid
from dataclasses import dataclass

from django.conf import settings
from limits import RateLimitItemPerSecond
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from .errors import RateLimited, SlotBusy
from .locks import try_lock

logger = logging.getLogger(__name__)

NAMESPACE = "stagehook-ats"
DEFAULT_MAX_WAIT = 60.0
# How often a caller asks again while every slot is taken by calls still in flight.
SLOT_POLL_SECONDS = 0.02

# A sorted set per key: member -> the time its slot counts from (in flight: departure + the bound,
# then the answer's time). Slots older than the window leave; a full set answers the wait.
_SLOT_ACQUIRE = """
local now, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local member, in_flight = ARGV[4], tonumber(ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. (now - window))
if redis.call('ZCARD', KEYS[1]) >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return tostring(tonumber(oldest[2]) + window - now)
end
redis.call('ZADD', KEYS[1], now + in_flight, member)
redis.call('PEXPIRE', KEYS[1], math.ceil((window + in_flight) * 1000))
return '0'
"""
# The next free turn of a key for callers that went away (defer_when_busy): at the latest turn
# given + the interval, and not before now + earliest.
_TURN = """
local now, earliest, interval = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local at = math.max(now + earliest, tonumber(redis.call('GET', KEYS[1]) or '0'))
redis.call('SET', KEYS[1], tostring(at + interval), 'PX', math.ceil((at + interval - now + 60) * 1000))
return tostring(at - now)
"""
_SLOT_DONE = """
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  redis.call('ZADD', KEYS[1], 'XX', ARGV[2], ARGV[1])
end
return 1
"""


class _DeferScope:
    def __init__(self, max_wait: float):
        self.max_wait = max_wait
        self.sent = False


_defer_scope: contextvars.ContextVar[_DeferScope | None] = contextvars.ContextVar("ratelimit_defer", default=None)


@contextlib.contextmanager
def defer_when_busy(max_wait: float):
    """Inside: until ``call_sent()``, a slot that is not free within ``max_wait`` raises
    ``SlotBusy`` instead of being waited for (see the module docstring)."""
    token = _defer_scope.set(_DeferScope(max_wait))
    try:
        yield
    finally:
        _defer_scope.reset(token)


def call_sent() -> None:
    """A call went out (``integrations.http`` says so): from now on slots are waited for."""
    scope = _defer_scope.get()
    if scope is not None:
        scope.sent = True


def _max_wait(max_wait: float) -> tuple[float, bool]:
    """The wait allowed here, and whether running out of it means ``SlotBusy`` (nothing sent yet)."""
    scope = _defer_scope.get()
    if scope is None or scope.sent or scope.max_wait >= max_wait:
        return max_wait, False
    return scope.max_wait, True


def _no_slot(message: str, *, retry_after: float, busy: bool, key: str, rate: Rate | None) -> RateLimited:
    if busy:
        return SlotBusy(message, retry_after=retry_after, key=key, rate=rate)
    return RateLimited(message, retry_after=retry_after)


@dataclass(frozen=True)
class Rate:
    """At most ``limit`` calls in any ``seconds``-long window."""

    limit: int
    seconds: int

    def __post_init__(self) -> None:
        if self.limit < 1 or self.seconds < 1:
            raise ValueError("a rate needs limit >= 1 and seconds >= 1")

    def __str__(self) -> str:
        return f"{self.limit} per {self.seconds} s"


class RateLimiter:
    """A moving-window limiter over one ``limits`` storage (``redis://...`` or ``memory://``)."""

    def __init__(self, storage_url: str):
        self.storage_url = storage_url
        self.storage = storage_from_string(storage_url)
        self.strategy = MovingWindowRateLimiter(self.storage)
        self._scripts: dict = {}
        self._memory_lock = threading.Lock()
        self._memory_slots: dict[str, dict[str, float]] = {}
        self._memory_turns: dict[str, float] = {}

    def try_acquire(self, key: str, rate: Rate) -> float:
        """Take a slot now and return 0, or return how many seconds to wait before asking again."""
        block_key = f"{NAMESPACE}/block/{key}"
        if self.storage.get(block_key) > 0:
            return max(self.storage.get_expiry(block_key) - time.time(), 0.05)
        item = RateLimitItemPerSecond(rate.limit, rate.seconds)
        if self.strategy.hit(item, NAMESPACE, key):
            return 0.0
        stats = self.strategy.get_window_stats(item, NAMESPACE, key)
        return max(stats.reset_time - time.time(), 0.01)

    def acquire(self, key: str, rate: Rate, *, max_wait: float = DEFAULT_MAX_WAIT) -> float:
        """Block until a slot is free; returns the seconds waited. Raises ``RateLimited`` (with
        ``retry_after``) when that would take longer than ``max_wait``."""
        max_wait, busy = _max_wait(max_wait)
        started = time.monotonic()
        waited = 0.0
        while True:
            wait = self.try_acquire(key, rate)
            if wait == 0.0:
                if waited > 1:
                    logger.info("rate limit: waited %.1f s for a slot (%s)", waited, rate)
                return waited
            remaining = max_wait - (time.monotonic() - started)
            if wait > remaining:
                raise _no_slot(f"no slot within {max_wait:g} s ({rate})", retry_after=wait, busy=busy, key=key, rate=rate)
            # A little jitter so waiting workers do not all ask again at the same instant.
            pause = wait + random.uniform(0, min(0.05, rate.seconds / rate.limit))
            time.sleep(pause)
            waited += pause

    # --- arrival-safe slots (see the module docstring) ---------------------------------------
    def _slot_key(self, key: str) -> str:
        name = f"{NAMESPACE}/arrival/{key}"
        prefixed = getattr(self.storage, "prefixed_key", None)
        return prefixed(name) if prefixed else name

    def slot_try(self, key: str, rate: Rate, *, member: str, in_flight: float) -> float:
        """Take a slot for ``member`` now and return 0, or the seconds to wait before asking again."""
        block_key = f"{NAMESPACE}/block/{key}"
        if self.storage.get(block_key) > 0:
            return max(self.storage.get_expiry(block_key) - time.time(), 0.05)
        now = time.time()
        redis = getattr(self.storage, "storage", None) if self.storage_url.startswith("redis") else None
        if redis is not None:
            script = self._scripts.get("acquire") or self._scripts.setdefault("acquire", redis.register_script(_SLOT_ACQUIRE))
            wait = float(script(keys=[self._slot_key(key)], args=[now, rate.seconds, rate.limit, member, in_flight]))
        else:
            wait = self._memory_slot_try(key, rate, member=member, in_flight=in_flight, now=now)
        # The oldest slot still in flight: its answer will free the slot sooner than its bound.
        return min(wait, SLOT_POLL_SECONDS) if wait > rate.seconds else wait

    def slot_done(self, key: str, member: str) -> None:
        """The answer of ``member``'s call came back: its slot is counted from now on."""
        now = time.time()
        redis = getattr(self.storage, "storage", None) if self.storage_url.startswith("redis") else None
        if redis is not None:
            script = self._scripts.get("done") or self._scripts.setdefault("done", redis.register_script(_SLOT_DONE))
            script(keys=[self._slot_key(key)], args=[member, now])
        else:
            with self._memory_lock:
                slots = self._memory_slots.get(key, {})
                if member in slots:
                    slots[member] = now

    def _memory_slot_try(self, key: str, rate: Rate, *, member: str, in_flight: float, now: float) -> float:
        with self._memory_lock:
            slots = self._memory_slots.setdefault(key, {})
            for name, stamp in list(slots.items()):
                if stamp < now - rate.seconds:
                    del slots[name]
            if len(slots) >= rate.limit:
                return min(slots.values()) + rate.seconds - now
            slots[member] = now + in_flight
            return 0.0

    @contextlib.contextmanager
    def slot(self, key: str, rate: Rate, *, max_wait: float = DEFAULT_MAX_WAIT, in_flight: float = 60.0):
        """Hold an arrival-safe slot of ``key`` around one call (wait for it like ``acquire``;
        ``RateLimited`` when that would take longer than ``max_wait``). ``in_flight`` bounds how
        long a call still running counts (its timeout)."""
        member = uuid.uuid4().hex
        max_wait, busy = _max_wait(max_wait)
        started = time.monotonic()
        waited = 0.0
        while True:
            wait = self.slot_try(key, rate, member=member, in_flight=in_flight)
            if wait == 0.0:
                break
            remaining = max_wait - (time.monotonic() - started)
            if wait > remaining:
                raise _no_slot(f"no slot within {max_wait:g} s ({rate})", retry_after=wait, busy=busy, key=key, rate=rate)
            pause = wait + random.uniform(0, min(0.02, rate.seconds / rate.limit))
            time.sleep(pause)
            waited += pause
        if waited > 1:
            logger.info("rate limit: waited %.1f s for a slot (%s)", waited, rate)
        try:
            yield waited
        finally:
            with contextlib.suppress(Exception):  # a lost answer leaves the slot to its in-flight bound
                self.slot_done(key, member)

    def turn(self, key: str, rate: Rate, *, earliest: float = 0.0) -> float:
        """Seconds from now at which a caller that found no slot of ``key`` should come back: not
        before ``earliest``, and one ``rate.seconds / rate.limit`` after the turn given before."""
        interval = rate.seconds / rate.limit
        now = time.time()
        redis = getattr(self.storage, "storage", None) if self.storage_url.startswith("redis") else None
        if redis is not None:
            script = self._scripts.get("turn") or self._scripts.setdefault("turn", redis.register_script(_TURN))
            name = self._slot_key(key).replace("/arrival/", "/turn/")
            return float(script(keys=[name], args=[now, max(earliest, 0.0), interval]))
        with self._memory_lock:
            at = max(now + max(earliest, 0.0), self._memory_turns.get(key, 0.0))
            self._memory_turns[key] = at + interval
            return at - now

    def block(self, key: str, seconds: float) -> None:
        """Hold every caller of ``key`` back for ``seconds`` (the ATS said so with a 429)."""
        if seconds <= 0:
            return
        block_key = f"{NAMESPACE}/block/{key}"
        until = time.time() + seconds
        if self.storage.get(block_key) > 0 and self.storage.get_expiry(block_key) >= until:
            return
        self.storage.clear(block_key)
        self.storage.incr(block_key, expiry=math.ceil(seconds))

    def reset(self) -> None:
        """Forget every window (tests, and an admin after changing a rate)."""
        self.storage.reset()
        with self._memory_lock:
            self._memory_slots = {}
            self._memory_turns = {}


_limiters: dict[str, RateLimiter] = {}
_limiters_lock = threading.Lock()


def limiter_get() -> RateLimiter:
    """The process's limiter for ``settings.RATE_LIMIT_STORAGE_URL`` (one per URL, reused)."""
    url = settings.RATE_LIMIT_STORAGE_URL
    with _limiters_lock:
        if url not in _limiters:
            _limiters[url] = RateLimiter(url)
        return _limiters[url]


def acquire(key: str, rate: Rate, *, max_wait: float = DEFAULT_MAX_WAIT) -> float:
    return limiter_get().acquire(key, rate, max_wait=max_wait)


def slot(key: str, rate: Rate, *, max_wait: float = DEFAULT_MAX_WAIT, in_flight: float = 60.0):
    return limiter_get().slot(key, rate, max_wait=max_wait, in_flight=in_flight)


def block(key: str, seconds: float) -> None:
    limiter_get().block(key, seconds)


def turn(key: str, rate: Rate, *, earliest: float = 0.0) -> float:
    return limiter_get().turn(key, rate, earliest=earliest)


# --- concurrency ---------------------------------------------------------------------------------
CONCURRENCY_SLOT_TIMEOUT = 120.0


@contextlib.contextmanager
def concurrent(key: str, limit: int, *, max_wait: float = DEFAULT_MAX_WAIT, slot_timeout: float = CONCURRENCY_SLOT_TIMEOUT):
    """Hold one of ``limit`` slots of ``key`` while the block runs: at most ``limit`` callers of
    ``key`` at once across every worker. Waits (with jitter) for a free slot; raises
    ``RateLimited`` when none frees within ``max_wait`` seconds. A slot held longer than
    ``slot_timeout`` (a dead worker) expires by itself."""
    if limit < 1:
        raise ValueError("a concurrency limit needs limit >= 1")
    max_wait, busy = _max_wait(max_wait)
    started = time.monotonic()
    held = None
    while held is None:
        for slot in random.sample(range(limit), limit):
            held = try_lock(f"{NAMESPACE}/concurrency/{key}/{slot}", timeout=slot_timeout)
            if held is not None:
                break
        if held is None:
            if time.monotonic() - started > max_wait:
                raise _no_slot(f"no free concurrency slot within {max_wait:g} s ({limit} at once)", retry_after=1.0,
                               busy=busy, key=key, rate=None)
            time.sleep(random.uniform(0.01, 0.05))
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            held.release()
