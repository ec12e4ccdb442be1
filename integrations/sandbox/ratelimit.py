"""The rate window a sandbox enforces, with the ATS's own header names and its 429s.

Everything an ATS's limits differ in is declared in ``RateRules``: requests per window, the window,
concurrent requests per credential, stricter concurrency on single paths, and which headers carry
the numbers (None: the ATS sends no such header). Two examples of the shapes it covers::

    RateRules(limit=50, window=10.0, headers=RateHeaders(
        limit="X-Rate-Limit-Limit", remaining="X-Rate-Limit-Remaining", reset="X-Rate-Limit-Reset"))
    RateRules(limit=10, window=1.0, concurrent=8, paths=(PathLimit("GET", r"/candidates", 1),),
        headers=RateHeaders(limit="X-RateLimit-Limit", remaining="X-RateLimit-Remaining",
        concurrent_limit="X-RateLimit-Concurrent-Limit",
        concurrent_remaining="X-RateLimit-Concurrent-Remaining"))

Windows are fixed and started by a credential's first request: the reset counts down to the
moment the whole allowance comes back.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RateHeaders:
    """Response header names; None leaves that header out."""

    limit: str | None = None
    remaining: str | None = None
    reset: str | None = None  # whole seconds until the window restarts
    concurrent_limit: str | None = None
    concurrent_remaining: str | None = None


@dataclass(frozen=True)
class PathLimit:
    """At most ``concurrent`` requests in flight per credential on ``method`` + ``path`` (a
    regular expression matched against the whole request path)."""

    method: str
    path: str
    concurrent: int

    def matches(self, method: str, path: str) -> bool:
        return method.upper() == self.method.upper() and re.fullmatch(self.path, path) is not None


@dataclass(frozen=True)
class RateRules:
    limit: int  # requests per window and credential
    window: float  # seconds
    concurrent: int | None = None  # requests in flight per credential (None: unlimited)
    paths: tuple[PathLimit, ...] = ()
    headers: RateHeaders = field(default_factory=RateHeaders)


@dataclass
class _Window:
    started: float
    count: int = 0


@dataclass
class Admission:
    """The limiter's answer to one request. ``release()`` (or leaving the ``with`` block) gives
    the concurrency slots back; ``headers`` are the rate headers to send with the answer."""

    allowed: bool
    reason: str  # "" | "rate" | "concurrent" | "path-concurrent"
    headers: dict[str, str]
    reset: int
    _release: Callable[[], None] | None = None

    def release(self) -> None:
        if self._release is not None:
            release, self._release = self._release, None
            release()

    def __enter__(self) -> Admission:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def key_label(key: str) -> str:
    """How a credential is named in stats (shown on screens and in logs): the scheme and its
    last four characters, never the credential."""
    scheme = key.split(" ", 1)[0] if key else "anonymous"
    return f"{scheme} …{key[-4:]}" if key else scheme


class RateLimiter:
    """Per-credential windows and in-flight counts. ``rules`` may be replaced at run time."""

    def __init__(self, rules: RateRules, *, lock: threading.RLock | None = None, clock: Callable[[], float] = time.monotonic):
        self.rules = rules
        self._lock = lock or threading.RLock()
        self._clock = clock
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._windows: dict[str, _Window] = {}
            self._in_flight: dict[str, int] = {}
            self._in_flight_path: dict[tuple[str, int], int] = {}

    def admit(self, key: str, *, method: str = "GET", path: str = "/") -> Admission:
        rules = self.rules
        with self._lock:
            now = self._clock()
            window = self._windows.get(key)
            if window is None or now - window.started >= rules.window:
                window = self._windows[key] = _Window(started=now)
            reset = max(1, math.ceil(window.started + rules.window - now))
            in_flight = self._in_flight.get(key, 0)
            path_limits = [(i, p) for i, p in enumerate(rules.paths) if p.matches(method, path)]
            reason = ""
            if window.count >= rules.limit:
                reason = "rate"
            elif rules.concurrent is not None and in_flight >= rules.concurrent:
                reason = "concurrent"
            elif any(self._in_flight_path.get((key, i), 0) >= p.concurrent for i, p in path_limits):
                reason = "path-concurrent"
            if reason:
                return Admission(False, reason, self._headers(rules, 0, reset, in_flight), reset)
            window.count += 1
            self._in_flight[key] = in_flight + 1
            for i, _p in path_limits:
                self._in_flight_path[(key, i)] = self._in_flight_path.get((key, i), 0) + 1
            headers = self._headers(rules, rules.limit - window.count, reset, in_flight + 1)

            def release() -> None:
                with self._lock:
                    self._in_flight[key] = max(0, self._in_flight.get(key, 1) - 1)
                    for i, _p in path_limits:
                        self._in_flight_path[(key, i)] = max(0, self._in_flight_path.get((key, i), 1) - 1)

            return Admission(True, "", headers, reset, release)

    @staticmethod
    def _headers(rules: RateRules, remaining: int, reset: int, in_flight: int) -> dict[str, str]:
        names = rules.headers
        values: dict[str | None, str] = {
            names.limit: str(rules.limit),
            names.remaining: str(max(0, remaining)),
            names.reset: str(reset),
        }
        if rules.concurrent is not None:
            values[names.concurrent_limit] = str(rules.concurrent)
            values[names.concurrent_remaining] = str(max(0, rules.concurrent - in_flight))
        return {name: value for name, value in values.items() if name}
