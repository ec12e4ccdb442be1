"""The provider contract, for every registered provider against its own sandbox (see
tests/integrations/provider_contract.py for the adapter each ATS contributes)."""

from __future__ import annotations

import json

import pytest

from integrations.models import Delivery, WebhookEvent
from integrations.providers import provider_get, provider_names
from integrations.errors import PayloadError
from integrations.webhooks import MAX_BODY_BYTES
from tests.factories import PackageFactory, QuestionFactory, TenantFactory
from tests.integrations.provider_contract import (
    PIECES,
    AdapterIncomplete,
    ContractAdapter,
    InboundCall,
    adapter_for,
    missing_pieces,
)

pytestmark = pytest.mark.django_db

# Every provider registered when the tests are collected (throw-away test providers register later).
PROVIDERS = provider_names()


@pytest.fixture(params=PROVIDERS)
def contract(request, sandbox_server, settings, webhook_receiver):
    """(provider, adapter, running sandbox, connection, package) for one registered provider."""
    adapter = adapter_for(request.param)
    settings.ATS_EXTRA_ALLOWED_HOSTS = ["127.0.0.1"]  # every sandbox runs on 127.0.0.1
    # Webhooks the sandbox sends on its own go to a receiver, not to a Stagehook that is not running.
    sandbox = sandbox_server(adapter.sandbox, stagehook_url=webhook_receiver.url)
    tenant = TenantFactory(name=f"Contract {request.param}")
    package = PackageFactory(tenant=tenant, name="Contract interview")
    QuestionFactory(package=package, text="Describe a system you designed.")
    connection = adapter.connect(sandbox=sandbox, tenant=tenant)
    return Contract(provider_get(request.param), adapter, sandbox, connection, package)


class Contract:
    def __init__(self, provider, adapter, sandbox, connection, package):
        self.provider, self.adapter, self.sandbox, self.connection, self.package = (
            provider, adapter, sandbox, connection, package,
        )

    def kwargs(self) -> dict:
        return {"connection": self.connection, "sandbox": self.sandbox, "package": self.package}


def _send(client, call: InboundCall):
    # CONTENT_TYPE given explicitly too: the test client leaves it out when the body is empty.
    extra = {"CONTENT_TYPE": call.content_type, **call.headers}
    return getattr(client, call.method)(call.path, data=call.body, content_type=call.content_type, **extra)


def _nothing_stored(contract) -> None:
    assert WebhookEvent.objects.count() == 0
    assert contract.adapter.effects(connection=contract.connection) == 0


def _json_error(response) -> dict:
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert isinstance(body, dict) and body, body
    return body


# --- the adapters themselves ----------------------------------------------------------------------
@pytest.mark.parametrize("name", PROVIDERS)
def test_every_registered_provider_has_a_complete_adapter(name):
    adapter_for(name)  # raises AdapterIncomplete naming the file and every missing piece


def test_a_missing_adapter_tells_its_author_what_to_write():
    with pytest.raises(AdapterIncomplete) as caught:
        adapter_for("no_such_ats")
    message = str(caught.value)
    assert "tests/integrations/no_such_ats/contract_adapter.py" in message
    for what in PIECES.values():
        assert what in message


def test_an_incomplete_adapter_names_each_missing_piece():
    class Half(ContractAdapter):
        provider = "half"

        def connect(self, *, sandbox, tenant):
            return None

    missing = missing_pieces(Half())
    assert any(item.startswith("sandbox:") for item in missing)
    assert not any(item.startswith("connect:") for item in missing)
    assert {item.split(":")[0] for item in missing} == set(PIECES) - {"provider", "connect"}


# --- inbound ------------------------------------------------------------------------------------------
def test_unknown_and_wrong_credentials_get_the_same_rejection(client, contract):
    unknown = _send(client, contract.adapter.unknown_credential_call(**contract.kwargs()))
    wrong = _send(client, contract.adapter.wrong_credential_call(**contract.kwargs()))
    assert unknown.status_code in (401, 403), unknown.content
    assert (wrong.status_code, _json_error(wrong)) == (unknown.status_code, _json_error(unknown))
    _nothing_stored(contract)


