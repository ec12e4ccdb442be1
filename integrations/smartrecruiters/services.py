"""Writes for SmartRecruiters: the install (consent) sequence, the disconnect, the inline order.
HTTP calls to SmartRecruiters happen outside transactions; each step's result is committed as
soon as it is known, so a retried install picks up where the last one stopped."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import urlencode

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from assessments.exceptions import AssessmentError
from assessments.models import Assessment
from assessments.services import assessment_link_issue
from integrations.errors import AuthFailed, BadRequest, ClientError
from integrations.locks import LockNotAcquired, distributed_lock
from integrations.models import Connection, ConnectionStatus, WebhookStatus
from integrations.services import connection_disconnect, connection_status_set
from integrations.sync import sync_after_activation
from integrations.webhooks import webhook_event_process, webhook_event_store
from tenants.models import Tenant

from . import auth, selectors
from .client import SmartRecruitersClient
from .constants import (
    CRED_ACCESS_TOKEN,
    CRED_APP_CLIENT_ID,
    CRED_APP_CLIENT_SECRET,
    CRED_CLIENT_ID,
    CRED_CLIENT_SECRET,
    CRED_EXPIRES_AT,
    CRED_GRANT,
    CRED_REFRESH_TOKEN,
    CRED_SCOPES,
    CRED_WEBHOOK_KEYS,
    PROVIDER_NAME,
    SUBSCRIPTION_REF,
    WEBHOOK_EVENTS,
)
from .models import ConnectionSettings, PartnerClient
from .parsing import Order
from .writeback import SCORE_PROPERTY_TYPES
from .writeback import candidate_properties_for_score as score_properties_from

logger = logging.getLogger(__name__)

INSTALL_ACTOR = "smartrecruiters:consent"

INSTALL_LOCK_TIMEOUT = 120.0
OWN_APP_SECRET_KEYS = (CRED_APP_CLIENT_SECRET, CRED_ACCESS_TOKEN, CRED_REFRESH_TOKEN, "tokens_issued_at")
OWN_APP_KEYS = (CRED_GRANT, CRED_APP_CLIENT_ID, CRED_EXPIRES_AT, CRED_SCOPES, *OWN_APP_SECRET_KEYS)


def master_client(**kwargs) -> SmartRecruitersClient:
    return SmartRecruitersClient(base_url=auth.api_base(), tokens=auth.master_token_source(), **kwargs)


def customer_client(connection: Connection, **kwargs) -> SmartRecruitersClient:
    """The company's API client: on the customer credentials the marketplace gave us, or, for a
    connection made through the company's own app, on its authorization-code tokens."""
    if auth.is_own_app(connection):
        from .own_app import own_app_client  # own_app builds on this module's install steps

        return own_app_client(connection, **kwargs)
    return SmartRecruitersClient(base_url=auth.api_base_for(connection), tokens=auth.customer_token_source(connection),
                                 **kwargs)


def webhook_callback_url(company_id: str) -> str:
    return f"{settings.SITE_URL}{reverse('smartrecruiters:webhooks')}?{urlencode({'companyId': company_id})}"


class InstallFailed(Exception):
    """The install stopped; ``message`` is shown to the admin and kept as ``status_reason``."""

    def __init__(self, message: str, *, connection: Connection | None = None):
        super().__init__(message)
        self.message = message
        self.connection = connection


@dataclass(frozen=True)
class InstallResult:
    connection: Connection
    reconsent: bool


SETUP_FAILURES = {
    403: "SmartRecruiters refused: the company has not given consent, or Stagehook lacks a required scope.",
    404: "SmartRecruiters does not know Stagehook's partner configuration yet (the vendor must run "
         "smartrecruiters_configure).",
}


def connection_for_install(*, tenant: Tenant, company_id: str) -> Connection:
    """The company's connection for an install into ``tenant`` (marketplace or own app), locked
    and created when missing; ``InstallFailed`` when another workspace holds it."""
    with transaction.atomic():
        connection = (
            Connection.objects.select_for_update()
            .filter(provider=PROVIDER_NAME, remote_account_id=company_id).first()
        )
        if connection is None:
            return Connection.objects.create(
                tenant=tenant, provider=PROVIDER_NAME, remote_account_id=company_id,
                name=f"SmartRecruiters {company_id}", status=ConnectionStatus.PENDING,
                api_base_url=auth.api_base(), status_reason="consent started",
            )
        credentials = connection.credentials or {}
        unfinished = connection.status == ConnectionStatus.PENDING and not (
            credentials.get(CRED_CLIENT_ID) or credentials.get(CRED_REFRESH_TOKEN))
        if connection.tenant_id != tenant.pk and connection.status != ConnectionStatus.DISCONNECTED and not unfinished:
            raise InstallFailed("This SmartRecruiters company is already connected to another Stagehook workspace.")
        if connection.tenant_id != tenant.pk:
            # A disconnected company, or one whose install never got SmartRecruiters' credentials,
            # may be installed into another workspace: none of its secrets move.
            PartnerClient.objects.filter(connection=connection, revoked_at__isnull=True).update(revoked_at=timezone.now())
            connection.tenant = tenant
            connection.credentials = {}
            connection.subscription_ids = {}
        connection.save()
        if connection.status == ConnectionStatus.DISCONNECTED:
            connection_status_set(connection=connection, status=ConnectionStatus.PENDING,
                                  actor=INSTALL_ACTOR, reason="consent started again")
        return connection


