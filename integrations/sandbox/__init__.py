"""The shared sandbox kit: everything a fake ATS needs that is not about that ATS.

- ``ratelimit``: ``RateRules`` / ``RateHeaders`` / ``PathLimit`` (per-credential window,
  concurrency, per-path concurrency, the ATS's header names) and ``RateLimiter``;
- ``faults``: ``Faults`` and ``FaultBox`` (API status/delay for a count or seconds, before the
  request is served or after it took effect, a lost answer; webhook drop/duplicate/out-of-order);
- ``outbox``: ``Outbox``, the signed outbound-webhook sender through those faults, with its log;
- ``counters``: the generic ``/_sandbox/stats`` counters;
- ``routing``: ``Routes`` (werkzeug rules dispatched to a target's methods) and the generic
  ``control_rules``;
- ``kit``: ``SandboxKit`` composes all of the above from declared parameters (``KitSettings``
  and a few callables) and serves the API areas and the generic control endpoints;
- ``registry``: ``SandboxSpec``, ``sandbox_spec(name)``, ``sandbox_names()``;
- ``server``: ``build``, ``bind``, ``run_sandbox``;
- ``cli``: ``Verb``, ``SandboxCli``, ``GENERIC_VERBS`` for ``manage.py sandbox <ats> <verb>``.

An ATS sandbox lives in ``integrations/<ats>/sandbox/`` and exposes ``SANDBOX = SandboxSpec(...)``.
"""

from .cli import GENERIC_VERBS, SandboxCli, Verb, VerbError
from .faults import Faults, FaultBox
from .kit import ControlError, KitSettings, SandboxKit, control_body, control_error, control_json
from .outbox import Outbox
from .ratelimit import Admission, PathLimit, RateHeaders, RateLimiter, RateRules
from .registry import SandboxApp, SandboxSpec, UnknownSandbox, sandbox_names, sandbox_spec
from .routing import Routes, control_rules
from .server import bind, build, run_sandbox

__all__ = [
    "GENERIC_VERBS",
    "Admission",
    "ControlError",
    "FaultBox",
    "Faults",
    "KitSettings",
    "Outbox",
    "PathLimit",
    "RateHeaders",
    "RateLimiter",
    "RateRules",
    "Routes",
    "SandboxApp",
    "SandboxCli",
    "SandboxKit",
    "SandboxSpec",
    "UnknownSandbox",
    "Verb",
    "VerbError",
    "bind",
    "build",
    "control_body",
    "control_error",
    "control_json",
    "control_rules",
    "run_sandbox",
    "sandbox_names",
    "sandbox_spec",
]
