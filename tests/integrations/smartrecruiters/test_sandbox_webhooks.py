"""The SmartRecruiters sandbox's Webhooks API: subscriptions, the X-Hook-Secret activation
handshake, signing keys and their rotation, and signed deliveries with retries."""

import hashlib
import hmac
import time

import pytest

from .fake_stagehook import integrated, sr, stagehook  # noqa: F401  (fixtures)
from .sandbox_handle import WEBHOOKS

ADA = "0c9b1e3e-5c52-4b1e-9f3d-6d1f0a7b2c44"
JOB = "3fd6cba7-2ad1-4f8b-a8d5-5a1b1a4c2f11"


def _poll(condition, *, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout} s")
        time.sleep(0.02)  # polling the condition above against its deadline


def _by_hand(key: str, headers, body: bytes) -> str:
    message = ".".join(
        [headers["smartrecruiters-timestamp"], body.decode(), headers["event-id"], headers["event-name"], headers["event-version"], headers["link"]]
    )
    return hmac.new(key.encode(), message.encode(), hashlib.sha256).hexdigest()


def test_a_subscription_starts_inactive_and_is_listed(integrated, stagehook):
    token = integrated.customer_token()
    created = integrated.api(
        "POST", f"{WEBHOOKS}/subscriptions", token=token,
        payload={"callbackUrl": f"{stagehook.url}webhooks", "events": ["application.status.updated", "candidate.deleted"]},
    )
    assert created.status_code == 201
    body = created.json()
    assert body["status"] == "inactive"
    assert body["events"] == [{"name": "application.status.updated", "version": "v1"}, {"name": "candidate.deleted", "version": "v1"}]
    assert [s["id"] for s in integrated.api("GET", f"{WEBHOOKS}/subscriptions", token=token).json()] == [body["id"]]
    assert integrated.api("GET", f"{WEBHOOKS}/subscriptions/{body['id']}", token=token).json() == body
    assert integrated.api("DELETE", f"{WEBHOOKS}/subscriptions/{body['id']}", token=token).status_code == 204
    assert integrated.api("GET", f"{WEBHOOKS}/subscriptions/{body['id']}", token=token).status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"events": ["application.status.updated"]},
        {"callbackUrl": "not a url", "events": ["application.status.updated"]},
        {"callbackUrl": "http://127.0.0.1/x", "events": []},
        {"callbackUrl": "http://127.0.0.1/x", "events": ["candidate.status.changed"]},
    ],
)
def test_an_invalid_subscription_is_400(integrated, body):
    response = integrated.api("POST", f"{WEBHOOKS}/subscriptions", token=integrated.customer_token(), payload=body)
    assert response.status_code == 400
    assert integrated.subscriptions() == []


def test_activation_is_the_real_handshake(integrated, stagehook):
    subscription = integrated.subscribe(f"{stagehook.url}webhooks")
    (handshake,) = stagehook.seen("webhooks")
    assert handshake.method == "POST" and handshake.headers.get("X-Hook-Secret")
    assert integrated.subscriptions()[0]["status"] == "active"
    token = integrated.customer_token()
    assert integrated.api("GET", f"{WEBHOOKS}/subscriptions/{subscription['id']}", token=token).json()["status"] == "active"


@pytest.mark.parametrize("answer, reason", [("wrong", "different"), ("missing", "did not echo"), (500, "500")])
def test_a_failed_handshake_leaves_the_subscription_inactive_with_the_reason(integrated, stagehook, answer, reason):
    stagehook.activation = answer
    subscription = integrated.subscribe(f"{stagehook.url}webhooks", activate=False)
    response = integrated.api("PUT", f"{WEBHOOKS}/subscriptions/{subscription['id']}/activation", token=integrated.customer_token())
    assert response.status_code == 400 and reason in response.json()["message"]
    stored = integrated.subscriptions()[0]
    assert stored["status"] == "inactive" and reason in stored["activations"][-1]["error"]
    # Retrying once Stagehook answers properly activates it.
    stagehook.activation = "echo"
    assert integrated.api("PUT", f"{WEBHOOKS}/subscriptions/{subscription['id']}/activation", token=integrated.customer_token()).status_code == 204


