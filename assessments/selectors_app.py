"""Reads of packages and assessments for the recruiter pages and the machine APIs.

Everything listing a tenant's packages (the app, the unified-API package list, the ATS package
endpoints) goes through ``package_list``, so "which packages may an ATS see" is decided once.
"""

from django.db.models import Count, Q, QuerySet

from tenants.models import Tenant
from tenants.selectors import scope_for_user

from .models import Assessment, AssessmentEvent, Package


def _packages(*, active: bool | None) -> QuerySet[Package]:
    queryset = Package.objects.select_related("tenant").annotate(question_count=Count("questions"))
    if active is not None:
        queryset = queryset.filter(active=active)
    return queryset.order_by("tenant__name", "name", "id")


def package_list(*, tenant: Tenant, active: bool | None = True) -> QuerySet[Package]:
    """The packages of ``tenant`` (active ones unless ``active`` says otherwise), with ``question_count``."""
    return _packages(active=active).filter(tenant=tenant)


def package_list_for_user(*, user, active: bool | None = True) -> QuerySet[Package]:
    """``package_list`` over every tenant the recruiter is a member of."""
    return scope_for_user(_packages(active=active), user=user)


_BIGINT_MAX = 2**63 - 1


def assessment_get_for_tenant(*, tenant: Tenant, assessment_id: int) -> Assessment | None:
    if not 0 < assessment_id <= _BIGINT_MAX:  # no such row; the database would refuse the number
        return None
    return Assessment.objects.select_related("tenant", "package").filter(tenant=tenant, pk=assessment_id).first()


def assessment_list_for_user(
    *, user, status: str = "", package: Package | None = None, search: str = "", source: str = "", job: str = ""
) -> QuerySet[Assessment]:
    """The assessments of the recruiter's tenants, newest first, optionally filtered. ``search``
    matches the candidate's name or e-mail, the job title and the ATS ids (case-insensitive)."""
    queryset = scope_for_user(Assessment.objects.select_related("tenant", "package"), user=user)
    if status:
        queryset = queryset.filter(status=status)
    if package is not None:
        queryset = queryset.filter(package=package)
    if source:
        queryset = queryset.filter(source=source)
    if job:
        queryset = queryset.filter(remote_job_id=job)
    for term in search.split()[:5]:
        queryset = queryset.filter(
            Q(candidate_first_name__icontains=term) | Q(candidate_last_name__icontains=term)
            | Q(candidate_email__icontains=term) | Q(remote_job_title__icontains=term)
            | Q(remote_application_id=term) | Q(remote_candidate_id=term) | Q(remote_order_id=term)
            | Q(pk=int(term) if term.isdigit() and len(term) < 10 else -1)
        )
    return queryset.order_by("-created_at", "-id")


def assessment_timeline(*, assessment: Assessment) -> list[AssessmentEvent]:
    """Every event row of the assessment, oldest first."""
    return list(assessment.events.order_by("created_at", "id"))


INVITATION_NOTE_PREFIXES = ("invitation", "reminder")


def assessment_invitation_attempts(*, assessment: Assessment) -> list[AssessmentEvent]:
    """The events about sending the invitation and reminders (sent, re-sent, failed channels)."""
    notes = Q()
    for prefix in INVITATION_NOTE_PREFIXES:
        notes |= Q(note__istartswith=prefix)
    return list(assessment.events.filter(notes).order_by("created_at", "id"))
