"""Building and delivering invitations (e-mail and SMS). Pure transport: no status changes here;
:func:`assessments.services.assessment_invite` decides what a failure means for the assessment."""

import logging
import smtplib
import socket
from dataclasses import dataclass
from email.utils import formataddr, parseaddr

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.validators import validate_email
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from tenants.branding import branding_render

from .candidate_texts import assessment_branding, assessment_placeholder_values, candidate_locale, local_datetime_text
from .exceptions import InvitationTemporaryFailure, InvitationUndeliverable
from .models import Assessment
from .sms import SmsPermanentError, SmsTemporaryError, get_sms_backend, phone_normalize

logger = logging.getLogger(__name__)

EMAIL_TIMEOUT_SECONDS = 30


# ``reminder`` is False (the invitation), True (the reminder before the deadline) or NOT_STARTED
# (the reminder of a candidate who has not started after the package's hours).
NOT_STARTED = "not_started"


def candidate_link(*, token: str) -> str:
    return f"{settings.SITE_URL}/i/{token}/"


def _context(*, assessment: Assessment, token: str, reminder: bool | str) -> dict:
    """Call inside :func:`candidate_locale` (dates in the candidate's language and time zone)."""
    link = candidate_link(token=token)
    branding = assessment_branding(assessment=assessment)
    values = assessment_placeholder_values(assessment=assessment, link=link)
    return {
        "branding": branding,
        "values": values,
        "deadline": local_datetime_text(assessment.expires_at),
        "logo_url": (f"{settings.SITE_URL}/app/branding/{assessment.tenant.slug}/logo?h={branding.logo_sha256[:16]}"
                     if branding.logo_sha256 else ""),
        "custom_body_html": branding_render(branding.email_body, values, html=True) if branding.email_body.strip() else "",
        "assessment": assessment,
        "tenant_name": assessment.tenant.name,
        "package": assessment.package,
        "first_name": assessment.candidate_first_name,
        "job_title": assessment.remote_job_title,
        "link": candidate_link(token=token),
        "expires_at": assessment.expires_at,
        "duration_minutes": assessment.package.duration_minutes,
        "reminder": bool(reminder),
        "not_started": reminder == NOT_STARTED,
    }


def _from_email(branding) -> str:
    if not branding.sender_name:
        return settings.DEFAULT_FROM_EMAIL
    _, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    # formataddr quotes/encodes the tenant's name: it cannot add headers or addresses.
    return formataddr((branding.sender_name.replace("\r", " ").replace("\n", " "), address))


def invitation_email_build(*, assessment: Assessment, token: str, reminder: bool | str = False) -> EmailMultiAlternatives:
    """The invitation (or reminder) in the candidate's language, with the tenant's branding: its
    subject and body texts when set (placeholders filled, never template code), else ours."""
    with candidate_locale(assessment=assessment) as language:
        context = _context(assessment=assessment, token=token, reminder=reminder)
        context["language"] = language
        branding = context["branding"]
        if branding.email_subject.strip():
            subject = branding_render(branding.email_subject, context["values"])
            if reminder:
                subject = _("Reminder: %(subject)s") % {"subject": subject}
        else:
            subject = render_to_string("assessments/email/invitation_subject.txt", context)
        if branding.email_body.strip():
            body = render_to_string("assessments/email/invitation_custom.txt", {
                **context, "custom_body": branding_render(branding.email_body, context["values"])})
        else:
            body = render_to_string("assessments/email/invitation.txt", context)
        html = render_to_string("assessments/email/invitation.html", context)
    message = EmailMultiAlternatives(
        subject=" ".join(subject.split()),
        body=body,
        from_email=_from_email(branding),
        to=[assessment.candidate_email],
        reply_to=[branding.reply_to] if branding.reply_to else None,
        headers={"Content-Language": language},
    )
    message.attach_alternative(html, "text/html")
    return message


def invitation_sms_text(*, assessment: Assessment, token: str, reminder: bool | str = False) -> str:
    with candidate_locale(assessment=assessment):
        context = _context(assessment=assessment, token=token, reminder=reminder)
        branding = context["branding"]
        if branding.sms_text.strip():
            text = branding_render(branding.sms_text, context["values"])
            if "{link}" not in branding.sms_text:
                text = f"{text} {context['link']}"  # the SMS is useless without the link
            if reminder:
                text = _("Reminder: %(subject)s") % {"subject": text}
        else:
            text = render_to_string("assessments/email/invitation_sms.txt", context)
    return " ".join(text.split())


@dataclass(frozen=True)
class DeliveryOutcome:
    sent: tuple[str, ...]
    failures: tuple[str, ...]


def _send_email(*, assessment: Assessment, token: str, reminder: bool | str) -> None:
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


def _send_sms(*, assessment: Assessment, token: str, reminder: bool | str) -> None:
    try:
        to = phone_normalize(assessment.candidate_phone)
        get_sms_backend().send(to=to, body=invitation_sms_text(assessment=assessment, token=token, reminder=reminder))
    except SmsPermanentError as exc:
        raise InvitationUndeliverable(str(exc)) from None
    except SmsTemporaryError as exc:
        raise InvitationTemporaryFailure(str(exc)) from None


def invitation_deliver(*, assessment: Assessment, token: str, reminder: bool | str = False) -> DeliveryOutcome:
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
