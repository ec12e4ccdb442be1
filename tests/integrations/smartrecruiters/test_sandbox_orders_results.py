"""The SmartRecruiters sandbox orders packages from Stagehook (here a fake one) as SmartRecruiters
does, and takes results: the PATCH (RFC 7396 merge, PackageResult validation, 415/404), the
attachment, assessment-orders."""

import json

import pytest

from integrations.smartrecruiters.sandbox.schemas import problems

from .fake_stagehook import integrated, sr, stagehook  # noqa: F401  (fixtures)
from .sandbox_handle import PARTNER, STAGEHOOK_CLIENT

ADA = "0c9b1e3e-5c52-4b1e-9f3d-6d1f0a7b2c44"
JOB = "3fd6cba7-2ad1-4f8b-a8d5-5a1b1a4c2f11"
COMPLETED = {
    "status": "COMPLETED",
    "name": "Customer Support Interview",
    "submissionDate": "2026-11-30T09:31:12Z",
    "score": {"raw": 82, "min": 0, "max": 100},
    "scoreLabel": "Strong",
    "summary": "Listened well.",
    "attachments": [{"type": "PDF_URL", "name": "Interview report", "url": "https://stagehook.example.com/r/x/"}],
    "assessmentResults": [{"assessmentId": "q-1", "status": "COMPLETED", "score": {"raw": 8, "min": 0, "max": 10}}],
}


@pytest.fixture
def order(integrated):
    return integrated.order(ADA, JOB, package="pkg-1")["order"]


def _patch(sandbox, order_id, body, **kwargs):
    return sandbox.api("PATCH", f"{PARTNER}/orders/{order_id}/results", token=sandbox.customer_token(), payload=body, **kwargs)


def test_an_ad_hoc_order_calls_stagehook_as_smartrecruiters_does(integrated, stagehook, order):
    token_call = stagehook.seen("oauth/token")[0]
    assert token_call.headers["Content-Type"] == "application/x-www-form-urlencoded"
    form = dict(pair.split("=", 1) for pair in token_call.body.decode().split("&"))
    assert form == {"grant_type": "client_credentials", "client_id": STAGEHOOK_CLIENT["clientId"], "client_secret": STAGEHOOK_CLIENT["clientSecret"]}
    packages = stagehook.seen("packages", "GET")[0]
    assert packages.headers["Authorization"] == f"Bearer {stagehook.token}"
    assert json.loads(packages.headers["requester"]) == {"email": "hiring.manager@example.com"}
    assert packages.query == {
        "country-code": "de", "region-abbr": "BE", "city": "Berlin", "address": "Alexanderplatz 1",
        "postal-code": "10178", "remote": "true",
    }
    sent = stagehook.seen("packages/orders")[0]
    assert sent.headers["Content-Type"] == "application/json"
    body = sent.json()
    assert problems("AssessmentPackageOrderRequest", body) == []
    assert body["assessmentPackageId"] == "pkg-1" and body["companyId"] == integrated.config.company_id
    assert body["resultCallbackURL"] == f"{integrated.url}{PARTNER}/orders/{order['orderId']}/results"
    assert body["candidate"]["id"] == ADA and body["job"]["id"] == JOB
    assert order["state"] == "accepted" and order["mode"] == "ad-hoc"


def test_partner_fields_go_on_the_package_query_and_in_the_order(integrated, stagehook):
    integrated.order(ADA, JOB, fields={"seniority": "junior"})
    assert stagehook.seen("packages", "GET")[0].query["seniority"] == "junior"
    assert stagehook.seen("packages/orders")[0].json()["fields"] == {"seniority": "junior"}


def test_the_package_may_be_named_and_an_unknown_one_is_refused(integrated, stagehook):
    assert integrated.order(ADA, JOB, package="Backend Skills Test")["order"]["package"]["id"] == "pkg-2"
    response = integrated.control("POST", "orders", {"candidate_id": ADA, "job_id": JOB, "package": "nope"})
    assert response.status_code == 404 and "pkg-1" in response.json()["error"]


def test_no_packages_is_reported(integrated, stagehook):
    stagehook.packages = []
    response = integrated.control("POST", "orders", {"candidate_id": ADA, "job_id": JOB})
    assert response.status_code == 409 and "204" in response.json()["error"]


