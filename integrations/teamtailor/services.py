"""Writes of the Teamtailor integration: issuing the one-time connection token a tenant admin pastes
into Teamtailor's activation form, binding the activation's provider key to the connection,
recording what partner calls' headers say (API host, company API key), and the result-card
actions a recruiter clicks in Teamtailor."""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import time
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from assessments import services as assessment_services
from assessments.exceptions import AssessmentError, AssessmentErrorCode, IllegalTransition, InvitationTemporaryFailure
from assessments.models import Assessment, Status
from integrations import inbound_cache, ratelimit
from integrations.errors import InboundRejected
from integrations.models import Connection, ConnectionStatus, InboundSignature, WebhookEvent, WebhookStatus, secret_hash
from integrations.providers import RowWrite
from integrations.services import connection_status_set
from integrations.sync import sync_after_activation, sync_first_when_syncable
from tenants.models import Tenant

from . import auth
from .constants import ACTION_CANCEL, ACTION_EVENT_PREFIX, ACTION_RESEND, REGION_REFUSED

logger = logging.getLogger(__name__)

CONNECTION_TOKEN_PREFIX = "shtt_"
ACTIVATION_ACTOR = "teamtailor:activation"


def teamtailor_connection_get_or_create(*, tenant: Tenant) -> Connection:
    """The tenant's Teamtailor connection (one per tenant until it is bound to a company)."""
    connection = (
        Connection.objects.filter(tenant=tenant, provider=auth.PROVIDER_NAME).order_by("id").first()
    )
    if connection is None:
        connection = Connection.objects.create(
            tenant=tenant,
            provider=auth.PROVIDER_NAME,
            name=f"Teamtailor for {tenant.name}",
            status=ConnectionStatus.PENDING,
            credentials={},
        )
    return connection


def teamtailor_connection_token_issue(*, connection: Connection) -> str:
    """A fresh one-time connection token for ``connection``; only its hash is stored and any
    previous token stops working. The raw token is returned once, to be shown once."""
    token = CONNECTION_TOKEN_PREFIX + secrets.token_urlsafe(32)
    Connection.objects.filter(pk=connection.pk).update(connection_token_hash=secret_hash(token))
    connection.connection_token_hash = secret_hash(token)
    return token


@dataclass(frozen=True)
class Activation:
    connection: Connection
    created: bool  # False when the same provider key was already bound (Teamtailor re-validates)


def teamtailor_activation_bind(
    *, provider_key: str, teamtailor_host: str = "", company_id: str = "", query_token: str = ""
) -> Activation:
    """Verify an activation's provider key and bind it to the connection its connection token names.

    JWS keys are verified with our partner API key (HS256 only) and carry the connection token in
    the filled form; an opaque key is accepted when it is already bound (re-validation) or when
    a connection token comes with the request. The token is one-time: it is consumed here.
    """
    if not provider_key:
        raise InboundRejected(401, "Missing provider key.")

    already = auth.connection_for_provider_key(provider_key)
    token = query_token
    if auth.looks_like_jws(provider_key):
        try:
            unverified = auth.provider_key_claims_unverified(provider_key)
        except auth.ProviderKeyInvalid:
            raise InboundRejected(401, "The provider key could not be verified.") from None
        token = auth.claim(unverified, "connection_token") or token
        target = already or _connection_for_token(token)
        try:
            auth.provider_key_claims(provider_key, partner_api_key=auth.partner_api_key_for(target))
        except auth.ProviderKeyInvalid:
            raise InboundRejected(401, "The provider key could not be verified.") from None

    if already is not None:
        if teamtailor_host:
            _region_check(already, auth.api_host_resolve(teamtailor_host))
        return Activation(connection=already, created=False)
    if not token:
        raise InboundRejected(400, "Enter the connection token from Stagehook (Integrations > Teamtailor).")

    api_host = None
    if teamtailor_host:
        api_host = auth.api_host_resolve(teamtailor_host)
        if api_host is None:
            raise InboundRejected(400, "This Teamtailor host is not supported.")

    with transaction.atomic():
        connection = (
            Connection.objects.select_for_update()
            .filter(provider=auth.PROVIDER_NAME, connection_token_hash=secret_hash(token), tenant__active=True)
            .first()
        )
        if connection is None:
            # Unknown, already used or replaced: one answer for all, so the token is no oracle.
            raise InboundRejected(400, "The connection token is invalid or has already been used.")
        # Re-activation from another data region's host: refused like partner calls, nothing moves
        # (and the token stays unused: the transaction rolls back).
        _region_check(connection, api_host)
        credentials = dict(connection.credentials or {})
        credentials["provider_key"] = provider_key
        connection.credentials = credentials
        connection.provider_key_hash = secret_hash(provider_key)
        connection.connection_token_hash = None
        if api_host is not None:
            connection.api_base_url = api_host.base_url
            connection.region = api_host.region or connection.region or connection.tenant.region
        elif not connection.api_base_url:
            region = connection.region or connection.tenant.region or "eu"
            connection.api_base_url = f"https://{auth.REGION_API_HOSTS.get(region, 'api.teamtailor.com')}"
            connection.region = region
        if company_id:
            if connection.remote_account_id and connection.remote_account_id != company_id:
                raise InboundRejected(409, "This connection is already bound to another Teamtailor company.")
            connection.remote_account_id = company_id
        try:
            with transaction.atomic():
                connection.save()
        except IntegrityError:
            raise InboundRejected(409, "This Teamtailor company is already connected to Stagehook.") from None
        connection_status_set(
            connection=connection, status=ConnectionStatus.ACTIVE, actor=ACTIVATION_ACTOR,
            reason="activated in Teamtailor",
        )
    # Active now: its first full sync, so the jobs and pipeline show without waiting for the schedule.
    sync_after_activation(connection=connection)
    return Activation(connection=connection, created=True)


