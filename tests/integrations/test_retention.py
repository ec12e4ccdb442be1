"""Erasure on request and the retention purge reach the integration tables: inbox, outbox, mirror."""

import hashlib
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection as db
from django.utils import timezone

from assessments.models import Assessment, AuditLog, Status
from assessments.retention import candidate_erase
from config.schedules import PERIODIC_TASKS, Daily
from integrations.deliveries import delivery_send_by_id
from integrations.models import (
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    RemoteApplication,
    RemoteCandidate,
    WebhookEvent,
    WebhookStatus,
)
from integrations.retention import ERASED_BODY, EXPIRED_BODY, integration_data_purge
from integrations.tasks import purge_integration_data
from tests.factories import AssessmentFactory, ConnectionFactory, TenantFactory, UserFactory

from .conftest import PROVIDER
from .test_webhooks import order_body, post

pytestmark = pytest.mark.django_db

_TENANT_JOIN = {
    "integrations_webhookevent": "LEFT JOIN integrations_connection c ON c.id = t.connection_id",
    "integrations_delivery": "JOIN integrations_connection c ON c.id = t.connection_id",
    "integrations_deliveryattempt": (
        "JOIN integrations_delivery d ON d.id = t.delivery_id JOIN integrations_connection c ON c.id = d.connection_id"
    ),
    "integrations_remotecandidate": "JOIN integrations_connection c ON c.id = t.connection_id",
    "integrations_remoteapplication": "JOIN integrations_connection c ON c.id = t.connection_id",
}


def _forms(email: str) -> set[str]:
    """The address as written and as a JSON encoder escapes it."""
    return {email, json.dumps(email)[1:-1]}


def _rows_mentioning(table: str, email: str, *, tenant=None) -> int:
    """Rows of ``table`` (of ``tenant``'s connections, or all) quoting ``email`` in any column, the
    bytea body read as text; case-insensitive, in every form the address takes in JSON."""
    text = "row_to_json(t)::text"
    if table == "integrations_webhookevent":
        text = f"convert_from(t.raw_body, 'UTF8') || {text}"
    found = 0
    for form in _forms(email):
        sql = f"SELECT count(*) FROM {table} t {_TENANT_JOIN[table]} WHERE strpos(lower({text}), lower(%s)) > 0"
        params = [form]
        if tenant is not None:
            sql += " AND c.tenant_id = %s"
            params.append(tenant.pk)
        with db.cursor() as cursor:
            cursor.execute(sql, params)
            found += cursor.fetchone()[0]
    return found


def _mentions(email: str, *, tenant=None) -> dict[str, int]:
    return {table: _rows_mentioning(table, email, tenant=tenant) for table in _TENANT_JOIN}


def _phone_of(email: str) -> str:
    """One phone number per candidate (two candidates do not share one)."""
    return f"+44 7700 {int(hashlib.sha256(email.lower().encode()).hexdigest(), 16) % 10**6:06d}"


def _event(connection, *, event_id: str, email: str, raw: bytes | None = None, days_old: int = 0, **fields):
    body = raw if raw is not None else json.dumps(
        {"id": event_id, "type": "order", "data": {"candidate": {"first_name": "Grace", "email": email,
                                                                  "phone": _phone_of(email)}}}
    ).encode()
    event = WebhookEvent.objects.create(
        provider=PROVIDER, connection=connection, event_id=event_id, event_type="order",
        headers={"User-Agent": "ats/1.0", "X-Candidate": email}, raw_body=body, **fields,
    )
    WebhookEvent.objects.filter(pk=event.pk).update(received_at=timezone.now() - timedelta(days=days_old))
    return WebhookEvent.objects.get(pk=event.pk)


def _assessment(connection, *, email: str, status=Status.COMPLETED) -> Assessment:
    return AssessmentFactory(
        tenant=connection.tenant, source=connection.source_key, mode="order", status=status,
        candidate_first_name="Grace", candidate_last_name="Hopperton", candidate_email=email,
        summary=f"Grace ({email}) rebuilt the billing pipeline", score_value=Decimal("81"),
    )


