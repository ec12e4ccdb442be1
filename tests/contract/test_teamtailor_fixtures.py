"""Teamtailor's own example payloads (../shared/reference/fixtures/teamtailor) through the real views,
and our answers compared with the shapes Teamtailor documents."""

import json
import time

import jwt
import pytest

from assessments.models import Assessment
from integrations.models import RemoteJob, WebhookEvent, secret_hash
from integrations.providers import AssessmentOrdered, JobChanged, provider_get
from integrations.teamtailor import auth, services
from tests.factories import ConnectionFactory, PackageFactory, TenantFactory

pytestmark = pytest.mark.django_db

PARTNER_KEY = "contract-partner-api-key-long-enough-for-hs256"
PROVIDER_KEY = "contract-provider-key"
WEBHOOK_SECRET = "contract-webhook-secret"
COMPANY_SECRET = "contract-company-webhook-secret"


def _fixture(reference_fixtures, name):
    return (reference_fixtures / "teamtailor" / name).read_bytes()


@pytest.fixture
def connection(db):
    return ConnectionFactory(
        tenant=TenantFactory(), remote_account_id="vAXspNm0J2Y", region="eu", api_base_url="https://api.teamtailor.com",
        provider_key_hash=secret_hash(PROVIDER_KEY),
        credentials={"partner_api_key": PARTNER_KEY, "webhook_secret": WEBHOOK_SECRET,
                     "company_webhook_secret": COMPANY_SECRET, "provider_key": PROVIDER_KEY},
    )


def _partner_headers(event_id):
    return {
        "HTTP_AUTHORIZATION": f"Bearer {PROVIDER_KEY}",
        "HTTP_TEAMTAILOR_SIGNATURE": auth.partner_signature_header(secret=WEBHOOK_SECRET, partner_event_id=event_id),
        "HTTP_TEAMTAILOR_HOST": "api.teamtailor.com",
    }


def test_partner_webhook_example_verbatim_asks_for_a_package(client, connection, reference_fixtures):
    """The docs' example carries the docs partner's own field ids ("test"): Teamtailor shows our
    400 text on the result card, and nothing is stored."""
    raw = _fixture(reference_fixtures, "partner-docs/partner_webhook_request_body.json")
    response = client.post("/teamtailor/webhook", data=raw, content_type="application/json",
                           **_partner_headers("f3d7e8e2-da33-4c10-ae5f-0e7f4d46f6d7"))
    assert response.status_code == 400
    assert response.json() == {"error": "Choose a Stagehook interview package in the trigger."}
    assert WebhookEvent.objects.count() == 0


def test_partner_webhook_example_with_our_field_orders(client, connection, reference_fixtures, settings):
    settings.ATS_EXTRA_ALLOWED_HOSTS = []
    package = PackageFactory(tenant=connection.tenant)
    body = json.loads(_fixture(reference_fixtures, "partner-docs/partner_webhook_request_body.json"))
    body["partner-event"]["webhook-data"]["package"] = str(package.pk)
    raw = json.dumps(body).encode()

    response = client.post("/teamtailor/webhook", data=raw, content_type="application/json",
                           **_partner_headers(body["partner-event"]["id"]))

    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert event.event_id == "f3d7e8e2-da33-4c10-ae5f-0e7f4d46f6d7"
    [ordered] = provider_get("teamtailor").parse(event)
    assert ordered == AssessmentOrdered(
        remote_order_id="1a6d5a41-f0dd-4226-9d3b-186392bea484",
        package_id=str(package.pk),
        candidate=ordered.candidate,
        remote_job_id="12345",
        remote_job_title="Full-stack web developer",
        remote_stage_id="1",
        callback_url="https://api.teamtailor.com/partner/v1/partner-results/1a6d5a41-f0dd-4226-9d3b-186392bea484",
        options={"threshold": 75},
    )
    assert (ordered.candidate.remote_id, ordered.candidate.first_name, ordered.candidate.last_name) == ("54321", "Juston", "Becker")
    assert (ordered.candidate.email, ordered.candidate.phone) == ("applicant100@example.com", "+4670432121")


def test_company_webhook_example_through_the_view(client, connection, reference_fixtures, django_capture_on_commit_callbacks):
    raw = _fixture(reference_fixtures, "partner-docs/company_webhook_payload_job_update.json")
    signature = auth.company_signature_header(secret=COMPANY_SECRET, raw_body=raw, timestamp=int(time.time()))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/teamtailor/company-webhooks", data=raw, content_type="application/json",
                               HTTP_TT_SIGNATURE=signature)
    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert event.event_type == "job.update" and event.connection == connection and event.status == "processed"
    assert provider_get("teamtailor").parse(event) == [JobChanged(remote_job_id="2", title="IT Designer 1", status="archived")]
    job = RemoteJob.objects.get(connection=connection, remote_id="2")
    assert (job.title, job.status) == ("IT Designer 1", "archived")


