"""What the sandbox sends to Stagehook, signed exactly as Teamtailor signs it, through the
webhook faults (drop, duplicate, out-of-order). Every attempt is recorded in the state."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import jwt
import requests

from .state import SandboxState, isoformat, now


def partner_signature(secret: str, partner_event_id: str, timestamp: int) -> str:
    """``Teamtailor-Signature``: covers the timestamp and the partner-event id, not the body."""
    digest = hmac.new(secret.encode(), f"{timestamp}.{partner_event_id}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def company_signature_v2(secret: str, raw_body: bytes, timestamp: int) -> str:
    """``TT-Signature`` v2: base64 of ``t=<ts>,v2=<hex HMAC(secret, "<ts>." + raw body)>``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + raw_body, hashlib.sha256).hexdigest()
    return base64.b64encode(f"t={timestamp},v2={digest}".encode()).decode()


def company_signature_v1(secret: str, data_id: str) -> str:
    """The deprecated v1 signature Teamtailor still puts in the body's ``signature`` field."""
    digest = hmac.new(secret.encode(), str(data_id).encode(), hashlib.sha256).hexdigest()
    return base64.b64encode(digest.encode()).decode()


def activation_jws(form: dict[str, Any], partner_api_key: str) -> str:
    """The provider key Teamtailor issues for an activation with fields: a JWT of the filled form."""
    return jwt.encode(form, partner_api_key, algorithm="HS256")


class Outbox:
    """Sends webhooks to Stagehook. ``deliver`` returns one answer per copy actually sent; a
    held (out-of-order) webhook is sent after the next one, or after ``hold`` seconds."""

    def __init__(self, state: SandboxState, *, timeout: Callable[[], float], hold: Callable[[], float]):
        self.state = state
        self._timeout = timeout
        self._hold = hold
        self._held: list[tuple[dict[str, Any], threading.Timer]] = []
        # trust_env=False: never route sandbox traffic through a proxy from the environment.
        self._session = requests.Session()
        self._session.trust_env = False

    def deliver(
        self,
        *,
        kind: str,
        url: str,
        body: bytes,
        headers: dict[str, str],
        on_answer: Callable[[requests.Response], None] | None = None,
    ) -> list[dict[str, Any]]:
        job = {
            "id": str(uuid.uuid4()),
            "kind": kind,
            "url": url,
            "body": body,
            "headers": headers,
            "on_answer": on_answer,
        }
        with self.state.lock:
            faults = self.state.faults
            if faults.drop_webhooks > 0:
                faults.drop_webhooks -= 1
                self.state.stats["webhooks_dropped"] += 1
                self._record(job, copy=1, status=None, error="dropped by fault injection", answer="", took=0.0)
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

    def close(self) -> None:
        with self.state.lock:
            held, self._held = self._held, []
        for _job, timer in held:
            timer.cancel()
        self._session.close()

    def _release_held(self) -> None:
        with self.state.lock:
            held, self._held = self._held, []
        for job, timer in held:
            timer.cancel()
            self._send(job, job["copies"])

    def _send(self, job: dict[str, Any], copies: int) -> list[dict[str, Any]]:
        answers = []
        for copy in range(1, copies + 1):
            started = time.monotonic()
            try:
                response = self._session.post(
                    job["url"], data=job["body"], headers=job["headers"], timeout=self._timeout(), allow_redirects=False
                )
            except requests.RequestException as exc:
                took = time.monotonic() - started
                with self.state.lock:
                    self.state.stats["webhooks_failed"] += 1
                self._record(job, copy=copy, status=None, error=f"{type(exc).__name__}: {exc}", answer="", took=took)
                answers.append({"status": None, "error": str(exc)})
                continue
            took = time.monotonic() - started
            with self.state.lock:
                self.state.stats["webhooks_sent"] += 1
                if copy > 1:
                    self.state.stats["webhooks_duplicated"] += 1
            self._record(job, copy=copy, status=response.status_code, error=None, answer=response.text, took=took)
            answers.append({"status": response.status_code, "body": _parse(response)})
            if job["on_answer"] is not None:
                job["on_answer"](response)
        return answers

    def _record(self, job, *, copy: int, status, error, answer: str, took: float) -> None:
        with self.state.lock:
            self.state.webhooks.append(
                {
                    "id": job["id"],
                    "kind": job["kind"],
                    "url": job["url"],
                    "copy": copy,
                    "at": isoformat(now()),
                    "status": status,
                    "error": error,
                    "duration_ms": round(took * 1000, 1),
                    # Credentials stay out of the inspectable log; signatures stay in (they are the point).
                    "request_headers": {
                        k: v
                        for k, v in job["headers"].items()
                        if k.lower() not in ("authorization", "teamtailor-api-token")
                    },
                    "request_body": json.loads(job["body"]),
                    "answer": answer[:2000],
                }
            )

    def get(self, url: str, headers: dict[str, str], params: dict[str, str]) -> requests.Response:
        return self._session.get(url, headers=headers, params=params, timeout=self._timeout(), allow_redirects=False)


def _parse(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text[:2000]
