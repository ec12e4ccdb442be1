"""Shared fixtures: tasks run eagerly unless a test starts a real worker."""

import io
import logging
import socket
from pathlib import Path

import pytest

from config.celery import app as celery_app

pytest_plugins = ["tests.sandbox_fixtures"]

REFERENCE_DIR = Path(__file__).resolve().parents[2] / "shared" / "reference"
FIXTURES_DIR = REFERENCE_DIR / "fixtures"


@pytest.fixture(autouse=True)
def _eager_celery():
    previous = celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = previous


@pytest.fixture(autouse=True)
def _no_inbound_connection_cache():
    """Tests change connections with update() and reuse provider keys across tests: the brief
    in-process connection cache is off unless a test turns it on (tests of the cache itself)."""
    from django.conf import settings

    from integrations import inbound_cache

    previous = settings.INBOUND_CONNECTION_CACHE_SECONDS
    settings.INBOUND_CONNECTION_CACHE_SECONDS = 0
    inbound_cache._entries.clear()
    yield
    settings.INBOUND_CONNECTION_CACHE_SECONDS = previous
    inbound_cache._entries.clear()


@pytest.fixture(autouse=True)
def _unbatched_queueing(settings):
    """The intake's batched publishing (a background thread) is off: each event's task is queued
    at commit, where a test can see it. Its own tests and the end-to-end tests turn it on."""
    settings.QUEUE_BATCH_LINGER_MS = 0


@pytest.fixture
def reference_fixtures() -> Path:
    """The vendors' example payloads (``../shared/reference/fixtures``)."""
    if not FIXTURES_DIR.is_dir():
        pytest.fail(f"reference fixtures missing at {FIXTURES_DIR}: shared/ must sit beside the checkout")
    return FIXTURES_DIR


@pytest.fixture
def broker_down():
    """Celery publishes for real (not eagerly) to a Redis port nothing listens on: every enqueue
    meets a refused connection, as when the broker is down. Returns the broker URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    conf = celery_app.conf
    names = ("task_always_eager", "broker_url", "broker_write_url", "broker_read_url")
    previous = {name: conf[name] for name in names}
    url = f"redis://127.0.0.1:{port}/0"

    def _reset_pools():
        celery_app._pool = None
        celery_app.amqp._producer_pool = None

    conf.update(task_always_eager=False, broker_url=url, broker_write_url=url, broker_read_url=url)
    _reset_pools()
    assert celery_app.connection_for_write().as_uri().endswith(f":{port}/0")
    yield url
    conf.update(previous)
    _reset_pools()


@pytest.fixture
def configured_log():
    """What the handlers of ``settings.LOGGING`` write (the root's, which Django's loggers use
    too), as one StringIO: what production would print, redaction filter included."""
    from config.logredact import RedactSecretsFilter

    handlers = [h for h in logging.getLogger().handlers if any(isinstance(f, RedactSecretsFilter) for f in h.filters)]
    assert handlers, "the root logger has no redacting handler"
    assert set(handlers) & set(logging.getLogger("django").handlers), "Django's loggers bypass it"
    buffer = io.StringIO()
    previous = [h.setStream(buffer) for h in handlers]
    yield buffer
    for handler, stream in zip(handlers, previous):
        handler.setStream(stream)
