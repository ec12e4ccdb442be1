"""Reads of the Teamtailor integration: what the trigger's config form offers a tenant."""

from __future__ import annotations

from dataclasses import dataclass

from assessments.models import Package, Question
from assessments.selectors_app import package_list
from tenants.models import Tenant

CRITERION_LABEL_MAX = 120


@dataclass(frozen=True)
class TriggerChoices:
    packages: list[Package]
    # (criterion id, label): one per question of the offered packages, the ids the write-back
    # scores in ``assessment-criteria``.
    criteria: list[tuple[str, str]]


def trigger_choices(*, tenant: Tenant) -> TriggerChoices:
    packages = list(package_list(tenant=tenant, active=True))
    questions = (
        Question.objects.filter(package__in=packages)
        .select_related("package")
        .order_by("package__name", "position", "id")
    )
    criteria = [(f"question-{q.pk}", f"{q.package.name}: {q.text}"[:CRITERION_LABEL_MAX]) for q in questions]
    return TriggerChoices(packages=packages, criteria=criteria)