def _region_check(connection: Connection, api_host: auth.ApiHost | None) -> None:
    """Refuse (403) a ``Teamtailor-Host`` of another region than the one the connection is bound to."""
    if api_host is None or not api_host.region:
        return
    current = auth.connection_region(connection)
    if current and current != api_host.region:
        logger.warning(
            "connection %s: activation from a Teamtailor-Host of region %s refused, the connection is in region %s",
            connection.pk, api_host.region, current,
        )
        raise InboundRejected(403, REGION_REFUSED)


def _connection_for_token(token: str) -> Connection | None:
    if not token:
        return None
    return Connection.objects.filter(provider=auth.PROVIDER_NAME, connection_token_hash=secret_hash(token)).first()


# --- headers of partner calls -----------------------------------------------------------------------
def teamtailor_partner_headers_record(*, connection: Connection, headers: auth.PartnerHeaders) -> bool:
    """Store what ``auth.partner_headers_check`` found: the API host (and its region) and the
    company API key (encrypted with the rest of ``credentials``). Returns whether anything changed.
    Neither value is ever logged. Re-checks the region on the locked row: two calls may race."""
    if headers.host_ignored:
        logger.warning("connection %s: a Teamtailor-Host we do not call was ignored", connection.pk)
    if not headers.changes:
        return False
    with transaction.atomic():
        locked = Connection.objects.select_for_update().get(pk=connection.pk)
        fields: list[str] = []
        if headers.api_host is not None and locked.api_base_url != headers.api_host.base_url:
            current, region = auth.connection_region(locked), headers.api_host.region
            if region and current and region != current:
                raise auth.RegionChangeRefused(current, region)
            locked.api_base_url = headers.api_host.base_url
            fields.append("api_base_url")
            if region and locked.region != region:
                locked.region = region
                fields.append("region")
        if headers.api_token and (locked.credentials or {}).get("api_key") != headers.api_token:
            locked.credentials = {**(locked.credentials or {}), "api_key": headers.api_token}
            fields.append("credentials")
        if not fields:
            # Recorded already (by another process): what this process cached of the connection is
            # stale. Forgotten, so that the next call reads it as it is instead of taking this lock
            # again on every call until the cache expires.
            inbound_cache.clear()
            return False
        locked.save(update_fields=[*fields, "updated_at"])
    for name in fields:
        setattr(connection, name, getattr(locked, name))
    logger.info("connection %s: recorded %s from Teamtailor's headers", connection.pk, ", ".join(sorted(fields)))
    if "credentials" in fields and connection.status == ConnectionStatus.ACTIVE:
        # The company's API key came with this call: the first sync need not wait for the schedule.
        sync_first_when_syncable(connection=connection)
    return True


