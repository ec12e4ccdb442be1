"""Connection status changes go through one function and leave an event row (who, what, why); the
ATS ids of an assessment live on the integration's link row, migrated out of Assessment.options."""

import importlib

import pytest
from django.apps import apps

from integrations.config_as_code import config_apply, config_load
from integrations.models import AssessmentLink, ConnectionEvent, Delivery
from integrations.services import connection_disconnect, connection_needs_attention, connection_status_set
from tests.factories import AssessmentFactory, ConnectionFactory

pytestmark = pytest.mark.django_db


def test_a_change_writes_one_event_and_a_repeat_none():
    conn = ConnectionFactory(status="active")
    assert connection_status_set(connection=conn, status="needs_attention", actor="outbox", reason="401 on write-back")
    assert not connection_status_set(connection=conn, status="needs_attention", actor="outbox", reason="401 on write-back")
    conn.refresh_from_db()
    assert (conn.status, conn.status_reason) == ("needs_attention", "401 on write-back")
    [event] = ConnectionEvent.objects.filter(connection=conn)
    assert (event.from_status, event.to_status, event.actor, event.reason) == (
        "active", "needs_attention", "outbox", "401 on write-back"
    )


def test_unknown_status_is_refused():
    conn = ConnectionFactory(status="active")
    with pytest.raises(ValueError):
        connection_status_set(connection=conn, status="bogus", actor="test")
    assert not ConnectionEvent.objects.exists()


def test_disconnect_and_needs_attention_are_recorded_and_disconnected_stays():
    conn = ConnectionFactory(status="active")
    connection_disconnect(connection=conn, actor="ats:teamtailor", reason="removed in Teamtailor")
    connection_needs_attention(connection=conn, actor="outbox", reason="401")
    conn.refresh_from_db()
    assert conn.status == "disconnected"
    assert list(ConnectionEvent.objects.values_list("actor", "to_status")) == [("ats:teamtailor", "disconnected")]


def test_apply_config_status_is_recorded(tmp_path):
    conn = ConnectionFactory(status="active", provider="teamtailor", remote_account_id="acme-co")
    config = tmp_path / "c.yaml"
    config.write_text(
        f"tenants:\n  - slug: {conn.tenant.slug}\n    name: {conn.tenant.name}\n    connections:\n"
        "      - provider: teamtailor\n        remote_account_id: acme-co\n        status: disconnected\n"
    )
    report = config_apply(doc=config_load(config))
    conn.refresh_from_db()
    assert conn.status == "disconnected"
    event = ConnectionEvent.objects.get(connection=conn)
    assert (event.actor, event.from_status, event.to_status) == ("config:apply_config", "active", "disconnected")
    assert any("status" in line for line in report.updated)


def test_the_migration_moves_partner_result_ids_out_of_assessment_options():
    migration = importlib.import_module("integrations.migrations.0004_h2_hardening")
    conn = ConnectionFactory(provider="teamtailor")
    trigger = AssessmentFactory(
        tenant=conn.tenant, source=conn.source_key, mode="trigger", remote_candidate_id="c1", remote_job_id="j1",
        options={"teamtailor_partner_result_id": "pr-9", "teamtailor_stage_id": "13", "threshold": 70},
    )
    order = AssessmentFactory(
        tenant=conn.tenant, source=conn.source_key, mode="order", remote_order_id="pr-1",
        callback_url="https://api.teamtailor.com/partner/v1/partner-results/pr-1",
    )
    Delivery.objects.create(connection=conn, assessment=order, channel="result", status="sent",
                            remote_refs={"partner_result_id": "pr-1"})
    unrelated = AssessmentFactory(tenant=conn.tenant, source="api")
    AssessmentLink.objects.all().delete()

    migration.links_from_assessments(apps, None)

    trigger.refresh_from_db()
    assert trigger.options == {"threshold": 70}
    link = AssessmentLink.objects.get(assessment=trigger)
    assert (link.connection_id, link.remote_result_id, link.remote_candidate_id, link.remote_job_id) == (
        conn.pk, "pr-9", "c1", "j1"
    )
    assert link.remote_stage_id == "13"
    order_link = AssessmentLink.objects.get(assessment=order)
    assert (order_link.remote_result_id, order_link.update_url) == ("pr-1", order.callback_url)
    assert not AssessmentLink.objects.filter(assessment=unrelated).exists()
