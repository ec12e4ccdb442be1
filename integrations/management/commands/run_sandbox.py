"""Serve an ATS sandbox as a real HTTP server: ``manage.py run_sandbox <ats> --port 8101``.

Any ATS folder with a ``sandbox`` module works: by convention it exposes ``SANDBOX_DEFAULTS``
(a dataclass with ``host``, ``port`` and ``stagehook_url``) and ``Sandbox(config)``, a WSGI app
with ``configure(**changes)``.
"""

from __future__ import annotations

import dataclasses
import importlib
import re

from django.core.management.base import BaseCommand, CommandError
from werkzeug.serving import make_server


def sandbox_module(name: str):
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise CommandError(f"not an ATS name: {name!r}")
    try:
        return importlib.import_module(f"integrations.{name}.sandbox")
    except ModuleNotFoundError as exc:
        raise CommandError(f"integrations.{name} has no sandbox module ({exc})") from exc


class Command(BaseCommand):
    help = "Serve integrations.<name>.sandbox, a fake ATS for the demo, benchmarks and e2e tests."

    def add_arguments(self, parser):
        parser.add_argument("name", help="the ATS folder under integrations/, e.g. the one named in the Procfile")
        parser.add_argument("--port", type=int, help="port to listen on (default: the sandbox's own)")
        # Loopback by default: the control endpoints have no authentication.
        parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
        parser.add_argument("--stagehook-url", help="Stagehook's base URL for this ATS (where webhooks go)")

    def handle(self, *args, name, port, host, stagehook_url, **options):
        module = sandbox_module(name)
        changes = {"host": host}
        if port is not None:
            changes["port"] = port
        if stagehook_url:
            changes["stagehook_url"] = stagehook_url
        config = dataclasses.replace(module.SANDBOX_DEFAULTS, **changes)
        app = module.Sandbox(config)
        server = make_server(config.host, config.port, app, threaded=True)
        # With --port 0 the OS picks the port; links and update-urls must carry the real one.
        app.configure(port=server.server_port)
        self.stdout.write(
            f"{name} sandbox on http://{config.host}:{server.server_port} "
            f"(webhooks to {app.config.stagehook_url}); control endpoints under /_sandbox/",
        )
        self.stdout.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
