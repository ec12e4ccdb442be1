"""The Teamtailor sandbox itself, served as a real HTTP server: the API's guard rails (auth,
version, media type, paging, rate limit), partner-result validation, faults, and the signed
requests it sends (to a receiver standing in for Stagehook)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import io
import json
import math
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import jwt
import pytest
import requests
from django.core.management import call_command
from django.core.management.base import CommandError
from werkzeug.test import Client

from integrations.teamtailor.parsing import DOCUMENTED_JOB_APPLICATION_FIELDS
from integrations.teamtailor.sandbox import SANDBOX_DEFAULTS, Sandbox

PARTNER_RESULT = {"data": {"type": "partner-results", "attributes": {"status": "sent"}}}


def result_update(attributes: dict) -> dict:
    return {"data": {"type": "partner-results", "attributes": attributes}}


def hmac_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def make_result(sandbox, candidate_id="54321") -> str:
    response = sandbox.partner(
        "POST",
        "partner-results",
        payload={"data": {"type": "partner-results", "attributes": {"candidate-id": int(candidate_id)}}},
    )
    assert response.status_code == 201, response.text
    return response.json()["data"]["id"]


# --- authentication, version, media type ---------------------------------------------------------
def test_seeded_jobs_candidates_and_applications_are_served(teamtailor_sandbox):
    jobs = teamtailor_sandbox.api("GET", "jobs").json()
    assert {"26", "27", "12345"} <= {job["id"] for job in jobs["data"]}
    candidate = teamtailor_sandbox.api("GET", "candidates/54321").json()["data"]
    assert candidate["attributes"]["email"] == "applicant100@example.com"
    emails = [
        c["attributes"]["email"]
        for c in teamtailor_sandbox.api("GET", "candidates", params={"page[size]": 30}).json()["data"]
    ]
    assert emails and all(email.endswith("@example.com") for email in emails)
    stages = teamtailor_sandbox.api("GET", "jobs/12345/stages").json()["data"]
    assert [s["attributes"]["name"] for s in stages][:3] == ["Inbox", "Phone screen", "Stagehook interview"]


def test_seed_generates_candidates_with_an_application_each_served_in_pages_of_30(teamtailor_sandbox):
    before = teamtailor_sandbox.api("GET", "candidates", params={"page[size]": 30}).json()["meta"]["record-count"]
    body = teamtailor_sandbox.control("POST", "seed", {"candidates": 45}).json()
    assert body == {"candidates": before + 45}
    again = teamtailor_sandbox.control("POST", "seed", {"candidates": 5}).json()
    assert again == {"candidates": before + 50}  # more, never the same ids twice
    page = teamtailor_sandbox.api("GET", "job-applications", params={"filter[job]": "12345", "page[size]": 30,
                                                                    "include": "candidate,stage"}).json()
    generated = [a for a in page["data"] if a["id"].startswith("2")] + [
        a for n in range(2, page["meta"]["page-count"] + 1)
        for a in teamtailor_sandbox.api("GET", "job-applications", params={
            "filter[job]": "12345", "page[size]": 30, "page[number]": n}).json()["data"] if a["id"].startswith("2")
    ]
    assert len(generated) == 50
    stamps = [teamtailor_sandbox.state.candidates[str(1_000_000 + n)]["attributes"]["updated-at"] for n in range(45)]
    assert stamps == sorted(stamps) and len(set(stamps)) == 45  # one call's: one minute apart, oldest first
    for bad in (-1, "10", 200_001, True):
        response = teamtailor_sandbox.control("POST", "seed", {"candidates": bad})
        assert response.status_code == 400 and "candidates" in response.json()["error"]
    assert len(teamtailor_sandbox.state.candidates) == before + 50


@pytest.mark.parametrize(
    "authorization",
    [None, "Token token=wrong-key", "Bearer sandbox-company-api-key", "sandbox-company-api-key"],
)
def test_public_api_without_the_company_token_is_401(teamtailor_sandbox, authorization):
    response = teamtailor_sandbox.api("GET", "jobs", headers={"Authorization": authorization})
    assert response.status_code == 401
    assert response.content == b""  # Teamtailor's 401 carries no body
    assert "X-Rate-Limit-Remaining" in response.headers


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong", "Token token=sandbox-partner-api-key-for-local-demo-only", "Bearer sandbox-company-api-key"],
)
def test_partner_api_without_the_partner_bearer_is_401(teamtailor_sandbox, authorization):
    response = teamtailor_sandbox.partner("GET", "partner-results", headers={"Authorization": authorization})
    assert response.status_code == 401


@pytest.mark.parametrize("version", [None, "", "2024-09-04", "20180828"])
def test_public_api_without_a_valid_api_version_is_406(teamtailor_sandbox, version):
    response = teamtailor_sandbox.api("GET", "candidates", headers={"X-Api-Version": version})
    assert response.status_code == 406
    error = response.json()["errors"][0]
    assert error["status"] == 406 and error["title"] == "Invalid/Missing API Version"


def test_partner_api_wants_its_own_api_version(teamtailor_sandbox):
    assert (
        teamtailor_sandbox.partner("GET", "partner-results", headers={"X-Api-Version": "20240904"}).status_code == 406
    )
    assert teamtailor_sandbox.partner("GET", "partner-results").status_code == 200


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/vnd.api+json; charset=utf-8", "text/plain", None]
)
def test_a_body_with_another_media_type_is_415(teamtailor_sandbox, content_type):
    note = {"data": {"type": "notes", "attributes": {"note": "hi"}}}
    headers = {"Content-Type": content_type} if content_type else {"Content-Type": None}
    response = teamtailor_sandbox.api("POST", "notes", payload=json.dumps(note).encode(), headers=headers)
    assert response.status_code == 415
    result_id = make_result(teamtailor_sandbox)
    response = teamtailor_sandbox.partner(
        "PUT", f"partner-results/{result_id}", payload=json.dumps(PARTNER_RESULT), headers=headers
    )
    assert response.status_code == 415


def test_responses_use_the_json_api_media_type(teamtailor_sandbox):
    assert teamtailor_sandbox.api("GET", "users").headers["Content-Type"] == "application/vnd.api+json"
    assert teamtailor_sandbox.partner("GET", "partner-results").headers["Content-Type"] == "application/vnd.api+json"


# --- paging and filters --------------------------------------------------------------------------
def test_page_size_30_is_allowed_and_31_is_400(teamtailor_sandbox):
    assert teamtailor_sandbox.api("GET", "candidates", params={"page[size]": 30}).status_code == 200
    response = teamtailor_sandbox.api("GET", "candidates", params={"page[size]": 31})
    assert response.status_code == 400
    assert response.json()["errors"][0]["status"] == 400


def test_default_page_size_is_10(teamtailor_sandbox):
    for _ in range(15):
        teamtailor_sandbox.state.add_candidate()
    body = teamtailor_sandbox.api("GET", "candidates").json()
    assert len(body["data"]) == 10
    assert "next" in body["links"]


def test_links_next_is_followed_to_the_end_and_absent_on_the_last_page(teamtailor_sandbox):
    for index in range(40):
        teamtailor_sandbox.state.add_candidate(first_name=f"Paged{index}")
    expected = {c["id"] for c in teamtailor_sandbox.state.snapshot("candidates").values()}
    response = teamtailor_sandbox.api("GET", "candidates", params={"page[size]": 7})
    seen, pages = [], 0
    while True:
        body = response.json()
        pages += 1
        seen += [c["id"] for c in body["data"]]
        assert body["meta"]["record-count"] == len(expected)
        if "next" not in body["links"]:
            break
        # Follow the link as given, with the headers but no extra parameters.
        response = teamtailor_sandbox.http.get(
            body["links"]["next"],
            headers={"Authorization": "Token token=sandbox-company-api-key", "X-Api-Version": "20240904"},
        )
        assert response.status_code == 200
    assert len(seen) == len(set(seen)) and set(seen) == expected
    assert pages == body["meta"]["page-count"] == -(-len(expected) // 7)
    assert body["links"]["last"].endswith(f"page%5Bnumber%5D={pages}&page%5Bsize%5D=7")


def test_job_applications_include_and_filters(teamtailor_sandbox):
    response = teamtailor_sandbox.api(
        "GET", "job-applications", params={"include": "candidate,job,stage", "filter[job]": "12345"}
    )
    body = response.json()
    assert {a["id"] for a in body["data"]} == {"636", "637", "638"}
    application = next(a for a in body["data"] if a["id"] == "636")
    assert application["relationships"]["stage"]["data"] == {"type": "stages", "id": "12"}
    assert application["relationships"]["candidate"]["data"] == {"type": "candidates", "id": "54321"}
    included = {(item["type"], item["id"]) for item in body["included"]}
    assert {("candidates", "54321"), ("jobs", "12345"), ("stages", "12"), ("stages", "11")} <= included
    # Without include the relationships carry links only, as in Teamtailor's fixtures.
    plain = teamtailor_sandbox.api("GET", "job-applications").json()["data"][0]
    assert "data" not in plain["relationships"]["stage"] and "included" not in plain


def test_changed_stage_at_and_updated_at_filters_see_a_move(teamtailor_sandbox, webhook_receiver):
    teamtailor_sandbox.configure(stagehook_url=webhook_receiver.url)
    since = dt.datetime.now(dt.timezone.utc).isoformat()
    empty = teamtailor_sandbox.api("GET", "job-applications", params={"filter[changed-stage-at][from]": since})
    assert empty.json()["data"] == []
    teamtailor_sandbox.move("637", "13")
    for name in ("changed-stage-at", "updated-at"):
        body = teamtailor_sandbox.api("GET", "job-applications", params={f"filter[{name}][from]": since}).json()
        assert [a["id"] for a in body["data"]] == ["637"]
    bad = teamtailor_sandbox.api("GET", "job-applications", params={"filter[updated-at][from]": "yesterday"})
    assert bad.status_code == 400


def test_lists_sort_by_an_attribute_either_way_and_keep_id_order_for_ties(teamtailor_sandbox):
    state = teamtailor_sandbox.state
    old = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    state.add_candidate(candidate_id="90001", updated_at=old + dt.timedelta(days=2))
    state.add_candidate(candidate_id="90002", updated_at=old)
    state.add_candidate(candidate_id="90003", updated_at=old)
    since = {"filter[updated-at][from]": old.isoformat(), "page[size]": 30}
    ids = [c["id"] for c in teamtailor_sandbox.api("GET", "candidates", params={**since, "sort": "updated-at"}).json()["data"]]
    assert ids[:3] == ["90002", "90003", "90001"]
    newest_first = teamtailor_sandbox.api("GET", "candidates", params={**since, "sort": "-updated-at"}).json()["data"]
    assert newest_first[-1]["id"] in ("90002", "90003") and newest_first[0]["id"] not in ("90002", "90003")
    moved = teamtailor_sandbox.api("GET", "job-applications", params={"sort": "-changed-stage-at"})
    assert moved.status_code == 200 and len(moved.json()["data"]) == 6
    by_id = teamtailor_sandbox.api("GET", "candidates", params={"sort": "id", "page[size]": 30}).json()["data"]
    assert [c["id"] for c in by_id] == sorted((c["id"] for c in by_id), key=lambda i: (len(i), i))


def test_a_candidate_includes_its_applications_and_their_stages(teamtailor_sandbox):
    body = teamtailor_sandbox.api(
        "GET", "candidates/54321", params={"include": "job-applications,job-applications.stage"}
    ).json()
    assert body["data"]["relationships"]["job-applications"]["data"] == [{"type": "job-applications", "id": "636"}]
    included = {(item["type"], item["id"]): item for item in body["included"]}
    assert set(included) == {("job-applications", "636"), ("stages", "12")}
    assert included[("job-applications", "636")]["relationships"]["stage"]["data"] == {"type": "stages", "id": "12"}


def test_an_unknown_include_is_400(teamtailor_sandbox):
    assert teamtailor_sandbox.api("GET", "job-applications", params={"include": "secrets"}).status_code == 400


# --- rate limit --------------------------------------------------------------------------------------
def test_the_51st_request_in_10_seconds_is_429_with_rate_headers(teamtailor_sandbox):
    remaining = []
    for _ in range(50):
        response = teamtailor_sandbox.api("GET", "users")
        assert response.status_code == 200
        assert response.headers["X-Rate-Limit-Limit"] == "50"
        remaining.append(int(response.headers["X-Rate-Limit-Remaining"]))
    assert remaining == list(range(49, -1, -1))
    response = teamtailor_sandbox.api("GET", "users")
    assert response.status_code == 429
    assert response.headers["X-Rate-Limit-Remaining"] == "0"
    assert 1 <= int(response.headers["X-Rate-Limit-Reset"]) <= 10
    assert response.json()["errors"][0]["status"] == 429
    # The partner key has its own allowance, and the 429 was counted.
    assert teamtailor_sandbox.partner("GET", "partner-results").status_code == 200
    assert teamtailor_sandbox.stats()["rate_limited"] == 1


def _poll(probe, *, until, deadline: float = 10.0, interval: float = 0.05) -> list:
    """Call ``probe()`` until ``until(result)`` (or fail at the deadline); every (start, end,
    result) in order, timed with the monotonic clock around each call."""
    seen = []
    give_up = time.monotonic() + deadline
    while True:
        started = time.monotonic()
        result = probe()
        seen.append((started, time.monotonic(), result))
        if until(result):
            return seen
        assert time.monotonic() < give_up, f"condition not met in {deadline} s: {[r for _, _, r in seen]}"
        time.sleep(interval)  # the poll's interval, not a stand-in for the condition


def test_the_allowance_comes_back_after_the_reset(sandbox_server):
    sandbox = sandbox_server("teamtailor", rate_limit=3, rate_window=1.0)
    before_window = time.monotonic()
    statuses = [sandbox.api("GET", "users").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    seen = _poll(lambda: sandbox.api("GET", "users").status_code, until=lambda status: status == 200)
    # Refused until the window (opened by the first request, after before_window) has passed.
    assert all(status == 429 for _, _, status in seen[:-1])
    assert seen[-1][1] - before_window >= 1.0


# --- partner results ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("attributes", "pointer"),
    [
        ({"status": "done"}, "/data/attributes/status"),
        ({"assessment": {"score": 101}}, "/data/attributes/assessment"),
        ({"assessment": {"score": -1}}, "/data/attributes/assessment"),
        ({"assessment": {"score": "82"}}, "/data/attributes/assessment"),
        ({"assessment": {"grade": "excellent"}}, "/data/attributes/assessment"),
        ({"attachments": [{"url": "https://x.test/r.pdf"}]}, "/data/attributes/attachments"),
        (
            {"attachments": [{"url": "https://x.test/r.pdf", "description": "r", "size": 3}]},
            "/data/attributes/attachments",
        ),
        ({"details": {"a": {"b": {"c": "too deep"}}}}, "/data/attributes/details"),
        ({"details": "not an object"}, "/data/attributes/details"),
        ({"score": 80}, "/data/attributes/score"),
    ],
)
def test_invalid_partner_result_updates_are_422_and_kept_in_history(teamtailor_sandbox, attributes, pointer):
    result_id = make_result(teamtailor_sandbox)
    response = teamtailor_sandbox.partner("PUT", f"partner-results/{result_id}", payload=result_update(attributes))
    assert response.status_code == 422, response.text
    error = response.json()["errors"][0]
    assert error["source"]["pointer"] == pointer and error["status"] == "422"
    result = teamtailor_sandbox.results()[0]
    assert result["status"] == "sending"
    assert result["history"][-1]["accepted"] is False


def test_creating_a_partner_result_needs_a_known_candidate(teamtailor_sandbox):
    missing = teamtailor_sandbox.partner("POST", "partner-results", payload=PARTNER_RESULT)
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["source"]["pointer"] == "/data/attributes/candidate-id"
    unknown = teamtailor_sandbox.partner(
        "POST", "partner-results", payload=result_update({"candidate-id": 999999, "job-id": 12345})
    )
    assert unknown.status_code == 422
    created = teamtailor_sandbox.partner(
        "POST", "partner-results", payload=result_update({"candidate-id": 54321, "job-id": 12345, "status": "sent"})
    )
    assert created.status_code == 201
    attributes = created.json()["data"]["attributes"]
    assert attributes["candidate-id"] == 54321 and attributes["job-id"] == 12345 and attributes["status"] == "sent"


def test_a_valid_update_is_applied_and_recorded(teamtailor_sandbox):
    result_id = make_result(teamtailor_sandbox)
    teamtailor_sandbox.partner("PATCH", f"partner-results/{result_id}", payload=result_update({"status": "pending"}))
    final = {
        "status": "completed",
        "summary": "Strong answers",
        "url": "http://127.0.0.1:8000/report/1",
        "assessment": {"score": 82, "grade": "top_fit", "duration": "0:32:14"},
        "details": {"rating": "10", "awesomeness": {"good": "good"}},
        "attachments": [{"url": "http://127.0.0.1:8000/report/1.pdf", "description": "Report"}],
    }
    response = teamtailor_sandbox.partner(
        "PUT",
        f"partner-results/{result_id}",
        payload={"data": {"type": "partner-results", "id": result_id, "attributes": final}},
    )
    assert response.status_code == 200, response.text
    attributes = response.json()["data"]["attributes"]
    assert attributes["assessment"] == {"score": 82, "grade": "top_fit", "duration": 1934}
    shown = teamtailor_sandbox.partner("GET", f"partner-results/{result_id}").json()["data"]["attributes"]
    assert shown == attributes
    result = teamtailor_sandbox.results()[0]
    assert [(h["source"], h["status_after"]) for h in result["history"]] == [
        ("POST (create)", "sending"),
        ("PATCH", "pending"),
        ("PUT", "completed"),
    ]
    listed = teamtailor_sandbox.partner("GET", "partner-results", params={"filter[status]": "completed"}).json()
    assert [r["id"] for r in listed["data"]] == [result_id]


def test_an_unknown_partner_result_is_404(teamtailor_sandbox):
    response = teamtailor_sandbox.partner("PUT", "partner-results/nope", payload=PARTNER_RESULT)
    assert response.status_code == 404


def test_notes_are_validated_and_inspectable(teamtailor_sandbox):
    note = {
        "data": {
            "type": "notes",
            "attributes": {"note": "Stagehook interview completed: 82/100"},
            "relationships": {
                "candidate": {"data": {"type": "candidates", "id": "54321"}},
                "user": {"data": {"type": "users", "id": "34"}},
            },
        }
    }
    response = teamtailor_sandbox.api("POST", "notes", payload=note)
    assert response.status_code == 201, response.text
    assert response.json()["data"]["type"] == "notes"
    blank = json.loads(json.dumps(note))
    blank["data"]["attributes"]["note"] = ""
    assert teamtailor_sandbox.api("POST", "notes", payload=blank).status_code == 422
    [stored] = teamtailor_sandbox.notes()
    assert stored["candidate_id"] == "54321" and stored["note"].endswith("82/100")


# --- faults ------------------------------------------------------------------------------------------
def test_503_for_n_requests_then_recovery(teamtailor_sandbox):
    teamtailor_sandbox.faults(status=503, count=3)
    statuses = [teamtailor_sandbox.api("GET", "jobs").status_code for _ in range(5)]
    assert statuses == [503, 503, 503, 200, 200]
    assert teamtailor_sandbox.stats()["faults_served"] == 3


def test_faults_for_a_number_of_seconds(teamtailor_sandbox):
    seconds = 1.0
    set_from = time.monotonic()
    described = teamtailor_sandbox.faults(status=500, seconds=seconds)
    set_by = time.monotonic()
    assert described["active"] is True and 0 < described["seconds_left"] <= seconds
    seen = _poll(lambda: teamtailor_sandbox.partner("GET", "partner-results").status_code, until=lambda s: s == 200)
    statuses = [status for _, _, status in seen]
    # 500s, then 200s: never back to 500 once over.
    assert statuses == sorted(statuses, reverse=True) and set(statuses) <= {500, 200}
    for started, ended, status in seen:
        if ended < set_from + seconds:
            assert status == 500  # answered surely inside the window
        if started >= set_by + seconds:
            assert status == 200  # asked surely after it
    assert teamtailor_sandbox.stats()["faults_served"] == statuses.count(500)
    assert teamtailor_sandbox.faults()["active"] is False


def test_slow_answers(teamtailor_sandbox):
    teamtailor_sandbox.faults(delay=0.4, count=1)
    started = time.monotonic()
    assert teamtailor_sandbox.api("GET", "users").status_code == 200
    assert time.monotonic() - started >= 0.4  # a lower bound: the sandbox slept first
    # The one slow answer was used up: the next is served without the delay (the sandbox's own
    # accounting, not a stopwatch on a loaded runner).
    assert teamtailor_sandbox.faults()["active"] is False
    assert teamtailor_sandbox.faults()["count"] == 0
    assert teamtailor_sandbox.api("GET", "users").status_code == 200


def test_clearing_faults(teamtailor_sandbox):
    teamtailor_sandbox.faults(status=503)
    assert teamtailor_sandbox.api("GET", "jobs").status_code == 503
    teamtailor_sandbox.clear_faults()
    assert teamtailor_sandbox.api("GET", "jobs").status_code == 200


# --- what the sandbox sends ----------------------------------------------------------------------
def test_trigger_posts_a_signed_partner_event(teamtailor_sandbox, webhook_receiver):
    teamtailor_sandbox.configure(stagehook_url=webhook_receiver.url)
    sent_from = math.floor(time.time())
    answer = teamtailor_sandbox.trigger(54321, job_id=12345, package_id=7, webhook_data={"threshold": 75})
    sent_by = math.ceil(time.time())
    [request] = webhook_receiver.requests
    assert request.method == "POST" and request.path == "/webhook"
    assert request.headers["Authorization"] == "Bearer sandbox-provider-key-0001"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Teamtailor-Api-Token"] == "sandbox-company-api-key"
    assert request.headers["Teamtailor-Host"] == f"127.0.0.1:{teamtailor_sandbox.server.server_port}"
    body = request.json()
    event = body["partner-event"]
    parts = dict(part.split("=", 1) for part in request.headers["Teamtailor-Signature"].split(","))
    assert sent_from <= int(parts["t"]) <= sent_by  # signed while the trigger ran
    expected = hmac_hex("sandbox-partner-webhook-secret", f"{parts['t']}.{event['id']}".encode())
    assert hmac.compare_digest(parts["v1"], expected)
    assert event["webhook-data"] == {"package": "7", "threshold": "75"}
    assert event["partner-result"]["status"] == "sending"
    assert (
        event["partner-result"]["update-url"]
        == f"{teamtailor_sandbox.url}/partner/v1/partner-results/{event['partner-result']['id']}"
    )
    assert event["candidate"]["job"]["stage-id"] == 12 and event["candidate"]["job"]["id"] == 12345
    assert body["company"] == {
        "uuid": "vAXspNm0J2Y",
        "name": "Sandbox Company (Teamtailor)",
        "url": f"{teamtailor_sandbox.url}/careersite",
        "logotype": None,
    }
    assert answer["stagehook"] == [{"status": 202, "body": {}}]
    assert answer["partner_result"]["id"] == event["partner-result"]["id"]
    # The update-url works with the partner key.
    response = teamtailor_sandbox.http.put(
        event["partner-result"]["update-url"],
        data=json.dumps(result_update({"status": "sent"})),
        headers={
            "Authorization": "Bearer sandbox-partner-api-key-for-local-demo-only",
            "X-Api-Version": "20180828",
            "Content-Type": "application/vnd.api+json",
        },
    )
    assert response.status_code == 200


def test_bulk_trigger_has_no_job(teamtailor_sandbox, webhook_receiver):
    teamtailor_sandbox.configure(stagehook_url=webhook_receiver.url)
    teamtailor_sandbox.trigger(54322, package_id=1)
    event = webhook_receiver.requests[0].json()["partner-event"]
    assert "job" not in event["candidate"]
    assert teamtailor_sandbox.results()[0]["job_id"] is None


def test_partner_result_attributes_in_stagehooks_answer_are_applied(teamtailor_sandbox, webhook_receiver):
    teamtailor_sandbox.configure(stagehook_url=webhook_receiver.url)
    webhook_receiver.respond(200, {"partner_result_attributes": {"status": "sent", "summary": "Invitation sent"}})
    teamtailor_sandbox.trigger(54321, job_id=12345, package_id=1)
    [result] = teamtailor_sandbox.results()
    assert result["status"] == "sent" and result["attributes"]["summary"] == "Invitation sent"
    assert result["history"][-1]["source"] == "webhook answer"


def test_an_error_answer_is_shown_on_the_card(teamtailor_sandbox, webhook_receiver):
    teamtailor_sandbox.configure(stagehook_url=webhook_receiver.url)
    webhook_receiver.respond(400, "Choose a package first")
    teamtailor_sandbox.trigger(54321, job_id=12345)
    [result] = teamtailor_sandbox.results()
    assert result["card_error"] == "Choose a package first" and result["status"] == "sending"


def test_a_package_name_is_resolved_through_stagehooks_trigger_form(teamtailor_sandbox, webhook_receiver):
    teamtailor_sandbox.configure(stagehook_url=webhook_receiver.url)
    form = {
        "config": {
            "fields": [
                {"id": "package", "type": "select", "options": [{"id": "4", "label": "Customer Support Interview"}]}
            ]
        }
    }
    webhook_receiver.respond(200, form, times=1)
    teamtailor_sandbox.trigger(54321, job_id=12345, package_id="customer support interview")
    form_call, event_call = webhook_receiver.requests
    assert form_call.method == "GET" and form_call.path == "/config"
    assert form_call.query == {"user_id": "34", "job_id": "12345"}
    assert form_call.headers["Authorization"] == "Bearer sandbox-provider-key-0001"
    assert event_call.json()["partner-event"]["webhook-data"] == {"package": "4"}

    webhook_receiver.respond(200, form, times=1)
    refused = teamtailor_sandbox.control("POST", "trigger", {"candidate_id": "54321", "package_id": "Nope"})
    assert refused.status_code == 422 and "'Customer Support Interview'" in refused.json()["error"]
    assert len(webhook_receiver.requests) == 3  # the form was read; no partner event went out


def test_trigger_for_a_candidate_without_that_job_is_refused(teamtailor_sandbox):
    response = teamtailor_sandbox.control("POST", "trigger", {"candidate_id": "54321", "job_id": "26"})
    assert response.status_code == 422
    assert teamtailor_sandbox.control("POST", "trigger", {"candidate_id": "1234567"}).status_code == 404


def _verify_company_signature(request, sent_between: tuple[int, int]) -> None:
    decoded = base64.b64decode(request.headers["TT-Signature"]).decode()
    parts = dict(part.split("=", 1) for part in decoded.split(","))
    expected = hmac_hex("sandbox-company-webhook-secret", f"{parts['t']}.".encode() + request.body)
    assert hmac.compare_digest(parts["v2"], expected)
    sent_from, sent_by = sent_between
    assert sent_from <= int(parts["t"]) <= sent_by  # signed while the call ran


def _stage_name(sandbox, stage_id: str) -> str:
    return sandbox.state.stages[stage_id]["attributes"]["name"]


def _stage_name_in(request) -> str:
    return request.json()["payload"]["data"]["attributes"]["stage-name"]


def test_move_fires_a_signed_company_webhook(teamtailor_sandbox, webhook_receiver):
    teamtailor_sandbox.configure(stagehook_url=webhook_receiver.url)
    sent_from = math.floor(time.time())
    answer = teamtailor_sandbox.move(636, 13)
    sent_by = math.ceil(time.time())
    [request] = webhook_receiver.requests
    assert request.path == "/company-webhooks" and request.headers["Content-Type"] == "application/json"
    _verify_company_signature(request, (sent_from, sent_by))
    body = request.json()
    assert body["payload"]["event_name"] == "job_application.update"
    data = body["payload"]["data"]
    assert data["id"] == "636" and data["type"] == "job-applications"
    # Exactly the documented job-application fields: no stage id, no candidate id (TEAMTAILOR.md).
    assert "relationships" not in data
    assert {"id", *(k.replace("-", "_") for k in data["attributes"])} == set(DOCUMENTED_JOB_APPLICATION_FIELDS)
    assert data["attributes"]["stage-name"] == _stage_name(teamtailor_sandbox, "13")
    assert data["attributes"]["job-id"] == 12345 and data["attributes"]["company-uuid"] == "vAXspNm0J2Y"
    # The deprecated v1 signature in the body: base64 of the hex HMAC of the data id.
    assert base64.b64decode(body["signature"]).decode() == hmac_hex("sandbox-company-webhook-secret", b"636")
    assert answer["stagehook"][0]["status"] == 202
    # What the receiver reads next: the application with its stage, candidate and job.
    shown = teamtailor_sandbox.api("GET", "job-applications/636", params={"include": "stage,candidate,job"}).json()
    relationships = shown["data"]["relationships"]
    assert relationships["stage"]["data"]["id"] == "13" and relationships["candidate"]["data"]["id"] == "54321"
    assert relationships["job"]["data"]["id"] == "12345"
    assert {(i["type"], i["id"]) for i in shown["included"]} == {("stages", "13"), ("candidates", "54321"), ("jobs", "12345")}


def test_move_to_a_stage_of_another_job_is_refused(teamtailor_sandbox):
    assert teamtailor_sandbox.control("POST", "applications/636/move", {"stage_id": "2"}).status_code == 422


def test_a_stage_move_through_the_api_fires_the_webhook_too(teamtailor_sandbox, webhook_receiver):
    teamtailor_sandbox.configure(stagehook_url=webhook_receiver.url)
    payload = {
        "data": {
            "type": "job-applications",
            "id": "637",
            "relationships": {"stage": {"data": {"type": "stages", "id": "14"}}},
        }
    }
    sent_from = math.floor(time.time())
    response = teamtailor_sandbox.api("PATCH", "job-applications/637", payload=payload)
    assert response.status_code == 200, response.text
    [request] = webhook_receiver.wait_for(1)
    sent_by = math.ceil(time.time())
    _verify_company_signature(request, (sent_from, sent_by))
    assert _stage_name_in(request) == _stage_name(teamtailor_sandbox, "14")
    bad = json.loads(json.dumps(payload))
    bad["data"]["relationships"]["stage"]["data"]["id"] = "1"
    assert teamtailor_sandbox.api("PATCH", "job-applications/637", payload=bad).status_code == 422


def test_duplicate_webhooks(teamtailor_sandbox, webhook_receiver):
    teamtailor_sandbox.configure(stagehook_url=webhook_receiver.url)
    teamtailor_sandbox.faults(duplicate_webhooks=5)
    answer = teamtailor_sandbox.trigger(54321, job_id=12345, package_id=1)
    assert len(answer["stagehook"]) == 5
    bodies = {r.body for r in webhook_receiver.requests}
    signatures = {r.headers["Teamtailor-Signature"] for r in webhook_receiver.requests}
    assert len(webhook_receiver.requests) == 5 and len(bodies) == 1 and len(signatures) == 1
    assert teamtailor_sandbox.stats()["webhooks_duplicated"] == 4


def test_dropped_webhooks(teamtailor_sandbox, webhook_receiver):
    teamtailor_sandbox.configure(stagehook_url=webhook_receiver.url)
    teamtailor_sandbox.faults(drop_webhooks=1)
    assert teamtailor_sandbox.move(636, 13)["stagehook"] == [{"dropped": True}]
    teamtailor_sandbox.move(636, 14)
    assert len(webhook_receiver.requests) == 1
    assert _stage_name_in(webhook_receiver.requests[0]) == _stage_name(teamtailor_sandbox, "14")
    stats = teamtailor_sandbox.stats()
    assert stats["webhooks_dropped"] == 1 and stats["webhooks_sent"] == 1


def test_out_of_order_delivery(teamtailor_sandbox, webhook_receiver):
    teamtailor_sandbox.configure(stagehook_url=webhook_receiver.url)
    teamtailor_sandbox.faults(out_of_order=True)
    first = teamtailor_sandbox.move(636, 13)
    assert first["stagehook"][0]["held"] is True
    teamtailor_sandbox.move(636, 14)
    stages = [_stage_name_in(r) for r in webhook_receiver.wait_for(2)]
    assert stages == [_stage_name(teamtailor_sandbox, "14"), _stage_name(teamtailor_sandbox, "13")]


def test_a_held_webhook_is_released_without_a_later_one(sandbox_server, webhook_receiver):
    sandbox = sandbox_server("teamtailor", stagehook_url=webhook_receiver.url, out_of_order_hold=0.3)
    sandbox.faults(out_of_order=True)
    sandbox.move(636, 13)
    assert len(webhook_receiver.wait_for(1, timeout=5)) == 1


def test_unreachable_stagehook_is_recorded(teamtailor_sandbox):
    teamtailor_sandbox.configure(stagehook_url="http://127.0.0.1:9/teamtailor/")
    answer = teamtailor_sandbox.trigger(54321, job_id=12345, package_id=1)
    assert answer["stagehook"][0]["status"] is None
    assert teamtailor_sandbox.stats()["webhooks_failed"] == 1


def test_activate_sends_a_jws_of_the_form_and_adopts_it(teamtailor_sandbox, webhook_receiver):
    teamtailor_sandbox.configure(stagehook_url=webhook_receiver.url)
    webhook_receiver.respond(200, {"status": "active"})
    answer = teamtailor_sandbox.activate("shtt_one-time")
    [request] = webhook_receiver.requests
    assert request.method == "GET" and request.path == "/activation/validate"
    token = request.headers["Authorization"].removeprefix("Bearer ")
    claims = jwt.decode(token, "sandbox-partner-api-key-for-local-demo-only", algorithms=["HS256"])
    assert claims == {"connection_token": "shtt_one-time"}
    assert request.headers["Teamtailor-Host"] == f"127.0.0.1:{teamtailor_sandbox.server.server_port}"
    assert answer["activated"] is True
    # From now on Teamtailor calls Stagehook with the activation's provider key.
    teamtailor_sandbox.trigger(54321, job_id=12345, package_id=1)
    assert webhook_receiver.requests[-1].headers["Authorization"] == f"Bearer {token}"


def test_a_refused_activation_keeps_the_old_provider_key(teamtailor_sandbox, webhook_receiver):
    teamtailor_sandbox.configure(stagehook_url=webhook_receiver.url)
    webhook_receiver.respond(400, {"errors": ["Unknown connection token."]})
    assert teamtailor_sandbox.activate("wrong")["activated"] is False
    assert teamtailor_sandbox.app.provider_key == "sandbox-provider-key-0001"


# --- control plane -------------------------------------------------------------------------------
def test_control_endpoints_answer_loopback_only():
    client = Client(Sandbox(SANDBOX_DEFAULTS))
    remote = client.get("/_sandbox/stats", environ_overrides={"REMOTE_ADDR": "10.0.0.8"})
    assert remote.status_code == 403
    local = client.get("/_sandbox/stats", environ_overrides={"REMOTE_ADDR": "127.0.0.1"})
    assert local.status_code == 200


def test_reset_restores_the_seed(teamtailor_sandbox, webhook_receiver):
    teamtailor_sandbox.configure(stagehook_url=webhook_receiver.url)
    teamtailor_sandbox.move(636, 13)
    make_result(teamtailor_sandbox)
    teamtailor_sandbox.faults(status=503)
    teamtailor_sandbox.reset()
    assert teamtailor_sandbox.results() == []
    assert teamtailor_sandbox.state.applications["636"]["stage_id"] == "12"
    assert teamtailor_sandbox.api("GET", "jobs").status_code == 200


def test_config_can_point_a_running_sandbox_elsewhere(teamtailor_sandbox, webhook_receiver):
    response = teamtailor_sandbox.control("POST", "config", {"stagehook_url": webhook_receiver.url})
    assert response.json()["stagehook_url"] == webhook_receiver.url
    assert teamtailor_sandbox.control("POST", "config", {"api_key": "stolen"}).status_code == 400
    teamtailor_sandbox.move(636, 13)
    assert len(webhook_receiver.requests) == 1


# --- the CLI ------------------------------------------------------------------------------------
def _cli(sandbox, *args) -> str:
    out = io.StringIO()
    call_command("sandbox", "teamtailor", "--url", sandbox.url, *args, stdout=out)
    return out.getvalue()


def test_cli_drives_a_running_sandbox(teamtailor_sandbox, webhook_receiver):
    teamtailor_sandbox.configure(stagehook_url=webhook_receiver.url)
    output = _cli(teamtailor_sandbox, "trigger", "--candidate", "54321", "--job", "12345", "--package", "3")
    assert "Juston Becker (54321)" in output and "202" in output
    assert webhook_receiver.requests[0].json()["partner-event"]["webhook-data"] == {"package": "3"}
    result_id = teamtailor_sandbox.results()[0]["id"]
    teamtailor_sandbox.partner(
        "PUT",
        f"partner-results/{result_id}",
        payload=result_update({"status": "completed", "assessment": {"score": 77}}),
    )
    output = _cli(teamtailor_sandbox, "results", "--wait", "completed", "--timeout", "5")
    assert result_id in output and "completed" in output and "score 77" in output
    _cli(teamtailor_sandbox, "move", "--application", "636", "--stage", "13")
    assert webhook_receiver.requests[-1].path == "/company-webhooks"
    faults = json.loads(_cli(teamtailor_sandbox, "faults", "--status", "503", "--count", "5"))
    assert faults["faults"]["status"] == 503 and faults["faults"]["count"] == 5
    assert teamtailor_sandbox.api("GET", "jobs").status_code == 503
    assert json.loads(_cli(teamtailor_sandbox, "stats"))["faults_served"] == 1
    assert "no notes yet" in _cli(teamtailor_sandbox, "notes")


def test_cli_explains_a_missing_sandbox():
    with pytest.raises(CommandError, match="run_sandbox teamtailor"):
        call_command("sandbox", "teamtailor", "--url", "http://127.0.0.1:9", "stats")


# --- run_sandbox -----------------------------------------------------------------------------------
def test_run_sandbox_serves_the_named_sandbox():
    """The real command in its own process, as the Procfile runs it (port 0: the OS picks)."""
    process = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "run_sandbox",
            "teamtailor",
            "--port",
            "0",
            "--stagehook-url",
            "http://127.0.0.1:9/tt/",
        ],
        cwd=Path(__file__).resolve().parents[3],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    banner: list[str] = []
    reader = threading.Thread(target=lambda: banner.append(process.stdout.readline()), daemon=True)
    reader.start()
    try:
        reader.join(timeout=60)
        assert banner and banner[0], f"no banner; stderr: {process.stderr.read() if process.poll() is not None else ''}"
        port = int(re.search(r"http://127\.0\.0\.1:(\d+)", banner[0]).group(1))
        session = requests.Session()
        session.trust_env = False
        config = session.get(f"http://127.0.0.1:{port}/_sandbox/config", timeout=10).json()
        assert config["base_url"] == f"http://127.0.0.1:{port}" and config["stagehook_url"] == "http://127.0.0.1:9/tt/"
        jobs = session.get(
            f"http://127.0.0.1:{port}/v1/jobs",
            headers={"Authorization": "Token token=sandbox-company-api-key", "X-Api-Version": "20240904"},
            timeout=10,
        )
        assert jobs.status_code == 200 and jobs.json()["data"][0]["links"]["self"].startswith(
            f"http://127.0.0.1:{port}/v1/"
        )
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.parametrize("name", ["nope", "../teamtailor", "Teamtailor"])
def test_run_sandbox_refuses_an_unknown_ats(name):
    with pytest.raises(CommandError):
        call_command("run_sandbox", name, "--port", "0")


# --- result-card actions ----------------------------------------------------------------------------
BUTTONS = [
    {"buttonText": "Resend invitation", "endpoint": "actions/resend"},
    {"buttonText": "Cancel interview", "endpoint": "actions/cancel"},
]


def _give_buttons(sandbox, result_id, buttons=BUTTONS):
    response = sandbox.partner(
        "PUT", f"partner-results/{result_id}", payload=result_update({"status": "sent", "actions": buttons})
    )
    assert response.status_code == 200, response.text
    return response


def test_actions_are_kept_and_rendered(teamtailor_sandbox):
    result_id = make_result(teamtailor_sandbox)
    answer = _give_buttons(teamtailor_sandbox, result_id)
    assert answer.json()["data"]["attributes"]["actions"] == BUTTONS
    shown = teamtailor_sandbox.partner("GET", f"partner-results/{result_id}").json()["data"]["attributes"]
    assert shown["actions"] == BUTTONS
    assert teamtailor_sandbox.results()[0]["attributes"]["actions"] == BUTTONS
    # An update without actions keeps them (Teamtailor merges attributes); an empty list clears them.
    teamtailor_sandbox.partner("PUT", f"partner-results/{result_id}", payload=result_update({"status": "pending"}))
    assert teamtailor_sandbox.results()[0]["attributes"]["actions"] == BUTTONS
    _give_buttons(teamtailor_sandbox, result_id, [])
    assert teamtailor_sandbox.results()[0]["attributes"]["actions"] == []


def test_a_click_posts_the_original_partner_event_signed(teamtailor_sandbox, webhook_receiver):
    teamtailor_sandbox.configure(stagehook_url=webhook_receiver.url)
    trigger = teamtailor_sandbox.trigger(54321, job_id=12345, package_id=1)
    result_id = trigger["partner_result"]["id"]
    _give_buttons(teamtailor_sandbox, result_id)
    webhook_receiver.respond(200, {"action": "cancel"}, times=1)

    answer = teamtailor_sandbox.control("POST", f"partner-results/{result_id}/actions/1").json()

    event_call, click = webhook_receiver.requests
    assert click.method == "POST" and click.path == "/actions/cancel"
    assert click.body == event_call.body  # "the same partner event as originally sent"
    assert click.headers["Authorization"] == "Bearer sandbox-provider-key-0001"
    assert click.headers["Content-Type"] == "application/json"
    assert click.headers["Teamtailor-Api-Token"] == "sandbox-company-api-key"
    assert click.headers["Teamtailor-Host"] == f"127.0.0.1:{teamtailor_sandbox.server.server_port}"
    parts = dict(part.split("=", 1) for part in click.headers["Teamtailor-Signature"].split(","))
    event_id = click.json()["partner-event"]["id"]
    assert event_id == trigger["partner_event_id"]
    expected = hmac_hex("sandbox-partner-webhook-secret", f"{parts['t']}.{event_id}".encode())
    assert hmac.compare_digest(parts["v1"], expected)
    assert answer["action"] == BUTTONS[1] and answer["stagehook"] == [{"status": 200, "body": {"action": "cancel"}}]
    [result] = teamtailor_sandbox.results()
    assert result["action_clicks"][0]["status"] == 200
    assert teamtailor_sandbox.webhooks()[-1]["kind"] == "partner-action"


def test_a_click_on_a_result_created_over_the_api_carries_a_built_event(teamtailor_sandbox, webhook_receiver):
    teamtailor_sandbox.configure(stagehook_url=webhook_receiver.url)
    result_id = make_result(teamtailor_sandbox)
    _give_buttons(teamtailor_sandbox, result_id)
    teamtailor_sandbox.control("POST", f"partner-results/{result_id}/actions/0")
    teamtailor_sandbox.control("POST", f"partner-results/{result_id}/actions/0")
    first, second = (r.json() for r in webhook_receiver.requests)
    assert first == second
    assert first["partner-event"]["partner-result"]["id"] == result_id
    assert first["partner-event"]["candidate"]["id"] == 54321


def test_an_error_answer_to_a_click_is_shown_on_the_card(teamtailor_sandbox, webhook_receiver):
    teamtailor_sandbox.configure(stagehook_url=webhook_receiver.url)
    result_id = make_result(teamtailor_sandbox)
    _give_buttons(teamtailor_sandbox, result_id)
    webhook_receiver.respond(409, {"error": "This interview was cancelled."}, times=1)
    teamtailor_sandbox.control("POST", f"partner-results/{result_id}/actions/0")
    [result] = teamtailor_sandbox.results()
    assert "This interview was cancelled." in result["card_error"]


def test_clicking_a_button_the_card_does_not_have(teamtailor_sandbox, webhook_receiver):
    teamtailor_sandbox.configure(stagehook_url=webhook_receiver.url)
    result_id = make_result(teamtailor_sandbox)
    missing = teamtailor_sandbox.control("POST", f"partner-results/{result_id}/actions/0")
    assert missing.status_code == 404 and "actions: none" in missing.json()["error"]
    assert teamtailor_sandbox.control("POST", "partner-results/nope/actions/0").status_code == 404
    _give_buttons(teamtailor_sandbox, result_id, [{"buttonText": "Elsewhere", "endpoint": "https://evil.example/x"}])
    assert teamtailor_sandbox.control("POST", f"partner-results/{result_id}/actions/0").status_code == 422
    assert webhook_receiver.requests == []


def test_cli_clicks_a_button_by_its_text(teamtailor_sandbox, webhook_receiver):
    teamtailor_sandbox.configure(stagehook_url=webhook_receiver.url)
    result_id = make_result(teamtailor_sandbox)
    _give_buttons(teamtailor_sandbox, result_id)
    listing = _cli(teamtailor_sandbox, "results")
    assert "button 0: [Resend invitation] -> actions/resend" in listing
    output = _cli(teamtailor_sandbox, "click", "--result", result_id, "--action", "cancel interview")
    assert "clicked [Cancel interview]" in output and "202" in output
    assert webhook_receiver.requests[-1].path == "/actions/cancel"
    _cli(teamtailor_sandbox, "click", "--result", result_id, "--action", "0")
    assert webhook_receiver.requests[-1].path == "/actions/resend"
    with pytest.raises(CommandError, match="'Resend invitation', 'Cancel interview'"):
        _cli(teamtailor_sandbox, "click", "--result", result_id, "--action", "Archive")
