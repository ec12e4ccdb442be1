"""The branding editor (/app/branding/, tenant admins) with a server-rendered preview, and the
public logo and theme stylesheet the candidate pages load (no inline styles: the CSP refuses them)."""

import re

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from .branding import (
    LOGO_MAX_BYTES,
    PLACEHOLDERS,
    TEXT_FIELDS,
    branding_get,
    branding_render,
    branding_sample_values,
    branding_update,
    branding_versions,
    placeholders_in,
)
from .models import Membership, Role, Tenant

LANGUAGES = [("en", "English"), ("de", "Deutsch"), ("sv", "Svenska"), ("fr", "Français")]


class BrandingForm(forms.Form):
    primary_colour = forms.CharField(max_length=7, widget=forms.TextInput(attrs={"type": "color"}))
    logo = forms.FileField(required=False, help_text=f"PNG, JPEG or GIF, at most {LOGO_MAX_BYTES // 1000} kB.")
    remove_logo = forms.BooleanField(required=False)
    sender_name = forms.CharField(max_length=100, required=False)
    reply_to = forms.EmailField(label="Reply-to address", required=False)
    default_language = forms.ChoiceField(choices=LANGUAGES)
    email_subject = forms.CharField(label="Invitation e-mail subject", max_length=200, required=False)
    email_body = forms.CharField(label="Invitation e-mail text", required=False,
                                 widget=forms.Textarea(attrs={"rows": 8}))
    sms_text = forms.CharField(label="Invitation SMS text", max_length=480, required=False,
                               widget=forms.Textarea(attrs={"rows": 2}))
    welcome_text = forms.CharField(label="Candidate page: welcome text", required=False, widget=forms.Textarea(attrs={"rows": 4}))
    privacy_notice = forms.CharField(label="Candidate page: privacy notice", required=False, widget=forms.Textarea(attrs={"rows": 5}))

    def clean(self):
        cleaned = super().clean()
        for name in TEXT_FIELDS:
            try:
                placeholders_in(cleaned.get(name) or "")
            except ValidationError as exc:
                self.add_error(name, exc)
        return cleaned


def _admin_tenant(request) -> Tenant:
    memberships = Membership.objects.filter(user=request.user, tenant__active=True, role=Role.ADMIN).select_related(
        "tenant").order_by("tenant__name")
    slug = request.GET.get("tenant") or request.POST.get("tenant")
    membership = memberships.filter(tenant__slug=slug).first() if slug else memberships.first()
    if membership is None:
        if slug and Membership.objects.filter(user=request.user, tenant__slug=slug).exists():
            raise PermissionDenied("Only the workspace's admins edit its branding.")
        if not slug and Membership.objects.filter(user=request.user).exists():
            raise PermissionDenied("Only the workspace's admins edit its branding.")
        raise Http404("Not found")
    return membership.tenant


def _preview(*, tenant: Tenant, values: dict) -> dict:
    sample = branding_sample_values(tenant=tenant)
    return {
        "subject": branding_render(values.get("email_subject") or "", sample) or f"{tenant.name} invites you to an interview",
        "body_html": branding_render(values.get("email_body") or "", sample, html=True),
        "sms": branding_render(values.get("sms_text") or "", sample),
        "welcome_html": branding_render(values.get("welcome_text") or "", sample, html=True),
        "privacy_html": branding_render(values.get("privacy_notice") or "", sample, html=True),
        "colour": values.get("primary_colour") or "#3353d1",
    }


@login_required
@require_http_methods(["GET", "POST"])
def branding_edit_view(request):
    tenant = _admin_tenant(request)
    branding = branding_get(tenant=tenant)
    initial = {name: getattr(branding, name) for name in
               ("primary_colour", "sender_name", "reply_to", "default_language", *TEXT_FIELDS)}
    if request.method == "POST":
        form = BrandingForm(request.POST, request.FILES)
        if form.is_valid():
            values = {k: v for k, v in form.cleaned_data.items() if k not in ("logo", "remove_logo")}
            if request.POST.get("action") == "save":
                upload = form.cleaned_data.get("logo")
                try:
                    branding_update(tenant=tenant, values=values, changed_by=request.user,
                                    logo=upload.read(LOGO_MAX_BYTES + 1) if upload else None,
                                    remove_logo=form.cleaned_data.get("remove_logo", False))
                except ValidationError as exc:
                    if hasattr(exc, "error_dict"):
                        for field, errors in exc.message_dict.items():
                            form.add_error(field if field in form.fields else None, errors)
                    else:
                        form.add_error("logo", exc)
                else:
                    messages.success(request, "Branding saved. The next invitations and candidate pages use it.")
                    return redirect(f"{request.path}?tenant={tenant.slug}")
            preview_values = values
        else:
            preview_values = {**initial, **{k: v for k, v in form.data.items() if k in initial}}
    else:
        form = BrandingForm(initial=initial)
        preview_values = initial
    context = {
        "tenant": tenant,
        "branding": branding,
        "form": form,
        "preview": _preview(tenant=tenant, values=preview_values),
        "placeholders": PLACEHOLDERS,
        "versions": branding_versions(tenant=tenant),
    }
    if request.method == "POST" and request.headers.get("X-Requested-With") == "fetch":
        # the live preview (static/js/branding-preview.js): the panel only
        return render(request, "tenants/_branding_preview.html", context)
    return render(request, "tenants/branding_edit.html", context)


@require_GET
def branding_logo_view(request, slug: str):
    tenant = get_object_or_404(Tenant, slug=slug, active=True)
    branding = branding_get(tenant=tenant)
    if not branding.logo:
        raise Http404("No logo")
    response = HttpResponse(bytes(branding.logo), content_type=branding.logo_content_type)
    response["Cache-Control"] = "public, max-age=86400"  # the URL carries the logo's hash
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'"
    return response


_HEX = re.compile(r"^[0-9a-fA-F]{6}$")


def _theme_css(colour: str, selector: str = ":root") -> HttpResponse:
    response = HttpResponse(f"{selector} {{ --accent: {colour}; }}\n", content_type="text/css")
    response["Cache-Control"] = "public, max-age=3600"
    return response


@require_GET
def branding_theme_view(request, slug: str):
    """The tenant's colours as CSS custom properties, linked by the candidate pages."""
    tenant = get_object_or_404(Tenant, slug=slug, active=True)
    return _theme_css(branding_get(tenant=tenant).primary_colour)


@require_GET
def branding_preview_theme_view(request):
    """The editor's preview of an unsaved colour (``?c=rrggbb``)."""
    colour = request.GET.get("c", "")
    if not _HEX.match(colour):
        raise Http404("Not a colour")
    return _theme_css(f"#{colour.lower()}", ".brand-preview")
