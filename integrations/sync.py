"""The polling sync: page each connection's ATS into the mirror, catch the stage moves a webhook
missed, and reconcile in full now and then.

``sync_start`` queues a ``SyncRun``; the ``sync_connection`` task calls ``sync_run_execute``, which
pages jobs, stages, candidates and applications through ``Provider.pages`` from the stored cursor
(minus an overlap), upserts each page in one statement that writes only the rows that changed,
and commits each page together with the advanced cursor and the run's progress: a worker
killed mid-run leaves the cursor at the last stored page, and the next execution resumes there.

An application whose stage differs from the mirror goes through ``events.event_dispatch`` as a
``StageChanged``, exactly like a webhook: the mirror's stage of an application is written only by
that handler, so a webhook and a sync of the same move order one interview.

One sync per connection at a time: a PostgreSQL session-level advisory lock (released by the
server when the worker's connection dies; an flock on SQLite) plus the partial
unique constraint allowing one live ``SyncRun`` per connection. ``sync_runs_reap`` marks runs that
stopped making progress failed. N failures in a row, or credentials the ATS refuses, flag the
connection and e-mail the tenant's admins once.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import functools
import json
import logging
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import connection as db_connection
from django.db import connections as db_connections
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from tenants.queueing import enqueue_after_commit

from . import ratelimit
from .errors import AuthFailed, ClientError, EventFailed
from .events import event_dispatch
from .models import (
    SYNC_LIVE_STATUSES,
    Connection,
    ConnectionStatus,
    ErrorCode,
    RemoteApplication,
    RemoteCandidate,
    RemoteJob,
    RemoteStage,
    StageMapping,
    SyncRun,
    SyncStatus,
)
from .providers import SYNC_KINDS, Page, Provider, StageChanged, SyncedApplication, provider_get
from .services import connection_needs_attention

logger = logging.getLogger(__name__)

# Connections in these states are synced when asked (a flagged one too: "sync now" is how an admin
# checks a fix); the schedule syncs active ones only.
SYNCABLE_STATUSES = (ConnectionStatus.ACTIVE, ConnectionStatus.NEEDS_ATTENTION)
LOCK_NAMESPACE = 0x53594E43  # "SYNC", the first key of the advisory lock (the second: connection id)
MAX_ERRORS_KEPT = 20
DELETE_CHUNK = 1000
ATTENTION_PREFIX = "Sync: "


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


def interval_default() -> dt.timedelta:
    return dt.timedelta(minutes=_setting("SYNC_INTERVAL_MINUTES", 180))


def full_every() -> dt.timedelta:
    return dt.timedelta(hours=_setting("SYNC_FULL_EVERY_HOURS", 24))


def cursor_overlap() -> dt.timedelta:
    return dt.timedelta(seconds=_setting("SYNC_CURSOR_OVERLAP_SECONDS", 300))


def stale_after() -> dt.timedelta:
    return dt.timedelta(seconds=_setting("SYNC_STALE_AFTER_SECONDS", 900))


def max_run_time() -> dt.timedelta:
    return dt.timedelta(seconds=_setting("SYNC_MAX_RUN_SECONDS", 4 * 3600))


def failures_before_attention() -> int:
    return max(1, int(_setting("SYNC_FAILURES_BEFORE_ATTENTION", 3)))


class SyncAborted(Exception):
    """The run stopped being ours (the reaper marked it failed): stop without touching it."""


# --- the mirror, kind by kind ----------------------------------------------------------------------
@dataclass(frozen=True)
class _Kind:
    model: type
    # Fields a sync writes on every changed row; ``insert_only`` only when it creates the row.
    fields: tuple[str, ...]
    insert_only: tuple[str, ...] = ()


_STAGE_FIELDS = ("remote_stage_id", "remote_sub_status", "changed_stage_at")
KINDS: dict[str, _Kind] = {
    "jobs": _Kind(RemoteJob, ("title", "status", "remote_updated_at")),
    "stages": _Kind(RemoteStage, ("remote_job_id", "name", "position", "stage_type", "remote_updated_at",
                                  "parent_remote_id", "sub_status")),
    "candidates": _Kind(RemoteCandidate, ("first_name", "last_name", "email", "phone", "remote_updated_at")),
    # An application's stage is the StageChanged handler's to write (see the module docstring).
    "applications": _Kind(
        RemoteApplication, ("remote_candidate_id", "remote_job_id", "rejected_at", "remote_updated_at"),
        insert_only=_STAGE_FIELDS,
    ),
}


@dataclass
class PageResult:
    seen: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0  # not mirrored: older than the tenant's retention period
    invites: int = 0
    dispatched: int = 0  # stage changes handed to event_dispatch (whatever came of them)
    errors: list[str] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)


def _values(item: Any, names: tuple[str, ...]) -> dict[str, Any]:
    values = {}
    for name in names:
        value = getattr(item, name)
        values[name] = "" if value is None and not name.endswith("_at") else value
    return values


def mirror_page_store(
    *, connection: Connection, kind: str, items: list[Any], emit: bool, emit_after: dt.datetime | None = None
) -> PageResult:
    """Upsert one page into the mirror; unchanged rows are not rewritten. On PostgreSQL one
    ``INSERT .. SELECT FROM unnest(..) ON CONFLICT DO UPDATE .. WHERE (..) IS DISTINCT FROM (..)``
    compares and writes in the database (``_mirror_upsert_postgresql``), read first only where the
    write cannot tell: whether a candidate older than the retention period is mirrored, and where an
    application that may be emitted stands. Elsewhere (SQLite) one query reads the page's rows and
    one ``bulk_create(update_conflicts=True)`` writes the new and changed ones. With ``emit``,
    applications whose stage differs from the mirror go through ``StageChanged`` (with
    ``emit_after``, only those that changed stage at or after it; the others are mirrored as they
    stand)."""
    spec = KINDS[kind]
    by_id = {item.remote_id: item for item in items if item.remote_id}
    result = PageResult(seen=len(by_id), ids=list(by_id))

    def eligible(item) -> bool:
        if not emit or kind != "applications":
            return False
        return emit_after is None or (item.changed_stage_at is not None and item.changed_stage_at >= emit_after)

    # Retention (integrations/retention.py) removes mirrored candidates not written for the
    # tenant's retention period: a candidate unchanged in the ATS for longer is not mirrored again
    # (events read one on demand when they need it).
    retention_days = connection.tenant.retention_days if kind == "candidates" else 0
    too_old_before = timezone.now() - dt.timedelta(days=retention_days) if retention_days else None

    def too_old(item) -> bool:
        return too_old_before is not None and item.remote_updated_at is not None and item.remote_updated_at < too_old_before

    postgresql = db_connection.vendor == "postgresql"
    # Which rows to read first: on PostgreSQL only those whose decision needs the stored row.
    known = [remote_id for remote_id, item in by_id.items() if eligible(item) or too_old(item)] if postgresql else list(by_id)
    compared = (*spec.fields, *(_STAGE_FIELDS[:2] if kind == "applications" else ()))
    existing = _mirror_rows(spec=spec, connection=connection, remote_ids=known, names=compared) if known else {}
    known_ids = set(known)
    writes, moves = [], []  # writes: (remote_id, values, insert-only values)
    for remote_id, item in by_id.items():
        row = existing.get(remote_id)
        if remote_id in known_ids and row is None and too_old(item):
            result.skipped += 1
            continue
        moving = eligible(item) and (row is None or (row["remote_stage_id"], row["remote_sub_status"]) != (
            item.remote_stage_id, item.remote_sub_status or ""
        ))
        # A new application to emit is stored stage-less: the handler moves it in.
        writes.append((remote_id, _values(item, spec.fields), {} if moving and row is None else _values(item, spec.insert_only)))
        if moving:
            moves.append(item)
    if postgresql:
        if writes:
            written = _mirror_upsert_postgresql(spec=spec, connection=connection, rows=writes)
            result.created = sum(1 for inserted in written.values() if inserted)
            result.updated = len(written) - result.created
        result.unchanged = len(writes) - result.created - result.updated
    else:
        to_write = []
        for remote_id, values, inserted in writes:
            row = existing.get(remote_id)
            if row is None:
                to_write.append(spec.model(connection=connection, remote_id=remote_id, **values, **inserted))
                result.created += 1
            elif any(row[name] != value for name, value in values.items()):
                to_write.append(spec.model(connection=connection, remote_id=remote_id, **values))
                result.updated += 1
            else:
                result.unchanged += 1
        if to_write:
            spec.model.objects.bulk_create(
                to_write, update_conflicts=True, unique_fields=["connection", "remote_id"],
                update_fields=[*spec.fields, "synced_at"],
            )
    for item in moves:
        _stage_changed(connection=connection, item=item, result=result)
    return result


def mirror_page_transaction(
    *, connection: Connection, kind: str, items: list[Any], emit: bool, emit_after: dt.datetime | None = None,
    then: Callable[[PageResult], None] | None = None,
) -> PageResult:
    """One page of a sync in a transaction of its own: ``mirror_page_store``, then ``then(result)``
    (the run's cursor and progress), committed together.

    A page that dispatched no stage change holds only what the ATS gives again: mirror rows, the
    sync cursor, the run's counts. On PostgreSQL its commit does not wait for the WAL to reach the
    disk (``synchronous_commit`` off for this transaction alone): the page costs its statements and
    round trips, without also waiting for a flush, which is what a slow disk makes dear
    (bench/RESULTS.md, sync_load: both commit floors, and the upsert committed both ways).
    What this risks is PostgreSQL's documented one: a database crash may lose the last moments of
    such commits (at most three ``wal_writer_delay``s), always the latest ones and in order, never
    leaving the database inconsistent; the cursor is lost with the rows it led to, so the next sync
    reads those pages again. A page that dispatched a stage change (interviews, invitations,
    write-backs follow from it) commits durably, as everything else does; the inbox never runs
    here."""
    with transaction.atomic():
        result = mirror_page_store(connection=connection, kind=kind, items=items, emit=emit, emit_after=emit_after)
        if then is not None:
            then(result)
        if not result.dispatched:
            commit_without_waiting_for_the_disk()
    return result


def commit_without_waiting_for_the_disk() -> None:
    """The current transaction's commit does not wait for its WAL to reach the disk (PostgreSQL's
    ``synchronous_commit`` off for this transaction alone; elsewhere nothing changes). Only for a
    transaction whose every write the ATS gives again (``mirror_page_transaction``)."""
    if db_connection.vendor == "postgresql":
        with db_connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def _mirror_rows(*, spec: _Kind, connection: Connection, remote_ids: list[str], names: tuple[str, ...]) -> dict[str, dict]:
    """The stored values of ``names`` of the mirrored rows among ``remote_ids``, by remote id."""
    rows = spec.model.objects.filter(connection=connection, remote_id__in=remote_ids).values("remote_id", *names)
    return {row["remote_id"]: row for row in rows}


@dataclass(frozen=True)
class _UpsertStatement:
    sql: str
    array_fields: tuple[Any, ...]  # the model fields of unnest's arrays, in order (remote_id first)
    constants: tuple[Any, ...]  # db values of the columns a sync never writes, inserted as their default


@functools.cache
def _upsert_statement(spec: _Kind) -> _UpsertStatement:
    """The PostgreSQL upsert of ``spec``'s rows: every value of a page in one array per column
    (``unnest``), new rows inserted, conflicting rows updated only when a synced value is distinct
    (``IS DISTINCT FROM`` is NULL-safe; jsonb compares by value), each written row returned with
    whether it was inserted (``xmax = 0``: no earlier version of the row)."""
    meta = spec.model._meta
    quote = db_connection.ops.quote_name
    given = ("remote_id", *spec.fields, *spec.insert_only)
    array_fields = tuple(meta.get_field(name) for name in given)
    constant_fields = tuple(
        model_field for model_field in meta.concrete_fields
        if not model_field.primary_key and model_field.name not in {"connection", "synced_at", *given}
    )
    constants = tuple(model_field.get_db_prep_save(model_field.get_default(), db_connection) for model_field in constant_fields)

    def array_type(model_field) -> str:
        # JSON travels as text (json.dumps), cast per value: a jsonb[] parameter would need a wrapper per value.
        return "text[]" if model_field.get_internal_type() == "JSONField" else f"{model_field.db_type(db_connection)}[]"

    def selected(model_field) -> str:
        return f"i.{quote(model_field.column)}" + ("::jsonb" if model_field.get_internal_type() == "JSONField" else "")

    columns = [meta.get_field("connection").column, *(f.column for f in array_fields),
               *(f.column for f in constant_fields), meta.get_field("synced_at").column]
    updated = [meta.get_field(name).column for name in spec.fields]
    sql = (
        f"INSERT INTO {quote(meta.db_table)} AS t ({', '.join(quote(c) for c in columns)}) "
        f"SELECT %s, {', '.join(selected(f) for f in array_fields)}"
        f"{''.join(', %s' for _ in constant_fields)}, %s "
        f"FROM unnest({', '.join(f'%s::{array_type(f)}' for f in array_fields)}) "
        f"AS i({', '.join(quote(f.column) for f in array_fields)}) "
        f"ON CONFLICT ({quote(meta.get_field('connection').column)}, {quote('remote_id')}) DO UPDATE SET "
        + ", ".join(f"{quote(c)} = EXCLUDED.{quote(c)}" for c in [*updated, meta.get_field("synced_at").column])
        + f" WHERE ({', '.join(f't.{quote(c)}' for c in updated)}) IS DISTINCT FROM "
        f"({', '.join(f'EXCLUDED.{quote(c)}' for c in updated)}) "
        f"RETURNING t.{quote('remote_id')}, (t.xmax = 0)"
    )
    return _UpsertStatement(sql=sql, array_fields=array_fields, constants=constants)


def _mirror_upsert_postgresql(
    *, spec: _Kind, connection: Connection, rows: list[tuple[str, dict[str, Any], dict[str, Any]]]
) -> dict[str, bool]:
    """Write ``rows`` ((remote id, synced values, insert-only values); an insert-only value left out
    is inserted as the field's default) in one statement. Returns the rows written: remote id ->
    True when inserted, False when updated; unchanged rows are neither written nor returned."""
    statement = _upsert_statement(spec)
    defaults = {model_field.name: model_field.get_default() for model_field in statement.array_fields}
    arrays = []
    for model_field in statement.array_fields:
        name = model_field.name
        if name == "remote_id":
            column = [remote_id for remote_id, _, _ in rows]
        else:
            column = [values[name] if name in values else inserted.get(name, defaults[name]) for _, values, inserted in rows]
        if model_field.get_internal_type() == "JSONField":
            column = [None if value is None else json.dumps(value, cls=model_field.encoder) for value in column]
        arrays.append(column)
    params = [connection.pk, *statement.constants, timezone.now(), *arrays]
    with db_connection.cursor() as cursor:
        cursor.execute(statement.sql, params)
        return dict(cursor.fetchall())


def _stage_changed(*, connection: Connection, item: SyncedApplication, result: PageResult) -> None:
    result.dispatched += 1
    event = StageChanged(
        remote_application_id=item.remote_id, remote_candidate_id=item.remote_candidate_id,
        remote_job_id=item.remote_job_id, remote_stage_id=item.remote_stage_id,
        remote_sub_status=item.remote_sub_status or "", changed_at=item.changed_stage_at,
    )
    try:
        with transaction.atomic():
            outcome = event_dispatch(connection=connection, event=event)
    except EventFailed as exc:
        # A domain refusal (e.g. a candidate without contact details) is this record's, not the
        # run's: noted, and the run goes on. ATS errors propagate and fail the page.
        result.errors.append(f"application {item.remote_id}: {exc.code}: {exc.message}"[:300])
        return
    if outcome.created:
        result.invites += 1


def _remove_missing(*, connection: Connection, kind: str, seen: set[str]) -> int:
    """After a complete listing: delete the mirror rows the ATS no longer has."""
    model = KINDS[kind].model
    mirrored = set(model.objects.filter(connection=connection).values_list("remote_id", flat=True))
    missing = sorted(mirrored - seen)
    deleted = 0
    for start in range(0, len(missing), DELETE_CHUNK):
        count, _ = model.objects.filter(connection=connection, remote_id__in=missing[start:start + DELETE_CHUNK]).delete()
        deleted += count
    return deleted


def stage_mappings_flag(*, connection: Connection, now: dt.datetime | None = None) -> tuple[int, int]:
    """Flag the mappings whose stage is not in the mirror's stages (set
    ``remote_stage_missing_since``), clear the flag of those whose stage is back. Returns
    (flagged, cleared)."""
    now = now or timezone.now()
    present = list(RemoteStage.objects.filter(connection=connection).values_list("remote_id", flat=True))
    mappings = StageMapping.objects.filter(connection=connection)
    flagged = mappings.filter(remote_stage_missing_since__isnull=True).exclude(remote_stage_id__in=present).update(
        remote_stage_missing_since=now
    )
    cleared = mappings.filter(remote_stage_missing_since__isnull=False, remote_stage_id__in=present).update(
        remote_stage_missing_since=None
    )
    return flagged, cleared


# --- cursors ----------------------------------------------------------------------------------------
def _parse_cursor(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        moment = parse_datetime(str(value))
    except ValueError:
        return None
    if moment is not None and timezone.is_naive(moment):
        moment = timezone.make_aware(moment, dt.timezone.utc)
    return moment


def cursor_since(cursor: str | None) -> str | None:
    """Where a run starts for a stored cursor: a few minutes before it (the ATS's clock, commit
    order and equal timestamps make a record changed "at" the cursor show up late)."""
    moment = _parse_cursor(cursor)
    if moment is None:
        return None
    return (moment - cursor_overlap()).astimezone(dt.timezone.utc).isoformat()


def _cursor_advance(*, connection: Connection, kind: str, next_cursor: str | None) -> None:
    """Store the page's cursor (never moving it back), in the page's transaction."""
    moment = _parse_cursor(next_cursor)
    if moment is None:
        return
    locked = Connection.objects.select_for_update().only("id", "sync_cursors").get(pk=connection.pk)
    cursors = dict(locked.sync_cursors or {})
    current = _parse_cursor(cursors.get(kind))
    if current is not None and current >= moment:
        return
    cursors[kind] = moment.astimezone(dt.timezone.utc).isoformat()
    Connection.objects.filter(pk=connection.pk).update(sync_cursors=cursors)
    connection.sync_cursors = cursors


# --- the lock ---------------------------------------------------------------------------------------
@contextlib.contextmanager
def _connection_lock(connection_id: int) -> Iterator[bool]:
    """True inside when this process holds the connection's sync lock. On PostgreSQL a
    session-level advisory lock: commits do not release it, the server does when the holder's
    database connection ends (a killed worker's included)."""
    if db_connection.vendor == "postgresql":
        with db_connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [LOCK_NAMESPACE, connection_id])
            acquired = bool(cursor.fetchone()[0])
        try:
            yield acquired
        finally:
            if acquired:
                with db_connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_NAMESPACE, connection_id])
        return
    # SQLite (the local demo, one machine): an flock on a file, released by the kernel when the
    # holder dies, the same guarantee across the web, worker and shell processes.
    folder = Path(settings.VAR_DIR) / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f"sync-{connection_id}.lock", "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --- starting runs ------------------------------------------------------------------------------------
