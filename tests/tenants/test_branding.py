"""Branding: safe placeholder rendering, validation at save, versions, the editor, and the next
invitation and candidate page using it."""

import re

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from assessments import sms
from assessments.services import CandidateSnapshot, assessment_order
from tenants.branding import branding_render, branding_update, placeholders_in
from tenants.models import BrandingVersion, Role
from tests.factories import MembershipFactory, PackageFactory, QuestionFactory, TenantFactory

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
VALUES = {"candidate_first_name": "Ada", "company": "Acme", "job_title": "Dev", "link": "https://x.test/i/t/",
          "deadline": "1 May"}
BASE = {"primary_colour": "#aa0033", "sender_name": "Acme Talent", "reply_to": "talent@acme.test",
        "default_language": "en", "email_subject": "{company} would like to meet you, {candidate_first_name}",
        "email_body": "Dear {candidate_first_name},\n\nplease take our interview for {job_title}: {link}",
        "sms_text": "{company}: interview for {job_title} by {deadline}", "welcome_text": "Welcome to {company}!",
        "privacy_notice": "Acme keeps your data 90 days."}


def test_placeholders_are_filled_and_braces_escape():
    assert branding_render("Hi {candidate_first_name} {{literal}}", VALUES) == "Hi Ada {literal}"


@pytest.mark.parametrize("text", ["{settings.SECRET_KEY}", "{company.__class__}", "{unknown}", "{company!r}",
                                  "{company:>10}", "{0}", "{link[0]}", "unbalanced {company", "{% debug %}"])
def test_anything_but_a_bare_placeholder_is_refused(text):
    with pytest.raises(ValidationError):
        placeholders_in(text)


def test_script_and_template_code_render_inert():
    text = "<script>alert(1)</script> {{ settings.SECRET_KEY }}"
    html = branding_render(text, VALUES, html=True)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "{ settings.SECRET_KEY }" in html  # literal braces, never template code
    placeholders_in(text)  # and it is a valid text: nothing to refuse, nothing runs
    from django.conf import settings

    assert settings.SECRET_KEY not in html
    assert branding_render("{company}", {**VALUES, "company": "<b>x</b>"}, html=True) == "<p>&lt;b&gt;x&lt;/b&gt;</p>"


def test_unknown_placeholder_is_a_validation_error_at_save():
    tenant = TenantFactory()
    with pytest.raises(ValidationError) as exc:
        branding_update(tenant=tenant, values={**BASE, "email_body": "Hi {first_name}"})
    assert "email_body" in exc.value.message_dict and "{first_name}" in str(exc.value)
    assert not BrandingVersion.objects.exists()


def test_every_save_is_a_version_and_logos_are_checked():
    tenant = TenantFactory()
    branding_update(tenant=tenant, values=BASE, logo=PNG)
    branding = branding_update(tenant=tenant, values={**BASE, "primary_colour": "#00AA00"})
    assert branding.version == 2 and branding.primary_colour == "#00aa00" and branding.logo_sha256
    assert [v.snapshot["primary_colour"] for v in BrandingVersion.objects.order_by("number")] == ["#aa0033", "#00aa00"]
    with pytest.raises(ValidationError):
        branding_update(tenant=tenant, values=BASE, logo=b"<svg onload=alert(1)>")
    with pytest.raises(ValidationError):
        branding_update(tenant=tenant, values={**BASE, "primary_colour": "red; background:url(x)"})


def _order(tenant, **kwargs):
    package = PackageFactory(tenant=tenant, name="Backend interview")
    QuestionFactory(package=package)
    assessment, _ = assessment_order(
        tenant=tenant, package=package, mode="order", actor="test", remote_job_title="Platform Engineer",
        candidate=CandidateSnapshot(first_name="Grace", email="grace@example.com", phone="+46701234567"), **kwargs)
    return assessment