@pytest.mark.parametrize(
    "case, raw_body, content_type, status",
    [
        ("malformed JSON", b'{"not": json', "application/json", 400),
        ("oversized", b'{"x": "' + b"a" * (MAX_BODY_BYTES + 1) + b'"}', "application/json", 413),
        ("wrong media type", b'{"x": 1}', "text/plain", 415),
        ("JSON of the wrong type", b"[]", "application/json", 400),
        ("empty body", b"", "application/json", 400),
    ],
)
def test_bad_bodies_are_refused_with_nothing_stored(client, contract, case, raw_body, content_type, status):
    call = contract.adapter.signed_call(
        connection=contract.connection, sandbox=contract.sandbox, raw_body=raw_body, content_type=content_type
    )
    response = _send(client, call)
    assert response.status_code == status, (case, response.status_code, response.content[:300])
    _json_error(response)
    _nothing_stored(contract)


def test_a_duplicate_has_one_effect(client, contract, django_capture_on_commit_callbacks):
    call = contract.adapter.valid_call(**contract.kwargs())
    with django_capture_on_commit_callbacks(execute=True):
        first = _send(client, call)
        second = _send(client, call)
    assert 200 <= first.status_code < 300, first.content
    assert second.status_code == first.status_code, second.content
    assert WebhookEvent.objects.filter(provider=contract.provider.name).count() == 1
    assert contract.adapter.effects(connection=contract.connection) == 1


# --- parsing ------------------------------------------------------------------------------------------
def test_each_reference_fixture_parses_to_the_expected_events(contract, reference_fixtures):
    cases = contract.adapter.fixture_cases(reference_fixtures)
    assert cases, "the adapter lists no reference fixtures"
    for case in cases:
        assert (reference_fixtures / case.fixture).is_file(), f"{case.fixture} is not a reference fixture"
        event = WebhookEvent(
            provider=contract.provider.name, connection=contract.connection, event_id="contract",
            event_type=case.event_type, raw_body=case.raw_body, headers={},
        )
        label = f"{case.fixture} ({case.note or case.event_type})"
        if case.refused:
            with pytest.raises(PayloadError) as caught:
                contract.provider.parse(event)
            assert case.refused in caught.value.message, label
        else:
            assert contract.provider.parse(event) == case.expected, label


# --- write-back ---------------------------------------------------------------------------------------
def test_a_write_back_reaches_the_sandbox_in_the_documented_shape(contract, reference_fixtures):
    case = contract.adapter.writeback_case(**contract.kwargs())
    spec = contract.provider.delivery_for(
        connection=contract.connection, assessment=case.assessment, to_status=case.to_status
    )
    assert spec is not None, f"no write-back for {case.to_status}"
    delivery = Delivery.objects.create(
        connection=contract.connection, assessment=case.assessment, channel=spec.channel,
        assessment_status=case.to_status, payload=spec.payload,
    )
    result = contract.provider.deliver(delivery)
    assert 200 <= result.status_code < 300
    received = contract.adapter.received_writebacks(sandbox=contract.sandbox, case=case)
    assert received, "the sandbox accepted no write-back for the assessment"
    problems = contract.adapter.writeback_problems(received[-1], reference=reference_fixtures)
    assert problems == [], json.dumps(received[-1], indent=1)[:2000]


def test_teamtailors_shape_check_catches_an_undocumented_write_back(reference_fixtures):
    """The shape check can fail: a body Teamtailor does not document is reported, piece by piece."""
    adapter = adapter_for("teamtailor")
    bad = {"data": {"type": "partner-result", "attributes": {"status": "done", "score": 80, "assessment": {"score": 8.5}}}}
    problems = adapter.writeback_problems(bad, reference=reference_fixtures)
    assert len(problems) == 4, problems
    good = {"data": {"type": "partner-results", "attributes": {"status": "completed", "assessment": {"score": 82}}}}
    assert adapter.writeback_problems(good, reference=reference_fixtures) == []


def test_smartrecruiters_shape_check_catches_an_undocumented_write_back(reference_fixtures):
    """The PackageResult check can fail: each departure from contract.json is reported."""
    adapter = adapter_for("smartrecruiters")
    examples = json.loads((reference_fixtures / "smartrecruiters/assessment-partner/examples.json").read_text())
    good = examples["result_patch_completed"]
    good = {**good, "attachments": [{**good["attachments"][0], "url": "https://stagehook.example.com/r/x/"}]}
    assert adapter.writeback_problems(good, reference=reference_fixtures) == []
    bad = {
        "status": "DONE", "score": {"raw": 8.5, "max": 10}, "grade": "A",
        "attachments": [{"type": "PDF", "url": "report.pdf"}],
        "assessmentResults": [{"assessmentName": "Q1", "submissionDate": "yesterday"}],
    }
    problems = adapter.writeback_problems(bad, reference=reference_fixtures)
    assert len(problems) == 8, problems
