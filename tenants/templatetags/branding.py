"""``{% load branding %}``: a tenant's theme stylesheet, logo and texts on the candidate pages."""

from django import template
from django.urls import reverse
from django.utils.html import format_html

from tenants.branding import branding_get, branding_render

register = template.Library()


def _branding(context, tenant):
    cache = context.render_context.setdefault("tenant_branding", {})
    if tenant.pk not in cache:
        cache[tenant.pk] = branding_get(tenant=tenant)
    return cache[tenant.pk]


@register.simple_tag(takes_context=True)
def brand_head(context, tenant):
    branding = _branding(context, tenant)
    if branding.pk is None:
        return ""
    url = reverse("app:branding-theme", args=[tenant.slug])
    return format_html('<link rel="stylesheet" href="{}?v={}">', url, branding.version)


@register.simple_tag(takes_context=True)
def brand_logo(context, tenant, css_class="brand-logo"):
    branding = _branding(context, tenant)
    if not branding.logo_sha256:
        return ""
    url = reverse("app:branding-logo", args=[tenant.slug])
    return format_html('<img class="{}" src="{}?h={}" alt="{}">', css_class, url, branding.logo_sha256[:16], tenant.name)


@register.simple_tag(takes_context=True)
def brand_text(context, tenant, field, values=None):
    """The tenant's ``field`` text as escaped HTML with placeholders filled, or "" when not set."""
    branding = _branding(context, tenant)
    text = getattr(branding, field, "") or ""
    if not text.strip():
        return ""
    return branding_render(text, values or {}, html=True)
