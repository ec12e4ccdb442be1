"""Periodic sweepers, admin actions and the wiring done in ``IntegrationsConfig.ready``."""

import datetime as dt
import json

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from assessments.services import assessment_set_status
from assessments.signals import candidate_erasure_requested
from integrations import receivers
from integrations.models import (
    Delivery,
    DeliveryStatus,
    ErrorCode,
    RemoteApplication,
    RemoteCandidate,
    WebhookEvent,
    WebhookStatus,
)
from integrations.tasks import sweep_inbox, sweep_outbox
from tests.factories import AssessmentFactory, ConnectionFactory, PackageFactory, UserFactory

from .conftest import PROVIDER, Reply

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_stale_locks():
    cache.delete_many(["stagehook:lock:sweep_inbox", "stagehook:lock:sweep_outbox"])


def order_event(connection, event_id, *, age_minutes=0, **fields) -> WebhookEvent:
    package = PackageFactory(tenant=connection.tenant)
    body = {"id": event_id, "type": "order", "data": {
        "order_id": event_id, "package_id": package.pk, "candidate": {"id": "c", "email": "c@example.com"},
    }}
    event = WebhookEvent.objects.create(
        provider=PROVIDER, connection=connection, event_id=event_id, event_type="order",
        raw_body=json.dumps(body).encode(), **fields,
    )
    WebhookEvent.objects.filter(pk=event.pk).update(received_at=timezone.now() - dt.timedelta(minutes=age_minutes))
    return event


def status_of(event) -> tuple[str, int]:
    event.refresh_from_db()
    return event.status, event.attempts


# --- inbox sweeper ---------------------------------------------------------------------------------
def test_sweep_inbox_requeues_lost_and_retryable_events_only(connection):
    lost = order_event(connection, "lost", age_minutes=2)
    fresh = order_event(connection, "fresh")
    retryable = order_event(connection, "retryable", age_minutes=30, status=WebhookStatus.FAILED,
                            error_code=ErrorCode.INTERNAL, attempts=1)
    bad = order_event(connection, "bad", age_minutes=30, status=WebhookStatus.FAILED,
                      error_code=ErrorCode.BAD_PAYLOAD, attempts=1)
    exhausted = order_event(connection, "exhausted", age_minutes=30, status=WebhookStatus.FAILED,
                            error_code=ErrorCode.INTERNAL, attempts=8)
    done = order_event(connection, "done", age_minutes=30, status=WebhookStatus.PROCESSED, attempts=1)

    sweep_inbox.delay()

    assert status_of(lost) == (WebhookStatus.PROCESSED, 1)
    assert status_of(retryable) == (WebhookStatus.PROCESSED, 2)
    assert status_of(fresh) == (WebhookStatus.RECEIVED, 0)  # its own task is still on the way
    assert status_of(bad) == (WebhookStatus.FAILED, 1)
    assert status_of(exhausted) == (WebhookStatus.FAILED, 8)
    assert status_of(done) == (WebhookStatus.PROCESSED, 1)

    sweep_inbox.delay()  # idempotent: nothing left to do
    assert status_of(lost) == (WebhookStatus.PROCESSED, 1)


def test_sweepers_skip_while_another_run_holds_the_lock(connection):
    lost = order_event(connection, "lost", age_minutes=2)
    cache.add("stagehook:lock:sweep_inbox", "1", timeout=60)
    sweep_inbox.delay()
    assert status_of(lost) == (WebhookStatus.RECEIVED, 0)


