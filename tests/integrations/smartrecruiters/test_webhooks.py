"""Webhooks API deliveries: activation handshake, signature (hand-computed vector and the tamper
matrix), one stored event per event-id, processing into the mirror and stage changes."""

import json
import time

import pytest

from assessments.models import Assessment, Mode
from integrations.models import RemoteApplication, RemoteCandidate, RemoteJob, StageMapping, WebhookEvent, WebhookStatus
from integrations.smartrecruiters import auth
from integrations.smartrecruiters.constants import CRED_WEBHOOK_KEYS

from .conftest import COMPANY_ID, WEBHOOK_KEY, Answer

URL = f"/smartrecruiters/webhooks?companyId={COMPANY_ID}"


def test_the_signature_matches_a_hand_computed_vector():
    payload = auth.signature_payload(timestamp="1700000000", raw_body=b'{"id":"c-1"}', event_id="e-1",
                                     event_name="candidate.updated", event_version="v1",
                                     link="<https://api.smartrecruiters.com/candidates/c-1>; rel=self")
    assert payload == (b'1700000000.{"id":"c-1"}.e-1.candidate.updated.v1.'
                       b'<https://api.smartrecruiters.com/candidates/c-1>; rel=self')
    # Computed independently with: printf '%s' '<payload>' | openssl dgst -sha256 -hmac 'HeBVky2bccvvkcXPimH8c'
    expected = "4139fb2615ae29a386c62ce53e005a755717c3be41c672efb2242909bd883ec8"
    assert auth.signature_compute(WEBHOOK_KEY, payload) == expected
    assert auth.signature_valid(header=f"v1=0000;v1={expected.upper()}", secrets_=[WEBHOOK_KEY], payload=payload)
    assert not auth.signature_valid(header=f"v2={expected}", secrets_=[WEBHOOK_KEY], payload=payload)


def test_the_timestamp_window_is_300_seconds_either_way():
    now = 1_700_000_000.0
    assert auth.timestamp_fresh("1700000300", now=now) and auth.timestamp_fresh("1699999700", now=now)
    assert not auth.timestamp_fresh("1700000301", now=now) and not auth.timestamp_fresh("1699999699", now=now)
    assert not auth.timestamp_fresh("", now=now) and not auth.timestamp_fresh("1.7e9", now=now)


def sign(raw: bytes, *, key=WEBHOOK_KEY, ts=None, event_id="evt-1", name="candidate.updated", version="v1",
         link="", extra_sigs=()):
    ts = str(int(time.time()) if ts is None else ts)
    payload = auth.signature_payload(timestamp=ts, raw_body=raw, event_id=event_id, event_name=name,
                                     event_version=version, link=link)
    sigs = [f"v1={auth.signature_compute(key, payload)}", *extra_sigs]
    headers = {"HTTP_EVENT_ID": event_id, "HTTP_EVENT_NAME": name, "HTTP_EVENT_VERSION": version,
               "HTTP_SMARTRECRUITERS_TIMESTAMP": ts, "HTTP_SMARTRECRUITERS_SIGNATURE": ";".join(sigs)}
    if link:
        headers["HTTP_LINK"] = link
    return headers


def deliver(client, raw: bytes, headers: dict, capture, url=URL):
    with capture(execute=True):
        return client.post(url, data=raw, content_type="application/json", **headers)


@pytest.fixture
def capture(django_capture_on_commit_callbacks):
    return django_capture_on_commit_callbacks


def test_activation_echoes_the_hook_secret(client, connection):
    response = client.post(URL, data=b"", content_type="application/json", HTTP_X_HOOK_SECRET="abc123")
    assert response.status_code == 200 and response["X-Hook-Secret"] == "abc123"
    assert not WebhookEvent.objects.exists()


def test_activation_for_an_unknown_company_is_refused(client, connection):
    response = client.post("/smartrecruiters/webhooks?companyId=Nope", data=b"", content_type="application/json",
                           HTTP_X_HOOK_SECRET="abc123")
    assert response.status_code == 404 and "X-Hook-Secret" not in response


