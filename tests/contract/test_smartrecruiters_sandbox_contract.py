"""The SmartRecruiters sandbox against SmartRecruiters' contract (``../shared/reference``): its
schemas have contract.json's required fields and enums, its validation refuses what contract.json
refuses and accepts examples.json's bodies, its responses have the Customer API and Webhooks API
fixtures' keys and value types, and what it sends (orders, deliveries) has the documented shape."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from integrations.smartrecruiters.sandbox import schemas
from tests.contract.test_teamtailor_sandbox_contract import shape_problems
from tests.integrations.smartrecruiters.fake_stagehook import integrated, sr, stagehook  # noqa: F401  (fixtures)
from tests.integrations.smartrecruiters.sandbox_handle import PARTNER, WEBHOOKS

SR = "smartrecruiters"
ADA = "0c9b1e3e-5c52-4b1e-9f3d-6d1f0a7b2c44"
JOB = "3fd6cba7-2ad1-4f8b-a8d5-5a1b1a4c2f11"


def load(reference_fixtures: Path, name: str) -> Any:
    return json.loads((reference_fixtures / SR / name).read_text(encoding="utf-8"))


@pytest.fixture
def contract(reference_fixtures):
    return load(reference_fixtures, "assessment-partner/contract.json")


@pytest.fixture
def examples(reference_fixtures):
    return load(reference_fixtures, "assessment-partner/examples.json")


# --- the schemas are contract.json's -----------------------------------------------------------
def test_every_required_list_is_the_contracts(contract):
    checked = 0
    for name, schema in contract["schemas"].items():
        if not isinstance(schema, dict) or "required" not in schema:
            continue
        assert name in schemas.SCHEMAS, f"the sandbox has no schema {name}"
        assert sorted(schemas.SCHEMAS[name]["required"]) == sorted(schema["required"]), name
        checked += 1
    assert checked >= 15


def test_every_property_the_contract_names_is_known(contract):
    for name, schema in contract["schemas"].items():
        if isinstance(schema, dict) and "properties" in schema and name in schemas.SCHEMAS:
            ours = schemas.SCHEMAS[name].get("properties")
            if ours is not None:
                assert set(schema["properties"]) <= set(ours), name


def _enum(text: str) -> list[str]:
    return [part.strip() for part in text.split("|")]


def test_enums_are_the_contracts(contract):
    s = contract["schemas"]
    assert schemas.ASSESSMENT_TYPES == s["AssessmentType"]
    assert sorted(schemas.RESULT_STATUSES) == sorted(_enum(s["PackageResult"]["properties"]["status"]))
    assert sorted(schemas.RESULT_STATUSES) == sorted(_enum(s["AssessmentResult"]["properties"]["status"]))
    assert sorted(schemas.DISPLAY_MODES) == sorted(_enum(s["PartnerConfigurationRequest"]["properties"]["consentDisplayMode"]))
    assert sorted(schemas.ATTACHMENT_TYPES) == sorted(_enum(s["Attachment (result link)"]["properties"]["type"]))


def test_event_names_and_statuses_are_the_webhook_notes(reference_fixtures):
    notes = load(reference_fixtures, "webhooks-and-enums.json")
    assert set(notes["event_names"]) <= set(schemas.EVENT_NAMES)
    assert schemas.APPLICATION_STATUSES == notes["enums"]["application_status"]
    assert schemas.SUB_STATUS_KEYS == notes["enums"]["hiring_process_sub_statuses_keys"]


# --- validation over HTTP refuses what the contract refuses ----------------------------------------
CONFIG = {
    "consentUrl": "http://127.0.0.1:8000/smartrecruiters/integration",
    "consentDisplayMode": "REDIRECT",
    "assessmentPackageListUrl": "http://127.0.0.1:8000/smartrecruiters/packages",
    "singleAssessmentPackageUrl": "http://127.0.0.1:8000/smartrecruiters/packages/{id}",
    "oauthTokenUrl": "http://127.0.0.1:8000/smartrecruiters/oauth/token",
    "supportedAssessmentTypes": ["VIDEO_INTERVIEW"],
}


def test_a_configuration_without_any_required_field_is_refused(sr, contract):
    token = sr.master_token()
    for field in contract["schemas"]["PartnerConfigurationRequest"]["required"]:
        body = {k: v for k, v in CONFIG.items() if k != field}
        response = sr.api("PUT", f"{PARTNER}/partner/configuration", token=token, payload=body)
        assert response.status_code == 400, field
        assert field in response.json()["message"]
    assert sr.api("PUT", f"{PARTNER}/partner/configuration", token=token, payload=CONFIG).status_code == 200


def test_set_up_integration_without_a_credential_field_is_refused(sr, stagehook, contract, examples):
    sr.partner_configuration(stagehook.url)
    sr.consent()
    for field in contract["schemas"]["ClientCredentials"]["required"]:
        body = {k: v for k, v in examples["set_up_integration_request"].items() if k != field}
        assert sr.set_up_integration(credentials=body).status_code == 400, field
    answer = sr.set_up_integration(credentials=examples["set_up_integration_request"])
    assert answer.status_code == 200
    assert shape_problems(examples["set_up_integration_response"], answer.json()) == []


def test_the_token_answer_and_error_have_the_contracts_shape(sr, examples, contract):
    good = sr.token(sr.config.master_client_id, sr.config.master_client_secret).json()
    assert set(contract["schemas"]["AccessToken"]["required"]) <= set(good)
    assert shape_problems(examples["token_response"], good, exact=False) == []
    bad = sr.token(sr.config.master_client_id, "wrong").json()
    assert shape_problems(examples["token_error"], bad) == []


@pytest.fixture
def order(integrated):
    return integrated.order(ADA, JOB, package="pkg-1")["order"]


def _patch(sandbox, order_id, body):
    return sandbox.api("PATCH", f"{PARTNER}/orders/{order_id}/results", token=sandbox.customer_token(), payload=body)


def test_the_examples_result_patches_are_accepted_and_merged(integrated, order, examples):
    first = _patch(integrated, order["orderId"], examples["result_patch_in_progress"])
    assert first.status_code == 200 and first.json() == examples["result_patch_in_progress"]
    second = _patch(integrated, order["orderId"], examples["result_patch_completed"])
    assert second.status_code == 200
    assert second.json() == {**examples["result_patch_in_progress"], **examples["result_patch_completed"]}


def test_a_score_without_any_of_its_required_fields_is_refused(integrated, order, examples, contract):
    for field in contract["schemas"]["Score"]["required"]:
        body = copy.deepcopy(examples["result_patch_completed"])
        del body["score"][field]
        assert _patch(integrated, order["orderId"], body).status_code == 400, field
        part = copy.deepcopy(examples["result_patch_completed"])
        del part["assessmentResults"][0]["score"][field]
        assert _patch(integrated, order["orderId"], part).status_code == 400, f"assessmentResults score {field}"
    for field in contract["schemas"]["AssessmentResult"]["required"]:
        body = copy.deepcopy(examples["result_patch_completed"])
        del body["assessmentResults"][0][field]
        assert _patch(integrated, order["orderId"], body).status_code == 400, field
    assert integrated.orders()[0]["result"] == {}


@pytest.mark.parametrize("raw", [82.5, "82", 82.0, None])
def test_a_score_that_is_not_an_integer_is_refused(integrated, order, examples, raw):
    body = copy.deepcopy(examples["result_patch_completed"])
    body["score"]["raw"] = raw
    assert _patch(integrated, order["orderId"], body).status_code == 400


def test_the_order_sent_to_stagehook_has_the_examples_shape(integrated, stagehook, examples):
    integrated.order(ADA, JOB, package="pkg-1", fields={"seniority": "junior"})
    sent = stagehook.seen("packages/orders")[0].json()
    assert shape_problems(examples["order_request"], sent, exact=False) == []
    assert re.search(r"/orders/[0-9a-f-]{36}/results$", sent["resultCallbackURL"])
    integrated.order(ADA, JOB, mode="inline")
    inline = stagehook.seen("packages/inline/orders")[0].json()
    assert shape_problems(examples["inline_order_request"], inline) == []


def test_the_attachment_answer_is_an_attachment_result(integrated, order, contract):
    answer = integrated.api(
        "POST", f"{PARTNER}/orders/{order['orderId']}/results/attachment", token=integrated.customer_token(),
        files={"attachment": ("r.pdf", b"%PDF-1.4")},
    ).json()
    assert set(answer) == set(contract["schemas"]["AttachmentResult"]["required"])


def test_assessment_orders_have_the_contracts_fields(integrated, order, contract):
    _patch(integrated, order["orderId"], {"status": "PENDING"})
    listed = integrated.api(
        "GET", f"/assessment-api/v202107/assessment-orders?applicationId={order['applicationId']}", token=integrated.customer_token()
    ).json()
    assert set(listed[0]) == set(contract["schemas"]["AssessmentOrder"]["properties"])


# --- the Customer API and Webhooks API answers have the fixtures' shapes ----------------------------
def test_customer_api_answers_have_the_fixtures_shapes(integrated, reference_fixtures):
    integrated.seed(15)
    token = integrated.customer_token()
    cases = [
        ("candidates/list.json", "/candidates"),
        ("candidates/retrieve.json", f"/candidates/{ADA}"),
        ("candidates/retrieve_application.json", f"/candidates/{ADA}/jobs/{JOB}"),
        ("jobs/list.json", "/jobs?limit=1"),
        ("jobs/retrieve.json", f"/jobs/{JOB}"),
    ]
    for fixture, path in cases:
        answer = integrated.api("GET", path, token=token)
        assert answer.status_code == 200, path
        assert shape_problems(load(reference_fixtures, fixture), answer.json(), exact=False) == [], fixture


def test_webhooks_api_answers_have_the_fixtures_shapes(integrated, stagehook, reference_fixtures):
    token = integrated.customer_token()
    created = integrated.api(
        "POST", f"{WEBHOOKS}/subscriptions", token=token,
        payload={"callbackUrl": f"{stagehook.url}webhooks", "events": ["job.created"]},
    ).json()
    assert shape_problems(load(reference_fixtures, "webhooks/create.json"), created) == []
    assert integrated.api("PUT", f"{WEBHOOKS}/subscriptions/{created['id']}/activation", token=token).status_code == 204
    retrieved = integrated.api("GET", f"{WEBHOOKS}/subscriptions/{created['id']}", token=token).json()
    assert shape_problems(load(reference_fixtures, "webhooks/retrieve.json"), retrieved) == []
    listed = integrated.api("GET", f"{WEBHOOKS}/subscriptions", token=token).json()
    assert shape_problems(load(reference_fixtures, "webhooks/list.json"), listed) == []
    generated = integrated.api("POST", f"{WEBHOOKS}/subscriptions/{created['id']}/secret-key", token=token).json()
    assert shape_problems(load(reference_fixtures, "webhooks/generate_secret.json"), generated) == []
    shown = integrated.api("GET", f"{WEBHOOKS}/subscriptions/{created['id']}/secret-key", token=token).json()
    assert shape_problems(load(reference_fixtures, "webhooks/retrieve_secret.json"), shown) == []
    integrated.control("POST", "events", {"event": "job.created", "id": JOB})
    log = integrated.api("GET", f"{WEBHOOKS}/subscriptions/{created['id']}/callbacks-log", token=token).json()
    # the fixture's headers are an empty object: any header names may appear there
    assert log and shape_problems(load(reference_fixtures, "webhooks/callbacks_log.json"), log, exact=False) == []
    assert set(log[0]) == {"status", "timestamp", "requestDetails"} and set(log[0]["requestDetails"]) == {"url", "body", "headers"}


def test_a_delivery_carries_every_documented_header_and_payload_key(integrated, stagehook, reference_fixtures):
    notes = load(reference_fixtures, "webhooks-and-enums.json")
    subscription = integrated.subscribe(f"{stagehook.url}webhooks")
    integrated.secret_key(subscription["id"])
    integrated.move(ADA, JOB, "INTERVIEW")
    delivery = stagehook.seen("webhooks")[-1]
    for header in notes["notification_headers"]:
        assert delivery.headers.get(header), header
    assert set(delivery.json()) == set(notes["payloads"]["application.*"])
    assert re.fullmatch(r"<https?://[^>]+>; rel=self", delivery.headers["link"])
    assert re.fullmatch(r"v1=[0-9a-f]{64}(;v1=[0-9a-f]{64})*", delivery.headers["smartrecruiters-signature"])
