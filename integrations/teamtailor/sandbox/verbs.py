"""Teamtailor's verbs for ``manage.py sandbox teamtailor <verb>`` (the generic ones — webhooks,
stats, reset, faults, config — come from the sandbox kit)::

    manage.py sandbox teamtailor trigger --candidate 54321 --job 12345 --package 1   (or --package "<name>")
    manage.py sandbox teamtailor trigger-form [--job 12345]
    manage.py sandbox teamtailor move --application 636 --stage 13
    manage.py sandbox teamtailor results [--wait completed]
    manage.py sandbox teamtailor click --result <partner result id> --action "Resend invitation"   (or its index)
    manage.py sandbox teamtailor notes
    manage.py sandbox teamtailor activate --token <connection token>
    manage.py sandbox teamtailor seed --candidates 10000
"""

from __future__ import annotations

import json
from typing import Any

from integrations.sandbox import SandboxCli, Verb, VerbError


def _answers(cli: SandboxCli, body: dict) -> None:
    for answer in body["stagehook"]:
        cli.write(f"Stagehook answered: {json.dumps(answer, ensure_ascii=False)}")


def _trigger_arguments(parser) -> None:
    parser.add_argument("--candidate", required=True, help="candidate id")
    parser.add_argument("--job", help="job id (omit for a bulk send, which has no job)")
    parser.add_argument("--package", help="the package to order: its id, or its name as Stagehook's trigger form lists it")
    parser.add_argument("--user", help="the recruiter who triggered it (user id)")
    parser.add_argument("--data", action="append", default=[], metavar="KEY=VALUE", help="extra trigger data (repeatable)")


def _trigger(cli: SandboxCli, options: dict[str, Any]) -> None:
    data = {}
    for item in options["data"]:
        key, sep, value = item.partition("=")
        if not sep:
            raise VerbError(f"--data wants KEY=VALUE, got {item!r}")
        data[key] = value
    payload: dict[str, Any] = {"candidate_id": options["candidate"], "webhook_data": data}
    for option, key in (("job", "job_id"), ("package", "package_id"), ("user", "user_id")):
        if options[option]:
            payload[key] = options[option]
    body = cli.call("POST", "trigger", payload)
    if cli.raw:
        return cli.show(body)
    result = body["partner_result"]
    cli.write(f"partner event {body['partner_event_id']} for {result['candidate_name']} ({result['candidate_id']})")
    cli.write(f"partner result {result['id']}  status {result['status']}")
    _answers(cli, body)


def _trigger_form_arguments(parser) -> None:
    parser.add_argument("--job", help="job id (omit for bulk mode)")
    parser.add_argument("--stage", help="stage id")


def _trigger_form(cli: SandboxCli, options: dict[str, Any]) -> None:
    query = "&".join(f"{key}={options[opt]}" for opt, key in (("job", "job_id"), ("stage", "stage_id")) if options[opt])
    body = cli.call("GET", "trigger-config" + (f"?{query}" if query else ""))
    cli.show(body["stagehook"])


def _move_arguments(parser) -> None:
    parser.add_argument("--application", required=True)
    parser.add_argument("--stage", required=True)


def _move(cli: SandboxCli, options: dict[str, Any]) -> None:
    body = cli.call("POST", f"applications/{options['application']}/move", {"stage_id": options["stage"]})
    if cli.raw:
        return cli.show(body)
    cli.write(f"application {options['application']} now in stage {options['stage']}")
    _answers(cli, body)


def _results_arguments(parser) -> None:
    parser.add_argument("--candidate", help="only this candidate's results")
    parser.add_argument("--wait", metavar="STATUS", help="poll until the newest result has this status")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds --wait polls (default 120)")