def sync_unavailable_reason(*, connection: Connection) -> str:
    """Why ``connection`` cannot be synced now, or "" when it can."""
    if connection.status not in SYNCABLE_STATUSES:
        return f"the connection is {connection.get_status_display().lower()}"
    if not connection.tenant.active:
        return "the tenant is inactive"
    try:
        provider = provider_get(connection.provider)
    except LookupError:
        return f"no provider is registered as {connection.provider!r}"
    return provider.sync_unavailable(connection)


def _kinds_normalize(kinds: tuple[str, ...] | list[str] | None) -> list[str]:
    if not kinds:
        return list(SYNC_KINDS)
    unknown = set(kinds) - set(SYNC_KINDS)
    if unknown:
        raise ValueError(f"unknown sync kinds: {', '.join(sorted(unknown))} (known: {', '.join(SYNC_KINDS)})")
    return [kind for kind in SYNC_KINDS if kind in kinds]


def sync_start(
    *, connection: Connection, full: bool = False, kinds: tuple[str, ...] | None = None, reason: str = ""
) -> SyncRun | None:
    """Queue a sync of ``connection`` (the task starts after commit). Returns the new run, the run
    already queued or running for it (one at a time), or None when it cannot be synced (see
    ``sync_unavailable_reason``). ``kinds``: a subset of ``SYNC_KINDS`` (default all)."""
    selected = _kinds_normalize(kinds)
    unavailable = sync_unavailable_reason(connection=connection)
    if unavailable:
        logger.info("sync of connection %s not started: %s", connection.pk, unavailable)
        return None
    from .tasks import sync_connection  # tasks import this module

    with transaction.atomic():
        # The row lock serializes two starts of one connection; the constraint backs it up.
        locked = Connection.objects.select_for_update().get(pk=connection.pk)
        live = SyncRun.objects.filter(connection=locked, status__in=SYNC_LIVE_STATUSES).first()
        if live is not None:
            return live
        run = SyncRun.objects.create(
            connection=locked, full=full, kinds=selected, reason=reason[:200],
            baseline="applications" in selected and "applications" not in (locked.sync_cursors or {}),
        )
        # A broker hiccup must not fail the caller (an activation, say); the reaper ends the
        # queued run and the schedule starts the next one.
        enqueue_after_commit(sync_connection, run.pk)
    logger.info("sync %s of connection %s queued (%s%s)", run.pk, connection.pk, "full, " if full else "", reason)
    return run


