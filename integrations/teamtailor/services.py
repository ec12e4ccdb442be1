"""Writes of the Teamtailor integration: issuing the one-time connection token a tenant admin pastes
into Teamtailor's activation form, and binding the activation's provider key to the connection."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from integrations.models import Connection, ConnectionStatus, secret_hash
from tenants.models import Tenant

from . import auth

CONNECTION_TOKEN_PREFIX = "shtt_"


class ActivationError(Exception):
    """Activation refused; ``status`` and ``message`` are what Teamtailor shows the admin."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


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
        raise ActivationError(401, "Missing provider key.")

    already = auth.connection_for_provider_key(provider_key)
    token = query_token
    if auth.looks_like_jws(provider_key):
        try:
            unverified = auth.provider_key_claims_unverified(provider_key)
        except auth.ProviderKeyInvalid:
            raise ActivationError(401, "The provider key could not be verified.") from None
        token = auth.claim(unverified, "connection_token") or token
        target = already or _connection_for_token(token)
        try:
            auth.provider_key_claims(provider_key, partner_api_key=auth.partner_api_key_for(target))
        except auth.ProviderKeyInvalid:
            raise ActivationError(401, "The provider key could not be verified.") from None

    if already is not None:
        return Activation(connection=already, created=False)
    if not token:
        raise ActivationError(400, "Enter the connection token from Stagehook (Integrations > Teamtailor).")

    api_host = None
    if teamtailor_host:
        api_host = auth.api_host_resolve(teamtailor_host)
        if api_host is None:
            raise ActivationError(400, "This Teamtailor host is not supported.")

    with transaction.atomic():
        connection = (
            Connection.objects.select_for_update()
            .filter(provider=auth.PROVIDER_NAME, connection_token_hash=secret_hash(token), tenant__active=True)
            .first()
        )
        if connection is None:
            # Unknown, already used or replaced: one answer for all, so the token is no oracle.
            raise ActivationError(400, "The connection token is invalid or has already been used.")
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
                raise ActivationError(409, "This connection is already bound to another Teamtailor company.")
            connection.remote_account_id = company_id
        connection.status = ConnectionStatus.ACTIVE
        connection.status_reason = ""
        try:
            with transaction.atomic():
                connection.save()
        except IntegrityError:
            raise ActivationError(409, "This Teamtailor company is already connected to Stagehook.") from None
    return Activation(connection=connection, created=True)


def _connection_for_token(token: str) -> Connection | None:
    if not token:
        return None
    return Connection.objects.filter(provider=auth.PROVIDER_NAME, connection_token_hash=secret_hash(token)).first()
