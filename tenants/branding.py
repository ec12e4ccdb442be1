"""Tenant-authored texts, rendered safely, and the branding's writes and reads.

A tenant's texts (invitation subject/body, SMS, welcome text, privacy notice) may use only the
placeholders in :data:`PLACEHOLDERS`, written ``{name}``; ``{{`` and ``}}`` are literal braces.
They are parsed by :func:`string.Formatter.parse` and substituted by hand (no attribute or index
access, no format specs), never rendered by Django's template engine, so ``{{ settings.SECRET_KEY }}``
is just text and ``<script>`` is escaped wherever the text becomes HTML.
"""

import hashlib
import re
import string
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.html import escape, linebreaks
from django.utils.safestring import mark_safe

from .branding_models import Branding, BrandingVersion
from .models import Tenant

PLACEHOLDERS = {
    "candidate_first_name": "the candidate's first name",
    "company": "your company's name",
    "job_title": "the job's title",
    "link": "the candidate's personal interview link",
    "deadline": "the date and time the interview must be completed by",
}
TEXT_FIELDS = ("email_subject", "email_body", "sms_text", "welcome_text", "privacy_notice")
SNAPSHOT_FIELDS = ("primary_colour", "sender_name", "reply_to", "default_language", *TEXT_FIELDS, "logo_sha256")
COLOUR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
LOGO_MAX_BYTES = 200_000
LOGO_TYPES = {  # magic bytes -> content type; no SVG (it can carry script)
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
    b"GIF87a": "image/gif",
    b"GIF89a": "image/gif",
}
_formatter = string.Formatter()


def placeholders_in(text: str) -> list[str]:
    """The placeholder names ``text`` uses; ValidationError if it is malformed or uses anything
    but a bare whitelisted name."""
    try:
        parsed = list(_formatter.parse(text or ""))
    except ValueError as exc:
        raise ValidationError(f"Braces do not match ({exc}). Write {{{{ and }}}} for literal braces.") from None
    names = []
    unknown = []
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in PLACEHOLDERS or spec or conversion:
            unknown.append("{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}")
        else:
            names.append(name)
    if unknown:
        raise ValidationError(
            "Unknown placeholder%s %s. Allowed: %s." % (
                "s" if len(unknown) > 1 else "", ", ".join(unknown), ", ".join("{" + p + "}" for p in PLACEHOLDERS)),
            code="unknown_placeholder",
        )
    return names


def branding_render(text: str, values: dict[str, str], *, html: bool = False) -> str:
    """``text`` with its placeholders filled from ``values`` (missing ones become empty). With
    ``html``, literal text and values are escaped and paragraphs kept: a SafeString ("" for a blank text)."""
    if html and not (text or "").strip():
        return ""
    parts = []
    try:
        parsed = list(_formatter.parse(text or ""))
    except ValueError:
        parsed = [(text or "", None, "", None)]  # never saved (validated), but never crash a send either
    for literal, name, _spec, _conversion in parsed:
        parts.append(escape(literal) if html else literal)
        if name is not None:
            value = str(values.get(name, "")) if name in PLACEHOLDERS else ""
            parts.append(escape(value) if html else value)
    rendered = "".join(parts)
    if html:
        return mark_safe(linebreaks(rendered, autoescape=False))  # noqa: S308 - every part escaped above
    return rendered


@dataclass(frozen=True)
class Logo:
    data: bytes
    content_type: str


def logo_validate(data: bytes) -> Logo:
    if len(data) > LOGO_MAX_BYTES:
        raise ValidationError(f"The logo is larger than {LOGO_MAX_BYTES // 1000} kB.")
    for magic, content_type in LOGO_TYPES.items():
        if data.startswith(magic):
            return Logo(data=data, content_type=content_type)
    raise ValidationError("The logo must be a PNG, JPEG or GIF image.")


def branding_validate(*, values: dict) -> dict:
    """Clean editor values (ValidationError with a dict of field errors)."""
    errors: dict[str, list[str]] = {}
    cleaned = dict(values)
    colour = (values.get("primary_colour") or "").strip()
    if not COLOUR_RE.match(colour):
        errors["primary_colour"] = ["Enter a colour as #rrggbb."]
    cleaned["primary_colour"] = colour.lower()
    for name in TEXT_FIELDS:
        try:
            placeholders_in(values.get(name) or "")
        except ValidationError as exc:
            errors[name] = exc.messages
    if "\n" in (values.get("email_subject") or ""):
        errors.setdefault("email_subject", []).append("The subject must be one line.")
    if errors:
        raise ValidationError(errors)
    return cleaned


def branding_get(*, tenant: Tenant) -> Branding:
    """The tenant's branding, or an unsaved default one (Stagehook's look and texts)."""
    branding = Branding.objects.filter(tenant=tenant).first()
    return branding or Branding(tenant=tenant)


def branding_update(*, tenant: Tenant, values: dict, changed_by=None, logo: bytes | None = None,
                    remove_logo: bool = False) -> Branding:
    """Validate and save ``values`` (the editor's fields), bump the version and record a snapshot."""
    cleaned = branding_validate(values=values)
    checked_logo = logo_validate(logo) if logo else None
    with transaction.atomic():
        branding, _ = Branding.objects.select_for_update().get_or_create(tenant=tenant)
        for name in ("primary_colour", "sender_name", "reply_to", "default_language", *TEXT_FIELDS):
            if name in cleaned:
                setattr(branding, name, (cleaned[name] or "").strip() if name != "email_body" else cleaned[name] or "")
        if checked_logo is not None:
            branding.logo = checked_logo.data
            branding.logo_content_type = checked_logo.content_type
            branding.logo_sha256 = hashlib.sha256(checked_logo.data).hexdigest()
        elif remove_logo:
            branding.logo, branding.logo_content_type, branding.logo_sha256 = None, "", ""
        branding.version += 1
        branding.full_clean(exclude=["tenant", "logo"])
        branding.save()
        BrandingVersion.objects.create(
            branding=branding, number=branding.version, changed_by=changed_by,
            snapshot={name: getattr(branding, name) for name in SNAPSHOT_FIELDS},
        )
    return branding


def branding_versions(*, tenant: Tenant, limit: int = 20) -> list[BrandingVersion]:
    return list(BrandingVersion.objects.filter(branding__tenant=tenant).select_related("changed_by")
                .order_by("-number")[:limit])


def branding_sample_values(*, tenant: Tenant) -> dict[str, str]:
    """Placeholder values for the editor's preview."""
    return {"candidate_first_name": "Alex", "company": tenant.name, "job_title": "Backend engineer",
            "link": "https://example.com/i/your-personal-link/", "deadline": "8 December 2026, 23:59"}
