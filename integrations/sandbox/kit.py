"""The sandbox kit: the part of a fake ATS that is not about that ATS. An ATS sandbox builds one
``SandboxKit`` and hands it what differs (composition: every input is a declared parameter):

- ``settings``: its ``RateRules`` (limits, window, concurrency, header names), the webhook
  timeout and out-of-order hold, the headers the webhook log redacts, the control clients;
- ``render_error(status, title, detail)``: an error answer in the ATS's own shape (used for
  429s and injected faults);
- ``config_view()`` / ``config_change(**changes)`` and ``mutable_config``: what
  ``/_sandbox/config`` shows and may change;
- ``extra_stats()``: the ATS's own counters for ``/_sandbox/stats``; ``on_reset()``: reseed;
- ``route_label(request)``: the name ``requests_by_route`` counts an API request under (e.g.
  ``"GET /candidates/<cid>"``; default: method and path).

The kit then gives the sandbox: ``api(request, key=..., handler=...)`` (count, rate window with
headers and 429, API faults, then the handler), ``control(request, fallback=...)`` (loopback only;
the generic control endpoints ``faults``, ``stats``, ``webhooks``, ``config``, ``reset`` and the
ATS's own), the ``outbox`` for signed webhooks, ``background(fn)`` for webhooks an API call sets
off, and ``lock``, the one re-entrant lock the ATS's state should share.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wrappers import Request, Response

from .counters import Counters
from .faults import FaultBox
from .outbox import Outbox
from .ratelimit import RateLimiter, RateRules, key_label
from .routing import ErrorRenderer, Routes, control_rules

CONTROL_PREFIX = "/_sandbox/"
LOOPBACK = ("127.0.0.1", "::1")


@dataclass(frozen=True)
class KitSettings:
    rate: RateRules
    webhook_timeout: float = 10.0
    out_of_order_hold: float = 5.0
    # Header names (any case) the webhook log leaves out: the ATS's credentials.
    redact_headers: tuple[str, ...] = ("authorization",)
    # Only these clients may use /_sandbox/ (the control endpoints have no auth).
    control_clients: tuple[str, ...] = LOOPBACK


class ControlError(Exception):
    """A control request refused (e.g. a body that is not a JSON object): answered with
    ``status`` in the ATS's error shape (``render_error``)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def control_json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")


def control_error(status: int, message: str) -> Response:
    return control_json({"error": message}, status)


