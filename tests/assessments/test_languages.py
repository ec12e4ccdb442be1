"""Candidates are served in their language: the order's, else the package's, else the tenant's
default; they can switch; dates in their language and time zone."""

import re
from datetime import datetime
from datetime import timezone as dt_timezone

import pytest
from django.core import mail

from assessments import sms
from assessments.candidate_texts import assessment_language
from assessments.services import CandidateSnapshot, assessment_order
from tenants.branding import branding_update
from tests.factories import AssessmentFactory, PackageFactory, QuestionFactory, TenantFactory

pytestmark = pytest.mark.django_db


def _order(django_capture_on_commit_callbacks, *, package_language="en", phone="", **order_fields):
    package = PackageFactory(tenant__name="Acme", name="Backend-Interview", language=package_language,
                             duration_minutes=25)
    QuestionFactory(package=package)
    mail.outbox.clear()
    sms.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assessment, _ = assessment_order(
            tenant=package.tenant, package=package, mode="order", actor="test", remote_job_title="Entwickler",
            candidate=CandidateSnapshot(first_name="Greta", email="greta@example.com", phone=phone),
            expires_at=datetime(2099, 12, 6, 11, 0, tzinfo=dt_timezone.utc), **order_fields,
        )
    assessment.refresh_from_db()
    return assessment


@pytest.fixture
def german_order(settings, django_capture_on_commit_callbacks):
    settings.SITE_URL = "https://stagehook.test"
    settings.SMS_BACKEND = "assessments.sms.LocmemSmsBackend"
    # What the ATS integration passes for SmartRecruiters' applicationLanguage "de-DE".
    return _order(django_capture_on_commit_callbacks, phone="+4915112345678", language="de-DE",
                  time_zone="Europe/Berlin")


def test_a_german_order_produces_a_german_email_and_sms(german_order):
    message = mail.outbox[-1]
    assert message.subject == "Acme lädt Sie zu einem Interview ein: Backend-Interview"
    assert message.body.startswith("Hallo Greta,")
    assert "Acme lädt Sie zu einem Interview für die Stelle „Entwickler“ ein." in message.body
    assert "etwa 25 Minuten" in message.body
    assert "6. Dezember 2099, 12:00 CET" in message.body  # Berlin time, German month
    assert message.extra_headers["Content-Language"] == "de"
    html = message.alternatives[0][0]
    assert '<html lang="de">' in html and "Interview starten" in html
    assert "Acme lädt Sie zu einem Interview ein (Backend-Interview), abschließen bis 6. Dezember 2099" in sms.outbox[-1]["body"]


def test_a_german_order_produces_a_german_candidate_page(client, german_order):
    link = re.search(r"https://stagehook.test(/i/[^/\s]+/)", mail.outbox[-1].body).group(1)
    response = client.get(link)
    html = response.content.decode()
    assert response["Content-Language"] == "de"
    assert "Hallo Greta, Acme lädt Sie zu einem Interview ein" in html
    assert "Datenschutzhinweis" in html and "Interview starten" in html
    assert "6. Dezember 2099, 12:00 CET" in html
    # the candidate switches to French, and the choice sticks
    assert "Bonjour Greta, Acme vous invite à un entretien" in client.get(link + "?lang=fr").content.decode()
    assert "Politique de confidentialité" in client.get(link).content.decode()
    refused = client.post(link, {})
    assert "Veuillez confirmer votre accord avant de commencer." in refused.content.decode()


def test_language_falls_back_to_package_then_tenant_default(settings, django_capture_on_commit_callbacks):
    settings.SITE_URL = "https://stagehook.test"
    swedish = _order(django_capture_on_commit_callbacks, package_language="sv")
    assert assessment_language(assessment=swedish) == "sv"
    assert mail.outbox[-1].body.startswith("Hej Greta,")

    tenant = TenantFactory()
    branding_update(tenant=tenant, values={"primary_colour": "#123456", "default_language": "fr"})
    unknown = AssessmentFactory(tenant=tenant, package__language="xx", language="")
    assert assessment_language(assessment=unknown) == "fr"
    assert assessment_language(assessment=AssessmentFactory(package__language="pt")) == "en"
    assert assessment_language(assessment=AssessmentFactory(language="fr-CA")) == "fr"


def test_unknown_link_follows_the_browser_language(client):
    html = client.get("/i/" + "x" * 43 + "/", HTTP_ACCEPT_LANGUAGE="sv").content.decode()
    assert "Den här länken fungerar inte" in html
