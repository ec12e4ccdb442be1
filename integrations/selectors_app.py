"""Reads for the recruiter's connection pages: every query is scoped by membership."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import QuerySet
from django.utils import timezone

from assessments.models import Package
from tenants.selectors import get_for_user_or_404, scope_for_user

from .sync import sync_next_at, sync_unavailable_reason
from .mapping import mapping_orphans
from .providers import provider_all, provider_get
from .models import Connection, ConnectionStatus, StageMapping, SyncRun, SyncStatus, WebhookEvent, WebhookStatus

# What the recruiter can do about each state (shown beside the status).
STATUS_FIXES = {
    ConnectionStatus.PENDING: "Finish connecting in the ATS: your administrator activates Stagehook there.",
    ConnectionStatus.NEEDS_ATTENTION: (
        "Check the connection's credentials: update the API key in the ATS settings (or ask your "
        "Stagehook administrator), then run a sync."
    ),
    ConnectionStatus.DISCONNECTED: "The ATS removed Stagehook. Re-activate it in the ATS to connect again.",
}


def connection_list_for_user(*, user) -> QuerySet[Connection]:
    return scope_for_user(Connection.objects.select_related("tenant"), user=user).order_by("tenant__name", "provider", "id")


def connection_get_for_user(*, user, connection_id: int) -> Connection:
    """The connection if one of the user's tenants owns it, else 404."""
    return get_for_user_or_404(Connection.objects.select_related("tenant"), user=user, pk=connection_id)


def package_get_for_user(*, user, package_id: int) -> Package:
    return get_for_user_or_404(Package.objects.select_related("tenant"), user=user, pk=package_id, active=True)


def packages_of(*, connection: Connection) -> list[Package]:
    return list(Package.objects.filter(tenant_id=connection.tenant_id, active=True).order_by("name", "id"))


def sync_run_latest(*, connection: Connection) -> SyncRun | None:
    return SyncRun.objects.filter(connection=connection).order_by("-started_at", "-id").first()


@dataclass
class ConnectionHealth:
    connection: Connection
    fix: str
    last_success: SyncRun | None
    last_error: SyncRun | None
    latest_sync_run: SyncRun | None
    next_sync_at: dt.datetime | None
    next_sync_note: str
    last_event_at: dt.datetime | None
    events_24h: int
    failures_24h: int
    mapping_count: int
    orphans: list = field(default_factory=list)
    settings_url: str = ""  # the provider's settings page of this connection, if it has one
    panel: object = None  # the provider's own part of the card (``Provider.connection_panel``), or None


def connection_health(*, connection: Connection, now: dt.datetime | None = None) -> ConnectionHealth:
    """Status with its fix, the last successful sync and, separately, the last failed one, the next
    scheduled sync, webhook health over the last 24 h and the orphaned mappings."""
    now = now or timezone.now()
    runs = SyncRun.objects.filter(connection=connection)
    events = WebhookEvent.objects.filter(connection=connection)
    recent = events.filter(received_at__gte=now - dt.timedelta(hours=24))
    last_event = events.order_by("-received_at").values_list("received_at", flat=True).first()
    next_at = sync_next_at(connection=connection)
    next_note = ""
    if next_at is None:
        next_note = "paused" if not connection.sync_enabled else f"not scheduled: {sync_unavailable_reason(connection=connection)}"
    return ConnectionHealth(
        connection=connection,
        fix=STATUS_FIXES.get(connection.status, ""),
        last_success=runs.filter(status=SyncStatus.SUCCEEDED).order_by("-finished_at", "-id").first(),
        last_error=runs.filter(status=SyncStatus.FAILED).order_by("-finished_at", "-id").first(),
        latest_sync_run=sync_run_latest(connection=connection),
        next_sync_at=next_at,
        next_sync_note=next_note,
        last_event_at=last_event,
        events_24h=recent.count(),
        failures_24h=recent.filter(status=WebhookStatus.FAILED).count(),
        mapping_count=StageMapping.objects.filter(connection=connection).count(),
        orphans=mapping_orphans(connection=connection),
        settings_url=_settings_url(connection),
        panel=_provider_panel(connection),
    )


def _settings_url(connection: Connection) -> str:
    try:
        return provider_get(connection.provider).connection_settings_url(connection)
    except LookupError:
        return ""


def _provider_panel(connection: Connection):
    try:
        provider = provider_get(connection.provider)
    except LookupError:
        return None
    panel = getattr(provider, "connection_panel", None)
    return panel(connection) if panel else None


def connect_links() -> list[tuple[str, str]]:
    """(label, url) of the providers' "connect" pages offered on the connections page."""
    links = []
    for provider in provider_all():
        links += list(getattr(provider, "connect_links", lambda: [])())
    return links
