"""The Teamtailor sandbox against Teamtailor's own examples (``../shared/reference/fixtures``):
its responses have the fixtures' keys and value types, what it sends has the partner event's and
the company webhook's keys, its signatures verify with an independent HMAC, and it accepts the
requests the partner docs show."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

import pytest

TT = "teamtailor"


def load(reference_fixtures: Path, name: str) -> Any:
    return json.loads((reference_fixtures / TT / name).read_text(encoding="utf-8"))


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


def shape_problems(expected: Any, actual: Any, path: str = "$", *, exact: bool = True) -> list[str]:
    """Where ``actual`` differs from ``expected`` in keys or JSON value types.

    A null on either side matches any type (the fixture's null means "nullable"; the sandbox's
    null means "not set yet"). ``exact=False`` allows keys the fixture does not show. A list's
    items are compared with the fixture's item of the same JSON:API ``type``, else its first item.
    """
    if expected is None or actual is None:
        return []
    if _kind(expected) != _kind(actual):
        return [f"{path}: expected {_kind(expected)}, got {_kind(actual)} ({actual!r:.60})"]
    problems: list[str] = []
    if isinstance(expected, dict):
        missing = sorted(expected.keys() - actual.keys())
        extra = sorted(actual.keys() - expected.keys())
        if missing:
            problems.append(f"{path}: missing keys {missing}")
        if exact and extra:
            problems.append(f"{path}: extra keys {extra}")
        for key in expected.keys() & actual.keys():
            problems += shape_problems(expected[key], actual[key], f"{path}.{key}", exact=exact)
    elif isinstance(expected, list) and expected and actual:
        by_type = {item.get("type"): item for item in expected if isinstance(item, dict) and "type" in item}
        for index, item in enumerate(actual):
            model = by_type.get(item.get("type"), expected[0]) if isinstance(item, dict) and by_type else expected[0]
            if by_type and isinstance(item, dict) and item.get("type") not in by_type:
                problems.append(f"{path}[{index}]: type {item.get('type')!r} not in the fixture")
                continue
            problems += shape_problems(model, item, f"{path}[{index}]", exact=exact)
    return problems


def test_the_shape_comparison_catches_differences():
    """The comparison itself must be able to fail, or every test below proves nothing."""
    fixture = {"data": [{"id": "1", "type": "jobs", "attributes": {"title": "x", "n": 1, "flag": True}}]}
    assert shape_problems(fixture, copy.deepcopy(fixture)) == []
    assert shape_problems(
        fixture, {"data": [{"id": 1, "type": "jobs", "attributes": {"title": "x", "n": 1, "flag": True}}]}
    )
    assert shape_problems(
        fixture, {"data": [{"id": "1", "type": "jobs", "attributes": {"title": "x", "n": "1", "flag": True}}]}
    )
    assert shape_problems(
        fixture, {"data": [{"id": "1", "type": "jobs", "attributes": {"title": "x", "n": 1, "flag": 1}}]}
    )
    assert shape_problems(fixture, {"data": [{"id": "1", "type": "jobs", "attributes": {"title": "x", "n": 1}}]})
    extra = {"data": [{"id": "1", "type": "jobs", "attributes": {"title": "x", "n": 1, "flag": True, "more": 2}}]}
    assert shape_problems(fixture, extra) and not shape_problems(fixture, extra, exact=False)
    assert shape_problems(fixture, {"data": [{"id": "1", "type": "stages"}]})


# --- public API ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fixture", "path", "params"),
    [
        ("public-api/jobs.json", "jobs", {"page[size]": 30}),
        ("public-api/job.json", "jobs/26", None),
        ("public-api/stages.json", "jobs/26/stages", None),
        ("public-api/candidates.json", "candidates", {"page[size]": 30}),
        ("public-api/candidate.json", "candidates/1", None),
        ("public-api/job_applications.json", "job-applications", {"page[size]": 30}),
        (
            "public-api/job_application_included_candidate_job.json",
            "job-applications/634",
            {"include": "candidate,job"},
        ),
        ("public-api/users.json", "users", None),
        ("public-api/user.json", "users/34", None),
    ],
)
def test_public_api_responses_have_the_fixtures_keys_and_types(
    teamtailor_sandbox, reference_fixtures, fixture, path, params
):
    response = teamtailor_sandbox.api("GET", path, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "application/vnd.api+json"
    assert shape_problems(load(reference_fixtures, fixture), response.json()) == []


def test_the_public_partner_results_view_has_the_fixtures_shape(teamtailor_sandbox, reference_fixtures):
    created = teamtailor_sandbox.partner(
        "POST",
        "partner-results",
        payload={"data": {"type": "partner-results", "attributes": {"candidate-id": 54321, "status": "completed"}}},
    )
    assert created.status_code == 201
    body = teamtailor_sandbox.api("GET", "partner-results").json()
    assert shape_problems(load(reference_fixtures, "public-api/partner-results.json"), body) == []
    assert body["data"][0]["attributes"]["details"] == "{}"


def test_relationships_carry_linkage_only_when_included(teamtailor_sandbox, reference_fixtures):
    """As in Teamtailor's example: the included candidate and job have ``data``, the stage not."""
    fixture = load(reference_fixtures, "public-api/job_application_included_candidate_job.json")
    body = teamtailor_sandbox.api("GET", "job-applications/634", params={"include": "candidate,job"}).json()
    for name in ("candidate", "job", "stage", "reject-reason"):
        assert ("data" in body["data"]["relationships"][name]) == ("data" in fixture["data"]["relationships"][name])
    assert body["data"]["relationships"]["candidate"]["data"] == fixture["data"]["relationships"]["candidate"]["data"]
    assert [(i["type"], i["id"]) for i in body["included"]] == [(i["type"], i["id"]) for i in fixture["included"]]


