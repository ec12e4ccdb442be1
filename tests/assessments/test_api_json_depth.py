"""Deeply nested JSON (issue 7 #7): the API answers 400 JSON, not a 500."""

import base64

import pytest
from django.test import Client

from assessments.apikeys import api_key_sign, tenant_api_key_create
from assessments.models import Status
from tenants.jsonlimits import json_depth
from tests.factories import AssessmentFactory, TenantFactory

pytestmark = pytest.mark.django_db

DEEP_BODY = b'{"summary": "x", "score": ' + b"[" * 1000 + b"]" * 1000 + b"}"


@pytest.fixture
def http():
    return Client(raise_request_exception=False)


def test_tenant_depth_helper_counts_brackets_outside_strings():
    assert json_depth(b'{"a": "[[[[{{", "b": [[1]], "c": "\\"["}') == 3
    assert json_depth(b'"plain"') == 0
    assert json_depth(DEEP_BODY) == 1001


def test_results_api_refuses_deep_json(http):
    tenant = TenantFactory()
    _, raw_key = tenant_api_key_create(tenant=tenant, name="engine")
    assessment = AssessmentFactory(tenant=tenant, status=Status.IN_PROGRESS)
    response = http.post(
        f"/api/v1/assessments/{assessment.pk}/result", data=DEEP_BODY, content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw_key}",
    )
    assert response.status_code == 400, response.content[:300]
    assert "nested deeper than 64 levels" in response.json()["detail"]
    assessment.refresh_from_db()
    assert assessment.status == Status.IN_PROGRESS


@pytest.mark.parametrize("signed", [False, True])
def test_package_list_refuses_deep_json(http, signed):
    tenant = TenantFactory()
    api_key, raw_key = tenant_api_key_create(tenant=tenant, name="unified")
    headers = {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(f"{api_key.prefix}:{raw_key}".encode()).decode()}
    if signed:
        headers["HTTP_X_STAGEHOOK_SIGNATURE"] = api_key_sign(raw_key=raw_key, body=DEEP_BODY)
    response = http.post("/api/v1/packages/list", data=DEEP_BODY, content_type="application/json", **headers)
    assert response.status_code == 400, response.content[:300]
    assert "nested deeper" in response.json()["detail"]
