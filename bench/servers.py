"""The real processes a benchmark runs against, started and stopped by it: gunicorn with the
README's production settings adapted to 127.0.0.1, Celery workers on the Redis broker, and an ATS
sandbox as a real HTTP server in a process of its own. Every server binds a free port.

A benchmark that uses them runs in a process of its own (``python -m bench`` runs each so): the
production environment is set before Django starts (``production_environment``). Workers, web and
the benchmark share that environment (one ``FIELD_ENCRYPTION_KEYS``, Celery queues of the run's
own — the default and the background queue — deleted afterwards).

``python -m bench.servers sandbox <name> <module:seed function> <JSON>`` is the sandbox process:
it builds the sandbox, binds a free port, calls the seed function with the live sandbox and the
JSON (in that process: the sandbox's records are in memory), prints one JSON line
``{"port": ..., "seed": <what the seed returned>}`` and serves until terminated.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import runpy
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / ".venv/bin"

# The README's production environment, adapted to 127.0.0.1 (the database, broker and Redis come
# from the Makefile's BENCH_DATABASE_URL / TEST_REDIS_URL / TEST_BROKER_URL).
PRODUCTION_ENV = {
    "SECRET_KEY": "bench-" + "s" * 60,
    "ALLOWED_HOSTS": "127.0.0.1",
    "SITE_URL": "https://127.0.0.1",
    "DEPLOYMENT_REGION": "eu",
    "EMAIL_URL": "smtp+tls://mailer:bench@127.0.0.1:1",
    "HTTPS_ONLY": "on",
    "BEHIND_TLS_PROXY": "on",
    "ALLAUTH_TRUSTED_PROXY_COUNT": "1",
    "SMS_BACKEND": "assessments.sms.HttpSmsBackend",
    "SMS_HTTP_URL": "https://127.0.0.1:1/v1/messages",
    "SMS_HTTP_TOKEN": "bench",
    "TEAMTAILOR_PARTNER_WEBHOOK_SECRET": "bench-partner-webhook-secret",
    "DEBUG": "off",
}

PROXY_HEADERS = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7", "Host": "127.0.0.1"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def listening_socket() -> socket.socket:
    """A socket bound to a free port of 127.0.0.1 and listening, handed to gunicorn (``fd://``): no
    window between choosing the port and binding it in which another benchmark could take it."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def database_url(name: str) -> str:
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path="/" + name))


def production_environment(**overrides: str) -> None:
    """The production settings into ``os.environ`` (what is already set wins), one encryption key
    for every process of the run, and the run's own Celery queue. Call before Django starts."""
    from cryptography.fernet import Fernet

    for name, value in {**PRODUCTION_ENV, **overrides}.items():
        os.environ.setdefault(name, value)
    os.environ.setdefault("FIELD_ENCRYPTION_KEYS", Fernet.generate_key().decode())
    os.environ["CELERY_TASK_DEFAULT_QUEUE"] = f"bench-{uuid.uuid4().hex[:8]}"


def celery_queues() -> list[str]:
    """The run's Celery queues, as ``config.celery`` routes to them: the default (trigger) queue
    and the background queue (write-backs, syncs). Every worker consumes both."""
    default = os.environ["CELERY_TASK_DEFAULT_QUEUE"]
    return [default, os.environ.get("CELERY_BACKGROUND_QUEUE") or f"{default}.background"]


def process_env(database_name: str, **extra: str) -> dict[str, str]:
    """The environment of a server process: the run's environment on the throwaway database."""
    env = dict(os.environ)
    env.update({"DATABASE_URL": database_url(database_name), "DJANGO_SETTINGS_MODULE": "bench.settings", **extra})
    return env


def stop(process: subprocess.Popen, *, timeout: float = 30) -> None:
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_ready(base: str, process: subprocess.Popen, *, deadline: float, path: str = "/bench/bare") -> None:
    request = urllib.request.Request(base + path, headers={"X-Forwarded-Proto": "https"})
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited with {process.returncode}")
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)  # polling the server's port until it answers, bounded by the deadline
    raise SystemExit("gunicorn did not answer within 60 s")


def gunicorn_workers() -> str:
    """The number of web workers config/gunicorn.conf.py starts."""
    return str(runpy.run_path(str(ROOT / "config/gunicorn.conf.py"))["workers"])


