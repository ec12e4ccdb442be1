"""Building and delivering invitations (e-mail and SMS). Pure transport: no status changes here;
:func:`assessments.services.assessment_invite` decides what a failure means for the assessment."""

import logging
import smtplib
import socket
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.validators import validate_email
from django.template.loader import render_to_string

from .exceptions import InvitationTemporaryFailure, InvitationUndeliverable
from .models import Assessment
from .sms import SmsPermanentError, SmsTemporaryError, get_sms_backend, phone_normalize

logger = logging.getLogger(__name__)

EMAIL_TIMEOUT_SECONDS = 30


def candidate_link(*, token: str) -> str:
    return f"{settings.SITE_URL}/i/{token}/"


def _context(*, assessment: Assessment, token: str, reminder: bool) -> dict:
    return {
        "assessment": assessment,
        "tenant_name": assessment.tenant.name,
        "package": assessment.package,
        "first_name": assessment.candidate_first_name,
        "job_title": assessment.remote_job_title,
        "link": candidate_link(token=token),
        "expires_at": assessment.expires_at,
        "duration_minutes": assessment.package.duration_minutes,
        "reminder": reminder,
    }


def invitation_email_build(*, assessment: Assessment, token: str, reminder: bool = False) -> EmailMultiAlternatives:
    context = _context(assessment=assessment, token=token, reminder=reminder)
    subject = " ".join(render_to_string("assessments/email/invitation_subject.txt", context).split())
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("assessments/email/invitation.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[assessment.candidate_email],
    )
    message.attach_alternative(render_to_string("assessments/email/invitation.html", context), "text/html")
    return message


def invitation_sms_text(*, assessment: Assessment, token: str, reminder: bool = False) -> str:
    context = _context(assessment=assessment, token=token, reminder=reminder)
    return " ".join(render_to_string("assessments/email/invitation_sms.txt", context).split())


@dataclass(frozen=True)
class DeliveryOutcome:
    sent: tuple[str, ...]
    failures: tuple[str, ...]


def _send_email(*, assessment: Assessment, token: str, reminder: bool) -> None:
    try:
        validate_email(assessment.candidate_email)
    except ValidationError:
        raise InvitationUndeliverable("invalid e-mail address") from None
    try:
        message = invitation_email_build(assessment=assessment, token=token, reminder=reminder)
        # Sent while the assessment row is locked: never wait on a hung mail server for long.
        message.connection = get_connection(timeout=getattr(settings, "EMAIL_TIMEOUT", None) or EMAIL_TIMEOUT_SECONDS)
        message.send(fail_silently=False)
    except smtplib.SMTPRecipientsRefused:
        raise InvitationUndeliverable("e-mail address refused by the mail server") from None
    except smtplib.SMTPResponseException as exc:
        # A 5xx about the message is permanent; anything else (4xx, greylisting) may pass later.
        if 500 <= exc.smtp_code < 600 and not isinstance(exc, smtplib.SMTPSenderRefused):
            raise InvitationUndeliverable(f"e-mail rejected by the mail server ({exc.smtp_code})") from None
        raise InvitationTemporaryFailure(f"mail server answered {exc.smtp_code}") from None
    except (smtplib.SMTPException, OSError, socket.timeout) as exc:
        raise InvitationTemporaryFailure(f"mail server unreachable: {type(exc).__name__}") from None


def _send_sms(*, assessment: Assessment, token: str, reminder: bool) -> None:
    try:
        to = phone_normalize(assessment.candidate_phone)
        get_sms_backend().send(to=to, body=invitation_sms_text(assessment=assessment, token=token, reminder=reminder))
    except SmsPermanentError as exc:
        raise InvitationUndeliverable(str(exc)) from None
    except SmsTemporaryError as exc:
        raise InvitationTemporaryFailure(str(exc)) from None


def invitation_deliver(*, assessment: Assessment, token: str, reminder: bool = False) -> DeliveryOutcome:
    """Send over every channel the candidate has. One channel reaching the candidate is enough;
    otherwise raise InvitationTemporaryFailure if any channel may work later, else
    InvitationUndeliverable. Error messages never contain the address or the link."""
    sent: list[str] = []
    failures: list[tuple[str, Exception]] = []
    channels = []
    if assessment.candidate_email:
        channels.append(("email", _send_email))
    if assessment.candidate_phone:
        channels.append(("sms", _send_sms))
    if not channels:
        raise InvitationUndeliverable("the candidate has neither e-mail nor phone")
    for name, send in channels:
        try:
            send(assessment=assessment, token=token, reminder=reminder)
        except (InvitationUndeliverable, InvitationTemporaryFailure) as exc:
            logger.warning("invitation %s for assessment %s failed: %s", name, assessment.pk, exc.message)
            failures.append((name, exc))
        else:
            sent.append(name)
    described = tuple(f"{name}: {exc.message}" for name, exc in failures)
    if sent:
        return DeliveryOutcome(sent=tuple(sent), failures=described)
    if any(isinstance(exc, InvitationTemporaryFailure) for _, exc in failures):
        raise InvitationTemporaryFailure("; ".join(described))
    raise InvitationUndeliverable("; ".join(described))