# --- partner events refused at intake ----------------------------------------------------------------
def teamtailor_partner_event_refuse(
    *, connection: Connection, event_id: str, headers: dict[str, str], raw_body: bytes, error_code: str, reason: str
) -> WebhookEvent:
    """Keep a partner event we refuse to act on as ``failed`` with why (shown in the admin), never
    processed; a re-delivery finds the same row."""
    event, _ = WebhookEvent.objects.get_or_create(
        provider=auth.PROVIDER_NAME, event_id=event_id[:200],
        defaults={
            "connection": connection, "event_type": "partner.trigger", "headers": headers, "raw_body": raw_body,
            "status": WebhookStatus.FAILED, "attempts": 0, "error_code": error_code, "error": reason[:2000],
        },
    )
    return event


# --- signatures seen on partner calls -----------------------------------------------------------------
# Kept well beyond the signature's validity (auth.SIGNATURE_TOLERANCE_SECONDS), then dropped.
SIGNATURE_KEEP = dt.timedelta(hours=1)
TRIGGER_SIGNATURE_KIND = "partner.trigger"


# Old signatures are dropped at most this often per process, not on every call (a DELETE and a
# commit per webhook were a third of the intake's cost under load); rows live SIGNATURE_KEEP +
# at most this long, still far beyond their validity.
SIGNATURE_PRUNE_EVERY = 60.0
_signatures_pruned_at: float | None = None


def _signatures_prune() -> None:
    global _signatures_pruned_at
    now = time.monotonic()
    if _signatures_pruned_at is not None and now - _signatures_pruned_at < SIGNATURE_PRUNE_EVERY:
        return
    _signatures_pruned_at = now
    InboundSignature.objects.filter(
        provider=auth.PROVIDER_NAME, created_at__lt=timezone.now() - SIGNATURE_KEEP
    ).delete()


def teamtailor_signature_write(*, fingerprint: str, kind: str) -> RowWrite:
    """The statement that remembers a signature's first use on an accepted call of ``kind`` (old
    rows dropped meanwhile): an INSERT, or on conflict a no-op update that returns the stored row's
    kind (instead of INSERT ... DO NOTHING then a SELECT, or get_or_create's four). A concurrent
    first use is waited for by the INSERT and its row returned, so the first use still wins. The
    trigger stores it with its event (``VerifiedInbound.writes``: one round trip for both)."""
    _signatures_prune()
    from django.db import connection as db

    table, quote = InboundSignature._meta.db_table, db.ops.quote_name
    return RowWrite(
        f"INSERT INTO {quote(table)} (provider, fingerprint, kind, created_at) VALUES (%s, %s, %s, %s) "
        f"ON CONFLICT (provider, fingerprint) DO UPDATE SET kind = {quote(table)}.kind RETURNING kind",
        (auth.PROVIDER_NAME, fingerprint, kind, timezone.now()),
    )


def teamtailor_signature_record(*, fingerprint: str, kind: str) -> str:
    """Remember that a signature was used on an accepted call of ``kind`` (first use wins), so the
    same signed request is never accepted as another kind of call. Returns the kind of call that
    owns the signature (``kind`` unless another call used it first)."""
    if not fingerprint:
        return kind
    from django.db import connection as db

    write = teamtailor_signature_write(fingerprint=fingerprint, kind=kind)
    with db.cursor() as cursor:
        cursor.execute(write.sql, write.params)
        return cursor.fetchone()[0]


# --- result-card actions ------------------------------------------------------------------------------
# "Resend invitation" clicks per assessment (shared by every web process through the limiter).
RESEND_RATE = ratelimit.Rate(limit=5, seconds=3600)


def _resend_rate_key(assessment: Assessment) -> str:
    # The creation time keeps a key from outliving its assessment's id (ids restart in test databases).
    return f"teamtailor-resend:{assessment.pk}:{int(assessment.created_at.timestamp())}"


def _resend_slot(assessment: Assessment) -> None:
    wait = ratelimit.limiter_get().try_acquire(_resend_rate_key(assessment), RESEND_RATE)
    if wait:
        minutes = max(1, round(wait / 60))
        raise InboundRejected(
            429,
            f"The invitation was already re-sent {RESEND_RATE.limit} times in the last hour. "
            f"Try again in about {minutes} minute{'s' if minutes != 1 else ''}.",
            retry_after=int(wait) + 1,
        )


