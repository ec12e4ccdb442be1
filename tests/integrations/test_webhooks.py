import json

import pytest

from assessments.models import Assessment
from integrations.models import WebhookEvent, WebhookStatus
from tests.factories import PackageFactory

from .conftest import PROVIDER_KEY

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.integrations.urls")]

URL = "/testats/webhook"


def order_body(connection, event_id="evt-1", **data) -> dict:
    package = data.pop("package", None) or PackageFactory(tenant=connection.tenant)
    return {
        "id": event_id,
        "type": "order",
        "data": {
            "order_id": f"order-{event_id}",
            "package_id": package.pk,
            "candidate": {"id": "c-1", "first_name": "Ada", "last_name": "L", "email": "ada@example.com"},
            **data,
        },
    }


def post(client, body, *, key=PROVIDER_KEY, content_type="application/json", **headers):
    raw = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return client.post(URL, raw, content_type=content_type, HTTP_AUTHORIZATION=f"Bearer {key}", **headers)


def test_get_is_405(client, connection):
    response = client.get(URL)
    assert response.status_code == 405 and response.json() == {"error": "method not allowed: use POST"}
    assert response["Allow"] == "POST"


def test_wrong_content_type_is_415(client, connection):
    response = post(client, "id=1", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415 and "error" in response.json()
    assert not WebhookEvent.objects.exists()


def test_vendor_json_media_type_is_accepted(client, connection):
    response = post(client, order_body(connection), content_type="application/vnd.api+json")
    assert response.status_code == 202


def test_body_over_one_mib_is_413(client, connection):
    body = json.dumps({"id": "big", "type": "order", "pad": "x" * (1024 * 1024)})
    response = post(client, body)
    assert response.status_code == 413 and "error" in response.json()
    assert not WebhookEvent.objects.exists()


def test_rejected_authentication_stores_nothing(client, connection):
    response = post(client, order_body(connection), key="wrong-key")
    assert response.status_code == 401 and response.json() == {"error": "unauthorized"}
    response = client.post(URL, json.dumps(order_body(connection)), content_type="application/json")
    assert response.status_code == 401
    assert not WebhookEvent.objects.exists()


def test_malformed_json_is_the_providers_400(client, connection):
    response = post(client, "{not json")
    assert response.status_code == 400 and response.json() == {"error": "malformed JSON"}
    assert not WebhookEvent.objects.exists()


def test_event_is_stored_without_secrets_and_processed_after_commit(
    client, connection, fake_ats, django_capture_on_commit_callbacks
):
    body = order_body(connection)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = post(client, body, HTTP_X_TESTATS_SIGNATURE="sig-secret", HTTP_X_REQUEST_ID="req-9")
    assert response.status_code == 202 and response.json() == {"received": "evt-1", "duplicate": False}
    assert callbacks  # processing was queued after commit (and it queued the invitation in turn)

    event = WebhookEvent.objects.get()
    assert (event.provider, event.connection, event.event_id, event.event_type) == ("testats", connection, "evt-1", "order")
    assert json.loads(bytes(event.raw_body)) == body
    assert event.headers["X-Request-Id"] == "req-9"
    lowered = {name.lower() for name in event.headers}
    assert "authorization" not in lowered and "x-testats-signature" not in lowered
    assert PROVIDER_KEY not in json.dumps(event.headers)
    assert event.status == WebhookStatus.PROCESSED and event.attempts == 1
    assessment = Assessment.objects.get(source=connection.source_key, remote_order_id="order-evt-1")
    # The whole chain: order -> invitation -> status "invited" -> outbox -> write-back to the ATS.
    assert assessment.status == "invited"
    assert [(s.method, s.path, s.json()) for s in fake_ats.seen] == [
        ("PUT", f"/results/{assessment.pk}", {"status": "invited"})
    ]


def test_duplicate_is_stored_once_and_processed_once(client, connection, django_capture_on_commit_callbacks):
    body = order_body(connection, event_id="evt-dup")
    with django_capture_on_commit_callbacks(execute=True):
        first = post(client, body)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        second = post(client, body)
    assert first.status_code == second.status_code == 202
    assert second.json() == {"received": "evt-dup", "duplicate": True}
    assert callbacks == []  # nothing queued for the duplicate
    event = WebhookEvent.objects.get()
    assert event.attempts == 1
    assert Assessment.objects.count() == 1


def test_intake_makes_no_outbound_calls(client, connection, fake_ats):
    post(client, order_body(connection))  # processing is queued after commit, not run in the request
    assert fake_ats.seen == []
    assert WebhookEvent.objects.get().status == WebhookStatus.RECEIVED
