"""Results: every status change of an order-mode assessment PATCHes the results URL with a
``PackageResult`` (validated against contract.json), and a completed one attaches the PDF."""

import json
import uuid

import jsonschema
import pytest

from assessments.models import Status
from assessments.services import assessment_start, assessment_submit_answers
from integrations.models import Delivery, DeliveryStatus

from .conftest import Answer, order_body

SCORE = {"type": "object", "required": ["raw", "min", "max"],
         "properties": {"raw": {"type": "integer"}, "min": {"type": "integer"}, "max": {"type": "integer"}}}
STATUS = {"enum": ["IN_PROGRESS", "PENDING", "COMPLETED", "REJECTED", "EXPIRED"]}


def package_result_schema(contract) -> dict:
    """``PackageResult`` from contract.json as a JSON Schema: its properties only (a partial
    update), integer scores with all three bounds, ``assessmentId`` required per part."""
    schemas = contract["schemas"]
    assert set(schemas["Score"]["required"]) == {"raw", "min", "max"}
    part = {"type": "object", "required": schemas["AssessmentResult"]["required"],
            "properties": {name: {} for name in schemas["AssessmentResult"]["properties"]} | {"score": SCORE, "status": STATUS},
            "additionalProperties": False}
    attachment = {"type": "object", "required": ["type", "url"],
                  "properties": {"type": {"enum": ["VIDEO_URL", "PDF_URL", "OTHER_URL"]}, "url": {"type": "string"},
                                 "name": {"type": "string"}}, "additionalProperties": False}
    properties = {name: {} for name in schemas["PackageResult"]["properties"]}
    properties |= {"score": SCORE, "status": STATUS, "attachments": {"type": "array", "items": attachment},
                   "assessmentResults": {"type": "array", "items": part},
                   "assessmentPackageDate": {"type": "string", "format": "date-time"},
                   "submissionDate": {"type": "string", "format": "date-time"}}
    return {"type": "object", "properties": properties, "additionalProperties": False}


@pytest.fixture
def ordered(client, bearer, package, fake_sr, reference_fixtures, django_capture_on_commit_callbacks):
    order_id = str(uuid.uuid4())
    body = order_body(reference_fixtures, package_id=package.pk, fake_sr=fake_sr, order_id=order_id)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/smartrecruiters/packages/orders", data=json.dumps(body),
                               content_type="application/json", HTTP_AUTHORIZATION=bearer)
    assert response.status_code == 202
    from assessments.models import Assessment

    return Assessment.objects.get(remote_order_id=order_id)


def patches(fake_sr):
    return fake_sr.calls("PATCH", r"/assessment-api/v202010/orders/[^/]+/results")


def test_every_status_change_is_patched_in_order_and_fits_the_contract(
    ordered, fake_sr, contract, package, django_capture_on_commit_callbacks
):
    schema = package_result_schema(contract)
    with django_capture_on_commit_callbacks(execute=True):
        assessment_start(assessment=ordered)
    with django_capture_on_commit_callbacks(execute=True):
        assessment_submit_answers(
            assessment=ordered,
            answers={q.pk: "I listen, apologise and solve it. Context and outcome." for q in package.questions.all()},
        )
    sent = patches(fake_sr)
    bodies = [s.json() for s in sent]
    assert [b["status"] for b in bodies] == ["PENDING", "IN_PROGRESS", "COMPLETED"]
    for seen, body in zip(sent, bodies):
        assert seen.headers["Content-Type"] == "application/json"
        assert seen.path == f"/assessment-api/v202010/orders/{ordered.remote_order_id}/results"
        assert seen.headers["Authorization"].startswith("Bearer ")
        jsonschema.validate(body, schema, format_checker=jsonschema.FormatChecker())
    done = bodies[-1]
    ordered.refresh_from_db()
    assert done["score"] == {"raw": round(ordered.score_value), "min": 0, "max": 100}
    assert done["scoreLabel"] == ordered.score_label and done["summary"] == ordered.summary
    assert done["name"] == package.name and "submissionDate" in done and "assessmentPackageDate" in done
    assert [r["assessmentId"] for r in done["assessmentResults"]] == [f"q-{q.pk}" for q in package.questions.order_by("position")]
    assert all(isinstance(r["score"]["raw"], int) and r["score"]["max"] == 10 for r in done["assessmentResults"])
    [attachment] = done["attachments"]
    assert attachment["type"] == "PDF_URL" and "/r/" in attachment["url"]

    [upload] = fake_sr.calls("POST", r"/assessment-api/v202010/orders/[^/]+/results/attachment")
    assert upload.headers["Content-Type"].startswith("multipart/form-data")
    [(filename, content, mimetype)] = upload.files.values()
    assert content.startswith(b"%PDF-") and mimetype == "application/pdf" and filename.endswith(".pdf")
    assert Delivery.objects.filter(status=DeliveryStatus.SENT).count() == 3


def test_a_cancelled_order_is_rejected_with_a_summary(ordered, fake_sr, contract, django_capture_on_commit_callbacks):
    from assessments.services import assessment_cancel

    with django_capture_on_commit_callbacks(execute=True):
        assessment_cancel(assessment=ordered, actor="test", reason="position filled")
    body = patches(fake_sr)[-1].json()
    jsonschema.validate(body, package_result_schema(contract))
    assert body["status"] == "REJECTED" and "cancelled" in body["summary"] and "position filled" in body["summary"]