def _results(cli: SandboxCli, options: dict[str, Any]) -> None:
    path = "partner-results" + (f"?candidate_id={options['candidate']}" if options["candidate"] else "")
    if options["wait"]:
        body = cli.poll(
            lambda: cli.call("GET", path),
            lambda b: bool(b["partner_results"]) and b["partner_results"][-1]["status"] == options["wait"],
            timeout=options["timeout"],
            what=f"no result reached {options['wait']!r}",
        )
    else:
        body = cli.call("GET", path)
    if cli.raw:
        return cli.show(body)
    results = body["partner_results"]
    if not results:
        cli.write("no partner results yet")
    for result in results:
        attributes = result["attributes"]
        score = "-" if result["score"] is None else result["score"]
        cli.write(
            f"{result['id']}  {result['status']:<9}  score {score}  "
            f"{result['candidate_name']} ({result['candidate_id']})  job {result['job_id'] or '-'}  "
            f"via {result['created_via']}  updated {result['updated_at']}"
        )
        if attributes.get("summary"):
            cli.write(f"    summary: {attributes['summary']}")
        if attributes.get("url"):
            cli.write(f"    report:  {attributes['url']}")
        for index, button in enumerate(attributes.get("actions") or []):
            cli.write(f"    button {index}: [{button['buttonText']}] -> {button['endpoint']}")
        if result.get("card_error"):
            cli.write(f"    error on card: {result['card_error']}")
        for entry in result["history"]:
            outcome = entry["status_after"] if entry["accepted"] else f"REFUSED {entry['errors'][0]['detail']}"
            cli.write(f"    {entry['at']}  {entry['source']:<16} {outcome}")


def _click_arguments(parser) -> None:
    parser.add_argument("--result", required=True, help="the partner result id (see `results`)")
    # dest "button": "action" is the verb's own name in the command.
    parser.add_argument("--action", dest="button", required=True, help='the button\'s text, e.g. "Resend invitation", or its index')


def _click(cli: SandboxCli, options: dict[str, Any]) -> None:
    wanted = options["button"].strip()
    if wanted.isdigit():
        index = int(wanted)
    else:
        results = cli.call("GET", "partner-results")["partner_results"]
        result = next((r for r in results if r["id"] == options["result"]), None)
        if result is None:
            raise VerbError(f"no partner result {options['result']} in the sandbox")
        buttons = result["attributes"].get("actions") or []
        index = next((i for i, b in enumerate(buttons) if b["buttonText"].strip().lower() == wanted.lower()), None)
        if index is None:
            offered = ", ".join(repr(b["buttonText"]) for b in buttons) or "none"
            raise VerbError(f"the card has no button {wanted!r} (buttons: {offered})")
    body = cli.call("POST", f"partner-results/{options['result']}/actions/{index}")
    if cli.raw:
        return cli.show(body)
    result = body["partner_result"]
    cli.write(f"clicked [{body['action']['buttonText']}] on partner result {result['id']}")
    _answers(cli, body)
    cli.write(f"partner result {result['id']}  status {result['status']}")


def _notes(cli: SandboxCli, options: dict[str, Any]) -> None:
    body = cli.call("GET", "notes")
    if cli.raw:
        return cli.show(body)
    if not body["notes"]:
        cli.write("no notes yet")
    for note in body["notes"]:
        cli.write(f"note {note['id']} on candidate {note['candidate_id']} by user {note['user_id']} at {note['created_at']}")
        cli.write(f"    {note['note']}")


def _activate_arguments(parser) -> None:
    parser.add_argument("--token", required=True, help="the one-time connection token from Stagehook")


def _activate(cli: SandboxCli, options: dict[str, Any]) -> None:
    cli.show(cli.call("POST", "activate", {"connection_token": options["token"]}))


def _seed_arguments(parser) -> None:
    parser.add_argument("--candidates", type=int, required=True, help="how many candidates to generate")


def _seed(cli: SandboxCli, options: dict[str, Any]) -> None:
    body = cli.call("POST", "seed", {"candidates": options["candidates"]})
    cli.write(f"the sandbox now has {body['candidates']} candidates")


VERBS: tuple[Verb, ...] = (
    Verb("trigger", "fire a partner trigger for a candidate", _trigger, _trigger_arguments, json_option=True),
    Verb("trigger-form", "the trigger form Stagehook offers (its packages)", _trigger_form, _trigger_form_arguments),
    Verb("move", "move an application to another stage (sends the stage webhook)", _move, _move_arguments, json_option=True),
    Verb("results", "the results as Stagehook left them, with update history", _results, _results_arguments, json_option=True),
    Verb(
        "click", "click an action button on a result card (Teamtailor calls Stagehook)", _click, _click_arguments, json_option=True
    ),
    Verb("notes", "notes Stagehook wrote", _notes, json_option=True),
    Verb("activate", "save the activation form with a connection token", _activate, _activate_arguments),
    Verb("seed", "generate candidates with an application each (benchmarks)", _seed, _seed_arguments),
)
