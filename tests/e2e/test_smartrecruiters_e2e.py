"""SmartRecruiters end to end, before its sandbox exists: Stagehook on ``live_server``, a real
Celery worker on Redis, and the stub SmartRecruiters (tests/integrations/smartrecruiters/stub.py)
as a real HTTP server. An order (five times) -> one invitation -> the candidate answers -> the stub
holds the COMPLETED result with integer scores and the PDF; an inline order -> link -> result."""

import json
import re
import uuid

import pytest
import requests

from assessments.models import Assessment
from integrations.models import Connection, ConnectionStatus, WebhookEvent
from integrations.smartrecruiters import auth
from integrations.smartrecruiters.constants import CRED_WEBHOOK_KEYS, PROVIDER_NAME
from tests.factories import PackageFactory, QuestionFactory, TenantFactory
from tests.integrations.smartrecruiters.stub import CUSTOMER_ID, CUSTOMER_SECRET, WEBHOOK_KEY, FakeSmartRecruiters

from .conftest import read_mailbox, wait_for
from .test_teamtailor_e2e import _take_interview

pytestmark = pytest.mark.e2e
RESULTS = r"/assessment-api/v202010/orders/[^/]+/results"


@pytest.fixture
def fake_sr():
    server = FakeSmartRecruiters()
    yield server
    server.close()


@pytest.fixture
def package(transactional_db):
    package = PackageFactory(tenant=TenantFactory(name="Acme Corp"), name="Support interview")
    QuestionFactory(package=package, position=1, text="How do you calm an unhappy customer?",
                    rubric=["listens", "apologises", "solves the problem"])
    QuestionFactory(package=package, position=2, text="Why Acme?", rubric=["mentions the product"])
    return package


@pytest.fixture
def http():
    session = requests.Session()
    session.trust_env = False
    return session


@pytest.fixture
def bearer(package, fake_sr, celery_worker, live_server, http):
    connection = Connection.objects.create(
        tenant=package.tenant, provider=PROVIDER_NAME, remote_account_id="SmartCompany123",
        status=ConnectionStatus.ACTIVE, api_base_url=fake_sr.url,
        credentials={"client_id": CUSTOMER_ID, "client_secret": CUSTOMER_SECRET, CRED_WEBHOOK_KEYS: [WEBHOOK_KEY]},
    )
    minted = auth.partner_client_mint(connection=connection)
    answer = http.post(f"{live_server.url}/smartrecruiters/oauth/token", timeout=10, data={
        "grant_type": "client_credentials", "client_id": minted.client.client_id, "client_secret": minted.client_secret,
    })
    assert answer.status_code == 200, answer.text
    return "Bearer " + answer.json()["access_token"]


def order(reference_fixtures, fake_sr, package, *, inline=False) -> dict:
    examples = json.loads((reference_fixtures / "smartrecruiters/assessment-partner/examples.json").read_text())
    body = examples["inline_order_request" if inline else "order_request"]
    body["assessmentPackageId"] = str(package.pk)
    body["resultCallbackURL"] = f"{fake_sr.url}/assessment-api/v202010/orders/{uuid.uuid4()}/results"
    if inline:
        body["completedAssessmentCallbackUrl"] = f"{fake_sr.url}/apply/continue"
    return body


def results_for(fake_sr, body) -> list[dict]:
    path = body["resultCallbackURL"].removeprefix(fake_sr.url)
    return [s.json() for s in fake_sr.calls("PATCH", RESULTS) if s.path == path]


def test_order_five_times_invite_complete_result_with_pdf(bearer, fake_sr, package, mailbox, live_server, http,
                                                          reference_fixtures):
    body = order(reference_fixtures, fake_sr, package)
    for _ in range(5):
        answer = http.post(f"{live_server.url}/smartrecruiters/packages/orders", json=body, timeout=10,
                           headers={"Authorization": bearer})
        assert answer.status_code == 202 and answer.json() == {}
    mails = wait_for(lambda: read_mailbox(mailbox), timeout=60, what="the invitation e-mail")
    link = re.search(re.escape(live_server.url) + r"/i/[A-Za-z0-9_-]+/", mails[0]).group(0)
    wait_for(lambda: [r["status"] for r in results_for(fake_sr, body)] == ["PENDING"], timeout=60, what="PENDING")

    _take_interview(link)

    wait_for(lambda: any(r["status"] == "COMPLETED" for r in results_for(fake_sr, body)), timeout=60,
             what="the COMPLETED result")
    wait_for(lambda: fake_sr.calls("POST", RESULTS + "/attachment"), timeout=60, what="the PDF")
    assert [r["status"] for r in results_for(fake_sr, body)] == ["PENDING", "IN_PROGRESS", "COMPLETED"]
    completed = results_for(fake_sr, body)[-1]
    assessment = Assessment.objects.get(remote_order_id=body["resultCallbackURL"].split("/")[-2])
    assert completed["score"] == {"raw": round(assessment.score_value), "min": 0, "max": 100}
    assert len(completed["assessmentResults"]) == 2
    assert all(isinstance(r["score"]["raw"], int) for r in completed["assessmentResults"])
    assert completed["attachments"][0]["url"].startswith(f"{live_server.url}/r/")
    [upload] = fake_sr.calls("POST", RESULTS + "/attachment")
    assert next(iter(upload.files.values()))[1].startswith(b"%PDF-")
    assert Assessment.objects.count() == 1 and WebhookEvent.objects.filter(provider=PROVIDER_NAME).count() == 1


def test_inline_order_link_completion_result(bearer, fake_sr, package, mailbox, live_server, http, reference_fixtures):
    body = order(reference_fixtures, fake_sr, package, inline=True)
    answer = http.post(f"{live_server.url}/smartrecruiters/packages/inline/orders", json=body, timeout=10,
                       headers={"Authorization": bearer})
    assert answer.status_code == 200, answer.text
    link = answer.json()["url"]
    assert link == answer.json()["assessmentPackageURL"] and link.startswith(f"{live_server.url}/i/")

    _take_interview(link)

    wait_for(lambda: any(r["status"] == "COMPLETED" for r in results_for(fake_sr, body)), timeout=60,
             what="the COMPLETED result")
    done = http.get(link + "done/", timeout=10)
    assert body["completedAssessmentCallbackUrl"] in done.text
    assert read_mailbox(mailbox) == []
    assert not fake_sr.calls("POST", RESULTS + "/attachment")  # not for inline orders
