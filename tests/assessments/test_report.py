"""The report page: tenant-scoped for recruiters, and the signed, expiring public link."""

import time
from decimal import Decimal

import pytest
from django.core import signing
from django.test import Client

from assessments.models import Status
from assessments.selectors import assessment_report_url
from assessments.services import assessment_record_result, assessment_start, assessment_submit_answers
from assessments.tokens import REPORT_LINK_MAX_AGE_SECONDS, REPORT_SIGNING_SALT
from tests.factories import AssessmentFactory, MembershipFactory, QuestionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = "https://hub.example"


@pytest.fixture
def completed():
    assessment = AssessmentFactory(status=Status.INVITED, tenant__name="Acme Corp", remote_job_title="Platform Engineer")
    q = QuestionFactory(package=assessment.package, text="Tell us about a project.",
                        rubric=["names the goal", "describes the outcome"])
    assessment_start(assessment=assessment)
    assessment_submit_answers(assessment=assessment, answers={q.id: "The goal was speed."})
    assessment.refresh_from_db()
    return assessment


def _client_for(tenant):
    membership = MembershipFactory(tenant=tenant)
    client = Client()
    client.force_login(membership.user)
    return client


def _assert_is_report(response, assessment):
    assert response.status_code == 200
    html = response.content.decode()
    assert "Acme Corp" in html
    assert "Ada Lovelace" in html
    assert "Platform Engineer" in html
    assert "50.00" in html and "Fair" in html
    assert "The goal was speed." in html
    assert "✓ names the goal" in html and "✗ describes the outcome" in html
    assert assessment.summary.split(".")[0] in html
    assert "no-store" in response["Cache-Control"]
    return html


def test_report_for_a_member(completed):
    response = _client_for(completed.tenant).get(f"/app/assessments/{completed.pk}/report")
    html = _assert_is_report(response, completed)
    assert "History" in html and "in_progress" in html
    assert "https://hub.example/r/" in html  # the shareable signed link


def test_report_requires_login(completed):
    response = Client().get(f"/app/assessments/{completed.pk}/report")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_other_tenant_gets_404(completed):
    outsider = _client_for(AssessmentFactory().tenant)
    assert outsider.get(f"/app/assessments/{completed.pk}/report").status_code == 404
    assert outsider.get("/app/assessments/999999/report").status_code == 404


def test_signed_url_shows_the_same_report_without_login(completed):
    url = assessment_report_url(assessment=completed)
    assert url.startswith("https://hub.example/r/") and url.endswith("/")
    response = Client().get(url.removeprefix("https://hub.example"))
    html = _assert_is_report(response, completed)
    assert "History" not in html  # the audit trail stays inside the app
    assert response["X-Robots-Tag"] == "noindex, nofollow"


def test_tampered_signed_url_is_404(completed):
    path = assessment_report_url(assessment=completed).removeprefix("https://hub.example")
    other = AssessmentFactory()
    forged = path.replace(f"/r/{completed.pk}:", f"/r/{other.pk}:")
    assert forged != path
    for bad in (forged, path[:-3] + "/", "/r/garbage/"):
        response = Client().get(bad)
        assert response.status_code == 404
        assert "Ada" not in response.content.decode()


class _OldSigner(signing.TimestampSigner):
    """Signs as if it were long ago: a genuine link that has outlived its validity."""

    def timestamp(self):
        return signing.b62_encode(int(time.time()) - REPORT_LINK_MAX_AGE_SECONDS - 60)


def test_expired_signed_url_is_410(completed):
    old = _OldSigner(salt=REPORT_SIGNING_SALT).sign(str(completed.pk))
    response = Client().get(f"/r/{old}/")
    assert response.status_code == 410
    assert "expired" in response.content.decode()


def test_signed_url_of_an_inactive_tenant_is_404(completed):
    path = assessment_report_url(assessment=completed).removeprefix("https://hub.example")
    completed.tenant.active = False
    completed.tenant.save()
    assert Client().get(path).status_code == 404


def test_vendor_result_with_unsafe_links_is_rendered_safely():
    assessment = AssessmentFactory(status=Status.IN_PROGRESS, tenant__name="Acme Corp")
    assessment_record_result(
        assessment=assessment, score_value=Decimal("8"), score_min=0, score_max=10, score_label="<b>Great</b>",
        summary="Good <script>alert(1)</script>", transcript=[{"question": "Q?", "answer": "A!"}], details={},
        attachments=[{"url": "javascript:alert(1)", "content_type": "text/html"},
                     {"url": "https://vendor.example/video.mp4", "content_type": "video/mp4"}],
        report_url="https://vendor.example/report/1", actor="engine",
    )
    response = _client_for(assessment.tenant).get(f"/app/assessments/{assessment.pk}/report")
    html = response.content.decode()
    assert response.status_code == 200
    assert "javascript:alert" not in html
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert "https://vendor.example/video.mp4" in html
    assert "https://vendor.example/report/1" in html
    assert "Q?" in html and "A!" in html


def test_report_of_an_unfinished_assessment(completed):
    pending = AssessmentFactory(tenant=completed.tenant, status=Status.INVITED)
    response = _client_for(completed.tenant).get(f"/app/assessments/{pending.pk}/report")
    assert response.status_code == 200
    assert "No result yet" in response.content.decode()