def test_a_signed_delivery_is_stored_once_per_event_id_and_answered_202(client, connection, fake_sr, capture):
    fake_sr.route("GET", r"/candidates/c-1", Answer(200, {"id": "c-1", "firstName": "Ada", "lastName": "L",
                                                          "email": "ada@example.com"}))
    raw = json.dumps({"id": "c-1"}).encode()
    headers = sign(raw)
    for _ in range(3):
        response = deliver(client, raw, headers, capture)
        assert response.status_code == 202
    event = WebhookEvent.objects.get()
    assert event.status == WebhookStatus.PROCESSED and event.connection == connection
    assert RemoteCandidate.objects.get(remote_id="c-1").email == "ada@example.com"
    assert "Smartrecruiters-Signature" not in event.headers


def rotated(raw):
    headers = sign(raw, key="old-key")
    new = sign(raw)["HTTP_SMARTRECRUITERS_SIGNATURE"]
    headers["HTTP_SMARTRECRUITERS_SIGNATURE"] = headers["HTTP_SMARTRECRUITERS_SIGNATURE"] + ";" + new
    return headers


RAW = json.dumps({"id": "c-1"}).encode()
TAMPERS = {
    "missing signature": lambda: {k: v for k, v in sign(RAW).items() if k != "HTTP_SMARTRECRUITERS_SIGNATURE"},
    "missing timestamp": lambda: {k: v for k, v in sign(RAW).items() if k != "HTTP_SMARTRECRUITERS_TIMESTAMP"},
    "wrong key": lambda: sign(RAW, key="not-our-key"),
    "tampered body": lambda: ("body", sign(RAW)),
    "tampered event-name": lambda: {**sign(RAW), "HTTP_EVENT_NAME": "candidate.deleted"},
    "tampered event-id": lambda: {**sign(RAW), "HTTP_EVENT_ID": "evt-other"},
    "tampered link": lambda: {**sign(RAW, link="<https://api.smartrecruiters.com/candidates/c-1>"),
                              "HTTP_LINK": "<https://api.smartrecruiters.com/candidates/c-2>"},
    "stale timestamp": lambda: sign(RAW, ts=int(time.time()) - 310),
    "future timestamp": lambda: sign(RAW, ts=int(time.time()) + 310),
    "malformed timestamp": lambda: sign(RAW, ts="yesterday"),
    "malformed signature": lambda: {**sign(RAW), "HTTP_SMARTRECRUITERS_SIGNATURE": "sha256=abc;;v1"},
    "empty v1": lambda: {**sign(RAW), "HTTP_SMARTRECRUITERS_SIGNATURE": "v1="},
}


@pytest.mark.parametrize("case", list(TAMPERS))
def test_the_tamper_matrix_is_refused_with_nothing_stored(client, connection, capture, case):
    made = TAMPERS[case]()
    raw = RAW
    if isinstance(made, tuple):
        raw, made = json.dumps({"id": "c-2"}).encode(), made[1]
    response = deliver(client, raw, made, capture)
    assert response.status_code == 401, case
    assert response.json() == {"error": "Unauthorized."}
    assert not WebhookEvent.objects.exists()


def test_rotated_keys_any_listed_v1_may_match(client, connection, fake_sr, capture):
    fake_sr.route("GET", r"/candidates/c-1", Answer(200, {"id": "c-1", "email": "a@example.com"}))
    assert deliver(client, RAW, rotated(RAW), capture).status_code == 202
    # Our side rotated (old key kept beside the new one): the old signature alone still passes.
    connection.credentials = {**connection.credentials, CRED_WEBHOOK_KEYS: ["new-key", WEBHOOK_KEY]}
    connection.save()
    assert deliver(client, RAW, sign(RAW, event_id="evt-2"), capture).status_code == 202
    assert WebhookEvent.objects.count() == 2


def test_an_extra_unknown_signature_does_not_hurt(client, connection, fake_sr, capture):
    fake_sr.route("GET", r"/candidates/c-1", Answer(200, {"id": "c-1", "email": "a@example.com"}))
    headers = sign(RAW, extra_sigs=("v1=" + "0" * 64, "v2=whatever"))
    assert deliver(client, RAW, headers, capture).status_code == 202


def test_a_replay_has_one_effect(client, connection, fake_sr, capture):
    fake_sr.route("GET", r"/candidates/c-1", Answer(200, {"id": "c-1", "email": "a@example.com"}))
    headers = sign(RAW)
    assert deliver(client, RAW, headers, capture).status_code == 202
    assert deliver(client, RAW, headers, capture).status_code == 202
    assert WebhookEvent.objects.count() == 1 and len(fake_sr.calls("GET", r"/candidates/c-1")) == 1