@contextlib.contextmanager
def gunicorn(database_name: str, work: Path, **extra_env: str) -> Iterator[tuple[str, subprocess.Popen]]:
    """gunicorn with config/gunicorn.conf.py on a free port; yields (base URL, process)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = work / "gunicorn.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [str(BIN / "gunicorn"), "config.wsgi", "-c", str(ROOT / "config/gunicorn.conf.py")],
            cwd=ROOT, env=process_env(database_name, GUNICORN_BIND=f"127.0.0.1:{port}", **extra_env),
            stdout=log, stderr=subprocess.STDOUT,
        )
        try:
            wait_ready(base, server, deadline=time.monotonic() + 60)
            yield base, server
        finally:
            stop(server)


@contextlib.contextmanager
def celery_workers(
    database_name: str, work: Path, *, count: int = 1, concurrency: int = 2, **extra_env: str
) -> Iterator[list[subprocess.Popen]]:
    """``count`` Celery worker nodes (the Procfile's ``worker`` line: ``--concurrency 2``) on the
    run's two queues (``celery_queues``); yields once every node said it is ready."""
    queue = os.environ["CELERY_TASK_DEFAULT_QUEUE"]
    queues = ",".join(celery_queues())
    env = process_env(database_name, **extra_env)
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    processes, logs = [], []
    try:
        for n in range(count):
            log_path = work / f"worker{n}.log"
            logs.append(log_path)
            with log_path.open("w") as log:
                processes.append(subprocess.Popen(
                    [str(BIN / "celery"), "-A", "config", "worker", "-Q", queues, "-n", f"bench{n}-{queue}@%h",
                     "--concurrency", str(concurrency), "--loglevel", "INFO",
                     "--without-gossip", "--without-mingle", "--without-heartbeat"],
                    cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                ))
        deadline = time.monotonic() + 90
        for process, log_path in zip(processes, logs):
            while "ready." not in log_path.read_text(errors="replace"):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("a Celery worker did not start:\n" + log_path.read_text(errors="replace")[-3000:])
                time.sleep(0.2)  # polling the worker's log for its banner, bounded by the deadline
        yield processes
    finally:
        for process in processes:
            stop(process)


def queue_purge(*, delete: bool = False) -> int:
    """Empty the run's Celery queues (and delete them, at the end of a run); returns how many
    messages were left in them."""
    from config.celery import app as celery_app

    left = 0
    with celery_app.connection_for_write() as conn:
        for queue in celery_queues():
            # Declared first: kombu's queue_delete skips a queue this process never declared.
            conn.default_channel.queue_declare(queue, passive=False)
            left += conn.default_channel.queue_purge(queue) or 0
            if delete:
                conn.default_channel.queue_delete(queue)
    return left


class SandboxProcess:
    """An ATS sandbox served by ``python -m bench.servers sandbox`` (see the module docstring)."""

    def __init__(self, name: str, *, seed: str, seed_args: dict, work: Path, stagehook_url: str = ""):
        self.log_path = work / f"sandbox-{name}.log"
        self._log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.servers", "sandbox", name, seed, json.dumps(seed_args), stagehook_url],
            cwd=ROOT, env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"},
            stdout=subprocess.PIPE, stderr=self._log, text=True,
        )
        line = self.process.stdout.readline()
        if not line:
            self.close()
            raise SystemExit(f"the {name} sandbox did not start:\n" + self.log_path.read_text(errors="replace")[-3000:])
        started = json.loads(line)
        self.url = f"http://127.0.0.1:{started['port']}"
        self.seed = started["seed"]

    def control(self, method: str, path: str, payload: dict | None = None, *, timeout: float = 30) -> dict:
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(
            f"{self.url}/_sandbox/{path}", data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())

    def close(self) -> None:
        stop(self.process)
        if self.process.stdout:
            self.process.stdout.close()
        self._log.close()


def _serve_sandbox(name: str, seed: str, seed_args: str, stagehook_url: str) -> None:
    import django

    django.setup()
    from integrations.sandbox import sandbox_spec
    from integrations.sandbox.server import bind, build

    overrides = {"host": "127.0.0.1", "port": 0}
    if stagehook_url:
        overrides["stagehook_url"] = stagehook_url
    app = build(sandbox_spec(name), **overrides)
    server = bind(app, host="127.0.0.1", port=0)
    module, _, function = seed.partition(":")
    seeded = getattr(importlib.import_module(module), function)(app, **json.loads(seed_args))
    print(json.dumps({"port": server.server_port, "seed": seeded}), flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
        app.close()


if __name__ == "__main__":
    if len(sys.argv) >= 5 and sys.argv[1] == "sandbox":
        _serve_sandbox(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5] if len(sys.argv) > 5 else "")
    else:
        raise SystemExit("usage: python -m bench.servers sandbox <name> <module:seed> <JSON> [stagehook url]")
