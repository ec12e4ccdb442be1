"""Figures of the recruiter dashboard. Every figure is one aggregate query over the filtered
assessments (grouping is done by PostgreSQL, never by a Python loop over rows), so the dashboard
stays fast on a tenant with 100k assessments (``make bench`` shows it)."""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import (
    Aggregate,
    Count,
    DecimalField,
    DurationField,
    ExpressionWrapper,
    F,
    IntegerField,
    Max,
    Q,
    QuerySet,
    Value,
)
from django.db.models.functions import Cast, Floor, Least, TruncDate
from django.utils import timezone

from tenants.models import Tenant

from .models import Assessment, Package, Status
from .source_labels import source_labels

PERIODS = {"7": 7, "30": 30, "90": 90, "365": 365}
DEFAULT_PERIOD = "30"
HISTOGRAM_BUCKETS = 10  # 0-10 %, 10-20 %, ... 90-100 % of each package's scale
TOP_GROUPS = 10


class Median(Aggregate):
    """PostgreSQL's ``percentile_cont(0.5)``; works on intervals as on numbers."""

    function = "percentile_cont"
    name = "Median"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    allow_distinct = False


@dataclass(frozen=True)
class DashboardFilters:
    tenant: Tenant
    period: str = DEFAULT_PERIOD
    package_id: int | None = None
    job: str = ""
    source: str = ""
    now: datetime | None = None

    @property
    def days(self) -> int:
        return PERIODS.get(self.period, PERIODS[DEFAULT_PERIOD])

    @property
    def end(self) -> datetime:
        return self.now or timezone.now()

    @property
    def start(self) -> datetime:
        return self.end - timedelta(days=self.days)


def _scoped(filters: DashboardFilters) -> QuerySet[Assessment]:
    """The tenant's assessments matching package / job / source (not yet the period)."""
    queryset = Assessment.objects.filter(tenant=filters.tenant)
    if filters.package_id:
        queryset = queryset.filter(package_id=filters.package_id)
    if filters.job:
        queryset = queryset.filter(remote_job_id=filters.job)
    if filters.source:
        queryset = queryset.filter(source=filters.source)
    return queryset


def dashboard_assessments(*, filters: DashboardFilters) -> QuerySet[Assessment]:
    """The assessments ordered within the period that match every filter."""
    return _scoped(filters).filter(created_at__gte=filters.start, created_at__lt=filters.end)


@dataclass(frozen=True)
class Funnel:
    ordered: int
    invited: int
    started: int
    completed: int
    expired: int
    failed: int
    cancelled: int
    median_completion: timedelta | None

    @property
    def completion_rate(self) -> Decimal | None:
        """Completed share of the invited, in percent (None when nobody was invited)."""
        if not self.invited:
            return None
        return (Decimal(self.completed) * 100 / Decimal(self.invited)).quantize(Decimal("0.1"))

    @property
    def steps(self) -> list[tuple[str, str, int]]:
        return [("ordered", "Ordered", self.ordered), ("invited", "Invited", self.invited),
                ("started", "Started", self.started), ("completed", "Completed", self.completed)]

    @property
    def closed(self) -> list[tuple[str, str, int]]:
        return [("expired", "Expired", self.expired), ("failed", "Failed", self.failed),
                ("cancelled", "Cancelled", self.cancelled)]


def _funnel_counts() -> dict:
    return {
        "ordered": Count("id"),
        "invited": Count("id", filter=Q(invited_at__isnull=False) | Q(started_at__isnull=False)),
        "started": Count("id", filter=Q(started_at__isnull=False)),
        "completed": Count("id", filter=Q(status=Status.COMPLETED)),
        "expired": Count("id", filter=Q(status=Status.EXPIRED)),
        "failed": Count("id", filter=Q(status=Status.FAILED)),
        "cancelled": Count("id", filter=Q(status=Status.CANCELLED)),
    }