def test_company_webhook_example_signed_like_teamtailors_docs(client, connection, reference_fixtures):
    """Teamtailor's verification examples sign ``JSON.stringify(payload)``; that is accepted too."""
    raw = _fixture(reference_fixtures, "partner-docs/company_webhook_payload_job_update.json")
    compact = json.dumps(json.loads(raw)["payload"], separators=(",", ":"), ensure_ascii=False).encode()
    ts = int(time.time())
    import base64
    import hashlib
    import hmac

    digest = hmac.new(COMPANY_SECRET.encode(), f"{ts}.".encode() + compact, hashlib.sha256).hexdigest()
    header = base64.b64encode(f"t={ts},v2={digest}".encode()).decode()
    response = client.post("/teamtailor/company-webhooks", data=raw, content_type="application/json", HTTP_TT_SIGNATURE=header)
    assert response.status_code == 200


def test_activation_answer_has_the_documented_shape(client, reference_fixtures):
    example = json.loads(_fixture(reference_fixtures, "partner-docs/activation_config_example.json"))
    ours = client.get("/teamtailor/activation").json()
    assert set(ours) == set(example)
    example_fields = {f["type"]: f for f in example["config"]["fields"]}
    for field in ours["config"]["fields"]:
        assert set(field) <= set(example_fields[field["type"]]), field


def test_activation_errors_have_the_documented_shape(client, reference_fixtures):
    example = json.loads(_fixture(reference_fixtures, "partner-docs/activation_validation_error_response.json"))
    ours = client.get("/teamtailor/activation/validate").json()
    assert set(ours) == set(example) and all(isinstance(e, str) for e in ours["errors"])


def test_config_answer_has_the_documented_shape(client, connection, reference_fixtures):
    PackageFactory(tenant=connection.tenant)
    example = json.loads(_fixture(reference_fixtures, "partner-docs/webhook_config_response.json"))
    ours = client.get("/teamtailor/config?job_id=1&stage_id=2&user_id=3", HTTP_AUTHORIZATION=f"Bearer {PROVIDER_KEY}").json()
    assert set(ours["config"]) == set(example["config"])
    assert {"id", "label", "placeholder", "type", "options"} <= set(ours["config"]["fields"][0])
    assert set(ours["config"]["fields"][0]["options"][0]) == set(example["config"]["fields"][1]["options"][0])


def test_written_update_matches_the_documented_request(webhook_receiver, connection, reference_fixtures, settings):
    """What we PUT to an update-url has the documented request's structure and attribute types."""
    settings.ATS_EXTRA_ALLOWED_HOSTS = ["127.0.0.1"]
    example = json.loads(_fixture(reference_fixtures, "partner-docs/partner_result_update_request.json"))
    webhook_receiver.respond(200, json.loads(_fixture(reference_fixtures, "partner-docs/partner_result_update_response.json")))
    from assessments.models import Status
    from integrations.models import Delivery
    from tests.factories import AssessmentFactory

    assessment = AssessmentFactory(
        tenant=connection.tenant, source=connection.source_key, remote_order_id="3230d614-a33b-4a25-ac9c-4ec107e60f2e",
        callback_url=f"{webhook_receiver.url}partner/v1/partner-results/3230d614-a33b-4a25-ac9c-4ec107e60f2e",
        status=Status.COMPLETED, score_value=82, score_min=0, score_max=100, summary="Passed", options={"threshold": 60},
    )
    provider = provider_get("teamtailor")
    spec = provider.delivery_for(connection=connection, assessment=assessment, to_status=Status.COMPLETED)
    delivery = Delivery.objects.create(connection=connection, assessment=assessment, channel=spec.channel, payload=spec.payload)
    provider.deliver(delivery)
    [sent] = webhook_receiver.wait_for(1)
    ours = sent.json()
    assert sent.method == "PUT"
    assert set(ours) == set(example) and set(ours["data"]) == set(example["data"])
    assert ours["data"]["type"] == example["data"]["type"] and ours["data"]["id"] == example["data"]["id"]
    for name, value in example["data"]["attributes"].items():
        assert isinstance(ours["data"]["attributes"][name], type(value)), name
    assert set(ours["data"]["attributes"]["assessment"]) <= set(example["data"]["attributes"]["assessment"])
    assert ours["data"]["attributes"]["assessment"]["score"] == 82


def test_activation_validate_binds_with_a_jws_like_teamtailors(client, settings):
    settings.TEAMTAILOR_PARTNER_API_KEY = PARTNER_KEY
    connection = services.teamtailor_connection_get_or_create(tenant=TenantFactory())
    token = services.teamtailor_connection_token_issue(connection=connection)
    key = jwt.encode({"connection_token": token}, PARTNER_KEY, algorithm="HS256")
    response = client.get("/teamtailor/activation/validate?company_id=vAXspNm0J2Y",
                          HTTP_AUTHORIZATION=f"Bearer {key}", HTTP_TEAMTAILOR_HOST="api.au.teamtailor.com")
    assert response.status_code == 200
    connection.refresh_from_db()
    assert (connection.region, connection.api_base_url) == ("au", "https://api.au.teamtailor.com")
    assert Assessment.objects.count() == 0
