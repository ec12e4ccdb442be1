"""The mirror upsert (integrations.sync.mirror_page_store) on its own: created / updated /
unchanged counts, and no row rewritten when nothing changed (PostgreSQL's xmin of each row, as
tests/integrations/teamtailor/test_sync.py counts them), NULLs and JSON compared by value. On
PostgreSQL a page is one statement; on SQLite the ORM path gives the same counts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection as db_connection
from django.db import transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from integrations.models import RemoteApplication, RemoteCandidate, RemoteJob
from integrations.providers import SyncedApplication, SyncedCandidate
from integrations.sync import _Kind, _mirror_upsert_postgresql, mirror_page_store, mirror_page_transaction
from tests.factories import ConnectionFactory

pytestmark = pytest.mark.django_db
postgresql_only = pytest.mark.skipif(
    db_connection.vendor != "postgresql", reason="xmin and the one-statement upsert are PostgreSQL's"
)

MOMENT = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.timezone.utc)


def versions(model, connection) -> dict[str, str]:
    """Each mirrored row's version (xmin): it changes when the row is written."""
    with db_connection.cursor() as cursor:
        cursor.execute(f"SELECT remote_id, xmin::text FROM {model._meta.db_table} WHERE connection_id = %s",
                       [connection.pk])
        return dict(cursor.fetchall())


def rewritten(before: dict[str, str], after: dict[str, str]) -> set[str]:
    return {remote_id for remote_id, version in after.items() if before.get(remote_id) != version}


def candidate(n: int, **changes) -> SyncedCandidate:
    values = {"first_name": f"First {n}", "last_name": f"Last {n}", "email": f"c{n}@example.com",
              "phone": "+46 70 000 00 00", "remote_updated_at": MOMENT + dt.timedelta(minutes=n)}
    return SyncedCandidate(remote_id=str(1000 + n), **{**values, **changes})


def store(connection, items, kind="candidates", **kwargs):
    # A transaction per page, as the sync commits them (a savepoint inside the test's transaction:
    # a subtransaction of its own, so what it writes gets an xmin of its own).
    with transaction.atomic():
        return mirror_page_store(connection=connection, kind=kind, items=items, emit=kwargs.pop("emit", False), **kwargs)


def upsert(spec, connection, rows):
    with transaction.atomic():
        return _mirror_upsert_postgresql(spec=spec, connection=connection, rows=rows)


def counts(result) -> tuple[int, int, int, int]:
    return result.created, result.updated, result.unchanged, result.skipped


def test_new_then_unchanged_then_changed_rows_are_counted_and_only_changes_written():
    connection = ConnectionFactory()
    page = [candidate(n) for n in range(5)]
    assert counts(store(connection, page)) == (5, 0, 0, 0)
    stored = RemoteCandidate.objects.get(connection=connection, remote_id="1003")
    assert (stored.first_name, stored.email, stored.remote_updated_at, stored.data) == (
        "First 3", "c3@example.com", MOMENT + dt.timedelta(minutes=3), {})

    assert counts(store(connection, page)) == (0, 0, 5, 0)

    page[1] = candidate(1, first_name="Renamed")
    page[4] = candidate(4, email="new4@example.com")
    page.append(candidate(9))
    result = store(connection, page)
    assert counts(result) == (1, 2, 3, 0) and result.seen == 6
    assert RemoteCandidate.objects.get(connection=connection, remote_id="1001").first_name == "Renamed"
    assert RemoteCandidate.objects.get(connection=connection, remote_id="1004").email == "new4@example.com"
    assert RemoteCandidate.objects.filter(connection=connection).count() == 6


@postgresql_only
def test_an_unchanged_page_rewrites_no_row_and_a_changed_one_only_its_changed_rows():
    connection = ConnectionFactory()
    page = [candidate(n) for n in range(30)]
    store(connection, page)
    before = versions(RemoteCandidate, connection)
    assert counts(store(connection, page)) == (0, 0, 30, 0)
    assert rewritten(before, versions(RemoteCandidate, connection)) == set()

    page[7] = candidate(7, last_name="Moved")
    page[20] = candidate(20, remote_updated_at=MOMENT + dt.timedelta(days=1))
    assert counts(store(connection, page)) == (0, 2, 28, 0)
    assert rewritten(before, versions(RemoteCandidate, connection)) == {"1007", "1020"}


@postgresql_only
def test_nulls_compare_by_value_a_null_to_null_is_unchanged_and_null_to_value_either_way_is_a_change():
    connection = ConnectionFactory()
    page = [candidate(0, remote_updated_at=None), candidate(1, remote_updated_at=None), candidate(2)]
    store(connection, page)
    assert RemoteCandidate.objects.get(connection=connection, remote_id="1000").remote_updated_at is None
    before = versions(RemoteCandidate, connection)

    again = [candidate(0, remote_updated_at=None), candidate(1), candidate(2, remote_updated_at=None)]
    assert counts(store(connection, again)) == (0, 2, 1, 0)
    assert rewritten(before, versions(RemoteCandidate, connection)) == {"1001", "1002"}
    assert RemoteCandidate.objects.get(connection=connection, remote_id="1002").remote_updated_at is None


