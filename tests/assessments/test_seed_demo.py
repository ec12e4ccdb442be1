"""The demo seed: enough data for every picture, idempotent, the demo tenant branded."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from assessments.models import Assessment, Status
from assessments.selectors_dashboard import DashboardFilters, dashboard_funnel, dashboard_score_histograms
from tenants.branding import branding_get
from tests.factories import PackageFactory, QuestionFactory, TenantFactory

pytestmark = pytest.mark.django_db


def test_seed_fills_the_dashboard_and_brands_the_tenant(client):
    tenant = TenantFactory(slug="demo", name="Demo Company")
    for name in ("Support", "Backend"):
        package = PackageFactory(tenant=tenant, name=name)
        QuestionFactory(package=package, rubric=["a", "b", "c"])
    call_command("seed_demo_assessments", "--tenant", "demo", "--count", "120")
    call_command("seed_demo_assessments", "--tenant", "demo", "--count", "120")  # idempotent
    assert Assessment.objects.filter(tenant=tenant).count() == 120
    funnel = dashboard_funnel(filters=DashboardFilters(tenant=tenant, period="90"))
    assert funnel.ordered == 120 and funnel.completed > 30 and funnel.median_completion is not None
    assert funnel.expired and funnel.failed and funnel.cancelled
    histograms = dashboard_score_histograms(filters=DashboardFilters(tenant=tenant, period="90"))
    assert len(histograms) == 2 and all(h.pass_score_percent == 60 for h in histograms)
    completed = Assessment.objects.filter(tenant=tenant, status=Status.COMPLETED).first()
    assert completed.events.count() == 4 and completed.details["questions"][0]["covered"] is not None
    branding = branding_get(tenant=tenant)
    assert branding.primary_colour == "#0f766e" and branding.logo_sha256
    assert client.get("/app/branding/demo/logo")["Content-Type"] == "image/png"


def test_seed_needs_the_tenant():
    with pytest.raises(CommandError):
        call_command("seed_demo_assessments", "--tenant", "nope")


def test_seeded_times_are_consistent():
    from django.db.models import F, Q
    from django.utils import timezone

    tenant = TenantFactory(slug="demo")
    QuestionFactory(package=PackageFactory(tenant=tenant), rubric=["a"])
    call_command("seed_demo_assessments", "--count", "200")
    now = timezone.now()
    rows = Assessment.objects.filter(tenant=tenant)
    assert not rows.filter(Q(started_at__gt=now) | Q(completed_at__gt=now) | Q(invited_at__gt=now)).exists()
    assert not rows.filter(completed_at__lt=F("started_at")).exists()
    assert not rows.filter(status__in=[Status.INVITED, Status.IN_PROGRESS], expires_at__lte=now).exists()
