"""The recruiter's assessment detail (/app/assessments/<id>/) and its actions: resend the
invitation, extend the deadline, cancel. Each action is a POST calling the existing service; the
outcome is a message on the detail page (post/redirect/get)."""

from datetime import datetime, time

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from tenants.selectors import get_for_user_or_404

from . import services
from .detail_panels import detail_panels_for
from .exceptions import AssessmentError, InvitationTemporaryFailure
from .models import Assessment, Status
from .selectors import assessment_report_context
from .selectors_app import assessment_invitation_attempts, assessment_timeline


class ExtendDeadlineForm(forms.Form):
    expires_on = forms.DateField(label="New deadline (date)", widget=forms.DateInput(attrs={"type": "date"}))
    expires_time = forms.TimeField(label="Time (UTC)", required=False, initial=time(23, 59),
                                   widget=forms.TimeInput(attrs={"type": "time"}))

    def expires_at(self) -> datetime:
        at = datetime.combine(self.cleaned_data["expires_on"], self.cleaned_data.get("expires_time") or time(23, 59))
        return timezone.make_aware(at, timezone.get_current_timezone())


def _assessment(request, pk: int) -> Assessment:
    return get_for_user_or_404(Assessment.objects.select_related("tenant", "package"), user=request.user, pk=pk)


def _actor(request) -> str:
    return f"recruiter:{request.user.email or request.user.pk}"


@login_required
@require_GET
def assessment_detail_view(request, pk: int):
    assessment = _assessment(request, pk)
    context = assessment_report_context(assessment=assessment)
    initial = {}
    if assessment.expires_at:
        initial["expires_on"] = timezone.localtime(assessment.expires_at).date()
    context.update({
        "timeline": assessment_timeline(assessment=assessment),
        "attempts": assessment_invitation_attempts(assessment=assessment),
        "panels": detail_panels_for(assessment=assessment),
        "extend_form": ExtendDeadlineForm(initial=initial),
        "can_resend": assessment.status in (Status.ORDERED, Status.INVITED),
        "can_cancel": assessment.is_open,
        "can_extend": assessment.is_open,
    })
    response = render(request, "assessments/app/assessment_detail.html", context)
    response["Cache-Control"] = "private, no-store"
    return response


def _run(request, pk: int, action, success: str):
    assessment = _assessment(request, pk)
    try:
        action(assessment)
    except InvitationTemporaryFailure as exc:
        messages.error(request, f"Not sent for now ({exc.message}). Try again in a few minutes.")
    except AssessmentError as exc:
        messages.error(request, f"Not done: {exc.message}.")
    else:
        messages.success(request, success)
    return redirect("assessments_app:assessment-detail", pk=assessment.pk)


@login_required
@require_POST
def assessment_resend_view(request, pk: int):
    return _run(request, pk, lambda a: services.assessment_resend_invitation(assessment=a, actor=_actor(request)),
                "The invitation was sent again with a new link.")


@login_required
@require_POST
def assessment_cancel_view(request, pk: int):
    reason = (request.POST.get("reason") or "").strip()[:200]
    return _run(request, pk, lambda a: services.assessment_cancel(
        assessment=a, actor=_actor(request), reason=f"cancelled by a recruiter{': ' + reason if reason else ''}"),
        "The assessment was cancelled.")


@login_required
@require_POST
def assessment_extend_view(request, pk: int):
    form = ExtendDeadlineForm(request.POST)
    if not form.is_valid():
        _assessment(request, pk)  # 404 for someone else's assessment, before saying anything
        messages.error(request, "Not done: enter the new deadline as a date (and optionally a time).")
        return redirect("assessments_app:assessment-detail", pk=pk)
    return _run(request, pk, lambda a: services.assessment_extend_deadline(
        assessment=a, expires_at=form.expires_at(), actor=_actor(request)), "The deadline was extended.")
