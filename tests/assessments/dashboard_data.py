"""A hand-counted tenant for the dashboard tests (selectors and browser)."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from assessments.models import Assessment, Status
from tests.factories import AssessmentFactory, PackageFactory


def _make(tenant, package, *, status, days_ago, invited=True, started_after=None, completed_after=None,
          score=None, source="tt:1", source_label="Teamtailor", job=("j1", "Backend engineer"), now):
    created = now - timedelta(days=days_ago)
    a = AssessmentFactory(tenant=tenant, package=package, status=status, source=source, source_label=source_label,
                          remote_job_id=job[0], remote_job_title=job[1])
    fields = {"created_at": created}
    if invited:
        fields["invited_at"] = created + timedelta(minutes=5)
    if started_after is not None:
        fields["started_at"] = created + started_after
    if completed_after is not None:
        fields["completed_at"] = created + completed_after
    if score is not None:
        fields.update(score_value=Decimal(score), score_min=Decimal(0), score_max=Decimal(100))
    Assessment.objects.filter(pk=a.pk).update(**fields)
    return a


def seed_dashboard_tenant(tenant, *, now=None):
    """Counted by hand, within the last 30 days unless said otherwise:

    package "Backend" (pass at 60 %): completed with scores 15, 65, 72, 95 (started 1 h after the
    order; done after 10, 20, 30, 40 min -> median 25 min); one in progress; one invited (not
    started); one expired after starting; one failed (never invited); one cancelled (invited).
    package "Sales": completed with score 45 (done after 50 min), source "sr:9" (SmartRecruiters),
    job j2 "Account executive"; one invited, same source and job.
    Older than 30 days (outside the default period): one completed Backend with score 5.
    """
    now = now or timezone.now()
    backend = PackageFactory(tenant=tenant, name="Backend", pass_score_percent=Decimal(60))
    sales = PackageFactory(tenant=tenant, name="Sales")
    hour = timedelta(hours=1)
    for i, (score, minutes) in enumerate([(15, 10), (65, 20), (72, 30), (95, 40)]):
        _make(tenant, backend, status=Status.COMPLETED, days_ago=i + 1, started_after=hour,
              completed_after=hour + timedelta(minutes=minutes), score=score, now=now)
    _make(tenant, backend, status=Status.IN_PROGRESS, days_ago=2, started_after=hour, now=now)
    _make(tenant, backend, status=Status.INVITED, days_ago=2, now=now)
    _make(tenant, backend, status=Status.EXPIRED, days_ago=10, started_after=hour, now=now)
    _make(tenant, backend, status=Status.FAILED, days_ago=3, invited=False, now=now)
    _make(tenant, backend, status=Status.CANCELLED, days_ago=4, now=now)
    sr = dict(source="sr:9", source_label="SmartRecruiters", job=("j2", "Account executive"))
    _make(tenant, sales, status=Status.COMPLETED, days_ago=1, started_after=hour,
          completed_after=hour + timedelta(minutes=50), score=45, now=now, **sr)
    _make(tenant, sales, status=Status.INVITED, days_ago=1, now=now, **sr)
    _make(tenant, backend, status=Status.COMPLETED, days_ago=45, started_after=hour,
          completed_after=hour + timedelta(minutes=5), score=5, now=now)
    return backend, sales