def _delivery(assessment, *, status, email: str, days_old: int = 0, assessment_status="completed") -> Delivery:
    delivery = Delivery.objects.create(
        connection_id=int(assessment.source.removeprefix("connection:")), assessment=assessment, channel="result",
        assessment_status=assessment_status, status=status, last_error=f"422: unknown candidate {email}",
        payload={"status": assessment_status, "summary": f"Grace ({email}) rebuilt the billing pipeline"},
    )
    attempt = DeliveryAttempt.objects.create(delivery=delivery, status_code=422, error=f'{{"error": "no {email}"}}')
    Delivery.objects.filter(pk=delivery.pk).update(created_at=timezone.now() - timedelta(days=days_old))
    DeliveryAttempt.objects.filter(pk=attempt.pk).update(started_at=timezone.now() - timedelta(days=days_old))
    return Delivery.objects.get(pk=delivery.pk)


def _mirror(connection, *, email: str, remote_id: str, days_old: int = 0) -> None:
    RemoteCandidate.objects.create(
        connection=connection, remote_id=remote_id, first_name="Grace", last_name="Hopperton", email=email,
        data={"email": email},
    )
    RemoteApplication.objects.create(
        connection=connection, remote_id=f"app-{remote_id}", remote_candidate_id=remote_id, remote_stage_id="s-1",
        data={"candidate": {"email": email}, "answers": ["I rebuilt the billing pipeline"]},
    )
    synced_at = timezone.now() - timedelta(days=days_old)
    RemoteCandidate.objects.filter(connection=connection, remote_id=remote_id).update(synced_at=synced_at)
    RemoteApplication.objects.filter(connection=connection, remote_id=f"app-{remote_id}").update(synced_at=synced_at)


def _candidate_everywhere(connection, *, email: str, tag: str) -> dict:
    """One candidate's footprint in every integration table of ``connection``."""
    done = _assessment(connection, email=email)
    return {
        "assessment": done,
        "event": _event(connection, event_id=f"evt-{tag}", email=email.upper(), status=WebhookStatus.PROCESSED),
        "sent": _delivery(done, status=DeliveryStatus.SENT, email=email),
        "dead": _delivery(done, status=DeliveryStatus.DEAD, email=email),
        "mirror": _mirror(connection, email=email, remote_id=f"c-{tag}"),
    }


# --- erasure on request ----------------------------------------------------------------------------
def test_erase_in_one_tenant_leaves_no_trace_there_and_touches_nothing_else(connection):
    email = "grace.erase@example.com"
    tenant = connection.tenant
    other_tenant = ConnectionFactory(provider=PROVIDER)
    mine = _candidate_everywhere(connection, email=email, tag="a")
    _candidate_everywhere(connection, email="bystander@example.com", tag="b")
    _candidate_everywhere(other_tenant, email=email, tag="c")
    before_other = _mentions(email, tenant=other_tenant.tenant)
    before_bystander = _mentions("bystander@example.com")

    assert candidate_erase(email=email.upper(), actor="admin:dpo", tenant=tenant) == 1

    assert _mentions(email, tenant=tenant) == dict.fromkeys(_TENANT_JOIN, 0)
    assert _mentions(email, tenant=other_tenant.tenant) == before_other
    assert all(before_other.values())
    assert _mentions("bystander@example.com") == before_bystander
    # What is kept: ids, types, statuses, timestamps.
    event = WebhookEvent.objects.get(pk=mine["event"].pk)
    assert bytes(event.raw_body) == ERASED_BODY and event.headers == {} and event.redacted_at is not None
    assert (event.event_id, event.event_type, event.status, event.received_at) == (
        "evt-a", "order", WebhookStatus.PROCESSED, mine["event"].received_at
    )
    for key in ("sent", "dead"):
        delivery = Delivery.objects.get(pk=mine[key].pk)
        assert delivery.payload == {} and delivery.last_error == "" and delivery.redacted_at is not None
        assert delivery.status == mine[key].status and delivery.attempt_rows.get().error == ""
    assert not RemoteCandidate.objects.filter(connection=connection, email=email).exists()
    assert RemoteApplication.objects.get(connection=connection, remote_id="app-c-a").remote_stage_id == "s-1"
    audit = AuditLog.objects.get(action="candidate_erase")
    # mirror: 1 candidate + 1 application; 1 event; 2 deliveries + 2 attempts
    assert audit.detail["other_rows"] == 7 and audit.tenant == tenant


