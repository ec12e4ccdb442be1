"""Reads of the Teamtailor integration: what the trigger's config form offers a tenant, and which
assessment a partner result (a card in Teamtailor) belongs to."""

from __future__ import annotations

from dataclasses import dataclass

from assessments.models import OPEN_STATUSES, Assessment, Package, Question
from assessments.selectors_app import package_list
from integrations.models import Connection, InboundSignature
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




class AmbiguousCandidate(Exception):
    """A click named only a candidate, who has several open interviews on the connection."""


def assessment_for_partner_result(
    *, connection: Connection, partner_result_id: str = "", candidate_id: str = "", job_id: str = ""
) -> Assessment | None:
    """The connection's assessment behind a partner result: order mode's ``remote_order_id``, or
    the result id trigger mode stored on the ``AssessmentLink``. Without a result id, the candidate's (and job's)
    one open assessment; several raise AmbiguousCandidate. Scoped by the connection's source key,
    so one company can never reach another's assessments."""
    scoped = Assessment.objects.filter(source=connection.source_key).select_related("package", "tenant")
    if partner_result_id:
        return (
            scoped.filter(remote_order_id=partner_result_id).first()
            or scoped.filter(ats_link__connection=connection, ats_link__remote_result_id=partner_result_id).first()
        )
    if not candidate_id:
        return None
    candidates = scoped.filter(remote_candidate_id=candidate_id, status__in=OPEN_STATUSES)
    if job_id:
        candidates = candidates.filter(remote_job_id=job_id)
    found = list(candidates.order_by("-id")[:2])
    if len(found) > 1:
        raise AmbiguousCandidate(candidate_id)
    return found[0] if found else None


def signature_kind(*, fingerprint: str) -> str:
    """What kind of accepted partner call first used this signature ("" when none did)."""
    row = InboundSignature.objects.filter(provider="teamtailor", fingerprint=fingerprint).only("kind").first()
    return row.kind if row else ""
