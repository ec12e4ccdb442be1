"""The recruiter's home (/app/): the dashboard of one tenant, every filter kept in the URL."""

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render

from tenants.selectors import tenant_list_for_user

from .charts import bar_chart
from .selectors_dashboard import (
    DEFAULT_PERIOD,
    PERIODS,
    DashboardFilters,
    dashboard_by_job,
    dashboard_by_source,
    dashboard_filter_choices,
    dashboard_funnel,
    dashboard_invitations_per_day,
    dashboard_score_histograms,
)


class DashboardFilterForm(forms.Form):
    period = forms.ChoiceField(choices=[(k, f"Last {v} days") for k, v in PERIODS.items()], required=False,
                               initial=DEFAULT_PERIOD)
    package = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    job = forms.ChoiceField(required=False)
    source = forms.ChoiceField(required=False)

    def __init__(self, *args, choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["package"].choices = [("", "Any package"), *choices.packages]
        self.fields["job"].choices = [("", "Any job"), *choices.jobs]
        self.fields["source"].choices = [("", "Any source"), *choices.sources]


def duration_text(value) -> str:
    """``1 h 05 min`` / ``12 min`` / ``40 s``; an em dash for none."""
    if value is None:
        return "—"
    seconds = int(value.total_seconds())
    if seconds < 60:
        return f"{seconds} s"
    hours, minutes = divmod(seconds // 60, 60)
    if hours >= 48:
        return f"{hours // 24} d {hours % 24} h"
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


def _tenant(request):
    tenants = list(tenant_list_for_user(user=request.user).order_by("name", "id"))
    if not tenants:
        return None, tenants
    slug = request.GET.get("tenant")
    if slug:
        for tenant in tenants:
            if tenant.slug == slug:
                return tenant, tenants
        raise Http404("Not found")  # not a member: 404, so slugs leak nothing
    return tenants[0], tenants


@login_required
def dashboard_view(request):
    tenant, tenants = _tenant(request)
    if tenant is None:
        return render(request, "assessments/app/dashboard_empty.html", {})
    choices = dashboard_filter_choices(tenant=tenant)
    form = DashboardFilterForm(request.GET or None, choices=choices)
    cleaned = form.cleaned_data if form.is_valid() else {}
    filters = DashboardFilters(
        tenant=tenant, period=cleaned.get("period") or DEFAULT_PERIOD, package_id=cleaned.get("package"),
        job=cleaned.get("job") or "", source=cleaned.get("source") or "",
    )
    funnel = dashboard_funnel(filters=filters)
    histograms = dashboard_score_histograms(filters=filters)
    per_day = dashboard_invitations_per_day(filters=filters)
    by_source = dashboard_by_source(filters=filters)
    by_job = dashboard_by_job(filters=filters)
    context = {
        "median_text": duration_text(funnel.median_completion),
        "tenant": tenant,
        "tenants": tenants,
        "form": form,
        "filters": filters,
        "funnel": funnel,
        "funnel_chart": bar_chart([(label, n) for _, label, n in funnel.steps + funnel.closed],
                                  css=[key for key, _, _ in funnel.steps + funnel.closed]),
        "histograms": [
            (h, f"scores-{h.package_id}", bar_chart(h.rows, threshold_percent=h.pass_score_percent,
                          css=["pass" if h.pass_score_percent is not None and i * 10 >= h.pass_score_percent
                               else "" for i in range(len(h.rows))]))
            for h in histograms
        ],
        "per_day": per_day,
        "per_day_chart": bar_chart([(day.strftime("%m-%d"), n) for day, n in per_day]),
        "by_source": by_source,
        "by_source_chart": bar_chart([(g.label, g.total) for g in by_source]),
        "by_job": by_job,
        "by_job_chart": bar_chart([(g.label, g.total) for g in by_job]),
    }
    return render(request, "assessments/app/dashboard.html", context)
