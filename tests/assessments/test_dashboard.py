"""Every figure of the dashboard against the hand-counted data of ``dashboard_data``."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from assessments.selectors_dashboard import (
    DashboardFilters,
    dashboard_by_job,
    dashboard_by_source,
    dashboard_funnel,
    dashboard_invitations_per_day,
    dashboard_score_histograms,
)
from tests.assessments.dashboard_data import seed_dashboard_tenant
from tests.factories import AssessmentFactory, MembershipFactory, TenantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded():
    tenant = TenantFactory(name="Acme", slug="acme")
    now = timezone.now()
    backend, sales = seed_dashboard_tenant(tenant, now=now)
    AssessmentFactory(tenant=TenantFactory(name="Other"))  # another tenant's row never counts
    return tenant, backend, sales, now


def test_funnel_counts_every_step(seeded):
    tenant, *_ , now = seeded
    funnel = dashboard_funnel(filters=DashboardFilters(tenant=tenant, now=now))
    assert (funnel.ordered, funnel.invited, funnel.started, funnel.completed) == (11, 10, 7, 5)
    assert (funnel.expired, funnel.failed, funnel.cancelled) == (1, 1, 1)
    assert funnel.completion_rate == Decimal("50.0")  # 5 of 10 invited
    assert funnel.median_completion == timedelta(minutes=30)  # 10, 20, 30, 40, 50


def test_filters_narrow_the_funnel(seeded):
    tenant, backend, sales, now = seeded
    by_package = dashboard_funnel(filters=DashboardFilters(tenant=tenant, now=now, package_id=sales.pk))
    assert (by_package.ordered, by_package.completed, by_package.median_completion) == (2, 1, timedelta(minutes=50))
    by_source = dashboard_funnel(filters=DashboardFilters(tenant=tenant, now=now, source="tt:1"))
    assert (by_source.ordered, by_source.completed) == (9, 4)
    by_job = dashboard_funnel(filters=DashboardFilters(tenant=tenant, now=now, job="j2"))
    assert by_job.ordered == 2
    week = dashboard_funnel(filters=DashboardFilters(tenant=tenant, now=now, period="7"))
    assert week.ordered == 10  # the expired one is 10 days old
    year = dashboard_funnel(filters=DashboardFilters(tenant=tenant, now=now, period="90"))
    assert (year.ordered, year.completed) == (12, 6)


def test_score_histogram_per_package_with_pass_marks(seeded):
    tenant, backend, sales, now = seeded
    histograms = {h.package_name: h for h in dashboard_score_histograms(filters=DashboardFilters(tenant=tenant, now=now))}
    assert histograms["Backend"].buckets == [0, 1, 0, 0, 0, 0, 1, 1, 0, 1]  # 15, 65, 72, 95
    assert (histograms["Backend"].passed, histograms["Backend"].failed) == (3, 1)
    assert histograms["Backend"].pass_score_percent == Decimal(60)
    assert histograms["Sales"].buckets == [0, 0, 0, 0, 1, 0, 0, 0, 0, 0]
    assert histograms["Sales"].pass_score_percent is None


def test_a_perfect_score_falls_in_the_top_bucket(seeded):
    tenant, backend, _, now = seeded
    from assessments.models import Assessment, Status

    a = AssessmentFactory(tenant=tenant, package=backend, status=Status.COMPLETED)
    Assessment.objects.filter(pk=a.pk).update(score_value=10, score_min=0, score_max=10)
    histogram = dashboard_score_histograms(filters=DashboardFilters(tenant=tenant, package_id=backend.pk))[0]
    assert histogram.buckets[9] == 2


def test_invitations_per_day(seeded):
    tenant, *_, now = seeded
    days = dict(dashboard_invitations_per_day(filters=DashboardFilters(tenant=tenant, now=now, period="7")))
    assert len(days) in (7, 8)  # both ends of the period, in the active time zone
    # invited within 7 days: Backend day 1 (1), day 2 (completed, in progress, invited), day 3 (1),
    # day 4 (completed, cancelled) and both Sales ones on day 1; the failed one was never invited.
    assert sum(days.values()) == 9
    one_day_ago = timezone.localtime(now - timedelta(days=1) + timedelta(minutes=5)).date()
    assert days[one_day_ago] == 3  # the Backend completed one and both Sales ones


def test_split_by_source_and_job(seeded):
    tenant, *_, now = seeded
    sources = dashboard_by_source(filters=DashboardFilters(tenant=tenant, now=now))
    assert [(g.key, g.label, g.total, g.completed) for g in sources] == [
        ("tt:1", "Teamtailor", 9, 4), ("sr:9", "SmartRecruiters", 2, 1)]
    jobs = dashboard_by_job(filters=DashboardFilters(tenant=tenant, now=now))
    assert [(g.key, g.label, g.total) for g in jobs] == [("j1", "Backend engineer", 9), ("j2", "Account executive", 2)]
    assert jobs[0].completion_rate == Decimal("44.4")


def test_dashboard_page_shows_the_figures_and_keeps_filters(client, seeded):
    tenant, backend, sales, now = seeded
    recruiter = MembershipFactory(tenant=tenant).user
    client.force_login(recruiter)
    html = client.get("/app/").content.decode()
    assert 'data-kpi="ordered">11<' in html and "50.0 %" in html and "30 min" in html
    assert 'data-label="Completed" data-value="5"' in html
    assert 'data-threshold="60' in html and f'data-chart="scores-{backend.pk}"' in html
    filtered = client.get(f"/app/?tenant=acme&package={sales.pk}").content.decode()
    assert 'data-kpi="ordered">2<' in filtered
    assert f'<option value="{sales.pk}" selected>' in filtered


def test_another_tenants_recruiter_sees_none_of_it(client, seeded):
    tenant, *_ = seeded
    outsider = MembershipFactory(tenant=TenantFactory(name="Globex", slug="globex")).user
    client.force_login(outsider)
    html = client.get("/app/").content.decode()
    assert "Globex" in html and 'data-kpi="ordered">0<' in html and "Backend" not in html
    assert client.get("/app/?tenant=acme").status_code == 404


def test_tenant_switcher_for_several_workspaces(client, seeded):
    tenant, *_ = seeded
    membership = MembershipFactory(tenant=tenant)
    MembershipFactory(user=membership.user, tenant=TenantFactory(name="Beta", slug="beta"))
    client.force_login(membership.user)
    html = client.get("/app/").content.decode()
    assert 'id="tenant-switch"' in html and 'value="beta"' in html
    assert 'data-kpi="ordered">0<' in client.get("/app/?tenant=beta").content.decode()


@pytest.mark.parametrize("vendor", ["postgresql", "sqlite"])
def test_median_is_the_same_without_percentile_cont(seeded, monkeypatch, vendor):
    """`make run` may use SQLite: the fallback (count, then the middle rows) agrees with PostgreSQL's."""
    from django.db import connection

    tenant, backend, _, now = seeded
    monkeypatch.setattr(connection, "vendor", vendor)
    odd = dashboard_funnel(filters=DashboardFilters(tenant=tenant, now=now))
    even = dashboard_funnel(filters=DashboardFilters(tenant=tenant, now=now, package_id=backend.pk))
    assert (odd.median_completion, even.median_completion) == (timedelta(minutes=30), timedelta(minutes=25))
    assert odd.ordered == 11 and even.completed == 4


