"""Shared set-up of the Teamtailor tests: a connected tenant, signed requests as Teamtailor sends them."""

from __future__ import annotations

import copy
import json
import math
import time
from urllib.parse import urlsplit

import jwt
import pytest

from integrations.models import secret_hash
from integrations.teamtailor import auth
from tests.factories import ConnectionFactory, PackageFactory, QuestionFactory, TenantFactory

from .contract_adapter import ADAPTER

PARTNER_API_KEY = "test-partner-api-key-long-enough-for-hs256"
WEBHOOK_SECRET = "test-partner-webhook-secret"
COMPANY_WEBHOOK_SECRET = "test-company-webhook-secret"
API_KEY = "test-company-api-key"
PROVIDER_KEY = "test-provider-key-0001"
COMPANY_UUID = "vAXspNm0J2Y"


@pytest.fixture
def tenant(db):
    return TenantFactory(name="Acme")


@pytest.fixture
def package(tenant):
    package = PackageFactory(tenant=tenant, name="Backend interview")
    QuestionFactory(package=package, text="Explain a hard bug you fixed.")
    return package


@pytest.fixture
def connection(tenant):
    return ConnectionFactory(
        tenant=tenant,
        provider="teamtailor",
        remote_account_id=COMPANY_UUID,
        status="active",
        region="eu",
        api_base_url="https://api.teamtailor.com",
        provider_key_hash=secret_hash(PROVIDER_KEY),
        credentials={
            "partner_api_key": PARTNER_API_KEY,
            "webhook_secret": WEBHOOK_SECRET,
            "api_key": API_KEY,
            "company_webhook_secret": COMPANY_WEBHOOK_SECRET,
            "provider_key": PROVIDER_KEY,
        },
    )


def partner_body(reference_fixtures, *, package_id, event_id=None, result_id=None, update_url=None, threshold="75") -> dict:
    """Teamtailor's own partner-event example with our trigger's field ids filled in."""
    body = json.loads((reference_fixtures / "teamtailor/partner-docs/partner_webhook_request_body.json").read_text())
    body = copy.deepcopy(body)
    event = body["partner-event"]
    event["webhook-data"] = {"package": str(package_id), "threshold": threshold}
    if event_id:
        event["id"] = event_id
    if result_id:
        event["partner-result"]["id"] = result_id
    if update_url is not None:
        event["partner-result"]["update-url"] = update_url
    return body


def partner_headers(
    *, event_id: str, provider_key: str = PROVIDER_KEY, secret: str = WEBHOOK_SECRET, timestamp=None,
    host: str = "api.teamtailor.com",
) -> dict:
    return {
        "HTTP_AUTHORIZATION": f"Bearer {provider_key}",
        "HTTP_TEAMTAILOR_SIGNATURE": auth.partner_signature_header(
            secret=secret, partner_event_id=event_id, timestamp=int(time.time()) if timestamp is None else timestamp
        ),
        "HTTP_TEAMTAILOR_HOST": host,
    }


def company_headers(raw_body: bytes, *, secret: str = COMPANY_WEBHOOK_SECRET, timestamp=None) -> dict:
    return {
        "HTTP_TT_SIGNATURE": auth.company_signature_header(
            secret=secret, raw_body=raw_body, timestamp=int(time.time()) if timestamp is None else timestamp
        )
    }


def post_json(client, path: str, raw: bytes, **headers):
    return client.post(path, data=raw, content_type="application/json", **headers)


@pytest.fixture
def sandbox_connection(teamtailor_sandbox, settings, tenant):
    """The tenant's connection to the sandbox, with the sandbox's secrets (as apply_config writes them)."""
    settings.ATS_EXTRA_ALLOWED_HOSTS = ["127.0.0.1"]
    # One wiring of a connection to the sandbox: the provider contract suite's.
    return ADAPTER.connect(sandbox=teamtailor_sandbox, tenant=tenant)


def sandbox_partner_body(sandbox, reference_fixtures, *, package_id, candidate_id="54321", job_id="12345", **kwargs) -> dict:
    """Teamtailor's example partner event for a partner result that exists in the sandbox."""
    result = sandbox.state.partner_result_create(candidate_id=candidate_id, job_id=job_id, created_via="trigger")
    return partner_body(
        reference_fixtures,
        package_id=package_id,
        result_id=result["id"],
        update_url=f"{sandbox.url}/partner/v1/partner-results/{result['id']}",
        **kwargs,
    )


def sandbox_partner_headers(sandbox, event_id: str, **kwargs) -> dict:
    """Headers as the sandbox sends them: its own host is the ``Teamtailor-Host``."""
    config = sandbox.config
    kwargs.setdefault("host", urlsplit(sandbox.url).netloc)
    return partner_headers(event_id=event_id, provider_key=config.provider_key, secret=config.webhook_secret, **kwargs)


# --- the partner-call security matrix, shared by every entry point Teamtailor signs -----------------
SIGNED_EVENT_ID = "f3d7e8e2-da33-4c10-ae5f-0e7f4d46f6d7"  # partner_webhook_request_body.json's event


def unix_now(skew: int = 0) -> int:
    """A whole-second timestamp at least ``skew`` seconds from now in its direction (the request
    takes a moment, so a future time is rounded up and a past one down)."""
    return math.ceil(time.time()) + skew if skew > 0 else math.floor(time.time()) + skew


def partner_signature(*, secret: str = WEBHOOK_SECRET, event_id: str = SIGNED_EVENT_ID, skew: int = 0) -> str:
    return auth.partner_signature_header(secret=secret, partner_event_id=event_id, timestamp=unix_now(skew))


# Each case: the headers it changes (built when the test runs, so timestamps are fresh).
PARTNER_AUTH_CASES = {
    "missing bearer": lambda: {"HTTP_AUTHORIZATION": ""},
    "basic instead of bearer": lambda: {"HTTP_AUTHORIZATION": f"Basic {PROVIDER_KEY}"},
    "unknown bearer": lambda: {"HTTP_AUTHORIZATION": "Bearer not-a-provider-key"},
    "jws signed with another key": lambda: {
        "HTTP_AUTHORIZATION": "Bearer "
        + jwt.encode({"connection_token": "x"}, "another-key-long-enough-for-hs256-use", algorithm="HS256")
    },
    "missing signature": lambda: {"HTTP_TEAMTAILOR_SIGNATURE": ""},
    "wrong signature secret": lambda: {"HTTP_TEAMTAILOR_SIGNATURE": partner_signature(secret="wrong")},
    "signature of another event": lambda: {"HTTP_TEAMTAILOR_SIGNATURE": partner_signature(event_id="other-event")},
    "timestamp 301 s old": lambda: {"HTTP_TEAMTAILOR_SIGNATURE": partner_signature(skew=-301)},
    "timestamp 301 s ahead": lambda: {"HTTP_TEAMTAILOR_SIGNATURE": partner_signature(skew=301)},
    "garbled signature": lambda: {"HTTP_TEAMTAILOR_SIGNATURE": "t=,v1=,,=="},
}