# --- errors ---------------------------------------------------------------------------------------
def test_400_406_422_500_bodies_have_the_fixtures_shapes(teamtailor_sandbox, reference_fixtures):
    errors = "public-api/errors"
    bad_page = teamtailor_sandbox.api("GET", "candidates", params={"page[size]": 31})
    assert bad_page.status_code == 400
    assert shape_problems(load(reference_fixtures, f"{errors}/400_bad_request.json"), bad_page.json()) == []

    no_version = teamtailor_sandbox.api("GET", "candidates", headers={"X-Api-Version": None})
    assert no_version.status_code == 406
    assert shape_problems(load(reference_fixtures, f"{errors}/406_invalid_api_version.json"), no_version.json()) == []

    invalid = teamtailor_sandbox.partner(
        "POST", "partner-results", payload={"data": {"type": "partner-results", "attributes": {"status": "sent"}}}
    )
    assert invalid.status_code == 422
    assert shape_problems(load(reference_fixtures, f"{errors}/422_unprocessable_entity.json"), invalid.json()) == []

    teamtailor_sandbox.faults(status=500, count=1)
    failed = teamtailor_sandbox.api("GET", "jobs")
    assert failed.status_code == 500
    assert shape_problems(load(reference_fixtures, f"{errors}/500_server_error.json"), failed.json()) == []


def test_401_is_bodyless_like_the_fixture(teamtailor_sandbox, reference_fixtures):
    fixture = load(reference_fixtures, "public-api/errors/401_unauthorized.json")
    response = teamtailor_sandbox.api("GET", "jobs", headers={"Authorization": "Token token=nope"})
    assert response.status_code == fixture["_status"]
    assert response.content == b""


# --- partner API ----------------------------------------------------------------------------------
def _with_sandbox_ids(request: dict) -> dict:
    """The docs' example ids (candidate 102, job 444) replaced with seeded ones."""
    request = copy.deepcopy(request)
    attributes = request["data"]["attributes"]
    if "candidate-id" in attributes:
        attributes["candidate-id"] = 54321
    if "job-id" in attributes:
        attributes["job-id"] = 12345
    return request


