"""``manage.py sandbox <ats> <verb>``: the verbs. Each ATS sandbox registers its own (its
``SandboxSpec.verbs``) beside the generic ones here; a verb talks to the running sandbox only
over HTTP, through its ``/_sandbox/`` control endpoints."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests


class VerbError(Exception):
    """A verb cannot do what was asked; the command shows ``message`` (a CommandError)."""


@dataclass(frozen=True)
class Verb:
    """One ``manage.py sandbox <ats> <name>``. ``arguments(parser)`` adds its options (argparse);
    ``run(cli, options)`` does it. ``json_option`` adds ``--json`` (raw JSON, ``cli.raw``)."""

    name: str
    help: str
    run: Callable[[SandboxCli, dict[str, Any]], None]
    arguments: Callable[[Any], None] | None = None
    json_option: bool = False


class SandboxCli:
    """What a verb gets: ``call`` a control endpoint, ``show`` JSON, ``write`` a line."""

    def __init__(self, *, name: str, base_url: str, write: Callable[[str], None], raw: bool = False):
        self.name = name
        self.base = base_url.rstrip("/")
        self.write = write
        self.raw = raw
        self.http = requests.Session()
        self.http.trust_env = False  # the sandbox is local; never via a proxy

    def call(self, method: str, path: str, payload: dict | None = None) -> Any:
        try:
            response = self.http.request(method, f"{self.base}/_sandbox/{path}", json=payload, timeout=60)
        except requests.ConnectionError:
            raise VerbError(f"no sandbox at {self.base}: start it with `manage.py run_sandbox {self.name}`") from None
        try:
            body = response.json()
        except ValueError:
            body = response.text
        if response.status_code >= 400:
            message = body.get("error", body) if isinstance(body, dict) else body
            raise VerbError(f"sandbox answered {response.status_code}: {message}")
        return body

    def show(self, body: Any) -> None:
        self.write(json.dumps(body, indent=2, ensure_ascii=False))

    def poll(self, fetch: Callable[[], Any], done: Callable[[Any], bool], *, timeout: float, what: str) -> Any:
        """``fetch()`` until ``done(result)`` or ``timeout`` seconds passed (VerbError)."""
        deadline = time.monotonic() + timeout
        result = fetch()
        while not done(result):
            if time.monotonic() > deadline:
                raise VerbError(f"{what} within {timeout:.0f} s")
            time.sleep(1)  # polling a remote condition against the deadline above
            result = fetch()
        return result


# --- the generic verbs --------------------------------------------------------------------------
def _faults_arguments(parser) -> None:
    parser.add_argument("--status", type=int, help="answer API requests with this status, e.g. 503")
    parser.add_argument("--count", type=int, help="...for this many requests")
    parser.add_argument("--seconds", type=float, help="...or for this many seconds")
    parser.add_argument("--path", help="...only for API paths this regular expression matches, e.g. /attachments$")
    parser.add_argument("--method", help="...only for this HTTP method, e.g. POST")
    parser.add_argument("--delay", type=float, help="sleep this long before answering API requests")
    parser.add_argument("--lose-answer", action="store_true",
                        help="serve the request first (its effect stays), then answer --status instead, or only after "
                             "--delay seconds (longer than the client's timeout: a timeout after the effect)")
    parser.add_argument("--drop", type=int, help="drop the next N outgoing webhooks")
    parser.add_argument("--duplicate", type=int, help="send every outgoing webhook K times")
    parser.add_argument("--out-of-order", action="store_true", help="hold the next webhook until a later one went")
    parser.add_argument("--clear", action="store_true", help="clear all faults first")


def _faults(cli: SandboxCli, options: dict[str, Any]) -> None:
    payload: dict[str, Any] = {}
    if options["clear"]:
        payload["clear"] = True
    for option, key in (
        ("status", "status"),
        ("count", "count"),
        ("seconds", "seconds"),
        ("delay", "delay"),
        ("path", "path"),
        ("method", "method"),
        ("drop", "drop_webhooks"),
        ("duplicate", "duplicate_webhooks"),
    ):
        if options[option] is not None:
            payload[key] = options[option]
    if options["out_of_order"]:
        payload["out_of_order"] = True
    if options["lose_answer"]:
        payload["lose_answer"] = True
    cli.show(cli.call("POST", "faults", payload) if payload else cli.call("GET", "faults"))


def _config_arguments(parser) -> None:
    parser.add_argument("--stagehook-url", help="where the sandbox sends webhooks")


def _config(cli: SandboxCli, options: dict[str, Any]) -> None:
    if options["stagehook_url"]:
        cli.show(cli.call("POST", "config", {"stagehook_url": options["stagehook_url"]}))
    else:
        cli.show(cli.call("GET", "config"))


GENERIC_VERBS: tuple[Verb, ...] = (
    Verb("webhooks", "every webhook the sandbox sent and what Stagehook answered", lambda cli, o: cli.show(cli.call("GET", "webhooks"))),
    Verb("stats", "requests, 429s served, webhooks sent/dropped, current faults", lambda cli, o: cli.show(cli.call("GET", "stats"))),
    Verb("reset", "back to the seeded state", lambda cli, o: cli.show(cli.call("POST", "reset"))),
    Verb("faults", "inject faults (merged into the current ones)", _faults, _faults_arguments),
    Verb("config", "show (or change) the running sandbox's settings", _config, _config_arguments),
)


def verbs_for(ats_verbs) -> list[Verb]:
    """The ATS's verbs, then the generic ones; an ATS verb may not reuse a generic name."""
    names = [v.name for v in ats_verbs]
    clash = sorted(set(names) & {v.name for v in GENERIC_VERBS})
    if clash or len(names) != len(set(names)):
        raise ValueError(f"sandbox verbs named twice: {', '.join(clash) or 'within the ATS'}")
    return [*ats_verbs, *GENERIC_VERBS]
