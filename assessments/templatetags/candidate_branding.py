"""``{% load candidate_branding %}``: the tenant's texts for one assessment, and dates in the
candidate's language and time zone (the view activated both)."""

from django import template

from tenants.branding import branding_get, branding_render

from ..candidate_texts import assessment_placeholder_values, local_datetime_text

register = template.Library()


@register.simple_tag
def assessment_brand_text(assessment, field):
    """The tenant's ``field`` (welcome_text, privacy_notice) as escaped HTML, or "" when unset."""
    text = getattr(branding_get(tenant=assessment.tenant), field, "") or ""
    if not text.strip():
        return ""
    return branding_render(text, assessment_placeholder_values(assessment=assessment), html=True)


@register.simple_tag
def candidate_datetime(value):
    return local_datetime_text(value)
