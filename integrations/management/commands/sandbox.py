"""Drive a running ATS sandbox over HTTP (its ``/_sandbox/`` control endpoints):

    manage.py sandbox <ats> [--url URL] <verb> [options]

The verbs are the ATS sandbox's own (``SandboxSpec.verbs``, e.g. integrations/teamtailor/sandbox/
verbs.py) and the kit's generic ones: ``webhooks``, ``stats``, ``reset``, ``faults``, ``config``.
``manage.py sandbox <ats> --help`` lists them. The sandbox is found at ``--url`` or at the sandbox's
default host and port.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from integrations.sandbox import SandboxCli, UnknownSandbox, VerbError, sandbox_names, sandbox_spec
from integrations.sandbox.cli import verbs_for


class Command(BaseCommand):
    help = "Drive a running ATS sandbox: fire its events, inject faults, show what Stagehook wrote."

    def add_arguments(self, parser):
        atss = parser.add_subparsers(dest="name", required=True, metavar="ATS")
        for name in sandbox_names():
            try:
                spec = sandbox_spec(name)
            except (UnknownSandbox, ImportError) as exc:
                # One broken sandbox must not take the others' verbs down with it.
                atss.add_parser(name, help=f"(unusable: {exc})")
                continue
            ats = atss.add_parser(name, help=spec.description or f"the {name} sandbox")
            ats.add_argument("--url", help="the sandbox's base URL (default: its configured host and port)")
            verbs = ats.add_subparsers(dest="verb", required=True, metavar="VERB")
            for verb in verbs_for(spec.verbs):
                sub = verbs.add_parser(verb.name, help=verb.help)
                if verb.arguments is not None:
                    verb.arguments(sub)
                if verb.json_option:
                    sub.add_argument("--json", action="store_true", help="print raw JSON instead of text")

    def handle(self, *args, name, verb=None, url=None, **options):
        try:
            spec = sandbox_spec(name)
        except UnknownSandbox as exc:
            raise CommandError(str(exc)) from exc
        chosen = next((v for v in verbs_for(spec.verbs) if v.name == verb), None)
        if chosen is None:
            raise CommandError(f"the {name} sandbox has no verb {verb!r}")
        cli = SandboxCli(
            name=name, base_url=url or spec.defaults.base_url, write=self.stdout.write, raw=options.get("json", False)
        )
        try:
            chosen.run(cli, options)
        except VerbError as exc:
            raise CommandError(str(exc)) from exc