def connection_fields_record(connection: Connection, **fields) -> None:
    """Write ``fields`` at once (each install step's result is kept even if a later one fails)."""
    for name, value in fields.items():
        setattr(connection, name, value)
    Connection.objects.filter(pk=connection.pk).update(**fields, updated_at=timezone.now())


def _fail(connection: Connection, message: str) -> InstallFailed:
    # "pending or as it was": an active connection stays active, with the reason recorded.
    connection_fields_record(connection, status_reason=message[:300])
    logger.warning("smartrecruiters install of connection %s stopped: %s", connection.pk, message)
    return InstallFailed(message, connection=connection)


def _set_up_integration(connection: Connection) -> bool:
    """Mint our client credentials and hand them to SmartRecruiters; store what it returns.
    Returns True when SmartRecruiters answered 409 (already integrated: a re-consent)."""
    minted = auth.partner_client_mint(connection=connection)
    try:
        answer = master_client().integration_set_up(
            company_id=connection.remote_account_id, client_id=minted.client.client_id,
            client_secret=minted.client_secret,
        )
    except ClientError as exc:
        PartnerClient.objects.filter(pk=minted.client.pk).update(revoked_at=timezone.now())
        if exc.status_code == 409:
            if not (connection.credentials or {}).get(CRED_CLIENT_ID):
                raise _fail(connection, "SmartRecruiters says Stagehook is already integrated for this company, but "
                            "Stagehook holds no credentials for it: disconnect Stagehook in SmartRecruiters and "
                            "install again.") from None
            return True
        message = SETUP_FAILURES.get(exc.status_code or 0) or f"SmartRecruiters setUpIntegration failed: {exc.message}"
        raise _fail(connection, message) from None
    # A company that used its own app before now uses the marketplace: its app's secrets go.
    credentials = {k: v for k, v in (connection.credentials or {}).items() if k not in OWN_APP_KEYS}
    credentials[CRED_CLIENT_ID] = str(answer["clientId"])
    credentials[CRED_CLIENT_SECRET] = str(answer["clientSecret"])
    with transaction.atomic():
        connection_fields_record(connection, credentials=credentials)
        # Only the credentials SmartRecruiters now holds stay valid.
        PartnerClient.objects.filter(connection=connection, revoked_at__isnull=True).exclude(
            pk=minted.client.pk).update(revoked_at=timezone.now())
    return False


def smartrecruiters_subscription_ensure(*, connection: Connection, alerting_email: str = "") -> None:
    """One subscription for the company with every event we use: created (its id committed at
    once), activated, and its signing key stored encrypted. Steps already done are skipped."""
    refs = dict(connection.subscription_ids or {})
    sub = dict(refs.get(SUBSCRIPTION_REF) or {})
    credentials = dict(connection.credentials or {})
    if sub.get("id") and sub.get("active") and credentials.get(CRED_WEBHOOK_KEYS):
        return
    client = customer_client(connection)
    if not sub.get("id"):
        created = client.subscription_create(
            callback_url=webhook_callback_url(connection.remote_account_id), events=list(WEBHOOK_EVENTS),
            alerting_email=alerting_email,
        )
        if not isinstance(created, dict) or not created.get("id"):
            raise BadRequest("SmartRecruiters created a subscription without an id")
        sub = {"id": str(created["id"]), "events": list(WEBHOOK_EVENTS), "active": False}
        connection_fields_record(connection, subscription_ids={**refs, SUBSCRIPTION_REF: sub})
    if not sub.get("active"):
        client.subscription_activate(sub["id"])
        sub["active"] = True
        connection_fields_record(connection, subscription_ids={**refs, SUBSCRIPTION_REF: sub})
    if not credentials.get(CRED_WEBHOOK_KEYS):
        key = client.subscription_secret(sub["id"])
        secret = str((key or {}).get("secretKey") or "") if isinstance(key, dict) else ""
        if not secret:
            raise BadRequest("SmartRecruiters generated no secretKey for the subscription")
        credentials[CRED_WEBHOOK_KEYS] = [secret]
        connection_fields_record(connection, credentials=credentials)


