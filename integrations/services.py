"""Writes on connections and the remote mirror. Mirror rows are always keyed by connection + remote id."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from assessments.models import Assessment
from assessments.retention import candidate_erase

from .errors import ClientError
from . import inbound_cache
from .models import (
    AssessmentLink,
    Connection,
    ConnectionEvent,
    ConnectionStatus,
    RemoteApplication,
    RemoteCandidate,
    RemoteJob,
    secret_hash,
)
from .providers import Candidate, provider_get

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConnectionTestResult:
    ok: bool
    message: str


def connection_test(*, connection: Connection) -> ConnectionTestResult:
    """Ask the provider whether the stored credentials work (the admin's "test connection")."""
    try:
        provider = provider_get(connection.provider)
        provider.validate_credentials(connection)
    except LookupError:
        return ConnectionTestResult(False, f"no provider is registered as {connection.provider}")
    except NotImplementedError:
        return ConnectionTestResult(False, f"the {connection.provider} provider cannot validate credentials yet")
    except ClientError as exc:
        return ConnectionTestResult(False, f"{exc.code}: {exc.message}")
    return ConnectionTestResult(True, "the credentials work")


def connection_credentials_update(*, connection: Connection, changes: dict[str, str]) -> Connection:
    """Set (or, with an empty value, remove) the named credentials; the rest stay as stored.
    ``provider_key`` is also kept as a lookup hash; a ``connection_token`` is kept only as a hash."""
    with transaction.atomic():
        locked = Connection.objects.select_for_update().get(pk=connection.pk)
        credentials = dict(locked.credentials or {})
        fields = ["credentials", "updated_at"]
        for key, value in changes.items():
            if key == "connection_token":
                locked.connection_token_hash = secret_hash(value) if value else None
                fields.append("connection_token_hash")
            elif value:
                credentials[key] = value
            else:
                credentials.pop(key, None)
        if "provider_key" in changes:
            locked.provider_key_hash = secret_hash(credentials["provider_key"]) if credentials.get("provider_key") else None
            fields.append("provider_key_hash")
        locked.credentials = credentials
        locked.save(update_fields=fields)
    return locked


def connection_status_set(*, connection: Connection, status: str, actor: str, reason: str = "") -> bool:
    """The one way a connection's status changes: the locked row is updated and a
    ``ConnectionEvent`` records who (``actor``), what (from -> to) and why (``reason``). A repeat of
    the current status and reason writes nothing. Returns whether anything changed; ``connection``
    is updated in place."""
    if status not in ConnectionStatus.values:
        raise ValueError(f"unknown connection status {status}")
    reason = (reason or "")[:300]
    with transaction.atomic():
        locked = Connection.objects.select_for_update().get(pk=connection.pk)
        if locked.status == status and locked.status_reason == reason:
            connection.status, connection.status_reason = locked.status, locked.status_reason
            return False
        previous = locked.status
        Connection.objects.filter(pk=locked.pk).update(status=status, status_reason=reason, updated_at=timezone.now())
        inbound_cache.clear()  # an update() sends no post_save: a disconnect takes effect at once here
        ConnectionEvent.objects.create(
            connection=locked, from_status=previous, to_status=status, actor=actor[:200], reason=reason
        )
    connection.status, connection.status_reason = status, reason
    logger.info("connection %s: %s -> %s by %s", connection.pk, previous, status, actor[:200])
    return True


def connection_disconnect(*, connection: Connection, reason: str = "", actor: str = "ats") -> Connection:
    connection_status_set(
        connection=connection, status=ConnectionStatus.DISCONNECTED, actor=actor, reason=reason or "removed in the ATS"
    )
    return connection


def connection_needs_attention(*, connection: Connection, reason: str, actor: str = "system") -> Connection:
    """Flag a connection whose credentials the ATS refused (a disconnected one stays disconnected)."""
    if connection.status == ConnectionStatus.DISCONNECTED:
        return connection
    connection_status_set(connection=connection, status=ConnectionStatus.NEEDS_ATTENTION, actor=actor, reason=reason)
    return connection


def assessment_link_get_or_create(*, assessment, connection: Connection, remote_stage_id: str = "") -> AssessmentLink:
    """The integration's link row of an assessment made through ``connection``: the ATS's ids
    (order, application, candidate, job, update-url), taken from the order the first time. The
    one place the integrations keep ATS ids of an assessment; the assessments app never writes it."""
    link, _ = AssessmentLink.objects.get_or_create(
        assessment=assessment,
        defaults={
            "connection": connection,
            "remote_order_id": assessment.remote_order_id,
            "remote_application_id": assessment.remote_application_id,
            "remote_candidate_id": assessment.remote_candidate_id,
            "remote_job_id": assessment.remote_job_id,
            "remote_stage_id": remote_stage_id[:128],
            "update_url": assessment.callback_url,
        },
    )
    return link


def assessment_link_result_set(*, link: AssessmentLink, remote_result_id: str) -> AssessmentLink:
    """Record the result the ATS created for the assessment (written once it is known)."""
    AssessmentLink.objects.filter(pk=link.pk).update(remote_result_id=remote_result_id[:128], updated_at=timezone.now())
    link.remote_result_id = remote_result_id[:128]
    return link


def _upsert(model, *, connection: Connection, remote_id: str, defaults: dict[str, Any]):
    obj, _ = model.objects.update_or_create(connection=connection, remote_id=remote_id, defaults=defaults)
    return obj


CANDIDATE_UPSERT_FIELDS = ("first_name", "last_name", "email", "phone", "synced_at")


def remote_candidate_upsert(*, connection: Connection, candidate: Candidate) -> RemoteCandidate:
    """One ``INSERT ... ON CONFLICT DO UPDATE`` (a webhook's candidate, on the trigger path: one
    round trip instead of update_or_create's savepoints, read and write). Other columns of an
    existing row (``data``, ``remote_updated_at``) are left as they are."""
    row = RemoteCandidate(
        connection=connection, remote_id=candidate.remote_id, first_name=candidate.first_name,
        last_name=candidate.last_name, email=candidate.email, phone=candidate.phone,
    )
    [row] = RemoteCandidate.objects.bulk_create(
        [row], update_conflicts=True, unique_fields=["connection", "remote_id"], update_fields=CANDIDATE_UPSERT_FIELDS,
    )
    return row


def remote_candidate_delete(*, connection: Connection, remote_id: str) -> int:
    deleted, _ = RemoteCandidate.objects.filter(connection=connection, remote_id=remote_id).delete()
    return deleted


def remote_job_upsert(*, connection: Connection, remote_id: str, title: str = "", status: str = "") -> RemoteJob:
    defaults = {"status": status}
    if title:
        defaults["title"] = title
    return _upsert(RemoteJob, connection=connection, remote_id=remote_id, defaults=defaults)


def remote_job_delete(*, connection: Connection, remote_id: str) -> int:
    deleted, _ = RemoteJob.objects.filter(connection=connection, remote_id=remote_id).delete()
    return deleted


def remote_application_stage_set(
    *,
    connection: Connection,
    remote_id: str,
    remote_candidate_id: str,
    remote_job_id: str,
    remote_stage_id: str,
    remote_sub_status: str = "",
    changed_at: dt.datetime | None = None,
) -> tuple[RemoteApplication, bool]:
    """Record an application's stage; returns (row, moved). ``moved`` is False for a repeat of the
    stage we already have or for a change older than the one we have (out of order)."""
    # The row stays locked until the caller's transaction ends; no savepoint of its own (an
    # exception rolls back with the caller's, and the trigger path saves the round trips).
    with transaction.atomic(savepoint=False):
        row, created = RemoteApplication.objects.select_for_update().get_or_create(
            connection=connection, remote_id=remote_id,
            defaults={
                "remote_candidate_id": remote_candidate_id, "remote_job_id": remote_job_id,
                "remote_stage_id": remote_stage_id, "remote_sub_status": remote_sub_status,
                "changed_stage_at": changed_at,
            },
        )
        if created:
            return row, True
        if changed_at and row.changed_stage_at and changed_at < row.changed_stage_at:
            return row, False
        same = row.remote_stage_id == remote_stage_id and row.remote_sub_status == remote_sub_status
        row.remote_candidate_id = remote_candidate_id or row.remote_candidate_id
        row.remote_job_id = remote_job_id or row.remote_job_id
        row.remote_stage_id = remote_stage_id
        row.remote_sub_status = remote_sub_status
        row.changed_stage_at = changed_at or row.changed_stage_at
        row.save()
        return row, not same


def remote_application_reject(
    *, connection: Connection, remote_id: str, rejected_at: dt.datetime | None
) -> RemoteApplication:
    return _upsert(RemoteApplication, connection=connection, remote_id=remote_id, defaults={"rejected_at": rejected_at})


def remote_candidates_erase(*, email: str, tenant=None) -> int:
    """Erase a candidate (by e-mail) from the mirror: their candidate rows go, their applications
    keep only ids. Returns the number of rows changed."""
    candidates = RemoteCandidate.objects.filter(email__iexact=email)
    if tenant is not None:
        candidates = candidates.filter(connection__tenant=tenant)
    keys = list(candidates.values_list("connection_id", "remote_id"))
    if not keys:
        return 0
    applications = RemoteApplication.objects.filter(
        Q(*[Q(connection_id=c, remote_candidate_id=r) for c, r in keys], _connector=Q.OR)
    ).exclude(data={})
    changed = applications.update(data={})
    deleted, _ = candidates.delete()
    return deleted + changed


def remote_candidate_erase(*, connection: Connection, remote_id: str, actor: str) -> int:
    """The ATS deleted a candidate for good: erase their personal data in the connection's tenant
    through the assessments' erasure (which cancels open interviews, scrubs assessments and, by its
    signal, the mirror, inbox and outbox). The e-mails come from the mirror and from the
    assessments ordered for that remote candidate. Returns the number of assessments erased."""
    if not remote_id:
        return 0
    emails = set(
        RemoteCandidate.objects.filter(connection=connection, remote_id=remote_id).exclude(email="")
        .values_list("email", flat=True)
    )
    emails |= set(
        Assessment.objects.filter(source=connection.source_key, remote_candidate_id=remote_id)
        .exclude(candidate_email="").values_list("candidate_email", flat=True)
    )
    return sum(candidate_erase(email=email, actor=actor, tenant=connection.tenant) for email in sorted(emails))
