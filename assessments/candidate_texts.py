"""What a candidate reads, in their language and time zone, with the tenant's branding: the
placeholder values of the tenant's texts and the language/time zone chosen for an assessment."""

import zoneinfo
from contextlib import contextmanager
from datetime import datetime

from django.conf import settings
from django.utils import dateformat, timezone, translation

from tenants.branding import branding_get

from .models import Assessment

SUPPORTED = {code for code, _ in settings.LANGUAGES}


def _supported(code: str) -> str:
    code = (code or "").strip().replace("_", "-").lower()
    if code in SUPPORTED:
        return code
    base = code.split("-")[0]
    return base if base in SUPPORTED else ""


def assessment_branding(*, assessment: Assessment):
    """The tenant's branding for what this assessment's candidate reads, read once per assessment
    object (an invitation asks for it for its language and again for its texts)."""
    cached = getattr(assessment, "_candidate_branding", None)
    if cached is None or cached.tenant_id != assessment.tenant_id:
        cached = branding_get(tenant=assessment.tenant)
        assessment._candidate_branding = cached
    return cached


def assessment_language(*, assessment: Assessment) -> str:
    """The order's language (set by the ATS integration), else the package's, else the tenant's
    default (its branding), else English."""
    for candidate in (assessment.language, assessment.package.language):
        code = _supported(candidate)
        if code:
            return code
    return _supported(assessment_branding(assessment=assessment).default_language) or "en"


def assessment_time_zone(*, assessment: Assessment):
    try:
        return zoneinfo.ZoneInfo(assessment.time_zone) if assessment.time_zone else timezone.get_default_timezone()
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return timezone.get_default_timezone()


@contextmanager
def candidate_locale(*, assessment: Assessment, language: str = ""):
    """Activate the candidate's language (``language`` if supported, e.g. the candidate's own
    choice) and time zone for the block."""
    code = _supported(language) or assessment_language(assessment=assessment)
    with translation.override(code), timezone.override(assessment_time_zone(assessment=assessment)):
        yield code


# Long dates as candidates in each language write them (month names come from Django's catalogues).
DATETIME_FORMATS = {"de": "j. F Y, H:i", "fr": "j F Y, H:i", "sv": "j F Y, H:i"}
DEFAULT_DATETIME_FORMAT = "j F Y, H:i"


def local_datetime_text(value: datetime | None) -> str:
    """``value`` in the active language and time zone, with the zone's name: ``6. Dezember 2026, 12:23 CET``."""
    if value is None:
        return ""
    local = timezone.localtime(value)
    pattern = DATETIME_FORMATS.get(translation.get_language() or "", DEFAULT_DATETIME_FORMAT)
    return f"{dateformat.format(local, pattern)} {local.tzname()}"


def assessment_placeholder_values(*, assessment: Assessment, link: str = "") -> dict[str, str]:
    """Values of the tenant texts' placeholders (call inside :func:`candidate_locale`)."""
    return {
        "candidate_first_name": assessment.candidate_first_name,
        "company": assessment.tenant.name,
        "job_title": assessment.remote_job_title,
        "link": link,
        "deadline": local_datetime_text(assessment.expires_at),
    }
