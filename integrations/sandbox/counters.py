"""The counters every sandbox shows at ``/_sandbox/stats`` (an ATS adds its own beside them)."""

from __future__ import annotations

import copy
import threading
from typing import Any

# In the order the stats page shows them.
INITIAL: dict[str, Any] = {
    "requests": 0,
    "requests_by_route": {},  # "METHOD route" -> API requests (route: the ATS's label)
    "rate_limited": 0,
    "rate_limited_by_key": {},
    "faults_served": 0,
    "webhooks_sent": 0,
    "webhooks_dropped": 0,
    "webhooks_duplicated": 0,
    "webhooks_failed": 0,
}


class Counters:
    def __init__(self, lock: threading.RLock):
        self.lock = lock
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self._values: dict[str, Any] = copy.deepcopy(INITIAL)

    def add(self, name: str, amount: int = 1) -> None:
        with self.lock:
            self._values[name] = self._values.get(name, 0) + amount

    def add_by_key(self, name: str, label: str) -> None:
        with self.lock:
            by_key = self._values.setdefault(name, {})
            by_key[label] = by_key.get(label, 0) + 1

    def __getitem__(self, name: str) -> Any:
        with self.lock:
            return self._values[name]

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return copy.deepcopy(self._values)
