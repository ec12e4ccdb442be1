"""What a sandbox sends to Stagehook (webhooks, signed by the ATS sandbox before they are handed
over), through the webhook faults: drop, duplicate, out of order. Every attempt is logged for
``/_sandbox/webhooks``, credentials left out."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import requests

from .counters import Counters
from .faults import FaultBox


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")


class Outbox:
    """``deliver`` returns one answer per copy actually sent; a held (out-of-order) webhook is
    sent after the next one, or after ``hold()`` seconds.

    Declared parameters: ``timeout`` and ``hold`` (callables, so a running sandbox's config may
    change them) and ``redact_headers`` (header names, any case, kept out of the log: the
    credentials; signatures stay in, they are the point)."""

    def __init__(
        self,
        *,
        lock: threading.RLock,
        faults: FaultBox,
        counters: Counters,
        timeout: Callable[[], float],
        hold: Callable[[], float],
        redact_headers: tuple[str, ...] = ("authorization",),
    ):
        self.lock = lock
        self.faults = faults
        self.counters = counters
        self._timeout = timeout
        self._hold = hold
        self._redact = {name.lower() for name in redact_headers}
        self.log: list[dict[str, Any]] = []  # every outgoing delivery attempt
        self._held: list[tuple[dict[str, Any], threading.Timer]] = []
        # trust_env=False: never route sandbox traffic through a proxy from the environment.
        self._session = requests.Session()
        self._session.trust_env = False

    def reset(self) -> None:
        with self.lock:
            self.log = []

    def redact(self, header_names: tuple[str, ...]) -> None:
        """Replace the header names the log leaves out."""
        with self.lock:
            self._redact = {name.lower() for name in header_names}

    def snapshot(self) -> list[dict[str, Any]]:
        with self.lock:
            return json.loads(json.dumps(self.log))

    def deliver(
        self,
        *,
        kind: str,
        url: str,
        body: bytes,
        headers: dict[str, str],
        on_answer: Callable[[requests.Response], None] | None = None,
        sign: Callable[[bytes], dict[str, str]] | None = None,
    ) -> list[dict[str, Any]]:
        """Send ``body`` to ``url`` with ``headers``. ``sign(body)``, when given, is called for
        each copy as it goes out and its headers are added (a held or duplicated webhook then
        carries a fresh timestamp, as an ATS's retry does)."""
        job = {
            "id": str(uuid.uuid4()), "kind": kind, "url": url, "body": body, "headers": headers,
            "on_answer": on_answer, "sign": sign,
        }
        with self.lock:
            faults = self.faults.current
            if faults.drop_webhooks > 0:
                faults.drop_webhooks -= 1
                self.counters.add("webhooks_dropped")
                self._record(job, job["headers"], copy=1, status=None, error="dropped by fault injection", answer="", took=0.0)
                return [{"dropped": True}]
            copies = faults.duplicate_webhooks
            if faults.out_of_order and not self._held:
                faults.out_of_order = False
                timer = threading.Timer(self._hold(), self._release_held)
                timer.daemon = True
                self._held.append(({**job, "copies": copies}, timer))
                timer.start()
                return [{"held": True, "detail": "held back: a later webhook will arrive first"}]
        answers = self._send(job, copies)
        self._release_held()
        return answers

    def get(self, url: str, headers: dict[str, str], params: dict[str, str]) -> requests.Response:
        """A GET the ATS makes to Stagehook (no faults, not logged), e.g. to read a form."""
        return self._session.get(url, headers=headers, params=params, timeout=self._timeout(), allow_redirects=False)

    def post(self, url: str, *, headers: dict[str, str], data: bytes | str | dict) -> requests.Response:
        """A call the ATS makes to Stagehook that is not a webhook (no faults, not logged)."""
        return self._session.post(url, headers=headers, data=data, timeout=self._timeout(), allow_redirects=False)

    def close(self) -> None:
        with self.lock:
            held, self._held = self._held, []
        for _job, timer in held:
            timer.cancel()
        self._session.close()

    def _release_held(self) -> None:
        with self.lock:
            held, self._held = self._held, []
        for job, timer in held:
            timer.cancel()
            self._send(job, job["copies"])

    def _send(self, job: dict[str, Any], copies: int) -> list[dict[str, Any]]:
        answers = []
        for copy in range(1, copies + 1):
            headers = dict(job["headers"])
            if job["sign"] is not None:
                headers.update(job["sign"](job["body"]))
            started = time.monotonic()
            try:
                response = self._session.post(
                    job["url"], data=job["body"], headers=headers, timeout=self._timeout(), allow_redirects=False
                )
            except requests.RequestException as exc:
                took = time.monotonic() - started
                self.counters.add("webhooks_failed")
                self._record(
                    job, headers, copy=copy, status=None, error=f"{type(exc).__name__}: {exc}", answer="", took=took
                )
                answers.append({"status": None, "error": str(exc)})
                continue
            took = time.monotonic() - started
            self.counters.add("webhooks_sent")
            if copy > 1:
                self.counters.add("webhooks_duplicated")
            self._record(job, headers, copy=copy, status=response.status_code, error=None, answer=response.text, took=took)
            answers.append({"status": response.status_code, "body": _parse(response)})
            if job["on_answer"] is not None:
                job["on_answer"](response)
        return answers

    def _record(self, job, headers: dict[str, str], *, copy: int, status, error, answer: str, took: float) -> None:
        try:
            request_body: Any = json.loads(job["body"])
        except ValueError:
            request_body = job["body"].decode("utf-8", "replace")[:2000]
        with self.lock:
            self.log.append(
                {
                    "id": job["id"],
                    "kind": job["kind"],
                    "url": job["url"],
                    "copy": copy,
                    "at": _now(),
                    "status": status,
                    "error": error,
                    "duration_ms": round(took * 1000, 1),
                    "request_headers": {k: v for k, v in headers.items() if k.lower() not in self._redact},
                    "request_body": request_body,
                    "answer": answer[:2000],
                }
            )


def _parse(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text[:2000]