def test_an_unreachable_callback_fails_the_handshake(integrated):
    subscription = integrated.subscribe("http://127.0.0.1:9/webhooks", activate=False)
    response = integrated.api("PUT", f"{WEBHOOKS}/subscriptions/{subscription['id']}/activation", token=integrated.customer_token())
    assert response.status_code == 400 and "unreachable" in response.json()["message"]


def test_secret_key_is_generated_and_read_back(integrated, stagehook):
    subscription = integrated.subscribe(f"{stagehook.url}webhooks")
    token = integrated.customer_token()
    assert integrated.api("GET", f"{WEBHOOKS}/subscriptions/{subscription['id']}/secret-key", token=token).status_code == 404
    key = integrated.secret_key(subscription["id"])
    assert integrated.api("GET", f"{WEBHOOKS}/subscriptions/{subscription['id']}/secret-key", token=token).json() == {"secretKey": key}


def test_a_move_sends_a_signed_delivery_with_ids_only(integrated, stagehook):
    subscription = integrated.subscribe(f"{stagehook.url}webhooks")
    key = integrated.secret_key(subscription["id"])
    moved = integrated.move(ADA, JOB, "INTERVIEW", "AI interview")
    assert moved["deliveries"][0]["status"] == "delivered"
    delivery = stagehook.seen("webhooks")[-1]
    application_id = integrated.app.state.applications[(ADA, JOB)]["id"]
    assert delivery.json() == {"job_id": JOB, "candidate_id": ADA, "application_id": application_id}
    headers = delivery.headers
    assert headers["event-name"] == "application.status.updated" and headers["event-version"] == "v1"
    assert headers["link"] == f"<{integrated.url}/candidates/{ADA}/jobs/{JOB}>; rel=self"
    assert abs(int(headers["smartrecruiters-timestamp"]) - time.time()) < 60
    assert headers["smartrecruiters-signature"] == f"v1={_by_hand(key, headers, delivery.body)}"
    # The link is the application's current state.
    state = integrated.api("GET", f"/candidates/{ADA}/jobs/{JOB}", token=integrated.customer_token()).json()
    assert (state["status"], state["subStatus"]) == ("INTERVIEW", "AI interview")


def test_a_rotated_key_signs_beside_the_new_one_for_24_hours(integrated, stagehook):
    subscription = integrated.subscribe(f"{stagehook.url}webhooks")
    old = integrated.secret_key(subscription["id"])
    new = integrated.secret_key(subscription["id"])
    integrated.move(ADA, JOB, "INTERVIEW")
    delivery = stagehook.seen("webhooks")[-1]
    assert delivery.headers["smartrecruiters-signature"] == (
        f"v1={_by_hand(new, delivery.headers, delivery.body)};v1={_by_hand(old, delivery.headers, delivery.body)}"
    )
    integrated.advance_clock(86400 + 1)
    integrated.move(ADA, JOB, "OFFERED")
    later = stagehook.seen("webhooks")[-1]
    assert later.headers["smartrecruiters-signature"] == f"v1={_by_hand(new, later.headers, later.body)}"


def test_only_subscribed_events_of_active_subscriptions_are_sent(integrated, stagehook):
    integrated.subscribe(f"{stagehook.url}webhooks", ["candidate.deleted"])
    integrated.subscribe(f"{stagehook.url}webhooks", ["application.status.updated"], activate=False)
    assert integrated.move(ADA, JOB, "INTERVIEW")["deliveries"] == []
    assert len(stagehook.seen("webhooks")) == 1  # the one handshake