# --- outbox sweeper --------------------------------------------------------------------------------
def test_sweep_outbox_sends_due_deliveries_only(connection, fake_ats):
    a = AssessmentFactory(tenant=connection.tenant, source=connection.source_key, mode="order")
    b = AssessmentFactory(tenant=connection.tenant, source=connection.source_key, mode="order")
    assessment_set_status(assessment=a, to_status="invited", actor="test")
    assessment_set_status(assessment=b, to_status="invited", actor="test")
    due, later = Delivery.objects.order_by("id")
    Delivery.objects.filter(pk=due.pk).update(status=DeliveryStatus.FAILED, attempts=1,
                                              next_attempt_at=timezone.now() - dt.timedelta(seconds=5))
    Delivery.objects.filter(pk=later.pk).update(status=DeliveryStatus.FAILED, attempts=1,
                                                next_attempt_at=timezone.now() + dt.timedelta(minutes=5))
    sweep_outbox.delay()
    due.refresh_from_db()
    later.refresh_from_db()
    assert (due.status, due.attempts) == (DeliveryStatus.SENT, 2)
    assert (later.status, later.attempts) == (DeliveryStatus.FAILED, 1)
    assert [s.path for s in fake_ats.seen] == [f"/results/{a.pk}"]


# --- admin actions ---------------------------------------------------------------------------------
@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_reprocess_action(admin_client, connection, django_capture_on_commit_callbacks):
    event = order_event(connection, "again", status=WebhookStatus.FAILED, error_code=ErrorCode.INTERNAL,
                        error="boom", attempts=3)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:integrations_webhookevent_changelist"),
            {"action": "reprocess", "_selected_action": [event.pk]}, follow=True,
        )
    assert "1 event(s) queued for processing." in response.content.decode()
    event.refresh_from_db()
    assert (event.status, event.error_code, event.error, event.attempts) == (WebhookStatus.PROCESSED, "", "", 4)


def test_test_connection_action(admin_client, connection, fake_ats):
    url = reverse("admin:integrations_connection_changelist")
    fake_ats.reply(Reply(200, {"me": "ok"}), Reply(401, {}))
    ok = admin_client.post(url, {"action": "test_connection", "_selected_action": [connection.pk]}, follow=True)
    assert "the credentials work" in ok.content.decode()
    failed = admin_client.post(url, {"action": "test_connection", "_selected_action": [connection.pk]}, follow=True)
    assert "AUTH_FAILED" in failed.content.decode()
    assert [s.path for s in fake_ats.seen] == ["/me", "/me"]


def test_test_connection_without_a_provider(admin_client, db):
    connection = ConnectionFactory(provider="nosuchats")
    response = admin_client.post(
        reverse("admin:integrations_connection_changelist"),
        {"action": "test_connection", "_selected_action": [connection.pk]}, follow=True,
    )
    assert "no provider is registered" in response.content.decode()


# --- wiring ----------------------------------------------------------------------------------------
def test_receivers_are_connected_once(connection, fake_ats):
    receivers.connect()  # a second ready() (e.g. in a test runner) must not double the outbox
    assessment = AssessmentFactory(tenant=connection.tenant, source=connection.source_key, mode="order")
    assessment_set_status(assessment=assessment, to_status="invited", actor="test")
    assert Delivery.objects.filter(assessment=assessment).count() == 1


def test_erasure_removes_the_candidate_from_the_mirror(connection):
    other_tenant = ConnectionFactory(provider=PROVIDER)
    RemoteCandidate.objects.create(connection=connection, remote_id="c-1", email="Erase@Example.com")
    RemoteCandidate.objects.create(connection=other_tenant, remote_id="c-1", email="erase@example.com")
    RemoteApplication.objects.create(connection=connection, remote_id="a-1", remote_candidate_id="c-1",
                                     data={"cover_letter": "personal"})
    responses = candidate_erasure_requested.send(
        sender=None, email="erase@example.com", email_sha256="x", tenant=connection.tenant, actor="test"
    )
    assert sum(r for _, r in responses if isinstance(r, int)) == 2
    assert not RemoteCandidate.objects.filter(connection=connection).exists()
    assert RemoteCandidate.objects.filter(connection=other_tenant).exists()
    assert RemoteApplication.objects.get().data == {}


def test_ats_apps_with_a_provider_module_are_registered_at_startup():
    import importlib.util

    from django.apps import apps

    from integrations.providers import provider_names

    with_provider = {
        config.label for config in apps.get_app_configs()
        if config.name.startswith("integrations.") and importlib.util.find_spec(f"{config.name}.provider")
    }
    assert with_provider, "no ATS app ships a provider module yet"
    assert with_provider <= set(provider_names())
