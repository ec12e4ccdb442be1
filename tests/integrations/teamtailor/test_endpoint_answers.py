"""Every Teamtailor entry point answers in JSON: wrong methods 405, unknown paths and ids 404, no
Python reprs in messages, request values never raw in log lines (issue 7.17)."""

import json
import logging

import pytest
from django.test import Client

from integrations.models import WebhookEvent

from .conftest import SIGNED_EVENT_ID, partner_body, partner_headers, post_json

pytestmark = pytest.mark.django_db

GET_ONLY = ["/teamtailor/activation", "/teamtailor/activation/validate", "/teamtailor/config"]


@pytest.fixture
def csrf_client():
    """A client that enforces CSRF like a real browser request would meet it."""
    return Client(enforce_csrf_checks=True)


@pytest.mark.parametrize("path", GET_ONLY)
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_get_only_endpoints_answer_other_methods_with_405_json(csrf_client, path, method):
    response = getattr(csrf_client, method)(path, data=b"{}", content_type="application/json")
    assert response.status_code == 405
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"error": "method not allowed: use GET"}
    assert "GET" in response["Allow"]


@pytest.mark.parametrize("path", ["/teamtailor/nope", "/teamtailor/actions", "/teamtailor/webhook/extra", "/teamtailor/"])
def test_unknown_paths_are_404_json(client, path):
    for method in (client.get, client.post):
        response = method(path)
        # The shared 404 handler answers JSON under every ATS prefix (config/errors.py).
        assert response.status_code == 404 and response.json() == {"error": "Not found."}


def test_an_unknown_action_is_404_json_without_a_repr(client, connection, package, reference_fixtures):
    raw = json.dumps(partner_body(reference_fixtures, package_id=package.pk, event_id=SIGNED_EVENT_ID)).encode()
    response = post_json(client, "/teamtailor/actions/it's", raw, **partner_headers(event_id=SIGNED_EVENT_ID))
    assert response.status_code == 404 and response.json() == {"error": 'Unknown Stagehook action "it\'s".'}


def test_request_values_never_forge_a_log_line(client, connection, package, reference_fixtures, caplog):
    raw = json.dumps(partner_body(reference_fixtures, package_id=package.pk, event_id=SIGNED_EVENT_ID)).encode()
    caplog.set_level(logging.INFO)
    response = post_json(client, "/teamtailor/actions/x%0AINFO%20forged%1B[31m", raw, HTTP_AUTHORIZATION="Bearer nope")
    assert response.status_code == 401
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("integrations")]
    assert lines and all("\n" not in line and "\x1b" not in line for line in lines)
    assert any("x\\nINFO forged\\x1b[31m" in line for line in lines)


@pytest.mark.parametrize("bad_id", ["abc\ndef", "tab\tid", "\x1b[2J", "x" * 201])
def test_a_partner_event_id_that_is_not_plain_text_is_400(client, connection, package, reference_fixtures, bad_id):
    body = partner_body(reference_fixtures, package_id=package.pk, event_id=bad_id)
    response = post_json(client, "/teamtailor/webhook", json.dumps(body).encode(), **partner_headers(event_id=bad_id))
    assert response.status_code == 400 and response.json() == {"error": "partner-event.id is not a valid id."}
    assert not WebhookEvent.objects.exists()