def smartrecruiters_install(*, tenant: Tenant, company_id: str, actor: str, alerting_email: str = "") -> InstallResult:
    """The consent sequence after the admin approved (SMARTRECRUITERS.md "Consent sequence").
    Any failure leaves the connection pending (or as it was) with the reason, and raises
    ``InstallFailed``; running it again completes it. ``alerting_email``: where SmartRecruiters
    reports failing webhook deliveries (the approving admin)."""
    company_id = company_id.strip()[:128]
    if not company_id:
        raise InstallFailed("The link from SmartRecruiters has no companyId.")
    try:
        with distributed_lock(f"smartrecruiters-install-{company_id}", timeout=INSTALL_LOCK_TIMEOUT, wait=30.0):
            connection = connection_for_install(tenant=tenant, company_id=company_id)
            try:
                reconsent = _set_up_integration(connection)
                smartrecruiters_subscription_ensure(connection=connection, alerting_email=alerting_email)
            except ClientError as exc:
                if isinstance(exc, AuthFailed) and "SMARTRECRUITERS_CLIENT_ID" in exc.message:
                    raise _fail(connection, "Stagehook's SmartRecruiters partner credentials are not configured.") from None
                raise _fail(connection, f"SmartRecruiters could not be reached or refused a step: {exc.message}") from None
            connection_status_set(connection=connection, status=ConnectionStatus.ACTIVE, actor=actor,
                                  reason=f"{'re-consented' if reconsent else 'connected'} in SmartRecruiters")
            logger.info("smartrecruiters company %s connected (connection %s)", company_id, connection.pk)
    except LockNotAcquired:
        raise InstallFailed("Another install of this company is running; try again in a minute.") from None
    # Active now: its first full sync, so the jobs and pipeline show without waiting for the schedule.
    sync_after_activation(connection=connection)
    return InstallResult(connection=connection, reconsent=reconsent)


def smartrecruiters_disconnect(*, connection: Connection, reason: str) -> Connection:
    """The company removed Stagehook: tokens revoked, the connection disconnected (history kept),
    the subscription deleted after commit (a task: it calls SmartRecruiters)."""
    with transaction.atomic():
        auth.tokens_revoke(connection=connection)
        connection = connection_disconnect(connection=connection, reason=reason)
        transaction.on_commit(lambda: enqueue_unsubscribe(connection.pk))
    return connection


def smartrecruiters_disconnect_check_queue(*, company_id: str) -> bool:
    """Queue the check of an anonymous disconnect call (a task: it calls SmartRecruiters)."""
    connection = selectors.connection_for_company(company_id=company_id)
    if connection is None or connection.status == ConnectionStatus.DISCONNECTED:
        return False
    from .tasks import smartrecruiters_disconnect_check

    transaction.on_commit(lambda: smartrecruiters_disconnect_check.delay(connection.pk))
    return True


def smartrecruiters_disconnect_check(*, connection_id: int) -> bool:
    """Disconnect when SmartRecruiters refuses the company's credentials (the integration is gone
    there); otherwise leave the connection as it is. True when it was disconnected."""
    connection = Connection.objects.filter(pk=connection_id, provider=PROVIDER_NAME).first()
    if connection is None or connection.status == ConnectionStatus.DISCONNECTED:
        return False
    if not (connection.credentials or {}).get(CRED_CLIENT_ID):
        return False  # never integrated there: nothing to confirm
    try:
        auth.customer_token_source(connection).token(force=True)
    except AuthFailed:
        smartrecruiters_disconnect(connection=connection, reason="removed in SmartRecruiters (our credentials are refused)")
        return True
    logger.warning("connection %s: an anonymous disconnect call was not confirmed by SmartRecruiters", connection.pk)
    return False


def enqueue_unsubscribe(connection_id: int) -> None:
    from .tasks import smartrecruiters_unsubscribe

    smartrecruiters_unsubscribe.delay(connection_id)