def test_a_5xx_is_retried_by_the_outbox(ordered, fake_sr, django_capture_on_commit_callbacks):
    from integrations.deliveries import delivery_send_by_id
    from .conftest import Answer

    fake_sr.queue("PATCH", r"/assessment-api/v202010/orders/[^/]+/results", Answer(503, {}))
    with django_capture_on_commit_callbacks(execute=True):
        assessment_start(assessment=ordered)
    delivery = Delivery.objects.filter(assessment_status=Status.IN_PROGRESS).get()
    assert delivery.status == DeliveryStatus.FAILED and delivery.last_status_code == 503
    import datetime as dt

    delivery_send_by_id(delivery_id=delivery.pk, now=delivery.next_attempt_at + dt.timedelta(seconds=1))
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT
    assert patches(fake_sr)[-1].json()["status"] == "IN_PROGRESS"


def test_a_non_integer_score_can_never_be_sent(contract):
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"score": {"raw": 8.5, "min": 0, "max": 10}}, package_result_schema(contract))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"score": {"raw": 8}}, package_result_schema(contract))


def test_a_stage_mapping_interview_is_reported_as_a_note_when_completed(
    connection, fake_sr, package, django_capture_on_commit_callbacks
):
    from assessments.models import Mode
    from assessments.services import CandidateSnapshot, assessment_order

    fake_sr.route("POST", r"/messages/shares", Answer(201, {"id": "m-1"}))
    with django_capture_on_commit_callbacks(execute=True):
        assessment, _ = assessment_order(
            tenant=connection.tenant, package=package, mode=Mode.TRIGGER, actor="test", source=connection.source_key,
            remote_application_id="a-1", remote_candidate_id="c-1", remote_job_id="j-1",
            candidate=CandidateSnapshot(first_name="Ada", email="ada@example.com"),
        )
    with django_capture_on_commit_callbacks(execute=True):
        assessment_start(assessment=assessment)
    assert not fake_sr.calls("POST", r"/messages/shares") and not patches(fake_sr)
    with django_capture_on_commit_callbacks(execute=True):
        assessment_submit_answers(assessment=assessment, answers={q.pk: "I listen." for q in package.questions.all()})
    [note] = fake_sr.calls("POST", r"/messages/shares")
    body = note.json()
    assert body["shareWith"] == {"hiringTeamOf": ["j-1"]}
    assert body["content"].startswith("#[CANDIDATE:c-1] completed") and "/r/" in body["content"]


@pytest.mark.parametrize("ours,theirs", [
    ("ordered", "PENDING"), ("invited", "PENDING"), ("in_progress", "IN_PROGRESS"), ("completed", "COMPLETED"),
    ("failed", "REJECTED"), ("expired", "EXPIRED"), ("cancelled", "REJECTED"),
])
def test_the_status_mapping_table(ours, theirs, package, contract):
    from assessments.models import Assessment
    from integrations.smartrecruiters.writeback import result_body

    assessment = Assessment(package=package, tenant=package.tenant, status=ours)
    body = result_body(assessment, ours)
    assert body["status"] == theirs
    jsonschema.validate(body, package_result_schema(contract))
    if ours == "cancelled":
        assert "cancelled" in body["summary"]


@pytest.mark.parametrize("threshold,moved", [(0, True), (101, False)])
def test_the_pass_rule_moves_the_application_after_the_note(
    connection, fake_sr, package, django_capture_on_commit_callbacks, threshold, moved
):
    from assessments.models import Mode
    from assessments.services import CandidateSnapshot, assessment_order

    fake_sr.route("POST", r"/messages/shares", Answer(201, {"id": "m-1"}))
    fake_sr.route("PUT", r"/candidates/c-1/jobs/j-1/status", Answer(204, ""))
    with django_capture_on_commit_callbacks(execute=True):
        assessment, _ = assessment_order(
            tenant=connection.tenant, package=package, mode=Mode.TRIGGER, actor="test", source=connection.source_key,
            remote_application_id="c-1:j-1", remote_candidate_id="c-1", remote_job_id="j-1",
            candidate=CandidateSnapshot(email="ada@example.com"),
            options={"score_rules": {"pass_threshold": threshold, "pass_stage": "INTERVIEW/Onsite"}},
        )
    with django_capture_on_commit_callbacks(execute=True):
        assessment_start(assessment=assessment)
    with django_capture_on_commit_callbacks(execute=True):
        assessment_submit_answers(assessment=assessment, answers={q.pk: "I listen." for q in package.questions.all()})
    moves = fake_sr.calls("PUT", r"/candidates/c-1/jobs/j-1/status")
    assert [m.json() for m in moves] == ([{"status": "INTERVIEW", "subStatus": "Onsite"}] if moved else [])
    assert len(fake_sr.calls("POST", r"/messages/shares")) == 1
    if moved:  # the result (the note) first, then the score rule's move: one assessment's deliveries go in order
        assert fake_sr.seen.index(moves[0]) > fake_sr.seen.index(fake_sr.calls("POST", r"/messages/shares")[0])
