"""The provider contract: what every ATS behind the provider seam must do, and the adapter each
ATS contributes so the shared tests (tests/integrations/test_provider_contract.py) can drive it.

The tests run for every provider in the registry (``integrations.providers.provider_names()``),
each against its own sandbox (``integrations/<ats>/sandbox``, served by tests/sandbox_fixtures.py).
A provider joins by adding ONE module, ``tests/integrations/<provider>/contract_adapter.py``, with

    ADAPTER = MyAdapter()   # a subclass of ContractAdapter implementing every piece in PIECES

A provider without that module, or an adapter with a piece left out, fails every contract test
with a message naming the module and each missing piece.

Checked for every provider:
- unknown and wrong credentials get the same rejection (401/403, same JSON body), nothing stored;
- malformed JSON, an oversized body (> 1 MiB), a wrong media type and JSON of the wrong type are
  refused (400/413/415/400, a JSON error) with nothing stored;
- a valid call delivered twice is acknowledged twice (2xx) and has one effect;
- each reference fixture the adapter lists parses to exactly the expected normalized events
  (or is refused with the expected ``PayloadError`` text);
- a write-back reaches the sandbox, is accepted there, and has the documented shape.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from integrations.providers import NormalizedEvent


@dataclass(frozen=True)
class InboundCall:
    """One HTTP call an ATS makes to Stagehook, as the Django test client sends it. ``headers``
    are test-client extras (``HTTP_AUTHORIZATION=...``)."""

    path: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    method: str = "post"


@dataclass(frozen=True)
class FixtureCase:
    """A reference fixture as the ATS would deliver it (``raw_body``, possibly with our own field
    ids filled in, as ``note`` says) and what parsing it must give: ``expected`` events, or, when
    ``refused`` is set, a ``PayloadError`` whose message contains it."""

    fixture: str  # path under the reference fixtures, e.g. "teamtailor/partner-docs/x.json"
    event_type: str  # the stored WebhookEvent.event_type the provider's verify_inbound gives it
    raw_body: bytes
    expected: list[NormalizedEvent] = field(default_factory=list)
    refused: str = ""
    note: str = ""


@dataclass(frozen=True)
class WriteBackCase:
    """An assessment (saved, on ``connection``) whose move to ``to_status`` must be written back;
    ``ref`` is whatever the adapter needs to find the write-back in its sandbox again."""

    assessment: Any
    to_status: str
    ref: str = ""


# Every piece an adapter implements: (attribute, what it must do). The contract tests name the
# missing ones when an adapter is incomplete.
PIECES: dict[str, str] = {
    "provider": "class attribute: the provider's registry name (Provider.name)",
    "sandbox": "class attribute: the name of its sandbox (integrations/<name>/sandbox, SANDBOX = SandboxSpec(...))",
    "connect": "connect(*, sandbox, tenant) -> Connection: an active connection of `tenant` wired to the running sandbox "
    "(its secrets, its URL as API host; the tests allow 127.0.0.1 as an ATS host)",
    "valid_call": "valid_call(*, connection, sandbox, package) -> InboundCall: a correctly authenticated call that "
    "has one effect (e.g. orders `package` for a candidate)",
    "unknown_credential_call": "unknown_credential_call(*, connection, sandbox, package) -> InboundCall: valid_call's "
    "body with credentials that belong to nobody",
    "wrong_credential_call": "wrong_credential_call(*, connection, sandbox, package) -> InboundCall: valid_call's body "
    "with the connection's own identity but a wrong secret/signature",
    "signed_call": "signed_call(*, connection, sandbox, raw_body, content_type) -> InboundCall: the same entry point "
    "as valid_call, authenticated as far as the raw body allows (used for malformed/oversized/wrong-type bodies)",
    "effects": "effects(*, connection) -> int: how many effects valid_call has had (e.g. assessments of the connection)",
    "fixture_cases": "fixture_cases(reference: Path) -> list[FixtureCase]: every reference fixture the provider parses, "
    "with the normalized events it must give",
    "writeback_case": "writeback_case(*, connection, sandbox, package) -> WriteBackCase: a saved assessment whose "
    "status change is written back to the sandbox",
    "received_writebacks": "received_writebacks(*, sandbox, case) -> list[dict]: the bodies the sandbox accepted for "
    "that assessment, oldest first",
    "writeback_problems": "writeback_problems(body, *, reference: Path) -> list[str]: how a received body departs from "
    "the ATS's documented shape (empty: it fits)",
}


class AdapterIncomplete(AssertionError):
    pass


class ContractAdapter:
    """Base of every provider's contract adapter; see PIECES for what to implement."""

    provider: str = ""
    sandbox: str = ""

    def connect(self, *, sandbox, tenant):
        raise NotImplementedError

    def valid_call(self, *, connection, sandbox, package) -> InboundCall:
        raise NotImplementedError

    def unknown_credential_call(self, *, connection, sandbox, package) -> InboundCall:
        raise NotImplementedError

    def wrong_credential_call(self, *, connection, sandbox, package) -> InboundCall:
        raise NotImplementedError

    def signed_call(self, *, connection, sandbox, raw_body: bytes, content_type: str) -> InboundCall:
        raise NotImplementedError

    def effects(self, *, connection) -> int:
        raise NotImplementedError

    def fixture_cases(self, reference: Path) -> list[FixtureCase]:
        raise NotImplementedError

    def writeback_case(self, *, connection, sandbox, package) -> WriteBackCase:
        raise NotImplementedError

    def received_writebacks(self, *, sandbox, case: WriteBackCase) -> list[dict]:
        raise NotImplementedError

    def writeback_problems(self, body: dict, *, reference: Path) -> list[str]:
        raise NotImplementedError


def adapter_module(provider: str) -> str:
    return f"tests.integrations.{provider}.contract_adapter"


def missing_pieces(adapter: Any) -> list[str]:
    """The PIECES ``adapter`` leaves out, each with what it must do."""
    missing = []
    for name, what in PIECES.items():
        if name in ("provider", "sandbox"):
            if not getattr(adapter, name, ""):
                missing.append(f"{name}: {what}")
            continue
        mine = getattr(type(adapter), name, None)
        if mine is None or mine is getattr(ContractAdapter, name):
            missing.append(f"{name}: {what}")
    return missing


def adapter_for(provider: str) -> ContractAdapter:
    """The provider's adapter, or AdapterIncomplete telling its author exactly what to add."""
    module_name = adapter_module(provider)
    path = module_name.replace(".", "/") + ".py"
    how = "\n  ".join(f"- {what}" for what in PIECES.values())
    try:
        found = importlib.util.find_spec(module_name)
    except ModuleNotFoundError:
        found = None
    if found is None:
        raise AdapterIncomplete(
            f"provider {provider!r} is registered but has no contract adapter: create {path} with "
            f"`ADAPTER = <a subclass of tests.integrations.provider_contract.ContractAdapter>()` providing:\n  {how}"
        )
    module = importlib.import_module(module_name)
    adapter = getattr(module, "ADAPTER", None)
    if not isinstance(adapter, ContractAdapter):
        raise AdapterIncomplete(f"{path} must define ADAPTER, an instance of a ContractAdapter subclass")
    missing = missing_pieces(adapter)
    if missing:
        listed = "\n  ".join(f"- {item}" for item in missing)
        raise AdapterIncomplete(f"the contract adapter of {provider!r} ({path}) lacks:\n  {listed}")
    if adapter.provider != provider:
        raise AdapterIncomplete(f"{path}: ADAPTER.provider is {adapter.provider!r}, expected {provider!r}")
    return adapter
