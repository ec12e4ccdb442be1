"""POST /api/v1/assessments/<id>/result: the vendor's AI engine completes an assessment."""

import json
from datetime import datetime, timezone as dt_timezone
from decimal import Decimal

import pytest
from django.test import Client

from assessments.apikeys import tenant_api_key_create, tenant_api_key_revoke
from assessments.models import Assessment, Status
from tests.factories import AssessmentFactory, TenantFactory

pytestmark = pytest.mark.django_db


def _body(**overrides) -> dict:
    body = {
        "score": {"value": 72.5, "min": 0, "max": 100, "label": "Good"},
        "summary": "Clear answers with concrete examples.",
        "transcript": [
            {"question": "Tell us about a project.", "answer": "I rebuilt our billing pipeline."},
            {"question": "Why us?", "answer": "Your product solves a problem I know."},
        ],
        "report_url": "https://engine.example.com/reports/abc",
        "attachments": [{"url": "https://engine.example.com/rec/abc.mp4", "content_type": "video/mp4"}],
        "started_at": "2026-11-20T10:00:00Z",
        "completed_at": "2026-11-20T10:25:00Z",
    }
    body.update(overrides)
    return body


@pytest.fixture
def setup():
    tenant = TenantFactory()
    api_key, raw = tenant_api_key_create(tenant=tenant, name="AI engine")
    assessment = AssessmentFactory(tenant=tenant, status=Status.INVITED)
    return tenant, api_key, raw, assessment


def _post(client: Client, assessment_id: int, body, *, key: str | None, content_type="application/json", **extra):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"} if key is not None else {}
    data = json.dumps(body) if not isinstance(body, (bytes, str)) else body
    return client.post(
        f"/api/v1/assessments/{assessment_id}/result", data=data, content_type=content_type, **headers, **extra
    )


def test_completes_the_assessment(client, setup):
    tenant, api_key, raw, assessment = setup

    response = _post(client, assessment.pk, _body(), key=raw)

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "completed"
    row = Assessment.objects.get(pk=assessment.pk)
    assert row.status == Status.COMPLETED
    assert (row.score_value, row.score_min, row.score_max, row.score_label) == (
        Decimal("72.50"), Decimal("0.00"), Decimal("100.00"), "Good"
    )
    assert row.summary == "Clear answers with concrete examples."
    assert row.transcript[0] == {"question": "Tell us about a project.", "answer": "I rebuilt our billing pipeline."}
    assert row.report_url == "https://engine.example.com/reports/abc"
    assert row.attachments == [{"url": "https://engine.example.com/rec/abc.mp4", "content_type": "video/mp4"}]
    assert row.started_at == datetime(2026, 11, 20, 10, 0, tzinfo=dt_timezone.utc)
    assert row.completed_at == datetime(2026, 11, 20, 10, 25, tzinfo=dt_timezone.utc)
    # The move went through the status machine: each step is an event naming the key.
    moves = list(row.events.values_list("from_status", "to_status", "actor"))
    assert moves[-2:] == [
        ("invited", "in_progress", f"api-key:{api_key.prefix}"),
        ("in_progress", "completed", f"api-key:{api_key.prefix}"),
    ]


def test_minimal_body_is_enough(client, setup):
    _, _, raw, assessment = setup
    response = _post(client, assessment.pk, {"score": {"value": "3", "min": "1", "max": "5"}}, key=raw)
    assert response.status_code == 200, response.content
    row = Assessment.objects.get(pk=assessment.pk)
    assert row.status == Status.COMPLETED and row.score_value == Decimal("3.00") and row.transcript == []


@pytest.mark.parametrize(
    "auth",
    [
        None,
        "Bearer",
        "Bearer shk_00000000.nope",
        "Bearer not-a-key",
        "Token {raw}",
        "Basic {raw}",
        "Bearer {raw}x",
        "Bearer {raw} extra",
    ],
)
def test_rejects_missing_and_bad_keys_with_401(client, setup, auth):
    _, _, raw, assessment = setup
    headers = {"HTTP_AUTHORIZATION": auth.format(raw=raw)} if auth else {}

    response = client.post(
        f"/api/v1/assessments/{assessment.pk}/result", data=json.dumps(_body()), content_type="application/json",
        **headers,
    )

    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert "detail" in response.json()
    assert Assessment.objects.get(pk=assessment.pk).status == Status.INVITED


def test_unknown_and_wrong_keys_get_the_same_answer(client, setup):
    _, _, raw, assessment = setup
    wrong_secret = _post(client, assessment.pk, _body(), key=raw[:-2] + "zz")
    unknown_prefix = _post(client, assessment.pk, _body(), key="shk_ffffffff." + raw.split(".", 1)[1])
    assert wrong_secret.status_code == unknown_prefix.status_code == 401
    assert wrong_secret.json() == unknown_prefix.json()


def test_rejects_a_revoked_key(client, setup):
    _, api_key, raw, assessment = setup
    tenant_api_key_revoke(api_key=api_key)
    assert _post(client, assessment.pk, _body(), key=raw).status_code == 401
    assert Assessment.objects.get(pk=assessment.pk).status == Status.INVITED


