"""Every API entry point answers JSON (issue 7 #17): 405 for a wrong method (before any
authentication), 404 for a bad id or path, no Python reprs in messages, and request values
never written raw into a log line."""

import base64
import json

import pytest
from django.test import Client

from assessments.apikeys import tenant_api_key_create
from assessments.models import Status
from tenants.logsafe import log_safe
from tests.factories import AssessmentFactory, TenantFactory

pytestmark = pytest.mark.django_db

POST_ONLY = ["/api/v1/packages/list", "/api/v1/assessments/1/result"]
GET_ONLY = ["/api/schema/", "/api/docs/", "/healthz", "/readyz"]


@pytest.fixture
def http():
    return Client(raise_request_exception=False)


@pytest.fixture
def key():
    tenant = TenantFactory(slug="acme")
    api_key, raw = tenant_api_key_create(tenant=tenant, name="engine")
    return tenant, api_key, raw


@pytest.mark.parametrize("path", POST_ONLY)
@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
@pytest.mark.parametrize("authenticated", [False, True])
def test_post_only_endpoints_answer_405_json_whoever_asks(http, key, path, method, authenticated):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key[2]}"} if authenticated else {}
    response = getattr(http, method)(path, **headers)
    assert response.status_code == 405, (response.status_code, response.content[:200])
    assert response["Content-Type"].startswith("application/json")
    assert "POST" in response["Allow"]
    assert response.json()["detail"] == f'Method "{method.upper()}" not allowed.'


@pytest.mark.parametrize("path", GET_ONLY)
@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_get_only_endpoints_answer_405_json(http, path, method):
    response = getattr(http, method)(path)
    assert response.status_code == 405
    assert response["Content-Type"].startswith("application/json")
    assert response["Allow"] == "GET, HEAD"


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/assessments/abc/result",
        "/api/v1/assessments/0/result",
        "/api/v1/assessments/99999999999999999999/result",  # over PostgreSQL's bigint
        "/api/v1/assessments/123456/result",
        "/api/v1/assessments/1/results",
        "/api/v1/nope",
        "/api/v2/packages/list",
    ],
)
def test_bad_ids_and_paths_are_404_json(http, key, path):
    response = http.post(path, data="{}", content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key[2]}")
    assert response.status_code == 404, (response.status_code, response.content[:200])
    assert response["Content-Type"].startswith("application/json")
    assert "detail" in response.json()


def test_an_unknown_ats_path_is_404_json(http):
    response = http.post("/teamtailor/no-such-endpoint", data="{}", content_type="application/json")
    assert response.status_code == 404 and response.json() == {"error": "Not found."}


def test_html_pages_keep_the_html_404(http):
    response = http.get("/app/no-such-page/")
    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")


def test_a_second_result_is_409_in_words_not_python_reprs(http, key):
    tenant, _, raw = key
    assessment = AssessmentFactory(tenant=tenant, status=Status.IN_PROGRESS)
    body = json.dumps({"score": {"value": 70, "min": 0, "max": 100}, "summary": "ok"})
    headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    path = f"/api/v1/assessments/{assessment.pk}/result"
    assert http.post(path, data=body, content_type="application/json", **headers).status_code == 200
    again = http.post(path, data=body, content_type="application/json", **headers)
    assert again.status_code == 409
    detail = again.json()["detail"]
    assert detail == "The assessment cannot take a result: cannot move from completed to completed."
    assert "Status." not in detail and "<" not in detail




def test_a_newline_in_a_request_value_cannot_forge_a_log_line(http, key, configured_log, caplog):
    _, api_key, raw = key
    forged = "J-1\n2026-12-01 00:00:00,000 ERROR assessments.api admin password reset"
    body = json.dumps({"job_id": forged, "account_id": "acme\r\nX", "provider": "kombo\x1b[31m"})
    auth = "Basic " + base64.b64encode(f"{api_key.prefix}:{raw}".encode()).decode()
    assert http.post("/api/v1/packages/list", data=body, content_type="application/json",
                     HTTP_AUTHORIZATION=auth).status_code == 200
    lines = configured_log.getvalue().splitlines()
    [line] = [line for line in lines if "package list for tenant" in line]
    assert "job=J-1\\n2026-12-01" in line and "account=acme\\r\\nX" in line and "\\x1b[31m" in line
    assert not any(line.startswith("2026-12-01 00:00:00,000") for line in lines)
    # The record itself (what any handler gets) carries the escaped value too.
    [record] = [r for r in caplog.records if "package list for tenant" in r.getMessage()]
    assert "\n" not in record.getMessage()


def test_log_safe_escapes_control_characters_and_cuts_long_values():
    assert log_safe("a\nb\rc\td\x00e\u2028f") == "a\\nb\\rc\\td\\x00e\\u2028f"
    assert log_safe("x" * 300) == "x" * 200 + "…"
    assert log_safe(None) == "None" and log_safe(42) == "42"
