"""The provider seam: what an ATS integration is, the events it emits, and the registry.

Shared machinery (intake, outbox, sync) talks only to this page; each ATS folder implements a
``Provider`` and registers it under its name. Core code never says ``if provider == "..."``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import InboundRejected  # noqa: F401 - part of the provider seam
from .ratelimit import Rate

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse

    from assessments.models import Assessment

    from .models import Connection, Delivery, WebhookEvent


# --- normalized events ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Candidate:
    remote_id: str
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    phone: str = ""
    # The language the candidate applied in, as the ATS names it (e.g. SmartRecruiters'
    # ``applicationLanguage``); the candidate pages and invitations use it when we speak it.
    language: str = ""


@dataclass(frozen=True)
class AssessmentOrdered:
    """The ATS asked for one of our packages (order mode)."""

    remote_order_id: str
    package_id: str
    candidate: Candidate
    remote_application_id: str = ""
    remote_job_id: str = ""
    remote_job_title: str = ""
    remote_stage_id: str = ""
    callback_url: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    # False when the ATS hands the candidate our link itself (an inline order): no invitation is
    # sent, so the link given to the ATS stays the valid one.
    send_invitation: bool = True


@dataclass(frozen=True)
class StageChanged:
    """A candidate's application entered a stage (trigger mode, via webhook or sync)."""

    remote_application_id: str
    remote_candidate_id: str
    remote_job_id: str
    remote_stage_id: str
    remote_sub_status: str = ""
    changed_at: dt.datetime | None = None
    candidate: Candidate | None = None


@dataclass(frozen=True)
class ApplicationRejected:
    remote_application_id: str
    rejected_at: dt.datetime | None = None


@dataclass(frozen=True)
class CandidateChanged:
    candidate: Candidate
    deleted: bool = False
    # The ATS deleted the candidate for good (e.g. a privacy request): erase their personal data
    # here too (assessments and integration rows), not only the mirror.
    erase: bool = False


@dataclass(frozen=True)
class JobChanged:
    remote_job_id: str
    title: str = ""
    status: str = ""
    deleted: bool = False


@dataclass(frozen=True)
class ConnectionRemoved:
    reason: str = ""


NormalizedEvent = AssessmentOrdered | StageChanged | ApplicationRejected | CandidateChanged | JobChanged | ConnectionRemoved


# --- what a provider answers ---------------------------------------------------------------------
# ``verify_inbound`` raises ``InboundRejected`` (integrations.errors, importable from here too).
@dataclass(frozen=True)
class RowWrite:
    """A row an accepted call writes beside its event: one ``INSERT`` (``ON CONFLICT`` as it needs)
    with ``%s`` placeholders. The intake sends it in the event's own statement on PostgreSQL (a
    data-modifying ``WITH``: one round trip for both), on its own just before it elsewhere."""

    sql: str
    params: tuple[Any, ...]


@dataclass(frozen=True)
class VerifiedInbound:
    """An authenticated inbound call: whose it is and how to store it (``writes``: rows stored
    with the event, in its transaction, e.g. the call's signature against replays)."""

    connection: Connection | None
    event_id: str
    event_type: str
    payload: Any
    writes: tuple[RowWrite, ...] = ()


@dataclass(frozen=True)
class DeliverySpec:
    """A write-back to queue: its channel (see ``DeliveryChannel``) and the payload to send."""

    channel: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class WriteBackResult:
    status_code: int
    # Ids the ATS gave us (e.g. a partner result created in trigger mode), stored for the next update.
    remote_refs: dict[str, str] = field(default_factory=dict)


# --- what a sync page carries ---------------------------------------------------------------------
# The kinds a sync pages through, in the order it pages them (applications name stages, jobs and
# candidates, so those come first).
SYNC_KINDS: tuple[str, ...] = ("jobs", "stages", "candidates", "applications")


@dataclass(frozen=True)
class SyncedJob:
    remote_id: str
    title: str = ""
    status: str = ""
    remote_updated_at: dt.datetime | None = None


@dataclass(frozen=True)
class SyncedStage:
    remote_id: str
    name: str
    remote_job_id: str = ""
    position: int = 0
    stage_type: str = ""
    remote_updated_at: dt.datetime | None = None
    # A sub-stage (a SmartRecruiters sub-status): its stage's remote id and the sub-status value
    # applications carry. Blank for a stage.
    parent_remote_id: str = ""
    sub_status: str = ""


@dataclass(frozen=True)
class SyncedCandidate:
    remote_id: str
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    phone: str = ""
    remote_updated_at: dt.datetime | None = None


@dataclass(frozen=True)
class SyncedApplication:
    remote_id: str
    remote_candidate_id: str
    remote_job_id: str
    remote_stage_id: str
    remote_sub_status: str = ""
    rejected_at: dt.datetime | None = None
    changed_stage_at: dt.datetime | None = None
    remote_updated_at: dt.datetime | None = None


SyncedRecord = SyncedJob | SyncedStage | SyncedCandidate | SyncedApplication


@dataclass(frozen=True)
class Page:
    """One page of a sync listing, normalized. ``next_cursor`` (an ISO 8601 remote updated-at, or
    None for a kind listed in full every time) is where a later run may start once this page and
    every page before it are stored: the provider pages in ascending cursor order."""

    kind: str  # one of SYNC_KINDS
    items: list[SyncedRecord]
    next_cursor: str | None