@postgresql_only
def test_json_values_compare_by_value_not_by_their_text():
    """A JSON column in the compared fields (the mirror's ``data``, through the statement builder a
    kind's fields go through): key order is not a change; a changed value, a JSON null nested
    where a value was, and an emptied object are."""
    connection = ConnectionFactory()
    spec = _Kind(RemoteJob, ("title", "status", "data", "remote_updated_at"))
    rows = [("j1", {"title": "Dev", "status": "open", "data": {"a": 1, "b": [1, 2]}, "remote_updated_at": MOMENT}, {}),
            ("j2", {"title": "Ops", "status": "open", "data": {"x": {"y": None}}, "remote_updated_at": None}, {}),
            ("j3", {"title": "QA", "status": "open", "data": {"k": "v"}, "remote_updated_at": None}, {})]
    assert upsert(spec, connection, rows) == {"j1": True, "j2": True, "j3": True}
    assert RemoteJob.objects.get(connection=connection, remote_id="j1").data == {"a": 1, "b": [1, 2]}
    assert RemoteJob.objects.get(connection=connection, remote_id="j2").data == {"x": {"y": None}}
    before = versions(RemoteJob, connection)

    reordered = [("j1", {**rows[0][1], "data": {"b": [1, 2], "a": 1}}, {}), rows[1], rows[2]]
    assert upsert(spec, connection, reordered) == {}
    assert rewritten(before, versions(RemoteJob, connection)) == set()

    changed = [("j1", {**rows[0][1], "data": {"a": 1, "b": [2, 1]}}, {}),
               ("j2", {**rows[1][1], "data": {"x": {"y": 0}}}, {}),
               ("j3", {**rows[2][1], "data": {}}, {})]
    assert upsert(spec, connection, changed) == {
        "j1": False, "j2": False, "j3": False}
    assert rewritten(before, versions(RemoteJob, connection)) == {"j1", "j2", "j3"}
    assert RemoteJob.objects.get(connection=connection, remote_id="j2").data == {"x": {"y": 0}}
    assert RemoteJob.objects.get(connection=connection, remote_id="j3").data == {}


