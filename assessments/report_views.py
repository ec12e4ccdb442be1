"""The assessment report: for signed-in recruiters of the tenant, and through a signed, expiring
link for an ATS (no login; the signature is the permission)."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from tenants.selectors import get_for_user_or_404

from .models import Assessment
from .selectors import assessment_report_context, assessment_report_url
from .tokens import ReportLinkExpired, ReportLinkInvalid, report_unsign


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "private, no-store"
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _queryset():
    return Assessment.objects.select_related("tenant", "package")


@login_required
@require_GET
def report(request: HttpRequest, pk: int) -> HttpResponse:
    assessment = get_for_user_or_404(_queryset(), user=request.user, pk=pk)
    context = assessment_report_context(assessment=assessment)
    context["share_url"] = assessment_report_url(assessment=assessment)
    return _no_store(render(request, "assessments/report.html", context))


@never_cache
@require_GET
def signed_report(request: HttpRequest, signed: str) -> HttpResponse:
    try:
        assessment_id = report_unsign(signed=signed)
    except ReportLinkExpired:
        return _unavailable(request, 410, "This report link has expired", "Ask for a new link from the ATS.")
    except ReportLinkInvalid:
        return _unavailable(request, 404, "This report link does not work", "Check that the whole link was copied.")
    assessment = _queryset().filter(pk=assessment_id, tenant__active=True).first()
    if assessment is None:
        return _unavailable(request, 404, "This report link does not work", "The report no longer exists.")
    return _no_store(render(request, "assessments/report.html", assessment_report_context(assessment=assessment)))


def _unavailable(request: HttpRequest, status: int, headline: str, text: str) -> HttpResponse:
    return _no_store(render(request, "assessments/candidate/unavailable.html",
                            {"headline": headline, "text": text}, status=status))