def sync_after_activation(*, connection: Connection) -> SyncRun | None:
    """The first full sync of a connection that just became active (its jobs and pipeline show
    within minutes, not at the next scheduled sync). Call it after the activation commits."""
    return sync_start(connection=connection, full=True, reason="first sync after activation")


def sync_first_when_syncable(*, connection: Connection) -> SyncRun | None:
    """A connection that just became syncable (e.g. its API key arrived after the activation) and
    has never been synced gets its first full sync now rather than at the next scheduled one."""
    if SyncRun.objects.filter(connection=connection, status=SyncStatus.SUCCEEDED).exists():
        return None
    return sync_start(connection=connection, full=True, reason="first sync (API key received)")


def sync_due_connections(*, now: dt.datetime | None = None) -> list[tuple[Connection, bool]]:
    """The (connection, full?) pairs the schedule starts now: active, not paused, whose own
    interval (or the default) has passed since their last run; full when no full run succeeded
    within ``SYNC_FULL_EVERY_HOURS``."""
    now = now or timezone.now()
    connections = (
        Connection.objects.select_related("tenant")
        .filter(status=ConnectionStatus.ACTIVE, sync_enabled=True, tenant__active=True)
        .annotate(
            last_started=Max("sync_runs__started_at"),
            last_full=Max("sync_runs__started_at", filter=Q(sync_runs__full=True, sync_runs__status=SyncStatus.SUCCEEDED)),
        )
        .order_by("pk")
    )
    due = []
    for connection in connections:
        minutes = connection.sync_interval_minutes
        interval = dt.timedelta(minutes=minutes) if minutes else interval_default()
        # Slack so a run started a moment after the previous beat is not skipped at this one.
        slack = min(dt.timedelta(minutes=10), interval / 10)
        if connection.last_started and now - connection.last_started < interval - slack:
            continue
        full = connection.last_full is None or now - connection.last_full >= full_every() - slack
        due.append((connection, full))
    return due