@postgresql_only
def test_a_page_is_one_statement_without_a_read_first():
    connection = ConnectionFactory()
    store(connection, [candidate(n) for n in range(30)])
    with CaptureQueriesContext(db_connection) as queries:
        result = store(connection, [candidate(n, phone="+46 70 111 11 11") for n in range(30)])
    assert counts(result) == (0, 30, 0, 0)
    statements = [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert len(statements) == 1, [sql[:80] for sql in statements]
    assert statements[0].startswith('INSERT INTO "integrations_remotecandidate"')


def test_the_same_remote_id_under_two_connections_is_two_rows():
    first, second = ConnectionFactory(), ConnectionFactory()
    assert counts(store(first, [candidate(1)])) == (1, 0, 0, 0)
    assert counts(store(second, [candidate(1, first_name="Other")])) == (1, 0, 0, 0)
    assert RemoteCandidate.objects.get(connection=first, remote_id="1001").first_name == "First 1"
    assert RemoteCandidate.objects.get(connection=second, remote_id="1001").first_name == "Other"


def test_candidates_older_than_retention_are_skipped_when_new_and_kept_up_to_date_when_mirrored():
    connection = ConnectionFactory()
    old = timezone.now() - dt.timedelta(days=60)
    store(connection, [candidate(1, remote_updated_at=old)])  # mirrored before the tenant set a retention period
    connection.tenant.retention_days = 30
    connection.tenant.save()
    page = [candidate(1, remote_updated_at=old), candidate(2, remote_updated_at=old),
            candidate(3, remote_updated_at=timezone.now())]
    assert counts(store(connection, page)) == (1, 0, 1, 1)
    assert set(RemoteCandidate.objects.filter(connection=connection).values_list("remote_id", flat=True)) == {
        "1001", "1003"}
    renamed = [candidate(1, remote_updated_at=old, first_name="Renamed"), candidate(2, remote_updated_at=old)]
    assert counts(store(connection, renamed)) == (0, 1, 0, 1)
    assert RemoteCandidate.objects.get(connection=connection, remote_id="1001").first_name == "Renamed"


def application(n: int, **changes) -> SyncedApplication:
    values = {"remote_candidate_id": f"c{n}", "remote_job_id": "job-1", "remote_stage_id": "stage-1",
              "remote_sub_status": "", "rejected_at": None, "changed_stage_at": MOMENT,
              "remote_updated_at": MOMENT}
    return SyncedApplication(remote_id=f"a{n}", **{**values, **changes})


def test_an_applications_stage_is_written_when_it_is_inserted_and_never_by_the_upsert_after():
    connection = ConnectionFactory()
    assert counts(store(connection, [application(1), application(2)], kind="applications")) == (2, 0, 0, 0)
    stored = RemoteApplication.objects.get(connection=connection, remote_id="a1")
    assert (stored.remote_stage_id, stored.changed_stage_at) == ("stage-1", MOMENT)

    moved = [application(1, remote_stage_id="stage-2", changed_stage_at=MOMENT + dt.timedelta(hours=1)),
             application(2, rejected_at=MOMENT)]
    # Without emit the stage is the StageChanged handler's: only a synced field makes a change.
    assert counts(store(connection, moved, kind="applications")) == (0, 1, 1, 0)
    first, second = (RemoteApplication.objects.get(connection=connection, remote_id=r) for r in ("a1", "a2"))
    assert (first.remote_stage_id, first.changed_stage_at) == ("stage-1", MOMENT)
    assert second.rejected_at == MOMENT


def test_records_without_a_remote_id_are_ignored_and_an_empty_page_writes_nothing():
    connection = ConnectionFactory()
    result = store(connection, [candidate(1), SyncedCandidate(remote_id="", first_name="Nobody")])
    assert (result.seen, *counts(result)) == (1, 1, 0, 0, 0)
    assert counts(store(connection, [])) == (0, 0, 0, 0)
    assert RemoteCandidate.objects.filter(connection=connection).count() == 1


@postgresql_only
def test_the_mirror_keeps_only_the_indexes_its_queries_use():
    """Each index is written with every mirrored row: the unique (connection, remote_id) serves
    lookups by connection (no foreign-key index of its own), and the candidate's e-mail, always
    looked up case-insensitively, is indexed as UPPER(email), which those lookups use."""
    from django.db import connection as db

    from integrations.models import RemoteApplication, RemoteCandidate, RemoteJob, RemoteStage

    with db.cursor() as cursor:
        for model in (RemoteJob, RemoteStage, RemoteCandidate, RemoteApplication):
            cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = %s ORDER BY indexname", [model._meta.db_table])
            definitions = [row[0] for row in cursor.fetchall()]
            expected = 3 if model is RemoteCandidate else 2  # the primary key, the unique pair (+ the e-mail)
            assert len(definitions) == expected, definitions
            assert any("UNIQUE" in d and "(connection_id, remote_id)" in d for d in definitions), definitions
        RemoteCandidate.objects.create(connection=ConnectionFactory(), remote_id="c-1", email="Grace@Example.com")
        cursor.execute("SET LOCAL enable_seqscan = off")
        query = RemoteCandidate.objects.filter(email__iexact="grace@example.com")
        plan = query.explain()
        assert "remote_candidate_email_ci" in plan, plan
        assert [c.remote_id for c in query] == ["c-1"]


# --- the sync's page transaction (mirror_page_transaction) -------------------------------------------
def synchronous_commit() -> str:
    with db_connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return cursor.fetchone()[0]


@postgresql_only
def test_a_page_that_dispatched_nothing_commits_without_waiting_for_the_disk_and_then_the_setting_is_back():
    connection = ConnectionFactory()
    seen = []
    with transaction.atomic():  # the page's transaction is a savepoint in the test's: its SET LOCAL is visible here
        result = mirror_page_transaction(
            connection=connection, kind="candidates", items=[candidate(1), candidate(2)], emit=True,
            then=lambda page: seen.append((page.created, synchronous_commit())),
        )
        assert (result.created, result.dispatched) == (2, 0)
        assert seen == [(2, "on")]  # ``then`` runs inside, before the commit mode is chosen
        assert synchronous_commit() == "off"
    assert RemoteCandidate.objects.filter(connection=connection).count() == 2


@postgresql_only
def test_a_page_that_dispatched_a_stage_change_commits_durably():
    connection = ConnectionFactory()
    store(connection, [application(1)], kind="applications")
    with transaction.atomic():
        result = mirror_page_transaction(
            connection=connection, kind="applications", emit=True,
            items=[application(1, remote_stage_id="stage-2", changed_stage_at=MOMENT + dt.timedelta(hours=1))],
        )
        assert result.dispatched == 1
        assert synchronous_commit() == "on"


def test_the_page_transaction_rolls_back_the_page_when_then_fails():
    connection = ConnectionFactory()

    def fail(page):
        raise RuntimeError("the cursor could not advance")

    with pytest.raises(RuntimeError):
        mirror_page_transaction(connection=connection, kind="candidates", items=[candidate(1)], emit=False, then=fail)
    assert not RemoteCandidate.objects.filter(connection=connection).exists()
