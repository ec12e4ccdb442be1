"""Reads for SmartRecruiters' calls: our packages in the contract's shape, connections by company."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import Prefetch, QuerySet

from assessments.models import Package, Question
from integrations.models import Connection, ConnectionStatus
from tenants.models import Membership, Role, Tenant

from .constants import PACKAGE_TYPE, PARTNER_FIELDS, PROVIDER_NAME
from .models import ConnectionSettings
from .writeback import assessment_id_for


def _packages(connection: Connection) -> QuerySet[Package]:
    return (
        Package.objects.filter(tenant_id=connection.tenant_id, active=True)
        .prefetch_related(Prefetch("questions", queryset=Question.objects.order_by("position", "id")))
        .order_by("name", "id")
    )


def package_json(package: Package) -> dict[str, Any]:
    """An ``AssessmentPackage``: its parts are our questions."""
    kind = PACKAGE_TYPE.get(package.type, "VIDEO_INTERVIEW")
    description = package.description or f"{package.name} ({package.duration_minutes} min)"
    return {
        "id": str(package.pk),
        "name": package.name,
        "description": description,
        "type": kind,
        "assessments": [
            {"id": assessment_id_for(q.pk), "name": f"Question {n}", "description": q.text, "type": kind}
            for n, q in enumerate(package.questions.all(), start=1)
        ],
    }


def packages_for(*, connection: Connection, filters: Mapping[str, str]) -> list[dict[str, Any]]:
    """The connection's active packages, narrowed by the partner fields given (``language``)."""
    queryset = _packages(connection)
    known = {field["id"] for field in PARTNER_FIELDS}
    language = (filters.get("language") or "").strip() if "language" in known else ""
    if language:
        queryset = queryset.filter(language__iexact=language)
    return [package_json(p) for p in queryset]


def package_for(*, connection: Connection, package_id: str) -> Package | None:
    if not str(package_id).isdigit():
        return None
    return _packages(connection).filter(pk=int(package_id)).first()


def connection_for_company(*, company_id: str) -> Connection | None:
    if not company_id:
        return None
    return (
        Connection.objects.select_related("tenant")
        .filter(provider=PROVIDER_NAME, remote_account_id=company_id)
        .first()
    )


def live_connections(*, company_id: str = "") -> QuerySet[Connection]:
    queryset = (
        Connection.objects.select_related("tenant")
        .filter(provider=PROVIDER_NAME, tenant__active=True)
        .exclude(status=ConnectionStatus.DISCONNECTED)
    )
    return queryset.filter(remote_account_id=company_id) if company_id else queryset


def admin_tenants(*, user) -> QuerySet[Tenant]:
    """The tenants where ``user`` is an admin: the only ones they may connect."""
    if not getattr(user, "is_authenticated", False):
        return Tenant.objects.none()
    ids = Membership.objects.filter(user=user, role=Role.ADMIN, tenant__active=True).values("tenant_id")
    return Tenant.objects.filter(pk__in=ids).order_by("name")


def score_property_for(*, connection: Connection) -> ConnectionSettings | None:
    """The connection's chosen score property (its settings row), or None when none is chosen."""
    return ConnectionSettings.objects.filter(connection=connection).exclude(score_property_id="").first()