def test_the_docs_create_request_gives_the_docs_create_response(teamtailor_sandbox, reference_fixtures):
    request = _with_sandbox_ids(load(reference_fixtures, "partner-docs/partner_result_create_request.json"))
    response = teamtailor_sandbox.partner("POST", "partner-results", payload=request)
    assert response.status_code == 201, response.text
    expected = load(reference_fixtures, "partner-docs/partner_result_create_response.json")
    body = response.json()
    assert shape_problems(expected, body, exact=False) == []
    # "0:32:14" comes back as seconds, exactly as in the docs' response.
    assert body["data"]["attributes"]["assessment"] == expected["data"]["attributes"]["assessment"]


def test_the_docs_update_request_gives_the_docs_update_response(teamtailor_sandbox, reference_fixtures):
    created = teamtailor_sandbox.partner(
        "POST", "partner-results", payload={"data": {"type": "partner-results", "attributes": {"candidate-id": 54321}}}
    ).json()["data"]
    request = load(reference_fixtures, "partner-docs/partner_result_update_request.json")
    request["data"]["id"] = created["id"]
    response = teamtailor_sandbox.partner("PUT", f"partner-results/{created['id']}", payload=request)
    assert response.status_code == 200, response.text
    expected = load(reference_fixtures, "partner-docs/partner_result_update_response.json")
    assert shape_problems(expected, response.json(), exact=False) == []
    shown = teamtailor_sandbox.partner("GET", f"partner-results/{created['id']}").json()
    assert shape_problems(load(reference_fixtures, "partner-docs/partner_result_object.json"), shown) == []


def test_the_list_has_the_docs_list_shape(teamtailor_sandbox, reference_fixtures):
    for _ in range(2):
        teamtailor_sandbox.partner(
            "POST",
            "partner-results",
            payload={"data": {"type": "partner-results", "attributes": {"candidate-id": 54321, "job-id": 12345}}},
        )
    body = teamtailor_sandbox.partner("GET", "partner-results").json()
    expected = load(reference_fixtures, "partner-docs/partner_results_list_response.json")
    assert shape_problems(expected, body, exact=False) == []
    assert body["links"].keys() == expected["links"].keys() and body["meta"].keys() == expected["meta"].keys()


def test_the_draft_moving_criteria_update_is_accepted(teamtailor_sandbox, reference_fixtures):
    created = teamtailor_sandbox.partner(
        "POST", "partner-results", payload={"data": {"type": "partner-results", "attributes": {"candidate-id": 54321}}}
    ).json()["data"]
    request = load(reference_fixtures, "partner-docs/UNRELEASED_moving_criteria_partner_result_update_request.json")
    request["data"]["id"] = created["id"]
    assert teamtailor_sandbox.partner("PUT", f"partner-results/{created['id']}", payload=request).status_code == 200


