"""Fault injection: what a sandbox is told to do wrong. API faults (a status instead of the real
answer, a delay; for a count of requests or a number of seconds; to every API request or only to
those whose path matches a regular expression, optionally of one method) apply to the ATS's API
areas: before the request is served (nothing happens), or, with ``lose_answer``, after it took
effect (the answer is lost: the status replaces it, or the delay holds it back past the client's
timeout). Webhook faults (drop, duplicate, out of order) apply to what the outbox sends."""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from typing import Any, NamedTuple


@dataclass
class Faults:
    status: int | None = None  # answer this status instead of the real response
    delay: float = 0.0  # sleep this long before answering
    count: int | None = None  # ...for this many API requests (None: no count limit)
    until: float | None = None  # ...or until this time.monotonic() (None: no time limit)
    path: str | None = None  # ...only for requests whose path this regex searches (None: all)
    method: str | None = None  # ...only for this HTTP method (None: any)
    lose_answer: bool = False  # serve the request first (its effect stays), then apply status / delay
    drop_webhooks: int = 0  # drop the next N outgoing webhooks
    duplicate_webhooks: int = 1  # send every outgoing webhook this many times
    out_of_order: bool = False  # hold the next webhook back until a later one has been sent

    def api_fault_active(self) -> bool:
        if self.status is None and not self.delay:
            return False
        if self.count is not None and self.count <= 0:
            return False
        if self.until is not None and time.monotonic() >= self.until:
            return False
        return True

    def applies_to(self, method: str | None, path: str | None) -> bool:
        if self.method is not None and method is not None and method.upper() != self.method:
            return False
        if self.path is not None and path is not None and re.search(self.path, path) is None:
            return False
        return True

    def describe(self) -> dict[str, Any]:
        remaining = None if self.until is None else max(0.0, round(self.until - time.monotonic(), 3))
        return {
            "status": self.status,
            "delay": self.delay,
            "count": self.count,
            "seconds_left": remaining,
            "path": self.path,
            "method": self.method,
            "lose_answer": self.lose_answer,
            "active": self.api_fault_active(),
            "drop_webhooks": self.drop_webhooks,
            "duplicate_webhooks": self.duplicate_webhooks,
            "out_of_order": self.out_of_order,
        }


class ApiFault(NamedTuple):
    """What to do to one API request: answer ``status`` instead (None: the real answer), after
    ``delay`` seconds; ``lose_answer``: serve the request first, so its effect stays and only its
    answer is replaced or late."""

    status: int | None = None
    delay: float = 0.0
    lose_answer: bool = False


class FaultBox:
    """The current ``Faults`` behind the sandbox's lock. ``current`` is read and changed only
    with ``lock`` held (the outbox does so while it decides what to send)."""

    def __init__(self, lock: threading.RLock):
        self.lock = lock
        self.current = Faults()

    def reset(self) -> None:
        with self.lock:
            self.current = Faults()

    def describe(self) -> dict[str, Any]:
        with self.lock:
            return self.current.describe()

    def update(self, options: dict[str, Any]) -> dict[str, Any]:
        """Merge ``options`` into the current faults (``clear`` first drops everything). Raises
        TypeError / ValueError for values that are not what the option takes."""
        with self.lock:
            if options.get("clear"):
                self.current = Faults()
            faults = self.current
            if "status" in options:
                faults.status = None if options["status"] in (None, "", 0) else int(options["status"])
            if "delay" in options:
                faults.delay = float(options["delay"] or 0)
            if "count" in options:
                faults.count = None if options["count"] is None else int(options["count"])
            if "seconds" in options:
                faults.until = None if options["seconds"] is None else time.monotonic() + float(options["seconds"])
            if "path" in options:
                path = options["path"] or None
                if path is not None:
                    try:
                        re.compile(path)
                    except re.error as exc:
                        raise ValueError(f"path is not a regular expression: {exc}") from None
                faults.path = path
            if "method" in options:
                faults.method = str(options["method"]).upper() if options["method"] else None
            if "lose_answer" in options:
                faults.lose_answer = bool(options["lose_answer"])
            if "drop_webhooks" in options:
                faults.drop_webhooks = int(options["drop_webhooks"] or 0)
            if "duplicate_webhooks" in options:
                faults.duplicate_webhooks = max(1, int(options["duplicate_webhooks"] or 1))
            if "out_of_order" in options:
                faults.out_of_order = bool(options["out_of_order"])
            return faults.describe()

    def take_api_fault(self, method: str | None = None, path: str | None = None) -> ApiFault:
        """The fault to apply to this API request (``method``, ``path``; None: not filtered on),
        consuming one count if limited."""
        with self.lock:
            faults = self.current
            if not faults.api_fault_active() or not faults.applies_to(method, path):
                return ApiFault()
            if faults.count is not None:
                faults.count -= 1
            return ApiFault(faults.status, faults.delay, faults.lose_answer)
