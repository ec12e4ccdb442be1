"""Drive a running ATS sandbox over HTTP (its ``/_sandbox/`` control endpoints).

    manage.py sandbox <ats> trigger --candidate 54321 --job 12345 --package 1   (or --package "<name>")
    manage.py sandbox <ats> trigger-form [--job 12345]
    manage.py sandbox <ats> move --application 636 --stage 13
    manage.py sandbox <ats> results [--wait completed]
    manage.py sandbox <ats> click --result <partner result id> --action "Resend invitation"   (or its index)
    manage.py sandbox <ats> notes | webhooks | stats | reset
    manage.py sandbox <ats> faults --status 503 --count 5 | --duplicate 3 | --drop 1 | --out-of-order | --clear
    manage.py sandbox <ats> activate --token <connection token>

The sandbox is found at ``--url`` or the sandbox module's default host and port.
"""

from __future__ import annotations

import json
import time
from typing import Any

import requests
from django.core.management.base import BaseCommand, CommandError

from .run_sandbox import sandbox_module


class Command(BaseCommand):
    help = "Drive a running ATS sandbox: fire triggers, move applications, inject faults, show results."

    def add_arguments(self, parser):
        parser.add_argument("name", help="the ATS folder under integrations/")
        parser.add_argument("--url", help="the sandbox's base URL (default: its configured host and port)")
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

        trigger = actions.add_parser("trigger", help="fire a partner trigger for a candidate")
        trigger.add_argument("--candidate", required=True, help="candidate id")
        trigger.add_argument("--job", help="job id (omit for a bulk send, which has no job)")
        trigger.add_argument(
            "--package", help="the package to order: its id, or its name as Stagehook's trigger form lists it"
        )
        trigger.add_argument("--user", help="the recruiter who triggered it (user id)")
        trigger.add_argument(
            "--data", action="append", default=[], metavar="KEY=VALUE", help="extra trigger data (repeatable)"
        )

        form = actions.add_parser("trigger-form", help="the trigger form Stagehook offers (its packages)")
        form.add_argument("--job", help="job id (omit for bulk mode)")
        form.add_argument("--stage", help="stage id")

        move = actions.add_parser("move", help="move an application to another stage (sends the stage webhook)")
        move.add_argument("--application", required=True)
        move.add_argument("--stage", required=True)

        results = actions.add_parser("results", help="the results as Stagehook left them, with update history")
        results.add_argument("--candidate", help="only this candidate's results")
        results.add_argument("--wait", metavar="STATUS", help="poll until the newest result has this status")
        results.add_argument("--timeout", type=float, default=120.0, help="seconds --wait polls (default 120)")
        click = actions.add_parser("click", help="click an action button on a result card (Teamtailor calls Stagehook)")
        click.add_argument("--result", required=True, help="the partner result id (see `results`)")
        # dest "button": "action" is the subcommand's own name.
        click.add_argument(
            "--action", dest="button", required=True, help='the button\'s text, e.g. "Resend invitation", or its index'
        )
        for action in (trigger, move, results, click):
            action.add_argument("--json", action="store_true", help="print raw JSON instead of text")

        notes = actions.add_parser("notes", help="notes Stagehook wrote")
        notes.add_argument("--json", action="store_true", help="print raw JSON instead of text")
        actions.add_parser("webhooks", help="every webhook the sandbox sent and what Stagehook answered")
        actions.add_parser("stats", help="requests, 429s served, webhooks sent/dropped, current faults")
        actions.add_parser("reset", help="back to the seeded state")

        faults = actions.add_parser("faults", help="inject faults (merged into the current ones)")
        faults.add_argument("--status", type=int, help="answer API requests with this status, e.g. 503")
        faults.add_argument("--count", type=int, help="...for this many requests")
        faults.add_argument("--seconds", type=float, help="...or for this many seconds")
        faults.add_argument("--delay", type=float, help="sleep this long before answering API requests")
        faults.add_argument("--drop", type=int, help="drop the next N outgoing webhooks")
        faults.add_argument("--duplicate", type=int, help="send every outgoing webhook K times")
        faults.add_argument("--out-of-order", action="store_true", help="hold the next webhook until a later one went")
        faults.add_argument("--clear", action="store_true", help="clear all faults first")

        activate = actions.add_parser("activate", help="save the activation form with a connection token")
        activate.add_argument("--token", required=True, help="the one-time connection token from Stagehook")

        config = actions.add_parser("config", help="show (or change) the running sandbox's settings")
        config.add_argument("--stagehook-url", help="where the sandbox sends webhooks")

    # --- plumbing ----------------------------------------------------------------------------
    def handle(self, *args, name, url, action, **options):
        module = sandbox_module(name)
        self.base = (url or module.SANDBOX_DEFAULTS.base_url).rstrip("/")
        self.name = name
        self.raw = options.get("json", False)
        self.http = requests.Session()
        self.http.trust_env = False  # the sandbox is local; never via a proxy
        getattr(self, f"do_{action.replace('-', '_')}")(options)

    def call(self, method: str, path: str, payload: dict | None = None) -> Any:
        try:
            response = self.http.request(method, f"{self.base}/_sandbox/{path}", json=payload, timeout=60)
        except requests.ConnectionError:
            raise CommandError(
                f"no sandbox at {self.base}: start it with `manage.py run_sandbox {self.name}`"
            ) from None
        try:
            body = response.json()
        except ValueError:
            body = response.text
        if response.status_code >= 400:
            message = body.get("error", body) if isinstance(body, dict) else body
            raise CommandError(f"sandbox answered {response.status_code}: {message}")
        return body

    def show(self, body: Any) -> None:
        self.stdout.write(json.dumps(body, indent=2, ensure_ascii=False))

    # --- actions -----------------------------------------------------------------------------
    def do_trigger(self, options):
        data = {}
        for item in options["data"]:
            key, sep, value = item.partition("=")
            if not sep:
                raise CommandError(f"--data wants KEY=VALUE, got {item!r}")
            data[key] = value
        payload: dict[str, Any] = {"candidate_id": options["candidate"], "webhook_data": data}
        for option, key in (("job", "job_id"), ("package", "package_id"), ("user", "user_id")):
            if options[option]:
                payload[key] = options[option]
        body = self.call("POST", "trigger", payload)
        if self.raw:
            return self.show(body)
        result = body["partner_result"]
        self.stdout.write(
            f"partner event {body['partner_event_id']} for {result['candidate_name']} ({result['candidate_id']})"
        )
        self.stdout.write(f"partner result {result['id']}  status {result['status']}")
        for answer in body["stagehook"]:
            self.stdout.write(f"Stagehook answered: {json.dumps(answer, ensure_ascii=False)}")

    def do_trigger_form(self, options):
        query = "&".join(
            f"{key}={options[opt]}" for opt, key in (("job", "job_id"), ("stage", "stage_id")) if options[opt]
        )
        body = self.call("GET", "trigger-config" + (f"?{query}" if query else ""))
        self.show(body["stagehook"])

    def do_move(self, options):
        body = self.call("POST", f"applications/{options['application']}/move", {"stage_id": options["stage"]})
        if self.raw:
            return self.show(body)
        self.stdout.write(f"application {options['application']} now in stage {options['stage']}")
        for answer in body["stagehook"]:
            self.stdout.write(f"Stagehook answered: {json.dumps(answer, ensure_ascii=False)}")

    def do_results(self, options):
        path = "partner-results" + (f"?candidate_id={options['candidate']}" if options["candidate"] else "")
        body = self.call("GET", path)
        if options["wait"]:
            deadline = time.monotonic() + options["timeout"]
            while not body["partner_results"] or body["partner_results"][-1]["status"] != options["wait"]:
                if time.monotonic() > deadline:
                    raise CommandError(f"no result reached {options['wait']!r} within {options['timeout']:.0f} s")
                time.sleep(1)
                body = self.call("GET", path)
        if self.raw:
            return self.show(body)
        results = body["partner_results"]
        if not results:
            self.stdout.write("no partner results yet")
        for result in results:
            attributes = result["attributes"]
            score = "-" if result["score"] is None else result["score"]
            self.stdout.write(
                f"{result['id']}  {result['status']:<9}  score {score}  "
                f"{result['candidate_name']} ({result['candidate_id']})  job {result['job_id'] or '-'}  "
                f"via {result['created_via']}  updated {result['updated_at']}"
            )
            if attributes.get("summary"):
                self.stdout.write(f"    summary: {attributes['summary']}")
            if attributes.get("url"):
                self.stdout.write(f"    report:  {attributes['url']}")
            for index, button in enumerate(attributes.get("actions") or []):
                self.stdout.write(f"    button {index}: [{button['buttonText']}] -> {button['endpoint']}")
            if result.get("card_error"):
                self.stdout.write(f"    error on card: {result['card_error']}")
            for entry in result["history"]:
                outcome = entry["status_after"] if entry["accepted"] else f"REFUSED {entry['errors'][0]['detail']}"
                self.stdout.write(f"    {entry['at']}  {entry['source']:<16} {outcome}")

    def do_click(self, options):
        wanted = options["button"].strip()
        if wanted.isdigit():
            index = int(wanted)
        else:
            results = self.call("GET", "partner-results")["partner_results"]
            result = next((r for r in results if r["id"] == options["result"]), None)
            if result is None:
                raise CommandError(f"no partner result {options['result']} in the sandbox")
            buttons = result["attributes"].get("actions") or []
            index = next((i for i, b in enumerate(buttons) if b["buttonText"].strip().lower() == wanted.lower()), None)
            if index is None:
                offered = ", ".join(repr(b["buttonText"]) for b in buttons) or "none"
                raise CommandError(f"the card has no button {wanted!r} (buttons: {offered})")
        body = self.call("POST", f"partner-results/{options['result']}/actions/{index}")
        if self.raw:
            return self.show(body)
        result = body["partner_result"]
        self.stdout.write(f"clicked [{body['action']['buttonText']}] on partner result {result['id']}")
        for answer in body["stagehook"]:
            self.stdout.write(f"Stagehook answered: {json.dumps(answer, ensure_ascii=False)}")
        self.stdout.write(f"partner result {result['id']}  status {result['status']}")

    def do_notes(self, options):
        body = self.call("GET", "notes")
        if self.raw:
            return self.show(body)
        if not body["notes"]:
            self.stdout.write("no notes yet")
        for note in body["notes"]:
            self.stdout.write(
                f"note {note['id']} on candidate {note['candidate_id']} by user {note['user_id']} at {note['created_at']}"
            )
            self.stdout.write(f"    {note['note']}")

    def do_webhooks(self, options):
        self.show(self.call("GET", "webhooks"))

    def do_stats(self, options):
        self.show(self.call("GET", "stats"))

    def do_reset(self, options):
        self.show(self.call("POST", "reset"))

    def do_faults(self, options):
        payload: dict[str, Any] = {}
        if options["clear"]:
            payload["clear"] = True
        for option, key in (
            ("status", "status"),
            ("count", "count"),
            ("seconds", "seconds"),
            ("delay", "delay"),
            ("drop", "drop_webhooks"),
            ("duplicate", "duplicate_webhooks"),
        ):
            if options[option] is not None:
                payload[key] = options[option]
        if options["out_of_order"]:
            payload["out_of_order"] = True
        self.show(self.call("POST", "faults", payload) if payload else self.call("GET", "faults"))

    def do_activate(self, options):
        self.show(self.call("POST", "activate", {"connection_token": options["token"]}))

    def do_config(self, options):
        if options["stagehook_url"]:
            self.show(self.call("POST", "config", {"stagehook_url": options["stagehook_url"]}))
        else:
            self.show(self.call("GET", "config"))