def smartrecruiters_subscription_delete(*, connection_id: int) -> bool:
    """Delete a disconnected connection's subscription (best effort: SmartRecruiters may already
    have revoked our credentials) and drop the secrets it no longer needs. True when done."""
    connection = Connection.objects.filter(pk=connection_id, provider=PROVIDER_NAME).first()
    if connection is None or connection.status != ConnectionStatus.DISCONNECTED:
        return False
    refs = dict(connection.subscription_ids or {})
    sub = refs.get(SUBSCRIPTION_REF) or {}
    deleted = True
    if sub.get("id"):
        try:
            customer_client(connection).subscription_delete(sub["id"])
        except ClientError as exc:
            if exc.retryable:
                raise  # SmartRecruiters down or busy: the task tries again, the secrets stay meanwhile
            deleted = exc.status_code == 404
            logger.info("connection %s: subscription not deleted (%s)", connection.pk, exc.code)
    # Own app: SmartRecruiters documents no token revocation; its secret and tokens are deleted.
    credentials = {k: v for k, v in (connection.credentials or {}).items()
                   if k not in (CRED_WEBHOOK_KEYS, CRED_CLIENT_SECRET, *OWN_APP_SECRET_KEYS)}
    refs.pop(SUBSCRIPTION_REF, None)
    connection_fields_record(connection, credentials=credentials, subscription_ids=refs)
    if auth.is_own_app(connection):
        from .own_app import tokens_forget

        tokens_forget(connection_id=connection.pk)
    return deleted


# --- connection settings: the score property --------------------------------------------------
class SettingsRefused(Exception):
    """A settings change that cannot be made as asked; ``message`` is shown to the admin."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _properties_failure(exc: ClientError) -> str:
    if isinstance(exc, AuthFailed):
        return (f"SmartRecruiters refused to list the candidate properties ({exc.message}). Re-authorize the "
                "connection so the app has the jobs_read permission.")
    if isinstance(exc, BadRequest):
        return f"SmartRecruiters refused to list the candidate properties: {exc.message}"
    return "SmartRecruiters could not be reached to list the candidate properties; try again in a minute."


def smartrecruiters_score_properties_fetch(*, connection: Connection) -> list[dict[str, str]]:
    """The company's candidate properties a score can be written into (``[{id, label, type}]``),
    read live from ``GET /configuration/candidate-properties``. Raises ``SettingsRefused`` with
    what to do when SmartRecruiters cannot answer."""
    try:
        listing = customer_client(connection).candidate_properties()
    except ClientError as exc:
        logger.warning("connection %s: candidate properties not listed: %s %s", connection.pk, exc.code, exc.status_code)
        raise SettingsRefused(_properties_failure(exc)) from None
    return score_properties_from(listing)


def smartrecruiters_score_property_set(*, connection: Connection, property_id: str, actor: str,
                                       available: list[dict[str, str]] | None = None) -> ConnectionSettings:
    """Choose the candidate property that receives the score (blank: none). The id must be one of
    the company's properties of a type that can hold a score (``available``, else read live):
    otherwise ``SettingsRefused`` and nothing is stored."""
    property_id = (property_id or "").strip()
    chosen = None
    if property_id:
        if available is None:
            available = smartrecruiters_score_properties_fetch(connection=connection)
        chosen = next((p for p in available if p["id"] == property_id), None)
        if chosen is None:
            raise SettingsRefused(f"SmartRecruiters has no candidate property {property_id!r} that can hold a score "
                                  f"(a {', '.join(SCORE_PROPERTY_TYPES)} property).")
    with transaction.atomic():
        row, _ = ConnectionSettings.objects.select_for_update().get_or_create(connection=connection)
        row.score_property_id = chosen["id"] if chosen else ""
        row.score_property_label = chosen["label"] if chosen else ""
        row.score_property_type = chosen["type"] if chosen else ""
        row.updated_by = actor[:200]
        row.save()
    logger.info("connection %s: score property %s (by %s)", connection.pk, row.score_property_id or "none", actor)
    return row


@dataclass(frozen=True)
class InlineOrderResult:
    url: str
    assessment: Assessment


class InlineOrderFailed(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def smartrecruiters_inline_order(*, connection: Connection, order: Order, raw_body: bytes, headers: dict) -> InlineOrderResult:
    """An inline order needs its link in the answer: the order goes through the inbox like any
    other (stored once per order id), is processed right here, and the candidate link is issued."""
    event, _ = webhook_event_store(
        provider=PROVIDER_NAME, connection=connection, event_id=f"order:{order.order_id}",
        event_type="inline_order", headers=headers, raw_body=raw_body,
    )
    result = webhook_event_process(webhook_event_id=event.pk)
    processed = result.event or event
    processed.refresh_from_db()
    if processed.status != WebhookStatus.PROCESSED:
        raise InlineOrderFailed(processed.error or "the order could not be processed")
    assessment = Assessment.objects.filter(source=connection.source_key, remote_order_id=order.order_id).first()
    if assessment is None:
        raise InlineOrderFailed("the order made no assessment")
    try:
        url = assessment_link_issue(assessment_id=assessment.pk, actor=f"ats:{PROVIDER_NAME}")
    except AssessmentError as exc:
        raise InlineOrderFailed(exc.message) from None
    return InlineOrderResult(url=url, assessment=assessment)
