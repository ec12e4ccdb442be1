"""Serve an ATS sandbox as a real HTTP server: ``manage.py run_sandbox <ats> --port 8101``.

Any ATS folder whose ``sandbox`` package exposes ``SANDBOX`` (an ``integrations.sandbox.SandboxSpec``)
works; the serving itself is the sandbox kit's (``integrations.sandbox.run_sandbox``).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from integrations.sandbox import SandboxSpec, UnknownSandbox, run_sandbox, sandbox_spec


def spec_or_error(name: str) -> SandboxSpec:
    try:
        return sandbox_spec(name)
    except UnknownSandbox as exc:
        raise CommandError(str(exc)) from exc


class Command(BaseCommand):
    help = "Serve integrations.<name>.sandbox, a fake ATS for the demo, benchmarks and e2e tests."

    def add_arguments(self, parser):
        parser.add_argument("name", help="the ATS folder under integrations/, e.g. the one named in the Procfile")
        parser.add_argument("--port", type=int, help="port to listen on (default: the sandbox's own)")
        # Loopback by default: the control endpoints have no authentication.
        parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
        parser.add_argument("--stagehook-url", help="Stagehook's base URL for this ATS (where webhooks go)")

    def handle(self, *args, name, port, host, stagehook_url, **options):
        spec = spec_or_error(name)

        def announce(line: str) -> None:
            self.stdout.write(line)
            self.stdout.flush()

        run_sandbox(spec, host=host, port=port, stagehook_url=stagehook_url, announce=announce)