class Provider:
    """Base class: one subclass per ATS, in ``integrations/<name>/provider.py``."""

    name: str = ""
    # Mounted by ``integrations.ats_urls`` (config/urls.py names no ATS): ``urls`` (the module of the
    # routes the ATS calls) at ``/<url_prefix>/``, ``app_urls`` (the tenant admin's pages) at
    # ``/app/integrations/<url_prefix>/``. Empty: nothing mounted. ``url_prefix`` defaults to ``name``.
    urls: str = ""
    app_urls: str = ""
    # ``connection_urls``: pages of one connection (e.g. its settings) at
    # ``/app/connections/<connection_id>/<url_prefix>/``; the views get ``connection_id``.
    connection_urls: str = ""
    url_prefix: str = ""

    @property
    def mount(self) -> str:
        return self.url_prefix or self.name
    # Whether ``deliver`` handles the ``stage_move`` channel (score rules of stage mappings).
    supports_stage_move: bool = False

    def verify_inbound(self, request: HttpRequest, *, raw_body: bytes, kind: str) -> VerifiedInbound:
        """Authenticate an inbound call of ``kind`` (e.g. "partner", "company") from the raw body
        or raise ``InboundRejected``."""
        raise NotImplementedError

    def acknowledge(self, event: WebhookEvent, *, duplicate: bool) -> HttpResponse:
        """The fast answer to a stored (or duplicate) inbound event."""
        raise NotImplementedError

    def parse(self, event: WebhookEvent) -> list[NormalizedEvent]:
        """Turn a stored, verified event into normalized events (raise
        ``integrations.errors.PayloadError`` for one that cannot be; it is not retried)."""
        raise NotImplementedError

    def delivery_for(self, *, connection: Connection, assessment: Assessment, to_status: str) -> DeliverySpec | None:
        """The write-back an assessment's new status calls for, or None."""
        raise NotImplementedError

    def deliver(self, delivery: Delivery) -> WriteBackResult:
        """Send one outbox row to the ATS (raises ``integrations.http.ClientError`` subclasses).
        A ``stage_move`` row's payload: ``to_stage_id`` / ``to_sub_status`` (blank: leave only
        ``note``), ``rule`` ("pass" / "fail"), ``score`` and ``threshold``. A write-back of several
        calls skips the steps already in ``delivery.remote_refs`` and, when a step fails, sets
        ``remote_refs`` on the exception it raises to the refs of the steps done: they are stored
        with the failed attempt, so the retry repeats only what is missing."""
        raise NotImplementedError

    def connection_settings_url(self, connection: Connection) -> str:
        """The connection's settings page (linked from the connections list), or "" when it has none."""
        return ""

    # --- the connections page (/app/connections/) ------------------------------------------------
    def connect_links(self) -> list[tuple[str, str]]:
        """(label, url) of the pages where a tenant admin connects this ATS from Stagehook's side."""
        return []

    def delivery_release_held(self, delivery: Delivery) -> bool:
        """Let a write-back this provider holds go out once without the check that held it: the
        provider could not tell whether an earlier try arrived (SmartRecruiters' note), and a
        person looked in the ATS and did not find it. Records the release on ``delivery`` (locked
        by the caller) and returns True; False, changing nothing, when the delivery is not held.
        Default: this provider holds nothing."""
        return False

    def connection_panel(self, connection: Connection) -> dict[str, Any] | None:
        """The provider's own part of a connection's card: ``{"template", "context"}``, or None."""
        return None

    def attention_fix(self, connection: Connection) -> str:
        """What the recruiter does about a connection that needs attention, in words; "": the
        generic text (check the credentials, then sync)."""
        return ""

    def candidate_fetch(self, connection: Connection, *, remote_candidate_id: str) -> Candidate | None:
        """Read one candidate from the ATS, for events that name a candidate we have not mirrored
        (e.g. a stage change whose webhook carries only ids). None when the ATS does not know it."""
        raise NotImplementedError

    def job_fetch(self, connection: Connection, *, remote_job_id: str) -> JobChanged | None:
        """Read one job from the ATS (its title names the interview for the candidate and the
        recruiter). None when the ATS does not know it."""
        return None

    # A cap of the sync's own, paced per page on top of the shared per-credential limiter its
    # client takes. None (both ATSs): the sync takes slots of that limiter like every caller. It
    # fetches one page at a time, so each webhook-driven read or write-back waiting beside it wins
    # about every other slot: with triggers waiting the sync slows down, with none it runs at the
    # ATS's whole rate (issue 10: >= 90 % of the allowed rate).
    sync_rate: Rate | None = None

    def sync_unavailable(self, connection: Connection) -> str:
        """Why this connection cannot be synced (e.g. no API key stored), or "" when it can."""
        if type(self).pages is Provider.pages:
            return f"the {self.name} integration cannot sync yet"
        return ""

    def pages(self, connection: Connection, *, kind: str, cursor: str | None) -> Iterator[Page]:
        """Every record of ``kind`` (one of ``SYNC_KINDS``) changed at or after ``cursor`` (an ISO
        8601 remote updated-at; None: every record), as normalized ``Page``s in ascending cursor
        order. Raises ``integrations.http.ClientError`` subclasses."""
        raise NotImplementedError

    def validate_credentials(self, connection: Connection) -> None:
        """Raise ``integrations.http.ClientError`` when the stored credentials do not work."""
        raise NotImplementedError


_registry: dict[str, Provider] = {}


def provider_register(provider: Provider) -> Provider:
    _registry[provider.name] = provider
    return provider


def provider_unregister(name: str) -> None:
    """Remove a provider (tests register throw-away providers)."""
    _registry.pop(name, None)


def provider_get(name: str) -> Provider:
    try:
        return _registry[name]
    except KeyError:
        raise LookupError(f"no provider registered as {name!r}") from None


def provider_names() -> list[str]:
    return sorted(_registry)


def provider_all() -> list[Provider]:
    return [_registry[name] for name in sorted(_registry)]
