"""Reads scoped by membership: every recruiter-facing query goes through these."""

from django.db.models import Model, QuerySet
from django.http import Http404

from .models import Membership, Tenant


def tenant_list_for_user(*, user) -> QuerySet[Tenant]:
    if not getattr(user, "is_authenticated", False):
        return Tenant.objects.none()
    return Tenant.objects.filter(active=True, memberships__user=user).distinct()


def membership_get(*, user, tenant: Tenant) -> Membership | None:
    return Membership.objects.filter(user=user, tenant=tenant, tenant__active=True).first()


def scope_for_user(queryset: QuerySet, *, user, tenant_field: str = "tenant") -> QuerySet:
    """Restrict ``queryset`` to rows of the tenants ``user`` is a member of."""
    return queryset.filter(**{f"{tenant_field}__in": tenant_list_for_user(user=user)})


def get_for_user_or_404(queryset: QuerySet, *, user, tenant_field: str = "tenant", **lookups) -> Model:
    """One row of ``queryset`` the user may see; 404 (not 403) otherwise, so ids leak nothing."""
    try:
        return scope_for_user(queryset, user=user, tenant_field=tenant_field).get(**lookups)
    except queryset.model.DoesNotExist:
        raise Http404("Not found") from None
