"""Recruiter pages: the tenant's packages and assessments. Every query is scoped by membership."""

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render

from tenants.selectors import tenant_list_for_user

from .models import Status
from .selectors_app import assessment_list_for_user, package_list_for_user

ASSESSMENTS_PER_PAGE = 25


class AssessmentFilterForm(forms.Form):
    q = forms.CharField(label="Search", required=False, max_length=200,
                        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Name, e-mail, job, ATS id"}))
    source = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)
    job = forms.CharField(required=False, max_length=128, widget=forms.HiddenInput)
    status = forms.ChoiceField(choices=[("", "Any status"), *Status.choices], required=False)
    package = forms.ModelChoiceField(queryset=None, required=False, empty_label="Any package")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        # Only the recruiter's own packages are valid choices, so another tenant's id fails validation.
        self.fields["package"].queryset = package_list_for_user(user=user, active=None)


@login_required
def package_list_view(request):
    packages = package_list_for_user(user=request.user)
    return render(
        request,
        "assessments/app/package_list.html",
        {"packages": packages, "several_tenants": tenant_list_for_user(user=request.user).count() > 1},
    )


@login_required
def assessment_list_view(request):
    form = AssessmentFilterForm(request.GET or None, user=request.user)
    filters = form.cleaned_data if form.is_valid() else {}
    assessments = assessment_list_for_user(
        user=request.user, status=filters.get("status") or "", package=filters.get("package"),
        search=filters.get("q") or "", source=filters.get("source") or "", job=filters.get("job") or "",
    )
    page = Paginator(assessments, ASSESSMENTS_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "assessments/app/assessment_list.html",
        {
            "form": form,
            "page": page,
            "filter_query": query.urlencode(),
            "several_tenants": tenant_list_for_user(user=request.user).count() > 1,
        },
    )