def test_a_failed_delivery_is_retried_with_the_same_event_id(integrated, stagehook):
    integrated.configure(retry_delays=(0.05, 0.05, 0.05))
    integrated.subscribe(f"{stagehook.url}webhooks")
    stagehook.webhook_answers = [500, 503]
    first = integrated.move(ADA, JOB, "INTERVIEW")["deliveries"][0]
    assert first["status"] == "retrying"
    delivered = _poll(lambda: [d for d in integrated.deliveries() if d["status"] == "delivered"], what="delivery")
    assert delivered[0]["attempts"] == 3 and delivered[0]["answers"] == [500, 503, 202]
    deliveries = [r for r in stagehook.seen("webhooks") if "event-id" in r.headers]
    assert len(deliveries) == 3 and len({r.headers["event-id"] for r in deliveries}) == 1


def test_a_delivery_gives_up_after_the_last_retry(integrated, stagehook):
    integrated.configure(retry_delays=(0.05,))
    integrated.subscribe(f"{stagehook.url}webhooks")
    stagehook.webhook_answers = [500, 500, 500]
    integrated.move(ADA, JOB, "INTERVIEW")
    failed = _poll(lambda: [d for d in integrated.deliveries() if d["status"] == "failed"], what="give up")
    assert failed[0]["attempts"] == 2


def test_retry_now_sends_waiting_deliveries(integrated, stagehook):
    integrated.subscribe(f"{stagehook.url}webhooks")  # the default delays: a minute first
    stagehook.webhook_answers = [503]
    assert integrated.move(ADA, JOB, "INTERVIEW")["deliveries"][0]["status"] == "retrying"
    answer = integrated.retry_deliveries()
    assert answer["retried"] == 1 and answer["deliveries"][0]["status"] == "delivered"


def test_webhook_faults_apply_to_deliveries(integrated, stagehook):
    integrated.subscribe(f"{stagehook.url}webhooks")
    integrated.faults(drop_webhooks=1)
    assert integrated.move(ADA, JOB, "INTERVIEW")["deliveries"][0]["status"] == "dropped"
    integrated.faults(duplicate_webhooks=2)
    integrated.move(ADA, JOB, "OFFERED")
    copies = [r for r in stagehook.seen("webhooks") if r.headers.get("event-name")]
    assert len(copies) == 2 and copies[0].headers["event-id"] == copies[1].headers["event-id"]
    assert all("authorization" not in {k.lower() for k in w["request_headers"]} for w in integrated.webhooks())


def test_an_api_status_change_sends_the_webhook_too(integrated, stagehook):
    integrated.subscribe(f"{stagehook.url}webhooks")
    token = integrated.customer_token()
    response = integrated.api("PUT", f"/candidates/{ADA}/jobs/{JOB}/status", token=token, payload={"status": "OFFERED", "subStatus": "Offer sent"})
    assert response.status_code == 204
    integrated.wait_background()
    assert stagehook.seen("webhooks")[-1].headers["event-name"] == "application.status.updated"


def test_any_event_can_be_sent(integrated, stagehook):
    integrated.subscribe(f"{stagehook.url}webhooks", ["candidate.deleted"])
    response = integrated.control("POST", "events", {"event": "candidate.deleted", "id": ADA})
    assert response.status_code == 200
    delivery = stagehook.seen("webhooks")[-1]
    assert delivery.json() == {"id": ADA} and delivery.headers["link"] == f"<{integrated.url}/candidates/{ADA}>; rel=self"


def test_the_callbacks_log_shows_each_attempt(integrated, stagehook):
    integrated.configure(retry_delays=(0.05,))
    subscription = integrated.subscribe(f"{stagehook.url}webhooks")
    stagehook.webhook_answers = [500]
    integrated.move(ADA, JOB, "INTERVIEW")
    _poll(lambda: [d for d in integrated.deliveries() if d["status"] == "delivered"], what="delivery")
    token = integrated.customer_token()
    path = f"{WEBHOOKS}/subscriptions/{subscription['id']}/callbacks-log"
    log = integrated.api("GET", path, token=token).json()
    assert [entry["status"] for entry in log] == ["successful", "failed"]
    assert log[0]["requestDetails"]["headers"]["event-name"] == "application.status.updated"
    assert integrated.api("GET", path, token=token, params={"callbackStatus": "failed"}).json() == log[1:]
    assert integrated.api("GET", path, token=token, params={"callbackStatus": "maybe"}).status_code == 400