def test_the_next_invitation_uses_the_branding(settings, django_capture_on_commit_callbacks):
    settings.SMS_BACKEND = "assessments.sms.LocmemSmsBackend"
    settings.SITE_URL = "https://stagehook.test"
    tenant = TenantFactory(name="Acme", slug="acme")
    branding_update(tenant=tenant, values={**BASE, "email_body": BASE["email_body"] + "\n<script>x</script>"},
                    logo=PNG)
    mail.outbox.clear()
    sms.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        _order(tenant)
    message = mail.outbox[-1]
    assert message.subject == "Acme would like to meet you, Grace"
    assert message.from_email.startswith('"Acme Talent" <') or message.from_email.startswith("Acme Talent <")
    assert message.reply_to == ["talent@acme.test"]
    assert "Dear Grace," in message.body and "for Platform Engineer: https://stagehook.test/i/" in message.body
    html = message.alternatives[0][0]
    assert "#aa0033" in html and "&lt;script&gt;x&lt;/script&gt;" in html and "<script>" not in html
    assert "/app/branding/acme/logo?h=" in html
    assert re.match(r"^Acme: interview for Platform Engineer by \d+ \w+ \d{4}, \d\d:\d\d UTC https://", sms.outbox[-1]["body"])


def test_candidate_page_shows_logo_colour_and_texts(client, settings, django_capture_on_commit_callbacks):
    settings.SITE_URL = "https://stagehook.test"
    tenant = TenantFactory(name="Acme", slug="acme")
    branding_update(tenant=tenant, values={**BASE, "welcome_text": "Welcome to {company}! <script>alert(1)</script>"},
                    logo=PNG)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        _order(tenant)
    link = re.search(r"https://stagehook.test(/i/[^/\s]+/)", mail.outbox[-1].body).group(1)
    html = client.get(link).content.decode()
    assert "Welcome to Acme! &lt;script&gt;" in html and "<script>" not in html
    assert "Acme keeps your data 90 days." in html
    assert 'href="/app/branding/acme/theme.css?v=1"' in html and 'src="/app/branding/acme/logo?h=' in html
    assert client.get("/app/branding/acme/theme.css").content.decode().strip() == ":root { --accent: #aa0033; }"
    logo = client.get("/app/branding/acme/logo")
    assert logo.content == PNG and logo["Content-Type"] == "image/png"


def test_editor_is_for_admins_previews_and_saves(client):
    admin = MembershipFactory(tenant__name="Acme", tenant__slug="acme", role=Role.ADMIN)
    recruiter = MembershipFactory(tenant=admin.tenant)
    client.force_login(recruiter.user)
    assert client.get("/app/branding/").status_code == 403
    client.force_login(admin.user)
    assert client.get("/app/branding/").status_code == 200

    preview = client.post("/app/branding/", {**BASE, "tenant": "acme", "action": "preview",
                                              "welcome_text": "Hej {candidate_first_name} <b>!</b>"})
    html = preview.content.decode()
    assert "Acme would like to meet you, Alex" in html and "Hej Alex &lt;b&gt;!&lt;/b&gt;" in html
    assert "theme.css?c=aa0033" in html
    assert not BrandingVersion.objects.exists()  # preview saves nothing

    bad = client.post("/app/branding/", {**BASE, "tenant": "acme", "action": "save", "sms_text": "{oops}"})
    assert bad.status_code == 200 and 'data-error-for="sms_text"' in bad.content.decode()
    assert not BrandingVersion.objects.exists()

    saved = client.post("/app/branding/", {**BASE, "tenant": "acme", "action": "save"}, follow=True)
    assert "Branding saved" in saved.content.decode()
    assert BrandingVersion.objects.get().changed_by == admin.user


def test_another_tenants_admin_cannot_edit(client):
    MembershipFactory(tenant__slug="acme", role=Role.ADMIN)
    other = MembershipFactory(tenant__slug="globex", role=Role.ADMIN)
    client.force_login(other.user)
    assert client.get("/app/branding/?tenant=acme").status_code == 404
    assert client.post("/app/branding/", {**BASE, "tenant": "acme", "action": "save"}).status_code == 404


def test_live_preview_answers_with_the_panel_only(client):
    admin = MembershipFactory(tenant__name="Acme", tenant__slug="acme", role=Role.ADMIN)
    client.force_login(admin.user)
    response = client.post("/app/branding/", {**BASE, "tenant": "acme", "action": "preview",
                                              "sms_text": "{oops}"}, HTTP_X_REQUESTED_WITH="fetch")
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert "Acme would like to meet you, Alex" in html and "Unknown placeholder {oops}" in html
    assert not BrandingVersion.objects.exists()
