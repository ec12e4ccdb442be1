"""``VerifiedInbound.writes``: rows a provider stores beside an accepted event, in the event's own
statement on PostgreSQL (a data-modifying WITH) and one by one elsewhere (SQLite)."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection as db

from integrations.models import InboundSignature, WebhookEvent
from integrations.teamtailor.services import teamtailor_signature_write
from integrations.webhooks import webhook_event_store

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("vendor", ["postgresql", "one by one"])
def test_writes_are_stored_with_the_event_and_a_duplicate_stores_no_second_row(monkeypatch, vendor):
    if vendor != "postgresql":
        monkeypatch.setattr(db, "vendor", "sqlite")  # the path of a database without data-modifying WITH
    queries = []

    def store(event_id, fingerprint):
        write = teamtailor_signature_write(fingerprint=fingerprint, kind="trigger")  # (may prune old rows first)
        with db.execute_wrapper(lambda execute, sql, *args: queries.append(sql) or execute(sql, *args)):
            return webhook_event_store(
                provider="teamtailor", connection=None, event_id=event_id, event_type="partner.trigger",
                headers={}, raw_body=b"{}", writes=(write,),
            )

    event, created = store("e-1", "f-1")
    assert created and WebhookEvent.objects.get().pk == event.pk
    assert list(InboundSignature.objects.values_list("fingerprint", "kind")) == [("f-1", "trigger")]
    statements = [sql for sql in queries if "SAVEPOINT" not in sql]
    assert len(statements) == (1 if vendor == "postgresql" else 2)  # one round trip for both on PostgreSQL
    # One statement is atomic by itself; one by one, they run in a transaction of their own (in
    # this test's transaction: a savepoint).
    assert (len(queries) > len(statements)) == (vendor != "postgresql")
    again, created = store("e-1", "f-2")
    assert not created and again.pk == event.pk and WebhookEvent.objects.count() == 1
    # The write ran for the duplicate too (the provider asked for it whatever the event is).
    assert set(InboundSignature.objects.values_list("fingerprint", flat=True)) == {"f-1", "f-2"}


def test_the_intake_insert_names_what_an_event_brings_and_the_database_fills_in_the_rest():
    queries = []
    with db.execute_wrapper(lambda execute, sql, *args: queries.append(sql) or execute(sql, *args)):
        event, created = webhook_event_store(
            provider="teamtailor", connection=None, event_id="e-defaults", event_type="partner.trigger",
            headers={"Content-Type": "application/json"}, raw_body=b'{"a": 1}',
        )
    (insert,) = [sql for sql in queries if sql.startswith("INSERT")]
    named = insert.split("(", 1)[1].split(")", 1)[0]
    assert "status" not in named and "attempts" not in named and "error" not in named
    stored = WebhookEvent.objects.get(pk=event.pk)
    assert (stored.status, stored.attempts, stored.error_code, stored.error, stored.processed_at, stored.redacted_at) == (
        "received", 0, "", "", None, None)
    assert (stored.headers, bytes(stored.raw_body), stored.received_at) == (
        {"Content-Type": "application/json"}, b'{"a": 1}', event.received_at)


def test_a_new_event_column_without_a_database_default_is_refused_loudly(monkeypatch):
    from django.db.models import NOT_PROVIDED

    from integrations import webhooks

    monkeypatch.setattr(WebhookEvent._meta.get_field("attempts"), "db_default", NOT_PROVIDED)
    webhooks._event_insert.cache_clear()
    try:
        with pytest.raises(ImproperlyConfigured, match="WebhookEvent.attempts needs a db_default"):
            webhooks._event_insert()
    finally:
        webhooks._event_insert.cache_clear()


@pytest.mark.skipif(db.vendor != "postgresql", reason="TOAST compression is PostgreSQL's")
def test_a_large_body_is_stored_compressed_with_lz4():
    body = b'{"partner-event": "' + b"x" * 4000 + b'"}'
    event, _ = webhook_event_store(provider="teamtailor", connection=None, event_id="e-large", event_type="t",
                                   headers={}, raw_body=body)
    with db.cursor() as cursor:
        cursor.execute("SELECT pg_column_compression(raw_body), octet_length(raw_body) FROM integrations_webhookevent "
                       "WHERE id = %s", [event.pk])
        assert cursor.fetchone() == ("lz4", len(body))
    assert bytes(WebhookEvent.objects.get(pk=event.pk).raw_body) == body
