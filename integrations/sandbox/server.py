"""Serving a sandbox as a real threaded HTTP server: what ``manage.py run_sandbox`` and the test
plugin do."""

from __future__ import annotations

import dataclasses
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

from .registry import SandboxApp, SandboxSpec


def build(spec: SandboxSpec, **overrides: Any) -> SandboxApp:
    """A new sandbox of ``spec`` with ``overrides`` applied to its default config."""
    return spec.factory(dataclasses.replace(spec.defaults, **overrides))


def bind(app: SandboxApp, *, host: str, port: int) -> BaseWSGIServer:
    """A threaded server for ``app`` on host:port (0: the OS picks); the sandbox is told the
    port it got, because links and callback URLs must carry the real one."""
    server = make_server(host, port, app, threaded=True)
    # Keep-alive connections from the other side must not hold up a shutdown.
    server.daemon_threads = True
    server.block_on_close = False
    app.configure(port=server.server_port)
    return server


def run_sandbox(spec: SandboxSpec, *, host: str, port: int | None, stagehook_url: str | None, announce) -> None:
    """Serve ``spec``'s sandbox until interrupted; ``announce(line)`` prints the banner."""
    overrides: dict[str, Any] = {"host": host}
    if port is not None:
        overrides["port"] = port
    if stagehook_url:
        overrides["stagehook_url"] = stagehook_url
    app = build(spec, **overrides)
    server = bind(app, host=app.config.host, port=app.config.port)
    announce(
        f"{spec.name} sandbox on http://{app.config.host}:{server.server_port} "
        f"(webhooks to {app.config.stagehook_url}); control endpoints under /_sandbox/"
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        app.close()