def dashboard_funnel(*, filters: DashboardFilters) -> Funnel:
    """How far the period's assessments got. ``invited`` / ``started`` count everyone who reached
    the step (an expired interview that was started counts as invited and started)."""
    duration = ExpressionWrapper(F("completed_at") - F("started_at"), output_field=DurationField())
    done = Q(status=Status.COMPLETED, started_at__isnull=False, completed_at__isnull=False)
    if connection.vendor != "postgresql":
        # SQLite (`make run` without PostgreSQL) has no percentile_cont: count, then read the middle row(s).
        figures = dashboard_assessments(filters=filters).aggregate(**_funnel_counts())
        durations = (dashboard_assessments(filters=filters).filter(done).annotate(duration=duration)
                     .order_by("duration").values_list("duration", flat=True))
        n = durations.count()
        middle = list(durations[(n - 1) // 2: n // 2 + 1]) if n else []
        figures["median_completion"] = sum(middle, timedelta()) / len(middle) if middle else None
        return Funnel(**figures)
    figures = dashboard_assessments(filters=filters).aggregate(
        **_funnel_counts(),
        median_completion=Median(duration, output_field=DurationField(), filter=done),
    )
    return Funnel(**figures)


@dataclass
class Histogram:
    package_id: int
    package_name: str
    pass_score_percent: Decimal | None
    buckets: list[int] = field(default_factory=lambda: [0] * HISTOGRAM_BUCKETS)
    passed: int = 0
    failed: int = 0

    @property
    def total(self) -> int:
        return sum(self.buckets)

    @property
    def rows(self) -> list[tuple[str, int]]:
        width = 100 // HISTOGRAM_BUCKETS
        return [(f"{i * width}–{(i + 1) * width} %", n) for i, n in enumerate(self.buckets)]


def dashboard_score_histograms(*, filters: DashboardFilters) -> list[Histogram]:
    """Per package: completed scores, as a share of the package's scale, in 10 % buckets; and how
    many pass the package's threshold (``pass_score_percent``, if set)."""
    percent = ExpressionWrapper(
        (F("score_value") - F("score_min")) * Value(Decimal(100)) / (F("score_max") - F("score_min")),
        output_field=DecimalField(max_digits=12, decimal_places=4),
    )
    scored = (
        dashboard_assessments(filters=filters)
        .filter(status=Status.COMPLETED, score_value__isnull=False, score_min__isnull=False,
                score_max__gt=F("score_min"))
        .annotate(percent=percent)
        .annotate(bucket=Least(Cast(Floor(F("percent") / Value(Decimal(100 // HISTOGRAM_BUCKETS))), IntegerField()),
                               Value(HISTOGRAM_BUCKETS - 1)))
    )
    rows = (
        scored.values("package_id", "package__name", "package__pass_score_percent", "bucket")
        .annotate(n=Count("id"), passed=Count("id", filter=Q(percent__gte=F("package__pass_score_percent"))))
        .order_by("package__name", "package_id", "bucket")
    )
    histograms: dict[int, Histogram] = {}
    for row in rows:  # one row per (package, bucket): at most 10 per package
        histogram = histograms.setdefault(row["package_id"], Histogram(
            package_id=row["package_id"], package_name=row["package__name"],
            pass_score_percent=row["package__pass_score_percent"]))
        histogram.buckets[row["bucket"]] += row["n"]
        if histogram.pass_score_percent is not None:
            histogram.passed += row["passed"]
            histogram.failed += row["n"] - row["passed"]
    return list(histograms.values())


def dashboard_invitations_per_day(*, filters: DashboardFilters) -> list[tuple[date, int]]:
    """Invitations sent on each day of the period (days without any are 0), in the active time zone."""
    counts = dict(
        _scoped(filters)
        .filter(invited_at__gte=filters.start, invited_at__lt=filters.end)
        .annotate(day=TruncDate("invited_at", tzinfo=timezone.get_current_timezone()))
        .values("day")
        .annotate(n=Count("id"))
        .values_list("day", "n")
    )
    first = timezone.localtime(filters.start).date()
    last = timezone.localtime(filters.end).date()
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    return [(day, counts.get(day, 0)) for day in days]


@dataclass(frozen=True)
class Group:
    key: str
    label: str
    total: int
    completed: int

    @property
    def completion_rate(self) -> Decimal | None:
        if not self.total:
            return None
        return (Decimal(self.completed) * 100 / Decimal(self.total)).quantize(Decimal("0.1"))


def _groups(filters: DashboardFilters, *, key: str, label: str, fallback: str) -> list[Group]:
    """The period's assessments grouped by ``key`` (largest groups first), each with the
    group's display ``label`` (any row's; they agree) and how many completed."""
    rows = (
        dashboard_assessments(filters=filters)
        .values(key)
        .annotate(total=Count("id"), completed=Count("id", filter=Q(status=Status.COMPLETED)), label=Max(label))
        .order_by("-total", key)[:TOP_GROUPS]
    )
    return [Group(key=r[key], label=r["label"] or r[key] or fallback, total=r["total"], completed=r["completed"])
            for r in rows]


def dashboard_by_source(*, filters: DashboardFilters) -> list[Group]:
    """Assessments per ordering source (an ATS connection's key, or none for manual ones), named by
    the assessments' ``source_label`` or else by the registered resolvers (``source_labels``)."""
    groups = _groups(filters, key="source", label="source_label", fallback="Created by hand")
    names = source_labels(g.key for g in groups if g.label == g.key)
    return [Group(key=g.key, label=names.get(g.key, g.label), total=g.total, completed=g.completed) for g in groups]


def dashboard_by_job(*, filters: DashboardFilters) -> list[Group]:
    return _groups(filters, key="remote_job_id", label="remote_job_title", fallback="No job")


@dataclass(frozen=True)
class FilterChoices:
    packages: list[tuple[int, str]]
    sources: list[tuple[str, str]]
    jobs: list[tuple[str, str]]


def dashboard_filter_choices(*, tenant: Tenant) -> FilterChoices:
    packages = list(Package.objects.filter(tenant=tenant).order_by("name", "id").values_list("id", "name"))
    base = Assessment.objects.filter(tenant=tenant)
    stored = list(base.exclude(source="").values("source").annotate(label=Max("source_label"))
                  .order_by("source").values_list("source", "label"))
    names = source_labels(key for key, label in stored if not label)
    sources = [(key, label or names.get(key, key)) for key, label in stored]
    jobs = [(key, label or key) for key, label in base.exclude(remote_job_id="").values("remote_job_id")
            .annotate(label=Max("remote_job_title")).order_by("label", "remote_job_id")
            .values_list("remote_job_id", "label")[:200]]
    return FilterChoices(packages=packages, sources=sources, jobs=jobs)
