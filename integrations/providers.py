"""The provider seam: what an ATS integration is, the events it emits, and the registry.

Shared machinery (intake, outbox, sync) talks only to this page; each ATS folder implements a
``Provider`` and registers it under its name. Core code never says ``if provider == "..."``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

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


@dataclass(frozen=True)
class AssessmentOrdered:
    """The ATS asked for one of our packages (order mode)."""

    remote_order_id: str
    package_id: str
    candidate: Candidate
    remote_application_id: str = ""
    remote_job_id: str = ""
    remote_job_title: str = ""
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
class InboundRejected(Exception):
    """An inbound call we refuse: answered with ``status`` and a JSON error, nothing stored."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class VerifiedInbound:
    """An authenticated inbound call: whose it is and how to store it."""

    connection: Connection | None
    event_id: str
    event_type: str
    payload: Any


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


@dataclass(frozen=True)
class Page:
    kind: str  # "jobs" | "stages" | "candidates" | "applications"
    items: list[dict[str, Any]]
    next_cursor: str | None


class Provider:
    """Base class: one subclass per ATS, in ``integrations/<name>/provider.py``."""

    name: str = ""

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
        """Send one outbox row to the ATS (raises ``integrations.http.ClientError`` subclasses)."""
        raise NotImplementedError

    def candidate_fetch(self, connection: Connection, *, remote_candidate_id: str) -> Candidate | None:
        """Read one candidate from the ATS, for events that name a candidate we have not mirrored
        (e.g. a stage change whose webhook carries only ids). None when the ATS does not know it."""
        raise NotImplementedError

    def job_fetch(self, connection: Connection, *, remote_job_id: str) -> JobChanged | None:
        """Read one job from the ATS (its title names the interview for the candidate and the
        recruiter). None when the ATS does not know it."""
        return None

    def pages(self, connection: Connection, *, kind: str, cursor: str | None) -> Iterator[Page]:
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