@dataclass(frozen=True)
class ActionOutcome:
    assessment: Assessment
    message: str
    duplicate: bool = False  # the very same signed request again: answered, not repeated


ACTION_ACTOR = "teamtailor:action"
_CLOSED_MESSAGES = {
    Status.COMPLETED: "The candidate has already completed this interview.",
    Status.FAILED: "This interview has already failed.",
    Status.EXPIRED: "This interview has expired.",
    Status.CANCELLED: "This interview was cancelled.",
}


def _action_refusal(assessment: Assessment, action: str) -> str:
    assessment.refresh_from_db(fields=["status"])
    closed = _CLOSED_MESSAGES.get(assessment.status)
    if action == ACTION_RESEND:
        if assessment.status == Status.IN_PROGRESS:
            return "The candidate has already started this interview: the invitation cannot be re-sent."
        return f"{closed or 'This interview is not open.'} The invitation cannot be re-sent."
    return f"{closed or 'This interview is not open.'} It can no longer be cancelled."


def teamtailor_action_perform(
    *,
    connection: Connection,
    assessment: Assessment,
    action: str,
    event_id: str,
    headers: dict[str, str],
    raw_body: bytes,
    partner_headers: auth.PartnerHeaders,
    signature_fingerprint: str = "",
) -> ActionOutcome:
    """Run a result-card action on ``assessment`` in one transaction with its inbox row (an audit
    of the click, unique per ``event_id``: the same signed request again is answered as a duplicate
    without a second effect) and the headers' changes. A refusal rolls everything back.

    ``resend`` sends the invitation again with a fresh link (two clicks are two sends, as asked,
    at most ``RESEND_RATE`` per assessment: more are 429 and change nothing);
    ``cancel`` cancels the interview (twice is one effect) and the outbox writes ``failed`` back."""
    if action not in (ACTION_RESEND, ACTION_CANCEL):
        raise InboundRejected(404, "Unknown Stagehook action.")
    try:
        with transaction.atomic():
            try:
                with transaction.atomic():
                    WebhookEvent.objects.create(
                        provider=auth.PROVIDER_NAME, connection=connection, event_id=event_id[:200],
                        event_type=f"{ACTION_EVENT_PREFIX}{action}"[:100], headers=headers, raw_body=raw_body,
                        status=WebhookStatus.PROCESSED, attempts=1, processed_at=timezone.now(),
                    )
            except IntegrityError:
                assessment.refresh_from_db()
                return ActionOutcome(assessment=assessment, message="Already done.", duplicate=True)
            kind = f"{ACTION_EVENT_PREFIX}{action}"
            if teamtailor_signature_record(fingerprint=signature_fingerprint, kind=kind) != kind:
                # This signed request was already used for another call (e.g. a captured "resend"
                # replayed at "cancel"): a replay, not a click.
                logger.warning("connection %s: a signed request was replayed at another action", connection.pk)
                raise InboundRejected(401, "Unauthorized.")
            teamtailor_partner_headers_record(connection=connection, headers=partner_headers)
            if action == ACTION_RESEND:
                _resend_slot(assessment)
                updated = assessment_services.assessment_resend_invitation(assessment=assessment, actor=ACTION_ACTOR)
                if updated.status == Status.FAILED:
                    # The address turned out undeliverable: the assessment failed (and says why).
                    message = "The invitation could not be delivered; the interview failed."
                else:
                    message = "The invitation was sent again."
            else:
                updated = assessment_services.assessment_cancel(
                    assessment=assessment, actor=ACTION_ACTOR, reason="requested in Teamtailor"
                )
                message = "The interview was cancelled."
    except InvitationTemporaryFailure:
        raise InboundRejected(503, "The invitation could not be sent just now. Try again in a few minutes.") from None
    except (IllegalTransition, AssessmentError) as exc:
        if not isinstance(exc, IllegalTransition) and exc.code == AssessmentErrorCode.EXPIRED:
            raise InboundRejected(409, "The deadline of this interview has passed.") from None
        raise InboundRejected(409, _action_refusal(assessment, action)) from None
    return ActionOutcome(assessment=updated, message=message)