def sync_next_at(*, connection: Connection) -> dt.datetime | None:
    """The earliest time the schedule starts ``connection`` again (its own interval, or the
    default, after its last run); None when it is paused or cannot be synced."""
    if not connection.sync_enabled or sync_unavailable_reason(connection=connection):
        return None
    minutes = connection.sync_interval_minutes
    interval = dt.timedelta(minutes=minutes) if minutes else interval_default()
    last_started = SyncRun.objects.filter(connection=connection).aggregate(last=Max("started_at"))["last"]
    return (last_started + interval) if last_started else timezone.now()


def sync_all(*, now: dt.datetime | None = None) -> list[SyncRun]:
    """The scheduled sync: start every due connection (safe to run twice: a second call finds the
    runs it would start already queued, or not yet due)."""
    started = []
    for connection, full in sync_due_connections(now=now):
        run = sync_start(connection=connection, full=full, reason="scheduled full reconciliation" if full else "scheduled")
        if run is not None:
            started.append(run)
    return started


# --- running ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ExecuteResult:
    ran: bool
    busy: bool = False  # another process holds the connection's lock
    run: SyncRun | None = None


def sync_run_execute(*, sync_run_id: int) -> ExecuteResult:
    """Run (or resume) one queued sync. Without the connection's lock (another live process syncs
    it) it does nothing and says ``busy``; a run already finished is left alone."""
    run = SyncRun.objects.select_related("connection", "connection__tenant").filter(pk=sync_run_id).first()
    if run is None or not run.live:
        return ExecuteResult(ran=False, run=run)
    with _connection_lock(run.connection_id) as acquired:
        if not acquired:
            return ExecuteResult(ran=False, busy=True, run=run)
        run = _claim(sync_run_id)
        if run is None:
            return ExecuteResult(ran=False)
        try:
            _run(run)
        except SyncAborted:
            logger.warning(
                "sync %s of connection %s stopped: the run was marked failed meanwhile", run.pk, run.connection_id
            )
            return ExecuteResult(ran=True, run=run)
        except ClientError as exc:
            _finish_failed(run, code=exc.code, message=exc.message, refused=isinstance(exc, AuthFailed))
        except SoftTimeLimitExceeded:
            _finish_failed(run, code=ErrorCode.TIMEOUT, message="the task's time limit was reached; the next run "
                           "resumes from the last stored page")
        except Exception as exc:  # noqa: BLE001 - the run must end failed, whatever went wrong
            logger.exception("sync %s of connection %s failed", run.pk, run.connection_id)
            _finish_failed(run, code=ErrorCode.INTERNAL, message=f"{type(exc).__name__}: {exc}"[:500])
        else:
            _finish_succeeded(run)
    run.refresh_from_db()
    return ExecuteResult(ran=True, run=run)