def test_erase_everywhere_reaches_every_tenant_and_events_without_a_connection(connection):
    email = "grace.everywhere@example.com"
    other_tenant = ConnectionFactory(provider=PROVIDER)
    _candidate_everywhere(connection, email=email, tag="a")
    _candidate_everywhere(other_tenant, email=email, tag="b")
    orphan = _event(None, event_id="evt-orphan", email=email)

    assert candidate_erase(email=email, actor="admin:dpo") == 2

    assert _mentions(email) == dict.fromkeys(_TENANT_JOIN, 0)
    assert WebhookEvent.objects.get(pk=orphan.pk).redacted_at is not None


def test_erase_finds_the_address_in_any_case_and_json_escaped(connection):
    email = "zoë.erase@example.com"
    raw = json.dumps({"email": "ZOË.Erase@example.com"}).encode()
    escaped = _event(connection, event_id="evt-escaped", email="", raw=raw)
    assert b"\\u00cb" in bytes(escaped.raw_body)  # the encoder's form, not the address as typed
    lower = _event(connection, event_id="evt-lower", email="", raw=b'{"note": "zo\\u00eb.erase@example.com"}')
    unrelated = _event(connection, event_id="evt-other", email="zoe.erase@example.com")

    candidate_erase(email=email, actor="x", tenant=connection.tenant)

    assert WebhookEvent.objects.get(pk=escaped.pk).redacted_at is not None
    assert WebhookEvent.objects.get(pk=lower.pk).redacted_at is not None
    assert WebhookEvent.objects.get(pk=unrelated.pk).redacted_at is None
    assert _rows_mentioning("integrations_webhookevent", email) == 0


def _raw_event(connection, event_id: str, body: dict) -> WebhookEvent:
    return WebhookEvent.objects.create(
        provider=PROVIDER, connection=connection, event_id=event_id, event_type="update",
        raw_body=json.dumps(body).encode(), status=WebhookStatus.PROCESSED,
    )


def _redacted(*events) -> list[bool]:
    return [WebhookEvent.objects.get(pk=e.pk).redacted_at is not None for e in events]


def test_erase_reaches_events_naming_only_the_candidates_ats_id_or_phone(connection):
    """Issue 7 #16: the event with the address names the ATS's candidate id and phone; later
    events carry only those (a JSON:API relationship, a ``candidate_id``, the phone written
    nationally). All are erased at once; other candidates' and other connections' are not."""
    email = "grace.ids@example.com"
    other_connection = ConnectionFactory(provider=PROVIDER, tenant=connection.tenant)
    with_email = _raw_event(connection, "e-1", {"candidate": {"id": 5501, "email": email, "phone": "+46 70 432 1210"}})
    relationship = _raw_event(connection, "e-2", {"data": {"type": "job-applications", "id": "637", "relationships": {
        "candidate": {"data": {"type": "candidates", "id": "5501"}}, "stage": {"data": {"id": "13"}}}}})
    flat_id = _raw_event(connection, "e-3", {"event": "stage", "candidate_id": "5501"})
    resource = _raw_event(connection, "e-4", {"data": {"type": "candidates", "id": "5501", "attributes": {"tags": []}}})
    by_phone = _raw_event(connection, "e-5", {"sms": {"to": "070-432 12 10", "text": "Your interview"}})
    other_candidate = _raw_event(connection, "e-6", {"candidate_id": "5502", "job_id": "5501"})
    same_id_other_connection = _raw_event(other_connection, "e-7", {"candidate_id": "5501"})
    other_phone = _raw_event(connection, "e-8", {"sms": {"to": "+46 70 432 1299"}})

    candidate_erase(email=email, actor="admin:dpo", tenant=connection.tenant)

    assert _redacted(with_email, relationship, flat_id, resource, by_phone) == [True] * 5
    assert _redacted(other_candidate, same_id_other_connection, other_phone) == [False] * 3


def test_erase_uses_the_assessments_ats_id_and_phone_and_the_mirror_by_id(connection):
    email = "grace.assessed@example.com"
    assessment = _assessment(connection, email=email)
    Assessment.objects.filter(pk=assessment.pk).update(remote_candidate_id="c-900", candidate_phone="+33 6 12 34 56 78")
    # The mirror row of that id holds another (older) address; the events quote no address at all.
    RemoteCandidate.objects.create(connection=connection, remote_id="c-900", email="old@example.com", data={"x": 1})
    RemoteApplication.objects.create(connection=connection, remote_id="app-1", remote_candidate_id="c-900",
                                     data={"answers": ["mine"]})
    by_id = _raw_event(connection, "e-1", {"candidate": {"id": "c-900", "first_name": "Grace"}})
    by_phone = _raw_event(connection, "e-2", {"text": "call 06 12 34 56 78"})
    untouched = _raw_event(connection, "e-3", {"candidate": {"id": "c-901"}, "text": "call 06 12 34 56 79"})

    candidate_erase(email=email, actor="admin:dpo", tenant=connection.tenant)

    assert _redacted(by_id, by_phone, untouched) == [True, True, False]
    assert not RemoteCandidate.objects.filter(connection=connection, remote_id="c-900").exists()
    assert RemoteApplication.objects.get(remote_id="app-1").data == {}