def test_the_period_select_shows_the_default_period(client, seeded):
    tenant, *_ = seeded
    client.force_login(MembershipFactory(tenant=tenant).user)
    assert '<option value="30" selected>' in client.get("/app/").content.decode()


def test_sources_without_a_stored_label_are_named_by_a_registered_resolver(seeded):
    from assessments.source_labels import source_label_resolver_register, source_label_resolver_unregister
    from assessments.selectors_dashboard import dashboard_filter_choices

    tenant, backend, _, now = seeded
    for _ in range(2):
        AssessmentFactory(tenant=tenant, package=backend, source="connection:7")
    calls = []

    def names(keys):
        calls.append(list(keys))
        return {"connection:7": "Teamtailor (Acme EU)", "connection:8": "never asked for"}

    source_label_resolver_register("test", names)
    source_label_resolver_register("broken", lambda keys: 1 / 0)
    try:
        groups = {g.key: g.label for g in dashboard_by_source(filters=DashboardFilters(tenant=tenant))}
        choices = dict(dashboard_filter_choices(tenant=tenant).sources)
    finally:
        source_label_resolver_unregister("test")
        source_label_resolver_unregister("broken")
    assert groups["connection:7"] == "Teamtailor (Acme EU)" and groups["tt:1"] == "Teamtailor"
    assert choices["connection:7"] == "Teamtailor (Acme EU)"
    assert calls == [["connection:7"], ["connection:7"]]  # once per figure, only the unnamed keys