# --- what the sandbox sends -------------------------------------------------------------------------
def test_the_partner_event_has_the_docs_keys_and_a_verifiable_signature(
    teamtailor_sandbox, webhook_receiver, reference_fixtures
):
    teamtailor_sandbox.configure(stagehook_url=webhook_receiver.url)
    teamtailor_sandbox.trigger(54321, job_id=12345, package_id=1)
    [request] = webhook_receiver.requests
    expected = load(reference_fixtures, "partner-docs/partner_webhook_request_body.json")
    body = request.json()
    # webhook-data holds the recruiter's trigger choices: its keys are ours, its values strings.
    assert body["partner-event"]["webhook-data"] == {"package": "1"}
    expected["partner-event"]["webhook-data"] = {"package": "1"}
    assert shape_problems(expected, body) == []
    assert body["company"]["uuid"] == "vAXspNm0J2Y"

    # Independent check of Teamtailor-Signature: t=<unix>,v1=HMAC_SHA256(secret, "<t>.<event id>").
    fields = dict(item.split("=", 1) for item in request.headers["Teamtailor-Signature"].split(","))
    assert set(fields) == {"t", "v1"}
    message = f"{fields['t']}.{body['partner-event']['id']}".encode()
    digest = hmac.new(b"sandbox-partner-webhook-secret", message, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(digest, fields["v1"])
    assert abs(time.time() - int(fields["t"])) <= 300
    assert request.headers["Authorization"] == "Bearer sandbox-provider-key-0001"


def test_a_bulk_partner_event_lacks_only_the_job(teamtailor_sandbox, webhook_receiver, reference_fixtures):
    teamtailor_sandbox.configure(stagehook_url=webhook_receiver.url)
    teamtailor_sandbox.trigger(54322, package_id=1)
    expected = load(reference_fixtures, "partner-docs/partner_webhook_request_body.json")
    del expected["partner-event"]["candidate"]["job"]
    expected["partner-event"]["webhook-data"] = {"package": "1"}
    assert shape_problems(expected, webhook_receiver.requests[0].json()) == []


def test_stagehooks_documented_answer_is_applied(teamtailor_sandbox, webhook_receiver, reference_fixtures):
    """A 2xx answer carrying ``partner_result_attributes`` (the docs' example) updates the result."""
    teamtailor_sandbox.configure(stagehook_url=webhook_receiver.url)
    answer = load(reference_fixtures, "partner-docs/partner_webhook_response_partner_result_attributes.json")
    webhook_receiver.respond(200, answer)
    teamtailor_sandbox.trigger(54321, job_id=12345, package_id=1)
    [result] = teamtailor_sandbox.results()
    assert result["status"] == "completed"
    assert result["attributes"]["assessment"]["score"] == 85
    assert result["attributes"]["attachments"] == answer["partner_result_attributes"]["attachments"]


def test_the_company_webhook_has_the_docs_envelope_and_verifiable_signatures(
    teamtailor_sandbox, webhook_receiver, reference_fixtures
):
    teamtailor_sandbox.configure(stagehook_url=webhook_receiver.url)
    teamtailor_sandbox.move(636, 13)
    [request] = webhook_receiver.requests
    body = request.json()
    expected = load(reference_fixtures, "partner-docs/company_webhook_payload_job_update.json")
    # The envelope exactly; the data is a job application, not the example's job, so only the
    # resource keys (id, type, attributes) are required of it.
    assert body.keys() == expected.keys() and body["payload"].keys() == expected["payload"].keys()
    assert (
        shape_problems(
            {k: expected["payload"]["data"][k] for k in ("id", "type")}, body["payload"]["data"], exact=False
        )
        == []
    )
    # The data: exactly the job-application fields Teamtailor documents for company webhooks
    # (TEAMTAILOR.md, "Company webhooks"), kebab-case attributes; no stage id, no candidate id.
    documented = {
        "id", "updated_at", "job_id", "job_title", "last_moved_at", "stage_name", "referring_site", "referring_url",
        "referer_id", "rejected_at", "promotion_id", "company_uuid", "transparent_recruiting_visible_at",
    }
    data = body["payload"]["data"]
    assert set(data) == {"id", "type", "attributes"}
    assert {"id", *(key.replace("-", "_") for key in data["attributes"])} == documented

    # TT-Signature v2, computed here over the raw bytes received.
    decoded = base64.b64decode(request.headers["TT-Signature"]).decode()
    fields = dict(item.split("=", 1) for item in decoded.split(","))
    digest = hmac.new(
        b"sandbox-company-webhook-secret", fields["t"].encode() + b"." + request.body, hashlib.sha256
    ).hexdigest()
    assert hmac.compare_digest(digest, fields["v2"])
    # The body's legacy v1 signature: base64(hex HMAC(secret, data id)), like the example's.
    legacy = hmac.new(b"sandbox-company-webhook-secret", b"636", hashlib.sha256).hexdigest()
    assert base64.b64decode(body["signature"]).decode() == legacy
    assert len(base64.b64decode(expected["signature"])) == len(legacy.encode())
