"""``VerifiedInbound.writes``: rows a provider stores beside an accepted event, in the event's own
statement on PostgreSQL (a data-modifying WITH) and one by one elsewhere (SQLite)."""

import pytest
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