def test_a_pending_write_back_keeps_going_without_personal_data(connection):
    email = "grace.pending@example.com"
    open_one = _assessment(connection, email=email, status=Status.INVITED)
    pending = _delivery(open_one, status=DeliveryStatus.PENDING, email=email, assessment_status="invited")

    candidate_erase(email=email, actor="x")

    pending.refresh_from_db()
    # Made again by the provider from the erased assessment: what the ATS needs, nothing more.
    assert pending.status == DeliveryStatus.PENDING and pending.payload == {"status": "invited"}
    assert pending.redacted_at is None and pending.last_error == ""
    assert Assessment.objects.get(pk=open_one.pk).status == Status.CANCELLED
    assert _mentions(email) == dict.fromkeys(_TENANT_JOIN, 0)


def test_a_pending_write_back_sent_after_erasure_keeps_no_copy(connection):
    email = "grace.sent-later@example.com"
    open_one = _assessment(connection, email=email, status=Status.INVITED)
    pending = _delivery(open_one, status=DeliveryStatus.PENDING, email=email, assessment_status="invited")
    candidate_erase(email=email, actor="x")

    delivery_send_by_id(delivery_id=pending.pk)

    pending.refresh_from_db()
    assert pending.status == DeliveryStatus.SENT
    assert pending.payload == {} and pending.redacted_at is not None


def test_an_unprocessed_event_of_the_candidate_is_closed_not_processed_later(connection):
    email = "grace.unprocessed@example.com"
    event = _event(connection, event_id="evt-open", email=email)
    assert event.status == WebhookStatus.RECEIVED

    candidate_erase(email=email, actor="x")

    event.refresh_from_db()
    assert event.status == WebhookStatus.IGNORED and event.processed_at is not None
    assert event.error == "candidate data erased on request"


@pytest.mark.urls("tests.integrations.urls")
def test_a_redelivered_event_is_still_a_duplicate_after_erasure(client, connection):
    body = order_body(connection, event_id="evt-again")
    assert post(client, body).json() == {"received": "evt-again", "duplicate": False}

    candidate_erase(email="ada@example.com", actor="x", tenant=connection.tenant)
    event = WebhookEvent.objects.get(event_id="evt-again")
    assert event.redacted_at is not None and bytes(event.raw_body) == ERASED_BODY

    response = post(client, body)

    assert response.status_code == 202 and response.json() == {"received": "evt-again", "duplicate": True}
    assert WebhookEvent.objects.filter(event_id="evt-again").count() == 1
    assert bytes(WebhookEvent.objects.get(event_id="evt-again").raw_body) == ERASED_BODY
    assert _rows_mentioning("integrations_webhookevent", "ada@example.com") == 0


# --- retention ------------------------------------------------------------------------------------
def _aged_footprint(connection, *, email: str, tag: str, days_old: int) -> dict:
    done = _assessment(connection, email=email)
    return {
        "event": _event(connection, event_id=f"evt-{tag}", email=email, days_old=days_old,
                        status=WebhookStatus.PROCESSED),
        "sent": _delivery(done, status=DeliveryStatus.SENT, email=email, days_old=days_old),
        "failed": _delivery(done, status=DeliveryStatus.FAILED, email=email, days_old=days_old),
        "mirror": _mirror(connection, email=email, remote_id=f"c-{tag}", days_old=days_old),
    }