def test_an_order_not_answered_202_is_reported_refused(integrated, stagehook):
    stagehook.order_status = 400
    response = integrated.control("POST", "orders", {"candidate_id": ADA, "job_id": JOB})
    assert response.status_code == 502 and "expected 202" in response.json()["error"]
    assert integrated.orders()[-1]["state"] == "refused"


def test_ordering_needs_an_integrated_company(sr, stagehook):
    response = sr.control("POST", "orders", {"candidate_id": ADA, "job_id": JOB})
    assert response.status_code == 409 and "not integrated" in response.json()["error"]


def test_resend_delivers_the_same_order_again(integrated, stagehook, order):
    integrated.resend(order["orderId"])
    first, second = (r.json() for r in stagehook.seen("packages/orders"))
    assert first == second


def test_an_inline_order_gets_the_url_and_the_candidate_comes_back(integrated, stagehook):
    order = integrated.order(ADA, JOB, mode="inline")["order"]
    body = stagehook.seen("packages/inline/orders")[0].json()
    assert problems("InlineAssessmentPackageOrderRequest", body) == []
    assert order["inline_url"] and order["state"] == "accepted"
    back = integrated.http.get(body["completedAssessmentCallbackUrl"], timeout=10)
    assert back.status_code == 200
    assert integrated.orders()[-1]["completed_callback_hits"] == 1


def test_an_auto_trigger_order_follows_a_move_to_the_step(integrated, stagehook):
    answer = integrated.order(ADA, JOB, mode="auto-trigger", status="INTERVIEW", sub_status="AI interview", package="pkg-1")
    order = answer["order"]
    assert order["mode"] == "auto-trigger" and "INTERVIEW/AI interview" in order["trigger"]
    assert integrated.app.state.applications[(ADA, JOB)]["subStatus"] == "AI interview"
    assert stagehook.seen("packages/orders")[0].json()["assessmentPackageId"] == "pkg-1"
    # The step keeps ordering: another candidate moved there gets an order too.
    other = "2e3f4a5b-6c7d-4e8f-9a01-b2c3d4e5f6a7"
    moved = integrated.move(other, JOB, "INTERVIEW", "AI interview")
    assert [o["candidate_id"] for o in moved["orders"]] == [other]
    # Configuring the same step again does not make it order twice.
    third = "3f4a5b6c-7d8e-4f9a-0b12-c3d4e5f6a7b8"
    integrated.control("POST", "auto-triggers", {"status": "INTERVIEW", "sub_status": "AI interview", "job_id": JOB, "package": "pkg-2"})
    integrated.app.state.application_add(third, JOB, status="NEW", sub_status=None, at=integrated.app.state.now())
    orders = integrated.move(third, JOB, "INTERVIEW", "AI interview")["orders"]
    assert [o["package"]["id"] for o in orders] == ["pkg-2"]
    bad = integrated.control("POST", "auto-triggers", {"status": "PROMOTED"})
    assert bad.status_code == 400


# --- results -------------------------------------------------------------------------------------
def test_a_valid_result_is_merged_rfc_7396(integrated, order):
    first = _patch(integrated, order["orderId"], {"status": "IN_PROGRESS", "assessmentPackageDate": "2026-11-30T09:00:00Z"})
    assert first.status_code == 200, first.text
    second = _patch(integrated, order["orderId"], COMPLETED)
    assert second.status_code == 200
    merged = second.json()
    assert merged["assessmentPackageDate"] == "2026-11-30T09:00:00Z" and merged["status"] == "COMPLETED"
    removed = _patch(integrated, order["orderId"], {"scoreLabel": None, "score": {"raw": 90}})
    assert removed.status_code == 200
    assert "scoreLabel" not in removed.json() and removed.json()["score"] == {"raw": 90, "min": 0, "max": 100}
    stored = integrated.orders()[-1]
    assert stored["result"] == removed.json()
    assert [h["accepted"] for h in stored["history"]] == [True, True, True]