def test_another_tenants_assessment_is_404(client, setup):
    _, _, raw, _ = setup
    foreign = AssessmentFactory(status=Status.INVITED)  # another tenant

    response = _post(client, foreign.pk, _body(), key=raw)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    foreign.refresh_from_db()
    assert foreign.status == Status.INVITED and foreign.score_value is None


def test_unknown_assessment_is_404(client, setup):
    _, _, raw, assessment = setup
    assert _post(client, assessment.pk + 100000, _body(), key=raw).status_code == 404


@pytest.mark.parametrize(
    "body, field_path",
    [
        (_body(score=None), ["score"]),
        ({k: v for k, v in _body().items() if k != "score"}, ["score"]),
        (_body(score={"value": 5, "min": 0}), ["score", "max"]),
        (_body(score={"value": 150, "min": 0, "max": 100}), ["score", "value"]),
        (_body(score={"value": "abc", "min": 0, "max": 100}), ["score", "value"]),
        (_body(score={"value": 1, "min": 10, "max": 5}), ["score", "max"]),
        (_body(transcript=[{"question": "Q?"}]), ["transcript"]),
        (_body(transcript="I did things"), ["transcript"]),
        (_body(report_url="javascript:alert(1)"), ["report_url"]),
        (_body(attachments=[{"url": "ftp://x.example.com/a", "content_type": "video/mp4"}]), ["attachments"]),
        (_body(attachments=[{"url": "https://x.example.com/a", "content_type": "not a type"}]), ["attachments"]),
        (_body(started_at="yesterday"), ["started_at"]),
        (_body(started_at="2026-11-20T11:00:00Z", completed_at="2026-11-20T10:00:00Z"), ["completed_at"]),
        (["not", "an", "object"], ["non_field_errors"]),
        (_body(details={"questions": [{"note": "a\u0000b"}]}), ["details"]),
        (_body(details="plain text"), ["details"]),
        (_body(summary="nul \u0000 byte"), ["summary"]),
    ],
)
def test_bad_bodies_are_400_naming_the_field(client, setup, body, field_path):
    _, _, raw, assessment = setup

    response = _post(client, assessment.pk, body, key=raw)

    assert response.status_code == 400, response.content
    errors = response.json()
    for key in field_path:
        assert key in errors, errors
        errors = errors[key]
        if isinstance(errors, list) and errors and isinstance(errors[0], dict) and key != field_path[-1]:
            errors = errors[0]
    row = Assessment.objects.get(pk=assessment.pk)
    assert row.status == Status.INVITED and row.score_value is None


def test_malformed_json_wrong_type_and_huge_bodies(client, setup):
    _, _, raw, assessment = setup
    assert _post(client, assessment.pk, b"{not json", key=raw).status_code == 400
    assert _post(client, assessment.pk, b"score=1", key=raw, content_type="text/plain").status_code == 415
    huge = json.dumps(_body(summary="x" * (1024 * 1024 + 10)))
    assert _post(client, assessment.pk, huge, key=raw).status_code == 413
    assert Assessment.objects.get(pk=assessment.pk).status == Status.INVITED


def test_a_second_result_is_409_and_changes_nothing(client, setup):
    _, _, raw, assessment = setup
    assert _post(client, assessment.pk, _body(), key=raw).status_code == 200

    response = _post(client, assessment.pk, _body(score={"value": 1, "min": 0, "max": 100, "label": "Weak"}), key=raw)

    assert response.status_code == 409
    assert response.json()["code"] == "ILLEGAL_TRANSITION"
    assert Assessment.objects.get(pk=assessment.pk).score_value == Decimal("72.50")


@pytest.mark.parametrize("status", [Status.CANCELLED, Status.EXPIRED, Status.FAILED])
def test_closed_assessments_are_409(client, setup, status):
    _, _, raw, assessment = setup
    Assessment.objects.filter(pk=assessment.pk).update(status=status)
    assert _post(client, assessment.pk, _body(), key=raw).status_code == 409
    assert Assessment.objects.get(pk=assessment.pk).status == status


def test_schema_documents_both_paths_and_the_key(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    result_path = schema["paths"]["/api/v1/assessments/{assessment_id}/result"]["post"]
    list_path = schema["paths"]["/api/v1/packages/list"]["post"]
    assert {"tenantApiKey": []} in result_path["security"]
    assert {"tenantApiKeyBasic": []} in list_path["security"]
    assert {"401", "404", "409", "400"} <= set(result_path["responses"])
    schemes = schema["components"]["securitySchemes"]
    assert schemes["tenantApiKey"] == {**schemes["tenantApiKey"], "type": "http", "scheme": "bearer"}
    assert schemes["tenantApiKeyBasic"]["scheme"] == "basic"
    assert any(p["name"] == "X-Stagehook-Signature" for p in list_path.get("parameters", []))
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    # Swagger UI comes from our own static files: the docs work without any CDN.
    page = docs.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower()
