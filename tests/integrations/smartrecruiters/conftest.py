"""SmartRecruiters tests against the stub SmartRecruiters of ``stub.py`` on 127.0.0.1."""

from __future__ import annotations

import base64
import json
import uuid

import pytest
from django.core.cache import cache

from integrations import ratelimit
from integrations.models import Connection, ConnectionStatus
from integrations.smartrecruiters import auth
from integrations.smartrecruiters.constants import CRED_WEBHOOK_KEYS, PROVIDER_NAME, SUBSCRIPTION_REF
from tests.factories import MembershipFactory, PackageFactory, QuestionFactory, TenantFactory, UserFactory
from tenants.models import Role

from .stub import (  # noqa: F401  (Answer re-exported for the tests)
    CUSTOMER_ID,
    CUSTOMER_SECRET,
    MASTER_ID,
    MASTER_SECRET,
    WEBHOOK_KEY,
    Answer,
    FakeSmartRecruiters,
)

COMPANY_ID = "SmartCompany123"


@pytest.fixture
def fake_sr(settings):
    settings.ATS_EXTRA_ALLOWED_HOSTS = ["127.0.0.1"]
    server = FakeSmartRecruiters()
    settings.SMARTRECRUITERS_API_BASE = server.url
    settings.SMARTRECRUITERS_CLIENT_ID = MASTER_ID
    settings.SMARTRECRUITERS_CLIENT_SECRET = MASTER_SECRET
    cache.clear()
    ratelimit.limiter_get().reset()
    yield server
    server.close()
    cache.clear()


@pytest.fixture
def tenant(db):
    return TenantFactory(name="Acme")


@pytest.fixture
def package(tenant):
    package = PackageFactory(tenant=tenant, name="Customer Support Interview", language="en")
    QuestionFactory(package=package, position=1, text="How do you calm an unhappy customer?",
                    rubric=["listens", "apologises", "solves"])
    QuestionFactory(package=package, position=2, text="Tell us about a hard ticket.", rubric=["context", "outcome"])
    return package


@pytest.fixture
def admin_user(tenant):
    user = UserFactory()
    MembershipFactory(user=user, tenant=tenant, role=Role.ADMIN)
    return user


@pytest.fixture
def connection(tenant, fake_sr):
    """An active connection as a completed consent leaves it."""
    return Connection.objects.create(
        tenant=tenant, provider=PROVIDER_NAME, remote_account_id=COMPANY_ID, status=ConnectionStatus.ACTIVE,
        api_base_url=fake_sr.url,
        credentials={"client_id": CUSTOMER_ID, "client_secret": CUSTOMER_SECRET, CRED_WEBHOOK_KEYS: [WEBHOOK_KEY]},
        subscription_ids={SUBSCRIPTION_REF: {"id": "sub-1", "active": True}},
    )


@pytest.fixture
def minted(connection):
    """Client credentials we minted for SmartRecruiters."""
    return auth.partner_client_mint(connection=connection)


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


@pytest.fixture
def bearer(client, minted):
    """A token from our own token endpoint, as SmartRecruiters gets it."""
    response = client.post("/smartrecruiters/oauth/token", data=(
        f"grant_type=client_credentials&client_id={minted.client.client_id}&client_secret={minted.client_secret}"
    ), content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200, response.content
    return "Bearer " + response.json()["access_token"]


def results_url(fake_sr, order_id: str | None = None) -> str:
    return f"{fake_sr.url}/assessment-api/v202010/orders/{order_id or uuid.uuid4()}/results"


def order_body(reference_fixtures, *, package_id, fake_sr, order_id=None, inline=False) -> dict:
    examples = json.loads((reference_fixtures / "smartrecruiters/assessment-partner/examples.json").read_text())
    body = json.loads(json.dumps(examples["inline_order_request" if inline else "order_request"]))
    body["assessmentPackageId"] = str(package_id)
    body["resultCallbackURL"] = results_url(fake_sr, order_id)
    if inline:
        body["completedAssessmentCallbackUrl"] = f"{fake_sr.url}/apply/continue"
    return body


@pytest.fixture
def contract(reference_fixtures) -> dict:
    return json.loads((reference_fixtures / "smartrecruiters/assessment-partner/contract.json").read_text())


# --- a company's own app (authorization code) --------------------------------------------------------
@pytest.fixture
def own_app(settings, fake_sr):
    """The stub is also SmartRecruiters' authorization host; our site is the test client's."""
    settings.SMARTRECRUITERS_AUTHORIZE_BASE = fake_sr.url
    settings.SITE_URL = "http://testserver"
    return fake_sr


def own_app_start(client, tenant, *, popup: bool = False, **form) -> str:
    """POST the connect form; returns the authorize URL we redirect to."""
    from .stub import APP_ID, APP_SECRET

    data = {"tenant": tenant.pk, "client_id": APP_ID, "client_secret": APP_SECRET, "popup": "1" if popup else "0", **form}
    response = client.post("/smartrecruiters/own-app/connect", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    return response["Location"]


def own_app_authorize(location: str) -> str:
    """The browser at the authorize page (the stub approves or denies at once): our callback's path."""
    import requests
    from urllib.parse import urlsplit

    answer = requests.get(location, allow_redirects=False, timeout=5)
    assert answer.status_code == 302, answer.text
    parts = urlsplit(answer.headers["Location"])
    assert parts.netloc == "testserver" and parts.path == "/smartrecruiters/oauth/callback"
    return f"{parts.path}?{parts.query}"


def own_app_connect(client, tenant, **form):
    return client.get(own_app_authorize(own_app_start(client, tenant, **form)))


@pytest.fixture
def own_connection(client, admin_user, tenant, own_app):
    client.force_login(admin_user)
    response = own_app_connect(client, tenant)
    assert response.status_code == 200, response.content.decode()[:2000]
    return Connection.objects.get(remote_account_id=COMPANY_ID)
