"""The SmartRecruiters sandbox's Customer API subset: candidates with nextPageId paging and
updatedAfter, applications and status moves, jobs, hiring processes, message shares; the
per-credential limits (10/s, 8 concurrent, 1 concurrent GET /candidates); the generator."""

import threading
import time

import pytest

from .fake_stagehook import integrated, sr, stagehook  # noqa: F401  (fixtures)

ADA = "0c9b1e3e-5c52-4b1e-9f3d-6d1f0a7b2c44"
JOB = "3fd6cba7-2ad1-4f8b-a8d5-5a1b1a4c2f11"


def _all_pages(sandbox, token, **params):
    ids, page_id, pages = [], None, 0
    while True:
        query = {**params, **({"pageId": page_id} if page_id else {})}
        response = sandbox.api("GET", "/candidates", token=token, params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        ids += [c["id"] for c in body["content"]]
        pages += 1
        page_id = body.get("nextPageId")
        if not page_id:
            return ids, pages, body["totalFound"]


def test_candidates_page_with_next_page_id_to_the_end(integrated):
    integrated.seed(250)
    token = integrated.customer_token()
    ids, pages, total = _all_pages(integrated, token, limit=100)
    assert total == 254 and len(ids) == 254 and len(set(ids)) == 254 and pages == 3


def test_the_default_page_is_10_and_limit_is_at_most_100(integrated):
    token = integrated.customer_token()
    integrated.seed(20)
    assert len(integrated.api("GET", "/candidates", token=token).json()["content"]) == 10
    assert integrated.api("GET", "/candidates", token=token, params={"limit": 100}).status_code == 200
    for bad in (101, 0, "ten"):
        assert integrated.api("GET", "/candidates", token=token, params={"limit": bad}).status_code == 400
    assert integrated.api("GET", "/candidates", token=token, params={"pageId": "garbage!"}).status_code == 400


def test_updated_after_sees_only_later_changes(integrated):
    token = integrated.customer_token()
    first = integrated.api("GET", "/candidates", token=token, params={"limit": 100}).json()["content"]
    newest = max(c["updatedOn"] for c in first)
    assert integrated.api("GET", "/candidates", token=token, params={"updatedAfter": newest}).json()["content"] == []
    integrated.move(ADA, JOB, "INTERVIEW", "AI interview")
    later = integrated.api("GET", "/candidates", token=token, params={"updatedAfter": newest}).json()["content"]
    assert [c["id"] for c in later] == [ADA]
    assert later[0]["primaryAssignment"]["status"] == "INTERVIEW"
    assert later[0]["primaryAssignment"]["subStatus"] == "AI interview"
    assert integrated.api("GET", "/candidates", token=token, params={"updatedAfter": "last week"}).status_code == 400


def test_a_candidate_and_an_application(integrated):
    token = integrated.customer_token()
    candidate = integrated.api("GET", f"/candidates/{ADA}", token=token).json()
    assert candidate["firstName"] == "Ada" and candidate["primaryAssignment"]["job"]["id"] == JOB
    application = integrated.api("GET", f"/candidates/{ADA}/jobs/{JOB}", token=token).json()
    assert (application["status"], application["subStatus"]) == ("IN_REVIEW", "Screening call")
    assert integrated.api("GET", "/candidates/nobody", token=token).status_code == 404
    assert integrated.api("GET", f"/candidates/{ADA}/jobs/nojob", token=token).status_code == 404


@pytest.mark.parametrize(
    "body, status",
    [
        ({"status": "INTERVIEW", "subStatus": "Technical interview"}, 204),
        ({"status": "HIRED"}, 204),
        ({"status": "INTERVIEW", "subStatus": "Coffee chat"}, 400),
        ({"status": "HIRED", "subStatus": "Offer sent"}, 400),
        ({"status": "PROMOTED"}, 400),
        ({"subStatus": "AI interview"}, 400),
    ],
)
def test_a_status_update_is_checked_against_the_hiring_process(integrated, body, status):
    token = integrated.customer_token()
    response = integrated.api("PUT", f"/candidates/{ADA}/jobs/{JOB}/status", token=token, payload=body)
    assert response.status_code == status, response.text
    integrated.wait_background()
    application = integrated.api("GET", f"/candidates/{ADA}/jobs/{JOB}", token=token).json()
    if status == 204:
        assert (application["status"], application["subStatus"]) == (body["status"], body.get("subStatus"))
    else:
        assert (application["status"], application["subStatus"]) == ("IN_REVIEW", "Screening call")


def test_jobs_and_hiring_processes(integrated):
    token = integrated.customer_token()
    jobs = integrated.api("GET", "/jobs", token=token).json()
    assert {j["id"] for j in jobs["content"]} >= {JOB} and jobs["totalFound"] == 2
    job = integrated.api("GET", f"/jobs/{JOB}", token=token).json()
    assert job["title"] == "Support Specialist"
    processes = integrated.api("GET", "/configuration/hiring-processes", token=token).json()["content"]
    process = integrated.api("GET", f"/configuration/hiring-processes/{processes[0]['id']}", token=token).json()
    assert set(process["subStatuses"]) == {"IN_REVIEW", "INTERVIEW", "OFFERED"}
    assert "AI interview" in process["subStatuses"]["INTERVIEW"]
    assert integrated.api("GET", "/configuration/hiring-processes/nope", token=token).status_code == 404
    assert integrated.api("GET", "/jobs/nope", token=token).status_code == 404


def test_a_message_share_is_kept_as_the_note(integrated):
    token = integrated.customer_token()
    body = {"content": f"#[CANDIDATE:{ADA}] scored 82/100", "shareWith": {"hiringTeamOf": [JOB]}}
    response = integrated.api("POST", "/messages/shares", token=token, payload=body)
    assert response.status_code == 201, response.text
    (share,) = integrated.shares()
    assert share["candidates"] == [ADA] and share["shareWith"] == {"hiringTeamOf": [JOB]}
    assert integrated.api("POST", "/messages/shares", token=token, payload={"shareWith": {}}).status_code == 400
    unknown = {"content": "x", "shareWith": {"hiringTeamOf": ["nojob"]}}
    assert integrated.api("POST", "/messages/shares", token=token, payload=unknown).status_code == 400
    assert len(integrated.shares()) == 1


def test_the_11th_request_in_a_second_is_429_with_the_rate_headers(sandbox_server):
    sandbox = sandbox_server("smartrecruiters", rate_window=30.0)
    sandbox.integrate()
    token = sandbox.customer_token()  # the identity endpoint counts under its own key
    answers = [sandbox.api("GET", "/jobs", token=token) for _ in range(11)]
    assert [a.status_code for a in answers] == [200] * 10 + [429]
    assert answers[0].headers["X-RateLimit-Limit"] == "10"
    assert answers[0].headers["X-RateLimit-Remaining"] == "9"
    assert answers[0].headers["X-RateLimit-Concurrent-Limit"] == "8"
    assert answers[-1].headers["X-RateLimit-Remaining"] == "0"
    assert answers[-1].json()["code"] == "TOO_MANY_REQUESTS"
    # Per credential: another company's token is not limited by this one.
    assert sandbox.api("GET", "/jobs", token=sandbox.master_token()).status_code == 403


def test_only_one_get_candidates_at_a_time_per_credential(integrated):
    token = integrated.customer_token()
    integrated.faults(delay=1.0, count=1)
    answers = {}
    slow = threading.Thread(target=lambda: answers.setdefault("slow", integrated.api("GET", "/candidates", token=token)))
    slow.start()
    deadline = time.monotonic() + 5
    while integrated.stats()["faults"]["count"] != 0:  # the slow request holds its slot
        assert time.monotonic() < deadline
        time.sleep(0.01)  # polling the condition above
    second = integrated.api("GET", "/candidates", token=token)
    jobs = integrated.api("GET", "/jobs", token=token)  # another path is not held up
    slow.join(5)
    assert second.status_code == 429 and second.headers["X-RateLimit-Concurrent-Remaining"]
    assert jobs.status_code == 200
    assert answers["slow"].status_code == 200


def test_eight_concurrent_requests_per_credential(sandbox_server):
    sandbox = sandbox_server("smartrecruiters", concurrent=2, rate_limit=100)
    sandbox.integrate()
    token = sandbox.customer_token()
    sandbox.faults(delay=1.0, count=2)
    threads = [threading.Thread(target=lambda: sandbox.api("GET", "/jobs", token=token)) for _ in range(2)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 5
    while sandbox.stats()["faults"]["count"] != 0:
        assert time.monotonic() < deadline
        time.sleep(0.01)  # polling the condition above
    third = sandbox.api("GET", "/jobs", token=token)
    for thread in threads:
        thread.join(5)
    assert third.status_code == 429 and third.headers["X-RateLimit-Concurrent-Remaining"] == "0"


def test_injected_503s_are_answered_in_smartrecruiters_shape(integrated):
    token = integrated.customer_token()
    integrated.faults(status=503, count=2)
    assert [integrated.api("GET", "/jobs", token=token).status_code for _ in range(3)] == [503, 503, 200]


def test_generated_candidates_at_start(sandbox_server):
    sandbox = sandbox_server("smartrecruiters", generated_candidates=1000)
    sandbox.integrate()
    body = sandbox.api("GET", "/candidates", token=sandbox.customer_token(), params={"limit": 1}).json()
    assert body["totalFound"] == 1004
