"""Listeners of what the assessments app announces; connected in ``IntegrationsConfig.ready``."""

from __future__ import annotations

from assessments.signals import assessment_status_changed, candidate_erasure_requested

from .deliveries import delivery_create_for_status_change
from .retention import candidate_integration_data_erase

DISPATCH_PREFIX = "integrations."


def on_assessment_status_changed(sender, *, assessment, to_status, **kwargs) -> None:
    """Queue the ATS write-back in the status change's own transaction."""
    delivery_create_for_status_change(assessment=assessment, to_status=to_status)


def on_candidate_erasure_requested(sender, *, email, tenant=None, assessment_ids=(), phones=(), **kwargs) -> int:
    """Erase the candidate from the mirror, the inbox and the outbox; returns the rows changed."""
    return candidate_integration_data_erase(email=email, tenant=tenant, assessment_ids=assessment_ids, phones=phones)


def connect() -> None:
    assessment_status_changed.connect(
        on_assessment_status_changed, dispatch_uid=DISPATCH_PREFIX + "delivery_on_status_change"
    )
    candidate_erasure_requested.connect(
        on_candidate_erasure_requested, dispatch_uid=DISPATCH_PREFIX + "mirror_erasure"
    )