def control_body(request: Request) -> dict:
    """A control request's JSON object body ({} when empty); ControlError 400 otherwise."""
    raw = request.get_data()
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise ControlError(400, "request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ControlError(400, "request body must be a JSON object")
    return body


class SandboxKit:
    def __init__(
        self,
        settings: KitSettings,
        *,
        render_error: ErrorRenderer,
        config_view: Callable[[], dict[str, Any]],
        config_change: Callable[..., Any],
        mutable_config: frozenset[str] | set[str],
        extra_stats: Callable[[], dict[str, Any]] | None = None,
        on_reset: Callable[[], None] | None = None,
        route_label: Callable[[Request], str] | None = None,
        lock: threading.RLock | None = None,
        name: str = "sandbox",
    ):
        self.name = name
        self.lock = lock or threading.RLock()
        self._settings = settings
        self._render_error = render_error
        self._config_view = config_view
        self._config_change = config_change
        self.mutable_config = frozenset(mutable_config)
        self._extra_stats = extra_stats or (lambda: {})
        self._on_reset = on_reset or (lambda: None)
        self._route_label = route_label or (lambda request: f"{request.method} {request.path}")
        self.counters = Counters(self.lock)
        self.faults = FaultBox(self.lock)
        self.limiter = RateLimiter(settings.rate, lock=self.lock)
        self.outbox = Outbox(
            lock=self.lock,
            faults=self.faults,
            counters=self.counters,
            timeout=lambda: self._settings.webhook_timeout,
            hold=lambda: self._settings.out_of_order_hold,
            redact_headers=settings.redact_headers,
        )
        self._routes = Routes(control_rules(CONTROL_PREFIX))
        self._background: list[threading.Thread] = []

    # --- settings ----------------------------------------------------------------------------
    @property
    def settings(self) -> KitSettings:
        return self._settings

    def update_settings(self, **changes: Any) -> KitSettings:
        """Replace settings on the running sandbox (e.g. ``rate=...`` after a config change)."""
        with self.lock:
            self._settings = dataclasses.replace(self._settings, **changes)
            self.limiter.rules = self._settings.rate
            self.outbox.redact(self._settings.redact_headers)
            return self._settings

    # --- the API areas -----------------------------------------------------------------------
    def api(self, request: Request, *, key: str, handler: Callable[[Request], Response]) -> Response:
        """Serve one API request: counted, through the rate window (its headers on every answer,
        429 in the ATS's shape when spent), then any injected fault, then ``handler``. ``key``
        names the credential the limits are per (e.g. the Authorization header)."""
        self.counters.add("requests")
        self.counters.add_by_key("requests_by_route", self._route_label(request))
        admission = self.limiter.admit(key, method=request.method, path=request.path)
        with admission:
            if not admission.allowed:
                self.counters.add("rate_limited")
                self.counters.add_by_key("rate_limited_by_key", key_label(key))
                if admission.reason == "rate":
                    detail = f"Rate limit exceeded, retry in {admission.reset} seconds"
                else:
                    detail = "Too many concurrent requests"
                response = self._render_error(429, "Too Many Requests", detail)
            else:
                response = self._served(request, handler)
            response.headers.update(admission.headers)
            return response

    def _served(self, request: Request, handler: Callable[[Request], Response]) -> Response:
        """``handler``'s answer through any injected fault: before it (a delay, a status instead:
        nothing happens), or with ``lose_answer`` after it (the request took effect; its answer is
        replaced by the status, or comes after the delay)."""
        fault = self.faults.take_api_fault(request.method, request.path)
        answer = handler(request) if fault.lose_answer else None
        if fault.delay:
            time.sleep(fault.delay)  # the fault asked for: a slow answer
        if fault.status is None:
            return answer if answer is not None else handler(request)
        self.counters.add("faults_served")
        detail = "Injected by the sandbox (/_sandbox/faults)"
        if fault.lose_answer:
            detail += f"; the request was served (its answer {answer.status_code} is lost)"
        return self._render_error(fault.status, HTTP_STATUS_CODES.get(fault.status, "Error"), detail)

    # --- control -----------------------------------------------------------------------------
    def is_control(self, request: Request) -> bool:
        return request.path.startswith(CONTROL_PREFIX)

    def control(self, request: Request, *, fallback: Callable[[Request], Response]) -> Response:
        """A ``/_sandbox/`` request: refused unless from a control client; the kit's endpoints
        (``control_rules``) first, every other control path to the ATS's ``fallback``."""
        if request.remote_addr not in self._settings.control_clients:
            return control_json({"error": "control endpoints answer loopback clients only"}, 403)
        if not self._routes.matches(request):
            return fallback(request)
        return self._routes.dispatch(request, self, error=self._render_error, handle=self._control_exception)

    def _control_exception(self, exc: Exception) -> Response | None:
        if isinstance(exc, ControlError):
            return self._render_error(exc.status, "Bad Request" if exc.status == 400 else "Error", exc.message)
        return None

    def control_paths(self) -> list[str]:
        """The paths of the kit's own control endpoints (for an ATS's ``GET /_sandbox/`` index)."""
        return self._routes.paths()

    def control_faults(self, request: Request) -> Response:
        if request.method == "DELETE":
            described = self.faults.update({"clear": True})
        elif request.method == "POST":
            try:
                described = self.faults.update(control_body(request))
            except (TypeError, ValueError) as exc:
                return control_error(400, f"bad fault options: {exc}")
        else:
            described = self.faults.describe()
        return control_json({"faults": described})

    def stats(self) -> dict[str, Any]:
        with self.lock:
            stats = self.counters.snapshot()
            stats["faults"] = self.faults.describe()
            stats.update(self._extra_stats())
            return stats

    def control_stats(self, request: Request) -> Response:
        return control_json(self.stats())

    def control_webhooks(self, request: Request) -> Response:
        return control_json({"webhooks": self.outbox.snapshot()})

    def control_config(self, request: Request) -> Response:
        if request.method == "POST":
            options = control_body(request)
            unknown = set(options) - self.mutable_config
            if unknown:
                return control_error(400, f"not changeable at run time: {', '.join(sorted(unknown))}")
            try:
                self._config_change(**options)
            except (TypeError, ValueError) as exc:
                return control_error(400, f"bad config: {exc}")
        return control_json(self._config_view())

    def reset(self) -> None:
        """Back to the seeded state: counters, faults, rate windows, the webhook log, then the
        ATS's own records (``on_reset``)."""
        with self.lock:
            self.counters.reset()
            self.faults.reset()
            self.limiter.reset()
            self.outbox.reset()
            self._on_reset()

    def control_reset(self, request: Request) -> Response:
        self.reset()
        return control_json({"reset": True})

    # --- background work ---------------------------------------------------------------------
    def background(self, target: Callable[..., Any], *args: Any) -> None:
        """Run ``target`` on its own thread (an ATS's webhooks are asynchronous to the API call
        that caused them); ``wait_background`` waits for such threads."""
        thread = threading.Thread(target=target, args=args, daemon=True)
        with self.lock:
            self._background = [t for t in self._background if t.is_alive()] + [thread]
        thread.start()

    def wait_background(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        with self.lock:
            threads = list(self._background)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def close(self) -> None:
        """Release outgoing connections and send nothing more (held webhooks are dropped)."""
        self.outbox.close()
