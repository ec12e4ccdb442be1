"""What integrations adds to the recruiter's pages of the assessments app, through the seams that
app offers (it never imports integrations): the write-backs on an assessment's detail page, and
the connection names its dashboard and lists show for ``Assessment.source`` keys."""

from __future__ import annotations

from assessments.detail_panels import DetailPanel, detail_panel_register
from assessments.models import Assessment
from assessments.source_labels import source_label_resolver_register

from .models import Connection, Delivery

SOURCE_PREFIX = "connection:"


def writebacks_panel(assessment: Assessment) -> DetailPanel | None:
    """Every write-back of this assessment to its ATS, newest first, with its status and error."""
    deliveries = list(
        Delivery.objects.filter(assessment=assessment).select_related("connection").order_by("-created_at", "-id")
    )
    if not deliveries and not assessment.source.startswith(SOURCE_PREFIX):
        return None
    return DetailPanel(title="Write-backs to the ATS", template="integrations/_writebacks.html",
                       context={"deliveries": deliveries}, order=50)


def connection_names(keys: list[str]) -> dict[str, str]:
    """Names of ``connection:<pk>`` source keys, in one query."""
    ids = [int(key[len(SOURCE_PREFIX):]) for key in keys
           if key.startswith(SOURCE_PREFIX) and key[len(SOURCE_PREFIX):].isdigit()]
    if not ids:
        return {}
    return {
        connection.source_key: connection.name or f"{connection.provider.title()} ({connection.tenant.name})"
        for connection in Connection.objects.filter(pk__in=ids).select_related("tenant")
    }


def register() -> None:
    detail_panel_register("integrations.writebacks", writebacks_panel)
    source_label_resolver_register("integrations.connections", connection_names)
