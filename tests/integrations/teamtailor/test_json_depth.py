"""Deeply nested JSON (issue 7 #7): every ATS entry point answers 400 JSON and stores nothing,
signed or not (about 1,000 levels in 2 KB was a 500 with a traceback)."""

import json

import pytest
from django.test import Client

from integrations.models import WebhookEvent
from tenants.jsonlimits import MAX_JSON_DEPTH, json_depth

from .conftest import SIGNED_EVENT_ID, company_headers, partner_body, partner_headers, post_json

pytestmark = pytest.mark.django_db

DEEP = 1000


@pytest.fixture
def http():
    return Client(raise_request_exception=False)


def _deep_partner_body(reference_fixtures, package) -> bytes:
    body = partner_body(reference_fixtures, package_id=package.pk)
    body["partner-event"]["webhook-data"]["extra"] = "__DEEP__"
    return json.dumps(body).encode().replace(b'"__DEEP__"', b"[" * DEEP + b"]" * DEEP)


@pytest.mark.parametrize("path", ["/teamtailor/webhook", "/teamtailor/actions/resend", "/teamtailor/actions/cancel"])
def test_partner_entry_points_refuse_deep_json(http, connection, package, reference_fixtures, path):
    raw = _deep_partner_body(reference_fixtures, package)
    assert json_depth(raw) > DEEP
    response = post_json(http, path, raw, **partner_headers(event_id=SIGNED_EVENT_ID))
    assert response.status_code == 400, response.content[:300]
    assert response.json() == {"error": f"JSON nested deeper than {MAX_JSON_DEPTH} levels"}
    assert not WebhookEvent.objects.exists()


def test_company_webhooks_refuse_deep_json(http, connection):
    raw = b'{"payload": {"event_name": "job.update", "data": ' + b"[" * DEEP + b"]" * DEEP + b"}}"
    response = post_json(http, "/teamtailor/company-webhooks", raw, **company_headers(raw))
    assert response.status_code == 400, response.content[:300]
    assert "nested deeper" in response.json()["error"]
    assert not WebhookEvent.objects.exists()


def test_unsigned_deep_json_is_400_too(http):
    raw = b"[" * DEEP + b"]" * DEEP
    for path in ("/teamtailor/webhook", "/teamtailor/company-webhooks", "/teamtailor/actions/resend"):
        response = post_json(http, path, raw)
        assert response.status_code == 400, (path, response.status_code)


def test_the_deepest_allowed_document_is_still_read(http, connection, package, reference_fixtures):
    body = partner_body(reference_fixtures, package_id=package.pk)
    depth = json_depth(json.dumps(body).encode())
    extra = MAX_JSON_DEPTH - depth  # nested under webhook-data (depth 3)
    body["partner-event"]["webhook-data"]["extra"] = "__DEEP__"
    raw = json.dumps(body).encode().replace(b'"__DEEP__"', b"[" * extra + b"]" * extra)
    assert json_depth(raw) <= MAX_JSON_DEPTH
    response = post_json(http, "/teamtailor/webhook", raw, **partner_headers(event_id=SIGNED_EVENT_ID))
    assert response.status_code == 200, response.content
    assert WebhookEvent.objects.count() == 1


@pytest.mark.parametrize("depth, expected", [(64, False), (65, True)])
def test_the_bracket_count_shortcut_never_hides_a_deep_document(depth, expected):
    from tenants.jsonlimits import MAX_JSON_DEPTH, json_too_deep

    assert MAX_JSON_DEPTH == 64
    nested = b"[" * depth + b"]" * depth
    assert json_too_deep(nested) is expected
    # Brackets inside strings count for the shortcut but nest nothing: the full measure decides.
    many_in_strings = b'{"a": "' + b"[" * 200 + b'"}'
    assert json_too_deep(many_in_strings) is False