@pytest.mark.parametrize(
    "body",
    [
        {"score": {"raw": 82.5, "min": 0, "max": 100}},
        {"score": {"raw": "82", "min": 0, "max": 100}},
        {"score": {"raw": 82.0, "min": 0, "max": 100}},
        {"score": {"raw": True, "min": 0, "max": 100}},
        {"score": {"raw": 82}},
        {"score": {"raw": 82, "max": 100}},
        {"status": "DONE"},
        {"submissionDate": "yesterday"},
        {"attachments": [{"type": "WORD_URL", "url": "https://x.example/r"}]},
        {"assessmentResults": [{"assessmentName": "no id"}]},
        {"assessmentResults": [{"assessmentId": "q-1", "score": {"raw": 8, "min": 0}}]},
        ["not", "an", "object"],
    ],
)
def test_an_invalid_result_is_400_and_changes_nothing(integrated, order, body):
    assert _patch(integrated, order["orderId"], {"status": "PENDING"}).status_code == 200
    response = _patch(integrated, order["orderId"], body)
    assert response.status_code == 400, response.text
    assert response.json()["errors"]
    stored = integrated.orders()[-1]
    assert stored["result"] == {"status": "PENDING"}
    assert stored["history"][-1]["accepted"] is False


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "application/vnd.api+json"])
def test_a_result_in_another_media_type_is_415(integrated, order, content_type):
    response = _patch(integrated, order["orderId"], {"status": "PENDING"}, headers={"Content-Type": content_type})
    assert response.status_code == 415


def test_json_with_a_charset_is_json(integrated, order):
    response = _patch(integrated, order["orderId"], {"status": "PENDING"}, headers={"Content-Type": "application/json; charset=utf-8"})
    assert response.status_code == 200


def test_an_unknown_order_is_404(integrated):
    assert _patch(integrated, "00000000-0000-4000-8000-000000000000", {"status": "PENDING"}).status_code == 404


def test_the_attachment_keeps_the_file(integrated, order):
    pdf = b"%PDF-1.4\n%report\n"
    response = integrated.api(
        "POST", f"{PARTNER}/orders/{order['orderId']}/results/attachment", token=integrated.customer_token(),
        files={"attachment": ("report.pdf", pdf, "application/pdf")},
    )
    assert response.status_code == 201, response.text
    url = response.json()["url"]
    stored = integrated.orders()[-1]["attachments"][0]
    assert stored["is_pdf"] and stored["size"] == len(pdf) and stored["filename"] == "report.pdf"
    assert integrated.http.get(url, timeout=10).content == pdf


def test_an_attachment_that_is_not_a_pdf_is_recorded_as_such(integrated, order):
    integrated.api(
        "POST", f"{PARTNER}/orders/{order['orderId']}/results/attachment", token=integrated.customer_token(),
        files={"attachment": ("report.pdf", b"<html>", "application/pdf")},
    )
    assert integrated.orders()[-1]["attachments"][0]["is_pdf"] is False


def test_an_attachment_wants_exactly_one_file_part_in_multipart(integrated, order):
    path = f"{PARTNER}/orders/{order['orderId']}/results/attachment"
    token = integrated.customer_token()
    two = integrated.api("POST", path, token=token, files={"a": ("a.pdf", b"%PDF-1"), "b": ("b.pdf", b"%PDF-1")})
    assert two.status_code == 400
    none = integrated.api("POST", path, token=token, files={}, data={"x": "1"}, headers={"Content-Type": "multipart/form-data; boundary=z"})
    assert none.status_code == 400
    as_json = integrated.api("POST", path, token=token, payload={"file": "x"})
    assert as_json.status_code == 415
    assert integrated.orders()[-1]["attachments"] == []


def test_inline_orders_take_no_attachment(integrated, stagehook):
    order = integrated.order(ADA, JOB, mode="inline")["order"]
    response = integrated.api(
        "POST", f"{PARTNER}/orders/{order['orderId']}/results/attachment", token=integrated.customer_token(),
        files={"attachment": ("r.pdf", b"%PDF-1.4")},
    )
    assert response.status_code == 400


def test_assessment_orders_lists_an_applications_orders(integrated, order):
    _patch(integrated, order["orderId"], COMPLETED)
    token = integrated.customer_token()
    response = integrated.api("GET", f"/assessment-api/v202107/assessment-orders?applicationId={order['applicationId']}", token=token)
    assert response.status_code == 200
    (listed,) = response.json()
    assert listed["orderId"] == order["orderId"] and listed["status"] == "COMPLETED" and listed["score"] == "82"
    assert integrated.api("GET", "/assessment-api/v202107/assessment-orders?applicationId=nope", token=token).status_code == 404
    assert integrated.api("GET", "/assessment-api/v202107/assessment-orders", token=token).status_code == 400
