"""The health check of a persistent PostgreSQL connection (config/postgresql): pinged when it was
idle, not on every request while it is in steady use."""

import psycopg
import pytest
from django.core.signals import request_finished, request_started
from django.db import OperationalError, connection, connections

import config.postgresql.base as backend

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def clock(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(backend.time, "monotonic", lambda: now[0])
    return now


@pytest.fixture
def pings(monkeypatch):
    calls = []
    real = connection.is_usable

    def is_usable():
        calls.append(1)
        return real()

    monkeypatch.setattr(connection, "is_usable", is_usable)
    return calls


@pytest.fixture(autouse=True)
def persistent(settings):
    if connection.vendor != "postgresql":
        pytest.skip("the backend is PostgreSQL's")
    connection.close()
    connection.settings_dict["CONN_MAX_AGE"], connection.settings_dict["CONN_HEALTH_CHECKS"] = 600, True
    settings.CONN_HEALTH_CHECK_IDLE_SECONDS = 1.0
    yield
    connection.close()


def _request() -> int:
    """One request's life as Django's handler runs it; the backend's pid its query ran on."""
    request_started.send(sender=None)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            return cursor.fetchone()[0]
    finally:
        request_finished.send(sender=None)


def _terminate(pid: int) -> None:
    s = connection.settings_dict
    with psycopg.connect(host=s["HOST"] or "127.0.0.1", port=s["PORT"] or 5432, user=s["USER"],
                         password=s["PASSWORD"] or None, dbname=s["NAME"], autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])


def test_the_backend_is_in_use():
    assert isinstance(connections["default"], backend.DatabaseWrapper)


def test_a_connection_in_steady_use_is_not_pinged(clock, pings):
    first = _request()
    for _ in range(5):
        clock[0] += 0.5
        assert _request() == first  # the same persistent connection
    assert pings == []


def test_a_connection_idle_for_the_interval_is_pinged_and_a_dead_one_replaced(clock, pings):
    first = _request()
    _terminate(first)  # e.g. the server restarted, or an idle timeout on the way closed it
    clock[0] += 1.0
    second = _request()
    assert pings == [1]
    assert second != first


def test_zero_pings_on_every_request_as_django_does(clock, pings, settings):
    settings.CONN_HEALTH_CHECK_IDLE_SECONDS = 0
    first = _request()
    for _ in range(3):
        clock[0] += 0.01
        assert _request() == first
    assert pings == [1, 1, 1]


def test_a_connection_that_died_a_moment_after_use_fails_one_request_then_is_replaced(clock, pings):
    # What the skipped ping costs: the request right after such a death fails (as any request
    # in flight would), Django drops the connection at its end, and the next request works.
    first = _request()
    _terminate(first)
    clock[0] += 0.2
    with pytest.raises(OperationalError):
        _request()
    clock[0] += 0.2
    assert _request() != first


# --- prepared statements (prepared_cursor) ---------------------------------------------------------
def _prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


def _store(event_id: str):
    from integrations.webhooks import webhook_event_store

    return webhook_event_store(provider="teamtailor", connection=None, event_id=event_id, event_type="t",
                               headers={"X": "1"}, raw_body=b'{"a": 1}')


def test_the_intakes_statement_is_prepared_once_and_the_orms_queries_never():
    from integrations.models import WebhookEvent

    for n in range(3):
        _store(f"prepared-{n}")
    assert _store("prepared-0")[1] is False  # the prepared statement still sees a duplicate
    list(WebhookEvent.objects.filter(event_id__startswith="prepared-"))
    statements = _prepared_statements()
    assert len(statements) == 1 and statements[0].startswith('INSERT INTO "integrations_webhookevent"')
    assert WebhookEvent.objects.filter(event_id__startswith="prepared-").count() == 3


def test_prepared_statements_can_be_turned_off(settings):
    settings.DATABASE_PREPARED_STATEMENTS = False
    connection.close()
    for n in range(3):
        _store(f"unprepared-{n}")
    assert _prepared_statements() == []
