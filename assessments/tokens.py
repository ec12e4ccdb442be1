"""Secrets that reach candidates and ATSs: the invitation token and the signed report link.

The invitation token is >= 128 bits of randomness; only its SHA-256 is stored, so a database dump
opens no interview. The raw token lives only in the message being sent, which is why every send
(first invitation, re-send, reminder) issues a fresh one and the previous link stops working.
"""

import hashlib
import re
import secrets

from django.conf import settings
from django.core import signing

# 32 bytes -> 43 url-safe characters, 256 bits.
TOKEN_BYTES = 32
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{32,128}$")

REPORT_SIGNING_SALT = "assessments.report"
# How long a report link handed to an ATS stays valid; the ATS keeps the link in its candidate
# profile, so it is long-lived but not eternal.
REPORT_LINK_MAX_AGE_SECONDS = getattr(settings, "ASSESSMENT_REPORT_LINK_MAX_AGE", 90 * 24 * 3600)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_new() -> tuple[str, str]:
    """A fresh invitation token and its digest (the only part that is stored)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return token, token_digest(token)


def token_is_well_formed(token: str) -> bool:
    """Cheap shape check so garbage never reaches the database."""
    return bool(_TOKEN_RE.match(token or ""))


class ReportLinkInvalid(Exception):
    pass


class ReportLinkExpired(ReportLinkInvalid):
    pass


def _report_signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=REPORT_SIGNING_SALT)


def report_sign(*, assessment_id: int) -> str:
    return _report_signer().sign(str(assessment_id))


def report_unsign(*, signed: str, max_age: int | None = None) -> int:
    """The assessment id inside ``signed``; raises ReportLinkExpired / ReportLinkInvalid."""
    max_age = REPORT_LINK_MAX_AGE_SECONDS if max_age is None else max_age
    try:
        value = _report_signer().unsign(signed, max_age=max_age)
    except signing.SignatureExpired as exc:
        raise ReportLinkExpired(str(exc)) from None
    except signing.BadSignature as exc:
        raise ReportLinkInvalid(str(exc)) from None
    try:
        return int(value)
    except ValueError:
        raise ReportLinkInvalid("not an assessment id") from None
