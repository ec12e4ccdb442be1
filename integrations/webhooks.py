"""The inbox: webhook intake shared by every ATS's views, and the processing of stored events.

Intake authenticates through the provider on the raw body, stores one ``WebhookEvent`` per
(provider, event id) and answers at once; a Celery task turns the event into normalized events and
dispatches them (``integrations.events``). No ATS call happens inside the request.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import re
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, RequestDataTooBig
from django.db import DEFAULT_DB_ALIAS, connections
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from tenants.jsonlimits import MAX_JSON_DEPTH, json_too_deep
from tenants.logsafe import log_safe
from tenants.queueing import enqueue_batched_after_commit, enqueue_now

from .errors import ClientError, EventFailed
from .events import Outcome, event_dispatch
from .models import ErrorCode, WebhookEvent, WebhookStatus
from .providers import InboundRejected, RowWrite, provider_get

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
# Request headers never stored with an event: credentials and signatures (whatever the ATS calls them).
_SECRET_HEADER = re.compile(r"auth|cookie|signature|token|secret|password|key|credential|session", re.I)
_MAX_HEADER_VALUE = 500


def json_error(status: int, message: str, **extra_headers: str) -> JsonResponse:
    """The JSON error every ATS entry point answers with: ``{"error": message}``."""
    response = JsonResponse({"error": message}, status=status)
    for name, value in extra_headers.items():
        response[name] = value
    return response


def json_answer(content: bytes, *, status: int = 200) -> HttpResponse:
    """A JSON answer of fixed bytes (an intake's acknowledgement): JsonResponse's answer, without
    encoding the same dict again on every webhook."""
    return HttpResponse(content, status=status, content_type="application/json")


def _is_json(content_type: str) -> bool:
    content_type = content_type.lower()
    return content_type == "application/json" or (content_type.startswith("application/") and content_type.endswith("+json"))


@functools.lru_cache(maxsize=1024)
def _header_kept(name: str) -> bool:
    return not _SECRET_HEADER.search(name)


def stored_headers(request: HttpRequest) -> dict[str, str]:
    """The request's headers worth keeping for the admin, without credentials or signatures."""
    return {name: value[:_MAX_HEADER_VALUE] for name, value in request.headers.items() if _header_kept(name)}


def inbound_json_body(request: HttpRequest) -> bytes | JsonResponse:
    """The raw body of an inbound JSON POST, or the answer to a wrong one (405/415/413/400, the
    400 also for JSON nested deeper than ``MAX_JSON_DEPTH``, which would crash the parser).
    Every ATS entry point reads its body through this, before any authentication."""
    if request.method != "POST":
        return json_error(405, "method not allowed: use POST", Allow="POST")
    if not _is_json(request.content_type or ""):
        return json_error(415, "unsupported content type: send application/json")
    limit = min(MAX_BODY_BYTES, settings.DATA_UPLOAD_MAX_MEMORY_SIZE or MAX_BODY_BYTES)
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return json_error(400, "invalid Content-Length")
    if declared > limit:
        return json_error(413, f"body larger than {limit} bytes")
    try:
        raw_body = request.body
    except RequestDataTooBig:
        return json_error(413, f"body larger than {limit} bytes")
    if len(raw_body) > limit:
        return json_error(413, f"body larger than {limit} bytes")
    if json_too_deep(raw_body):
        return json_error(400, f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    return raw_body


def webhook_receive(request: HttpRequest, *, provider_name: str, kind: str) -> HttpResponse:
    """Intake for one ATS entry point: checks, authentication by the provider, one stored event,
    the provider's fast answer. The view calling this must be ``csrf_exempt``."""
    raw_body = inbound_json_body(request)
    if isinstance(raw_body, JsonResponse):
        return raw_body

    provider = provider_get(provider_name)
    # No transaction around the call: an accepted event is stored by ONE statement (its provider's
    # ``writes`` included, see ``_insert_unless_stored``), committed on its own, so the intake pays
    # no BEGIN and COMMIT round trips; under load the round trips, not the queries, are its cost
    # (bench/RESULTS.md). What a provider records while verifying (e.g. a refused partner event,
    # the API host a call brings) is committed by its own service, as its own transaction.
    try:
        verified = provider.verify_inbound(request, raw_body=raw_body, kind=kind)
    except InboundRejected as rejected:
        logger.info("%s %s webhook rejected: %s %s", provider_name, kind, rejected.status, log_safe(rejected.message))
        if rejected.plain_text:
            return HttpResponse(rejected.message, status=rejected.status, content_type="text/plain; charset=utf-8")
        return json_error(rejected.status, rejected.message)
    event_id = verified.event_id or "sha256:" + hashlib.sha256(raw_body).hexdigest()
    event, created = webhook_event_store(
        provider=provider_name, connection=verified.connection, event_id=event_id,
        event_type=verified.event_type, headers=stored_headers(request), raw_body=raw_body,
        writes=verified.writes,
    )
    if not created:
        logger.info("%s webhook %s is a duplicate of event %s", provider_name, log_safe(event_id), event.pk)
    return provider.acknowledge(event, duplicate=not created)


def webhook_view(*, provider_name: str, kind: str):
    """A ready-made view for an entry point that needs nothing besides the intake."""

    @csrf_exempt
    def view(request: HttpRequest) -> HttpResponse:
        return webhook_receive(request, provider_name=provider_name, kind=kind)

    view.__name__ = f"{provider_name}_{kind}_webhook"
    return view


def webhook_event_store(
    *, provider: str, connection, event_id: str, event_type: str, headers: dict, raw_body: bytes,
    writes: tuple[RowWrite, ...] = (),
) -> tuple[WebhookEvent, bool]:
    """Store an inbound event once per (provider, event id) and queue its processing after commit.
    Returns (event, created); a duplicate returns the stored event and queues nothing. ``writes``
    (the provider's, see ``RowWrite``) are stored with it, duplicate or not.

    One statement, ``INSERT ... ON CONFLICT (provider, event_id) DO NOTHING RETURNING id``, instead
    of a savepoint around an INSERT that may fail (SAVEPOINT, INSERT, RELEASE: three round trips on
    the intake's hot path). A concurrent first insert of the same id is waited for by PostgreSQL and
    seen as a conflict, so the event is still stored exactly once."""
    event = WebhookEvent(
        provider=provider, connection=connection, event_id=event_id[:200], event_type=event_type[:100],
        headers=headers, raw_body=raw_body,
    )
    db = connections[DEFAULT_DB_ALIAS]
    pk = _insert_unless_stored(event, db=db, writes=writes)
    if pk is None:
        return WebhookEvent.objects.get(provider=provider, event_id=event.event_id), False
    event.pk = pk
    event._state.adding = False
    event._state.db = db.alias
    _enqueue_after_commit(event.pk)
    return event, True


# What the intake's INSERT names: what a new event brings. Every other column takes its database
# default (``db_default``, or NULL), so neither Django nor psycopg prepares values that never change.
INTAKE_FIELDS = ("provider", "connection", "event_id", "event_type", "headers", "raw_body", "received_at")


@functools.cache
def _event_insert() -> tuple[tuple, str]:
    """The intake's fields and its ``INSERT ... ON CONFLICT DO NOTHING RETURNING id`` (built once)."""
    opts = WebhookEvent._meta
    fields = tuple(opts.get_field(name) for name in INTAKE_FIELDS)
    for field in opts.concrete_fields:
        if field not in fields and not (field.primary_key or field.null or field.has_db_default()):
            raise ImproperlyConfigured(
                f"WebhookEvent.{field.name} needs a db_default (or null=True): the intake's INSERT leaves it out"
            )
    quote = connections[DEFAULT_DB_ALIAS].ops.quote_name
    sql = (
        f"INSERT INTO {quote(opts.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))}) "
        f"ON CONFLICT ({quote('provider')}, {quote('event_id')}) DO NOTHING RETURNING {quote(opts.pk.column)}"
    )
    return fields, sql


def _insert_unless_stored(event: WebhookEvent, *, db, writes: tuple[RowWrite, ...] = ()) -> int | None:
    """INSERT the unsaved ``event`` unless (provider, event_id) is stored already: its id, or None.
    On PostgreSQL ``writes`` go in the same statement, each a ``WITH`` of its own (every
    data-modifying ``WITH`` runs, whatever the main INSERT does); elsewhere one by one, before it."""
    fields, sql = _event_insert()
    values = [field.get_db_prep_save(field.pre_save(event, True), db) for field in fields]
    one_statement = not writes or db.vendor == "postgresql"
    if one_statement and writes:
        ctes = ", ".join(f"write_{n} AS ({write.sql})" for n, write in enumerate(writes))
        sql = f"WITH {ctes} {sql}"
        values = [*(param for write in writes for param in write.params), *values]
    # One statement is atomic (and, outside a transaction, committed) by itself; several need one.
    # A prepared statement where the backend offers one (config/postgresql): parsed and planned
    # once per connection, its parameters (the body) bound on the server.
    cursor_of = getattr(db, "prepared_cursor", db.cursor)
    with contextlib.nullcontext() if one_statement else transaction.atomic(using=db.alias), cursor_of() as cursor:
        if not one_statement:
            for write in writes:
                cursor.execute(write.sql, write.params)
        cursor.execute(sql, values)
        row = cursor.fetchone()
    return row[0] if row else None


@functools.cache
def _processing_task():
    """``process_webhook_events`` itself, not Celery's proxy of it, which looks the task up again
    on every attribute read (about 2 us each, twice per webhook)."""
    from .tasks import process_webhook_events  # tasks call this module's services

    return process_webhook_events._get_current_object()


def _enqueue_after_commit(webhook_event_id: int) -> None:
    """Processing queued after commit, batched with the other events this process commits at the
    same moment (one message for several); a broker that is down is logged (the inbox sweeper
    re-queues)."""
    enqueue_batched_after_commit(_processing_task(), webhook_event_id)


# --- processing ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ProcessResult:
    """``retry``: an unexpected error the task should retry (the event is marked failed meanwhile)."""

    event: WebhookEvent | None
    retry: Exception | None = None


def _aggregate(outcomes: list[Outcome]) -> Outcome:
    if not outcomes:
        return Outcome(WebhookStatus.IGNORED, note="no events in the payload")
    acted = [o for o in outcomes if o.status == WebhookStatus.PROCESSED]
    codes = [o.error_code for o in outcomes if o.error_code]
    notes = "; ".join(o.note for o in outcomes if o.note)
    status = WebhookStatus.PROCESSED if acted else WebhookStatus.IGNORED
    return Outcome(status, note=notes, error_code="" if acted else (codes[0] if codes else ""))


def webhook_event_process(*, webhook_event_id: int) -> ProcessResult:
    """Process one stored event exactly once: lock it (another worker holding it -> skip), return
    if already done, parse it with its provider, dispatch every normalized event in a savepoint.
    Domain errors mark it failed for good; anything else marks it failed and asks for a retry."""
    with transaction.atomic():
        event = (
            WebhookEvent.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("connection", "connection__tenant")
            .filter(pk=webhook_event_id)
            .first()
        )
        if event is None or event.status in (WebhookStatus.PROCESSED, WebhookStatus.IGNORED):
            return ProcessResult(event)
        event.attempts += 1
        retry: Exception | None = None
        try:
            with transaction.atomic():
                provider = provider_get(event.provider)
                outcome = _aggregate(
                    [event_dispatch(connection=event.connection, event=e) for e in provider.parse(event)]
                )
        except EventFailed as exc:
            outcome = Outcome(WebhookStatus.FAILED, note=exc.message, error_code=exc.code)
        except ClientError as exc:
            outcome = Outcome(WebhookStatus.FAILED, note=exc.message, error_code=exc.code)
            retry = exc if exc.retryable else None
        except Exception as exc:  # a bug or an outage: keep the event, retry later
            logger.exception("processing webhook event %s failed", event.pk)
            outcome = Outcome(WebhookStatus.FAILED, note=f"{type(exc).__name__}: {exc}", error_code=ErrorCode.INTERNAL)
            retry = exc
        event.status = outcome.status
        event.error_code = outcome.error_code
        event.error = "" if outcome.status == WebhookStatus.PROCESSED else outcome.note[:2000]
        event.processed_at = timezone.now() if outcome.status != WebhookStatus.FAILED else None
        event.save(update_fields=["status", "error_code", "error", "processed_at", "attempts"])
    if outcome.status == WebhookStatus.FAILED:
        logger.warning("webhook event %s failed (%s): %s", event.pk, outcome.error_code, outcome.note)
    return ProcessResult(event, retry)


def webhook_event_requeue(*, webhook_event: WebhookEvent) -> None:
    """Queue processing again (the sweeper; done events are skipped by the task)."""
    from .tasks import process_webhook_event

    enqueue_now(process_webhook_event, webhook_event.pk)


def webhook_event_reprocess(*, webhook_event: WebhookEvent) -> WebhookEvent:
    """The admin's "reprocess": back to received, queued after commit. Effects stay idempotent."""
    with transaction.atomic():
        WebhookEvent.objects.filter(pk=webhook_event.pk).update(
            status=WebhookStatus.RECEIVED, error_code="", error="", processed_at=None
        )
        _enqueue_after_commit(webhook_event.pk)
    webhook_event.refresh_from_db()
    return webhook_event
