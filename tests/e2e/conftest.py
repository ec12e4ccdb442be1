"""Real processes for end-to-end tests: a Celery worker on the Redis broker, e-mail in files.

The worker is a subprocess on a queue of its own, reading the same PostgreSQL test database as the
test (so tests using it need ``transactional_db`` and pytest-django's ``live_server``)."""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection

from config.celery import app as celery_app
from tenants.queueing import flush_batches

ROOT = Path(__file__).resolve().parents[2]


def _database_url() -> str:
    s = connection.settings_dict
    if connection.vendor != "postgresql":
        pytest.fail("end-to-end tests need PostgreSQL (make test sets DATABASE_URL)")
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.fixture
def mailbox(tmp_path) -> Path:
    folder = tmp_path / "mail"
    folder.mkdir()
    return folder


def read_mailbox(folder: Path) -> list[str]:
    return [path.read_text(errors="replace") for path in sorted(folder.glob("*.log"))]


@pytest.fixture
def celery_worker(transactional_db, live_server, mailbox, settings, tmp_path):
    """Start ``celery worker`` for this test; tasks the test (and live_server) queue go to it."""
    broker = os.environ.get("CELERY_BROKER_URL", "")
    if not broker.startswith(("redis://", "amqp://")):
        pytest.fail("end-to-end tests need a real broker: make test sets CELERY_BROKER_URL to Redis")
    queue = f"e2e-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": broker,
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "CELERY_TASK_ALWAYS_EAGER": "off",
        "EMAIL_URL": "filemail://",
        "EMAIL_FILE_PATH": str(mailbox),
        "SITE_URL": live_server.url,
        "ATS_EXTRA_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "STAGEHOOK_VAR_DIR": str(tmp_path / "var"),
    }
    settings.SITE_URL = live_server.url
    settings.ATS_EXTRA_ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
    # The intake's processing tasks go out batched, as in production (tenants/queueing.py).
    settings.QUEUE_BATCH_LINGER_MS = 50
    log = (tmp_path / "worker.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", f"{queue},{queue}.background", "--concurrency", "2",
         "--loglevel", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    previous = (celery_app.conf.task_always_eager, celery_app.conf.task_default_queue)
    celery_app.conf.task_always_eager = False
    celery_app.conf.task_default_queue = queue
    try:
        deadline = time.monotonic() + 60
        while "ready." not in (tmp_path / "worker.log").read_text():
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail("Celery worker did not start:\n" + (tmp_path / "worker.log").read_text()[-3000:])
            time.sleep(0.2)
        yield process
    finally:
        flush_batches()  # nothing of this test's is left to be published into the next one's queue
        celery_app.conf.task_always_eager, celery_app.conf.task_default_queue = previous
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
        # Leave the worker's log beside the test's temporary files for a failing run.


def wait_for(predicate, *, timeout: float = 30, interval: float = 0.2, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout}s waiting for {what}")