def test_oversized_and_wrong_type_bodies(client, connection, capture):
    big = b'{"id":"' + b"x" * (1024 * 1024) + b'"}'
    assert deliver(client, big, sign(big), capture).status_code == 413
    response = client.post(URL, data=RAW, content_type="text/plain", **sign(RAW))
    assert response.status_code == 415
    assert not WebhookEvent.objects.exists()


def test_a_status_change_is_read_through_the_link_and_starts_a_mapped_interview(
    client, connection, fake_sr, package, capture
):
    StageMapping.objects.create(connection=connection, remote_stage_id="INTERVIEW", remote_sub_status="AI screen",
                                package=package)
    fake_sr.route("GET", r"/candidates/c-1/jobs/j-1", Answer(200, {"status": "INTERVIEW", "subStatus": "AI screen"}))
    fake_sr.route("GET", r"/candidates/c-1", Answer(200, {"id": "c-1", "firstName": "Ada", "email": "ada@example.com"}))
    fake_sr.route("GET", r"/jobs/j-1", Answer(200, {"id": "j-1", "title": "Support Specialist", "status": "SOURCING"}))
    raw = json.dumps({"job_id": "j-1", "candidate_id": "c-1", "application_id": "a-1"}).encode()
    link = f"<{fake_sr.url}/candidates/c-1/jobs/j-1>; rel=self"
    headers = sign(raw, name="application.status.updated", link=link)
    assert deliver(client, raw, headers, capture).status_code == 202
    application = RemoteApplication.objects.get(remote_id="c-1:j-1")
    assert (application.remote_stage_id, application.remote_sub_status) == ("INTERVIEW", "AI screen")
    assessment = Assessment.objects.get()
    assert assessment.mode == Mode.TRIGGER and assessment.remote_application_id == "c-1:j-1"
    assert assessment.candidate_email == "ada@example.com" and assessment.remote_job_title == "Support Specialist"
    assert len(fake_sr.calls("GET", r"/candidates/c-1/jobs/j-1")) == 1


def test_a_link_off_the_allow_list_is_not_followed(client, connection, fake_sr, capture):
    fake_sr.route("GET", r"/candidates/c-1/jobs/j-1", Answer(200, {"status": "NEW"}))
    raw = json.dumps({"job_id": "j-1", "candidate_id": "c-1", "application_id": "a-1"}).encode()
    headers = sign(raw, name="application.created", link="<https://evil.example/steal>")
    assert deliver(client, raw, headers, capture).status_code == 202
    assert RemoteApplication.objects.get(remote_id="c-1:j-1").remote_stage_id == "NEW"
    assert len(fake_sr.calls("GET", r"/candidates/c-1/jobs/j-1")) == 1  # read from the API instead


def test_job_events_keep_the_mirror(client, connection, fake_sr, capture):
    fake_sr.route("GET", r"/jobs/j-9", Answer(200, {"id": "j-9", "title": "Engineer", "status": "SOURCING"}))
    raw = json.dumps({"id": "j-9"}).encode()
    assert deliver(client, raw, sign(raw, name="job.updated"), capture).status_code == 202
    assert RemoteJob.objects.get(remote_id="j-9").title == "Engineer"


def test_candidate_deleted_erases_their_data(client, connection, fake_sr, package, capture):
    from assessments.services import CandidateSnapshot, assessment_order

    RemoteCandidate.objects.create(connection=connection, remote_id="c-7", email="gone@example.com", first_name="Gone")
    with capture(execute=True):
        assessment, _ = assessment_order(
            tenant=connection.tenant, package=package, mode=Mode.MANUAL, actor="test", source=connection.source_key,
            remote_candidate_id="c-7", candidate=CandidateSnapshot(first_name="Gone", email="gone@example.com"),
            send_invitation=False,
        )
    raw = json.dumps({"id": "c-7"}).encode()
    assert deliver(client, raw, sign(raw, name="candidate.deleted", event_id="evt-del"), capture).status_code == 202
    assessment.refresh_from_db()
    assert assessment.personal_data_purged_at is not None and assessment.candidate_email != "gone@example.com"
    assert assessment.status == "cancelled"
    assert not RemoteCandidate.objects.filter(remote_id="c-7").exists()
    assert WebhookEvent.objects.get(event_id="webhook:evt-del").status == WebhookStatus.PROCESSED
