"""Celery tasks of the assessments app: thin transports that call services. Tasks take ids only and
are safe to run twice (acks late): each service re-checks the row under a lock."""

import logging

from celery import shared_task

from . import services
from .exceptions import InvitationTemporaryFailure
from .models import Assessment
from .selectors import (
    assessment_ids_due_early_reminder,
    assessment_ids_due_expiry,
    assessment_ids_due_reminder,
    assessment_ids_invitation_stuck,
)

logger = logging.getLogger(__name__)

INVITATION_MAX_RETRIES = 6
INVITATION_RETRY_BASE_SECONDS = 60
INVITATION_RETRY_MAX_SECONDS = 3600


@shared_task(bind=True, max_retries=INVITATION_MAX_RETRIES, acks_late=True)
def send_invitation(self, assessment_id: int) -> None:
    """Deliver the first invitation (``ordered -> invited``), retrying temporary failures with
    exponential backoff; when retries run out the assessment is failed, so the ATS learns."""
    try:
        services.assessment_invite(assessment_id=assessment_id)
    except Assessment.DoesNotExist:
        logger.info("send_invitation: assessment %s no longer exists", assessment_id)
    except InvitationTemporaryFailure as exc:
        if self.request.retries >= self.max_retries:
            services.assessment_invite_give_up(
                assessment_id=assessment_id,
                reason=f"invitation not delivered after {self.request.retries + 1} attempts: {exc.message}",
            )
            return
        countdown = min(INVITATION_RETRY_MAX_SECONDS, INVITATION_RETRY_BASE_SECONDS * 2 ** self.request.retries)
        raise self.retry(exc=exc, countdown=countdown) from None


@shared_task(acks_late=True)
def sweep_invitations() -> int:
    """Beat: queue the invitation of orders whose own task never ran (a lost task never loses a
    candidate). ``assessment_invite`` re-checks the status under a lock, so a late original task
    and this one cannot both send."""
    ids = assessment_ids_invitation_stuck()
    for assessment_id in ids:
        send_invitation.delay(assessment_id)
    if ids:
        logger.warning("sweep_invitations: re-queued %d invitations that were never sent", len(ids))
    return len(ids)


@shared_task(acks_late=True)
def expire_assessments() -> int:
    """Beat: expire open assessments past their deadline, through the status machine (so the ATS
    hears about it). Rows another worker holds are skipped and caught by the next run."""
    expired = 0
    for assessment_id in assessment_ids_due_expiry():
        try:
            if services.assessment_expire(assessment_id=assessment_id) is not None:
                expired += 1
        except Exception:  # one broken row (or listener) must not stop the sweep
            logger.exception("expire_assessments: assessment %s failed", assessment_id)
    if expired:
        logger.info("expire_assessments: expired %d assessments", expired)
    return expired


@shared_task(acks_late=True)
def send_reminders() -> int:
    """Beat: one reminder per invited assessment, its package's hours (24 by default) before it expires."""
    reminded = 0
    for assessment_id in assessment_ids_due_reminder():
        try:
            if services.assessment_remind(assessment_id=assessment_id) is not None:
                reminded += 1
        except Exception:  # one broken row must not stop the sweep
            logger.exception("send_reminders: assessment %s failed", assessment_id)
    return reminded


@shared_task(acks_late=True)
def send_early_reminders() -> int:
    """Beat: remind invited candidates who have not started after their package's ``reminder_after_hours``."""
    reminded = 0
    for assessment_id in assessment_ids_due_early_reminder():
        try:
            if services.assessment_remind(assessment_id=assessment_id, early=True) is not None:
                reminded += 1
        except Exception:  # one broken row must not stop the sweep
            logger.exception("send_early_reminders: assessment %s failed", assessment_id)
    return reminded


@shared_task
def purge_personal_data() -> None:
    """Beat (daily): remove candidate personal data past each tenant's retention period."""
    # Imported here so this task's edit stays inside its own body.
    from .retention import personal_data_purge

    # Idempotent and concurrency-safe (rows locked with SKIP LOCKED), so a re-delivery is harmless.
    count = personal_data_purge()
    logger.info("purge_personal_data: purged %d assessments", count)