def test_purge_redacts_only_what_is_past_each_tenants_retention():
    short = ConnectionFactory(provider=PROVIDER, tenant=TenantFactory(retention_days=10))
    long = ConnectionFactory(provider=PROVIDER, tenant=TenantFactory(retention_days=365))
    old = _aged_footprint(short, email="grace.old@example.com", tag="old", days_old=11)
    _aged_footprint(short, email="grace.recent@example.com", tag="recent", days_old=9)
    _aged_footprint(long, email="grace.patient@example.com", tag="patient", days_old=200)
    kept_recent, kept_patient = _mentions("grace.recent@example.com"), _mentions("grace.patient@example.com")

    changed = integration_data_purge()

    # 1 event, 1 sent delivery, 2 attempt errors, 1 mirrored candidate, 1 application
    assert changed == 6
    event = WebhookEvent.objects.get(pk=old["event"].pk)
    assert bytes(event.raw_body) == EXPIRED_BODY and event.headers == {} and event.status == WebhookStatus.PROCESSED
    assert Delivery.objects.get(pk=old["sent"].pk).payload == {}
    # A write-back still to go out keeps its payload (the assessment keeps its data too); its
    # attempt errors are history and go.
    failed = Delivery.objects.get(pk=old["failed"].pk)
    assert failed.payload["status"] == "completed" and failed.redacted_at is None
    assert failed.attempt_rows.get().error == ""
    assert not RemoteCandidate.objects.filter(remote_id="c-old").exists()
    assert RemoteApplication.objects.get(remote_id="app-c-old").data == {}
    assert _mentions("grace.recent@example.com") == kept_recent
    assert _mentions("grace.patient@example.com") == kept_patient
    audit = AuditLog.objects.get(action="integration_data_purge")
    assert audit.actor == "retention" and audit.detail["count"] == 6
    assert audit.detail["tenants"] == {
        str(short.tenant.pk): {
            "retention_days": 10, "webhook_events": 1, "deliveries": 1, "delivery_attempts": 2,
            "remote_candidates": 1, "remote_applications": 1,
        }
    }


def test_purge_is_idempotent_and_runs_from_the_task():
    short = ConnectionFactory(provider=PROVIDER, tenant=TenantFactory(retention_days=5))
    old = _aged_footprint(short, email="grace.task@example.com", tag="task", days_old=6)

    purge_integration_data.delay()

    redacted_at = WebhookEvent.objects.get(pk=old["event"].pk).redacted_at
    assert redacted_at is not None
    assert integration_data_purge() == 0
    assert WebhookEvent.objects.get(pk=old["event"].pk).redacted_at == redacted_at
    assert Delivery.objects.get(pk=old["sent"].pk).redacted_at is not None
    counts = sorted(a.detail["count"] for a in AuditLog.objects.filter(action="integration_data_purge"))
    assert counts == [0, 6]


def test_purge_clears_final_write_backs_of_erased_assessments_whatever_their_age(connection):
    email = "grace.later@example.com"
    open_one = _assessment(connection, email=email, status=Status.INVITED)
    pending = _delivery(open_one, status=DeliveryStatus.PENDING, email=email, assessment_status="invited")
    candidate_erase(email=email, actor="x")
    Delivery.objects.filter(pk=pending.pk).update(status=DeliveryStatus.SENT)  # the ATS heard it

    integration_data_purge()

    assert Delivery.objects.get(pk=pending.pk).payload == {}


def test_purge_works_in_batches(monkeypatch):
    monkeypatch.setattr("integrations.retention.PURGE_BATCH_SIZE", 2)
    short = ConnectionFactory(provider=PROVIDER, tenant=TenantFactory(retention_days=1))
    events = [_event(short, event_id=f"evt-{i}", email=f"g{i}@example.com", days_old=2) for i in range(5)]

    assert integration_data_purge() == 5

    assert all(WebhookEvent.objects.get(pk=e.pk).redacted_at for e in events)


def test_the_purge_is_a_declared_daily_schedule():
    spec = next(s for s in PERIODIC_TASKS if s.task == "integrations.tasks.purge_integration_data")
    assert spec.name == "Integration data retention" and spec.schedule == Daily(hour=3, minute=30)


def test_admin_shows_a_redacted_event_as_redacted_and_does_not_reprocess_it(client, connection):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    event = _event(connection, event_id="evt-admin", email="grace.admin@example.com", status=WebhookStatus.PROCESSED)
    candidate_erase(email="grace.admin@example.com", actor="x")

    page = client.get(f"/admin/integrations/webhookevent/{event.pk}/change/").content.decode()
    assert "redacted on" in page and "grace.admin@example.com" not in page

    client.post(
        "/admin/integrations/webhookevent/", {"action": "reprocess", "_selected_action": [event.pk]}, follow=True
    )
    assert WebhookEvent.objects.get(pk=event.pk).status == WebhookStatus.PROCESSED
