"""The recruiter's assessment detail page and its actions, and the list's search."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from assessments.detail_panels import DetailPanel, detail_panel_register, detail_panel_unregister
from assessments.exceptions import AssessmentError, IllegalTransition
from assessments.models import Assessment, Status
from assessments.services import CandidateSnapshot, assessment_extend_deadline, assessment_order
from tests.factories import AssessmentFactory, MembershipFactory, PackageFactory, QuestionFactory, TenantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ordered(settings, django_capture_on_commit_callbacks):
    settings.SITE_URL = "https://stagehook.test"
    package = PackageFactory(tenant__name="Acme", name="Backend")
    QuestionFactory(package=package, position=1)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):  # the invitation is sent on commit
        with_capture = assessment_order(
            tenant=package.tenant, package=package, mode="order", actor="test", source="tt:1",
            remote_job_title="Dev",
            candidate=CandidateSnapshot(first_name="Grace", last_name="Hopper", email="grace@example.com"),
        )
    recruiter = MembershipFactory(tenant=package.tenant).user
    return Assessment.objects.get(pk=with_capture[0].pk), recruiter


def test_detail_shows_timeline_and_invitation_attempts(client, ordered):
    assessment, recruiter = ordered
    assert assessment.status == Status.INVITED and len(mail.outbox) == 1
    client.force_login(recruiter)
    html = client.get(f"/app/assessments/{assessment.pk}/").content.decode()
    assert "Grace Hopper" in html
    for event in assessment.events.all():
        assert event.note in html
    assert "data-table=\"attempts\"" in html


def test_resend_extend_cancel_through_the_services(client, django_capture_on_commit_callbacks, ordered):
    assessment, recruiter = ordered
    client.force_login(recruiter)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/app/assessments/{assessment.pk}/resend", follow=True)
    assert "sent again" in response.content.decode()
    assert assessment.events.filter(note__startswith="invitation").exists()

    new_day = (timezone.now() + timedelta(days=20)).date()
    response = client.post(f"/app/assessments/{assessment.pk}/extend",
                           {"expires_on": new_day.isoformat(), "expires_time": "12:00"}, follow=True)
    assert "deadline was extended" in response.content.decode()
    assessment.refresh_from_db()
    assert assessment.expires_at.date() == new_day
    assert assessment.events.filter(note__startswith="deadline moved").exists()

    response = client.post(f"/app/assessments/{assessment.pk}/cancel", follow=True)
    assessment.refresh_from_db()
    assert assessment.status == Status.CANCELLED
    html = response.content.decode()
    assert "closed; nothing to do" in html

    response = client.post(f"/app/assessments/{assessment.pk}/resend", follow=True)
    assert "Not done" in response.content.decode()


def test_extend_refuses_a_past_date_and_closed_assessments(client, ordered):
    assessment, recruiter = ordered
    client.force_login(recruiter)
    yesterday = (timezone.now() - timedelta(days=1)).date().isoformat()
    response = client.post(f"/app/assessments/{assessment.pk}/extend", {"expires_on": yesterday}, follow=True)
    assert "must be in the future" in response.content.decode()
    response = client.post(f"/app/assessments/{assessment.pk}/extend", {"expires_on": "soon"}, follow=True)
    assert "enter the new deadline" in response.content.decode()
    done = AssessmentFactory(tenant=assessment.tenant, status=Status.COMPLETED)
    with pytest.raises(IllegalTransition):
        assessment_extend_deadline(assessment=done, expires_at=timezone.now() + timedelta(days=1), actor="t")
    with pytest.raises(AssessmentError):
        assessment_extend_deadline(assessment=assessment, expires_at=timezone.now() + timedelta(days=400), actor="t")


def test_another_tenant_gets_404_and_changes_nothing(client, ordered):
    assessment, _ = ordered
    outsider = MembershipFactory(tenant=TenantFactory()).user
    client.force_login(outsider)
    assert client.get(f"/app/assessments/{assessment.pk}/").status_code == 404
    assert client.post(f"/app/assessments/{assessment.pk}/cancel").status_code == 404
    assert client.post(f"/app/assessments/{assessment.pk}/extend", {"expires_on": "2099-01-01"}).status_code == 404
    assessment.refresh_from_db()
    assert assessment.status != Status.CANCELLED


def test_actions_need_post(client, ordered):
    assessment, recruiter = ordered
    client.force_login(recruiter)
    assert client.get(f"/app/assessments/{assessment.pk}/cancel").status_code == 405


def test_registered_panels_render_and_a_broken_one_is_skipped(client, ordered):
    assessment, recruiter = ordered
    client.force_login(recruiter)

    def broken(a):
        raise RuntimeError("boom")

    detail_panel_register("test.panel", lambda a: DetailPanel(title="Write-backs to the ATS",
                                                             template="assessments/app/_panel_test.html"))
    detail_panel_register("test.broken", broken)
    try:
        html = client.get(f"/app/assessments/{assessment.pk}/").content.decode()
    finally:
        detail_panel_unregister("test.panel")
        detail_panel_unregister("test.broken")
    assert "Write-backs to the ATS" in html and f"panel for #{assessment.pk}" in html


def test_list_search_and_link_to_detail(client, ordered):
    assessment, recruiter = ordered
    AssessmentFactory(tenant=assessment.tenant, candidate_first_name="Alan", candidate_last_name="Turing")
    client.force_login(recruiter)
    html = client.get("/app/assessments/?q=hopper").content.decode()
    assert "Grace Hopper" in html and "Turing" not in html
    assert f'href="/app/assessments/{assessment.pk}/"' in html
    assert "Turing" in client.get("/app/assessments/?q=alan").content.decode()


def test_list_filters_by_source_and_job_from_the_dashboard_links(client, ordered):
    assessment, recruiter = ordered
    other = AssessmentFactory(tenant=assessment.tenant, source="sr:1", remote_job_id="j9", candidate_last_name="Other")
    client.force_login(recruiter)
    by_source = client.get("/app/assessments/?source=tt:1").content.decode()
    assert "Grace Hopper" in by_source and "Other" not in by_source
    by_job = client.get("/app/assessments/?job=j9").content.decode()
    assert f'href="/app/assessments/{other.pk}/"' in by_job and "Grace Hopper" not in by_job


def test_branding_admin_is_read_only(admin_client):
    from tenants.branding import branding_update

    tenant = TenantFactory()
    branding = branding_update(tenant=tenant, values={"primary_colour": "#123456", "default_language": "en"})
    page = admin_client.get(f"/admin/tenants/branding/{branding.pk}/change/")
    assert page.status_code == 200 and "#123456" in page.content.decode()
    assert admin_client.post(f"/admin/tenants/branding/{branding.pk}/change/", {}).status_code == 403