def _claim(sync_run_id: int) -> SyncRun | None:
    """Mark the run running. Holding the lock, a run already ``running`` is ours to resume: the
    process that ran it is gone (it would still hold the lock)."""
    with transaction.atomic():
        run = SyncRun.objects.select_for_update().select_related("connection", "connection__tenant").get(pk=sync_run_id)
        if not run.live:
            return None
        resumed = run.status == SyncStatus.RUNNING
        run.status = SyncStatus.RUNNING
        run.heartbeat_at = timezone.now()
        run.save(update_fields=["status", "heartbeat_at"])
    if resumed:
        logger.info("sync %s of connection %s resumed after its worker was lost", run.pk, run.connection_id)
    return run


def _paced(pages: Iterator[Page], *, provider: Provider, connection: Connection) -> Iterator[Page]:
    """Take a slot of the sync's own share of the ATS rate before each page is fetched."""
    rate = provider.sync_rate
    key = f"sync:{connection.provider}:{connection.pk}"
    while True:
        if rate is not None:
            ratelimit.acquire(key, rate, max_wait=_setting("SYNC_RATE_MAX_WAIT", 600.0))
        try:
            page = next(pages)
        except StopIteration:
            return
        yield page


_DONE = object()


def _prefetched(pages: Iterator[Page]) -> Iterator[Page]:
    """``pages``, each fetched on a thread of its own while the caller stores the one before
    (``_paced`` runs there too): a sync is then bound by the ATS's rate, not by fetch and store
    taking turns. The fetch thread works at most two pages ahead and never touches the database; its errors are
    raised here, after the pages fetched before them. A page fetched but not stored when the run
    stops is dropped (the cursor stays at the last stored page)."""
    handoff: queue.Queue = queue.Queue(maxsize=1)
    stop = threading.Event()

    def fetch() -> None:
        try:
            for page in pages:
                while not stop.is_set():
                    try:
                        handoff.put(page, timeout=0.5)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            item: Any = _DONE
        except BaseException as exc:  # noqa: BLE001 - handed to the caller, raised there
            item = exc
        finally:
            db_connections.close_all()  # this thread's own, should anything have opened one
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.5)
                return
            except queue.Full:
                continue

    thread = threading.Thread(target=fetch, name="sync-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item = handoff.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        with contextlib.suppress(queue.Empty):
            handoff.get_nowait()  # unblock a fetch waiting to hand over
        thread.join(timeout=5)


def _run(run: SyncRun) -> None:
    connection = run.connection
    provider = provider_get(connection.provider)
    for kind in run.kinds:
        if kind in (run.kinds_done or []):
            continue
        cursor = None if run.full else (connection.sync_cursors or {}).get(kind)
        since = cursor_since(cursor)
        seen: set[str] = set()
        # The first sync of applications invites only the moves made since the connection exists
        # (a webhook would have caught those); who sat in a stage before is mirrored, not invited.
        emit_after = connection.created_at if run.baseline else None
        paced = _paced(provider.pages(connection, kind=kind, cursor=since), provider=provider, connection=connection)
        for page in _prefetched(paced):

            def page_done(result: PageResult, next_cursor=page.next_cursor) -> None:
                _cursor_advance(connection=connection, kind=kind, next_cursor=next_cursor)
                _progress(run, kind=kind, result=result, page=True)

            result = mirror_page_transaction(
                connection=connection, kind=kind, items=page.items, emit=True, emit_after=emit_after, then=page_done
            )
            seen.update(result.ids)
        with transaction.atomic():
            deleted = 0
            if since is None:
                # A listing from the start is complete: what it lacks, the ATS no longer has.
                deleted = _remove_missing(connection=connection, kind=kind, seen=seen)
            if kind == "stages":
                stage_mappings_flag(connection=connection)
            run.kinds_done = [*(run.kinds_done or []), kind]
            _progress(run, kind=kind, result=PageResult(), deleted=deleted)


def _progress(run: SyncRun, *, kind: str, result: PageResult, page: bool = False, deleted: int = 0) -> None:
    counts = dict(run.counts or {})
    mine = dict(counts.get(kind) or {})
    for name in ("seen", "created", "updated", "unchanged", "skipped"):
        mine[name] = int(mine.get(name, 0)) + getattr(result, name)
    mine["deleted"] = int(mine.get("deleted", 0)) + deleted
    counts[kind] = mine
    run.counts = counts
    run.pages += 1 if page else 0
    run.invites_triggered += result.invites
    run.error_count += len(result.errors)
    run.errors = [*(run.errors or []), *result.errors][:MAX_ERRORS_KEPT]
    run.heartbeat_at = timezone.now()
    updated = SyncRun.objects.filter(pk=run.pk, status=SyncStatus.RUNNING).update(
        counts=run.counts, pages=run.pages, invites_triggered=run.invites_triggered, error_count=run.error_count,
        errors=run.errors, kinds_done=run.kinds_done, heartbeat_at=run.heartbeat_at,
    )
    if not updated:
        raise SyncAborted(run.pk)


def _finish_succeeded(run: SyncRun) -> None:
    now = timezone.now()
    with transaction.atomic():
        SyncRun.objects.filter(pk=run.pk, status=SyncStatus.RUNNING).update(
            status=SyncStatus.SUCCEEDED, finished_at=now, heartbeat_at=now
        )
        Connection.objects.filter(pk=run.connection_id).update(last_synced_at=now)
        # A connection the sync itself flagged is fine again once a sync succeeds (e.g. "sync now"
        # after the admin fixed the API key); a flag raised elsewhere is not the sync's to clear.
        Connection.objects.filter(
            pk=run.connection_id, status=ConnectionStatus.NEEDS_ATTENTION, status_reason__startswith=ATTENTION_PREFIX
        ).update(status=ConnectionStatus.ACTIVE, status_reason="")
    logger.info(
        "sync %s of connection %s succeeded: %d pages, %d seen, %d created, %d updated, %d invites",
        run.pk, run.connection_id, run.pages, run.records_seen, run.records_created, run.records_updated,
        run.invites_triggered,
    )


def _finish_failed(run: SyncRun, *, code: str, message: str, refused: bool = False) -> None:
    now = timezone.now()
    SyncRun.objects.filter(pk=run.pk, status__in=SYNC_LIVE_STATUSES).update(
        status=SyncStatus.FAILED, finished_at=now, heartbeat_at=now, error_code=code, error=message[:2000]
    )
    logger.warning("sync %s of connection %s failed: %s", run.pk, run.connection_id, code)
    sync_failure_check(connection=run.connection, refused=refused, last_error=f"{code}: {message}")


# --- failures -----------------------------------------------------------------------------------------
def sync_failure_check(*, connection: Connection, refused: bool = False, last_error: str = "") -> bool:
    """After a failed run: credentials refused, or the last ``SYNC_FAILURES_BEFORE_ATTENTION`` runs
    all failed -> the connection needs attention and its tenant's admins get one e-mail (only on
    the change from active: later failures send nothing more). True when it flagged it now."""
    limit = failures_before_attention()
    if refused:
        reason = f"{ATTENTION_PREFIX}the ATS refused the stored credentials ({last_error[:200]}). Check the API key."
    else:
        recent = list(SyncRun.objects.filter(connection=connection).exclude(status__in=SYNC_LIVE_STATUSES)
                      .order_by("-started_at", "-id").values_list("status", flat=True)[:limit])
        if len(recent) < limit or any(status != SyncStatus.FAILED for status in recent):
            return False
        reason = f"{ATTENTION_PREFIX}the last {limit} syncs failed (last error: {last_error[:200]})."
    from .tasks import notify_connection_needs_attention  # tasks import this module

    with transaction.atomic():
        locked = Connection.objects.select_for_update().get(pk=connection.pk)
        if locked.status != ConnectionStatus.ACTIVE:
            return False
        connection_needs_attention(connection=locked, reason=reason)
        enqueue_after_commit(notify_connection_needs_attention, locked.pk)
    connection.status, connection.status_reason = locked.status, locked.status_reason
    logger.warning("connection %s needs attention: %s", connection.pk, reason)
    return True


def sync_runs_reap(*, now: dt.datetime | None = None) -> int:
    """Mark failed the live runs that stopped making progress: no heartbeat for
    ``SYNC_STALE_AFTER_SECONDS`` (queued and never picked up, or a lost worker), or running longer
    than ``SYNC_MAX_RUN_SECONDS``. Their cursors stay at the last stored page."""
    now = now or timezone.now()
    stale = now - stale_after()
    candidates = SyncRun.objects.filter(status__in=SYNC_LIVE_STATUSES).filter(
        Q(heartbeat_at__lt=stale) | Q(heartbeat_at__isnull=True, started_at__lt=stale)
        | Q(started_at__lt=now - max_run_time())
    )
    reaped = 0
    for run_id in list(candidates.values_list("pk", flat=True)):
        with transaction.atomic():
            run = SyncRun.objects.select_for_update(skip_locked=True).select_related("connection").filter(
                pk=run_id, status__in=SYNC_LIVE_STATUSES
            ).first()
            if run is None:
                continue
            last = run.heartbeat_at or run.started_at
            run.status = SyncStatus.FAILED
            run.finished_at = now
            run.error_code = ErrorCode.TIMEOUT
            run.error = (
                f"no progress since {last:%Y-%m-%d %H:%M:%S} UTC ({run.get_status_display().lower()} run given up "
                "by the reaper: its worker was lost or stuck); the next run resumes from the last stored page"
            )
            run.save(update_fields=["status", "finished_at", "error_code", "error"])
        reaped += 1
        logger.warning("sync %s of connection %s reaped", run.pk, run.connection_id)
        sync_failure_check(connection=run.connection, last_error=f"{run.error_code}: no progress")
    return reaped


def sync_run_give_up(*, sync_run_id: int, message: str) -> None:
    """End a queued run that could not get the connection's lock."""
    run = SyncRun.objects.select_related("connection").filter(pk=sync_run_id, status__in=SYNC_LIVE_STATUSES).first()
    if run is not None:
        _finish_failed(run, code=ErrorCode.INTERNAL, message=message)
