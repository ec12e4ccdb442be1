"""SmartRecruiters' adapter for the provider contract suite (tests/integrations/provider_contract.py):
an order (``POST /smartrecruiters/packages/orders`` with a Bearer token from our own token
endpoint) is the inbound call, the order's results ``PATCH`` the write-back, both against the
SmartRecruiters sandbox (integrations/smartrecruiters/sandbox)."""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from assessments.models import Assessment
from integrations.models import Connection, ConnectionStatus
from integrations.providers import AssessmentOrdered, Candidate, CandidateChanged, StageChanged
from integrations.smartrecruiters import auth
from integrations.smartrecruiters.constants import CRED_CLIENT_ID, CRED_CLIENT_SECRET
from integrations.smartrecruiters.sandbox.state import ADA_ID, SUPPORT_JOB_ID
from tests.factories import AssessmentFactory
from tests.integrations.provider_contract import ContractAdapter, FixtureCase, InboundCall, WriteBackCase

ORDERS = "/smartrecruiters/packages/orders"
EXAMPLES = "smartrecruiters/assessment-partner/examples.json"
CONTRACT = "smartrecruiters/assessment-partner/contract.json"
WEBHOOKS = "smartrecruiters/webhooks-and-enums.json"
CANDIDATE = "smartrecruiters/candidates/retrieve.json"
# Where the fixtures' own results URL points (a SmartRecruiters API host, so parsing takes it).
FIXTURE_ORDER_ID = "1b0b6c2e-7a3f-4d4e-9a53-2f7c1d9e8a10"


def _fixture(reference: Path, name: str) -> Any:
    return json.loads((reference / name).read_text())


def _examples() -> dict:
    from tests.conftest import FIXTURES_DIR

    return _fixture(FIXTURES_DIR, EXAMPLES)


class SmartRecruitersAdapter(ContractAdapter):
    provider = "smartrecruiters"
    sandbox = "smartrecruiters"

    def __init__(self):
        # connection id -> the access token SmartRecruiters got from our token endpoint
        self._tokens: dict[int, str] = {}

    # --- the connection a completed consent leaves -------------------------------------------------
    def connect(self, *, sandbox, tenant):
        customer = sandbox.integrate()  # configuration, consent, setUpIntegration: customer credentials
        connection = Connection.objects.create(
            tenant=tenant, provider=self.provider, remote_account_id=sandbox.config.company_id,
            status=ConnectionStatus.ACTIVE, api_base_url=sandbox.url,
            credentials={
                CRED_CLIENT_ID: customer["clientId"], CRED_CLIENT_SECRET: customer["clientSecret"],
            },
        )
        self._tokens[connection.pk] = self._our_token(connection)
        return connection

    @staticmethod
    def _our_token(connection: Connection) -> str:
        """A token from our token endpoint's oauthlib server for credentials we minted at consent."""
        minted = auth.partner_client_mint(connection=connection)
        body = urlencode({"grant_type": "client_credentials", "client_id": minted.client.client_id,
                          "client_secret": minted.client_secret})
        _, answer, status = auth.token_server().create_token_response(
            "http://testserver/smartrecruiters/oauth/token", http_method="POST", body=body, headers={})
        assert status == 200, answer
        return json.loads(answer)["access_token"]

    # --- inbound ---------------------------------------------------------------------------------
    def _order_body(self, *, connection, sandbox, package, company_id: str | None = None) -> dict:
        """examples.json's order, for an order the sandbox holds (its results URL) of our package."""
        order = sandbox.state.order_create(company_id=sandbox.config.company_id, cid=ADA_ID, job_id=SUPPORT_JOB_ID,
                                           mode="ad-hoc", trigger="recruiter")
        body = copy.deepcopy(_examples()["order_request"])
        body["assessmentPackageId"] = str(package.pk)
        body["companyId"] = company_id or connection.remote_account_id
        body["resultCallbackURL"] = f"{sandbox.url}/assessment-api/v202010/orders/{order['orderId']}/results"
        return body

    def _call(self, body: dict | bytes, token: str, *, content_type: str = "application/json") -> InboundCall:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        return InboundCall(ORDERS, raw, {"HTTP_AUTHORIZATION": f"Bearer {token}"}, content_type=content_type)

    def valid_call(self, *, connection, sandbox, package) -> InboundCall:
        return self._call(self._order_body(connection=connection, sandbox=sandbox, package=package),
                          self._tokens[connection.pk])

    def unknown_credential_call(self, *, connection, sandbox, package) -> InboundCall:
        body = self._order_body(connection=connection, sandbox=sandbox, package=package, company_id="NobodysCompany")
        return self._call(body, "a-token-nobody-was-issued-0123456789")

    def wrong_credential_call(self, *, connection, sandbox, package) -> InboundCall:
        # The connection's company in the body, but not the token our endpoint issued for it.
        token = self._tokens[connection.pk]
        return self._call(self._order_body(connection=connection, sandbox=sandbox, package=package), token[:-4] + "xxxx")

    def signed_call(self, *, connection, sandbox, raw_body: bytes, content_type: str) -> InboundCall:
        return self._call(raw_body, self._tokens[connection.pk], content_type=content_type)

    def effects(self, *, connection) -> int:
        return Assessment.objects.filter(source=connection.source_key).count()

    # --- parsing -----------------------------------------------------------------------------------
    def fixture_cases(self, reference: Path) -> list[FixtureCase]:
        examples = _fixture(reference, EXAMPLES)
        payloads = _fixture(reference, WEBHOOKS)["payloads"]
        results_url = f"https://api.smartrecruiters.com/assessment-api/v202010/orders/{FIXTURE_ORDER_ID}/results"
        # The sandbox's Ada (its seed adds her phone to examples.json's candidate).
        ada = Candidate(remote_id=ADA_ID, first_name="Ada", last_name="Lovelace", email="ada.lovelace@example.com",
                        phone="+49 30 1234567")
        no_candidate = copy.deepcopy(examples["order_request"])
        del no_candidate["candidate"]
        foreign = copy.deepcopy(examples["order_request"])
        foreign["resultCallbackURL"] = f"https://attacker.example.com/orders/{FIXTURE_ORDER_ID}/results"
        application = dict(payloads["application.*"], job_id=SUPPORT_JOB_ID, candidate_id=ADA_ID, application_id="app-1")
        retrieved = _fixture(reference, CANDIDATE)
        return [
            FixtureCase(
                fixture=EXAMPLES, event_type="order", raw_body=json.dumps(examples["order_request"]).encode(),
                expected=[AssessmentOrdered(
                    remote_order_id=FIXTURE_ORDER_ID, package_id="pkg-1",
                    candidate=Candidate(remote_id=ADA_ID, first_name="Ada", last_name="Lovelace",
                                        email="ada.lovelace@example.com", language="en"),
                    remote_job_id=SUPPORT_JOB_ID, remote_job_title="Support Specialist", callback_url=results_url,
                    options={"smartrecruiters_fields": {"seniority": "junior"}}, send_invitation=True,
                )],
                note="order_request verbatim",
            ),
            FixtureCase(
                fixture=EXAMPLES, event_type="inline_order",
                raw_body=json.dumps(examples["inline_order_request"]).encode(),
                expected=[AssessmentOrdered(
                    remote_order_id=FIXTURE_ORDER_ID, package_id="pkg-1",
                    candidate=Candidate(remote_id="", first_name="Ada", last_name="Lovelace",
                                        email="ada.lovelace@example.com", language="en"),
                    remote_job_id=SUPPORT_JOB_ID, remote_job_title="", callback_url=results_url,
                    options={"smartrecruiters_inline": True,
                             "return_url": examples["inline_order_request"]["completedAssessmentCallbackUrl"]},
                    send_invitation=False,
                )],
                note="inline_order_request verbatim",
            ),
            FixtureCase(fixture=EXAMPLES, event_type="order", raw_body=json.dumps(no_candidate).encode(),
                        refused="missing required fields: candidate", note="order_request without its candidate"),
            FixtureCase(fixture=EXAMPLES, event_type="order", raw_body=json.dumps(foreign).encode(),
                        refused="resultCallbackURL is not a SmartRecruiters API URL",
                        note="order_request with a results URL off SmartRecruiters' hosts"),
            FixtureCase(
                fixture=WEBHOOKS, event_type="application.status.updated", raw_body=json.dumps(application).encode(),
                expected=[StageChanged(
                    remote_application_id=f"{ADA_ID}:{SUPPORT_JOB_ID}", remote_candidate_id=ADA_ID,
                    remote_job_id=SUPPORT_JOB_ID, remote_stage_id="IN_REVIEW", remote_sub_status="Screening call",
                )],
                note="payloads['application.*'] with the sandbox's seeded application; its state fetched from the sandbox",
            ),
            FixtureCase(
                fixture=WEBHOOKS, event_type="candidate.updated",
                raw_body=json.dumps(dict(payloads["candidate.*"], id=ADA_ID)).encode(),
                expected=[CandidateChanged(candidate=ada)],
                note="payloads['candidate.*'] with the sandbox's seeded candidate, fetched from the sandbox",
            ),
            FixtureCase(
                fixture=WEBHOOKS, event_type="candidate.deleted",
                raw_body=json.dumps(dict(payloads["candidate.*"], id=ADA_ID)).encode(),
                expected=[CandidateChanged(candidate=Candidate(remote_id=ADA_ID), deleted=True, erase=True)],
                note="payloads['candidate.*'] for a deleted candidate: erased, nothing fetched",
            ),
            FixtureCase(
                fixture=CANDIDATE, event_type="candidate.deleted",
                raw_body=json.dumps({"id": retrieved["id"]}).encode(),
                expected=[CandidateChanged(candidate=Candidate(remote_id=retrieved["id"]), deleted=True, erase=True)],
                note="the Customer API candidate's id as a candidate.deleted body",
            ),
        ]

    # --- write-back ----------------------------------------------------------------------------------
    def writeback_case(self, *, connection, sandbox, package) -> WriteBackCase:
        order = sandbox.state.order_create(company_id=sandbox.config.company_id, cid=ADA_ID, job_id=SUPPORT_JOB_ID,
                                           mode="ad-hoc", trigger="recruiter")
        assessment = AssessmentFactory(
            tenant=connection.tenant, package=package, mode="order", source=connection.source_key,
            remote_order_id=order["orderId"],
            callback_url=f"{sandbox.url}/assessment-api/v202010/orders/{order['orderId']}/results",
            remote_candidate_id=ADA_ID, remote_job_id=SUPPORT_JOB_ID, status="completed",
            completed_at=dt.datetime(2026, 11, 30, 9, 31, 12, tzinfo=dt.timezone.utc),
            score_value=Decimal("82"), score_min=Decimal("0"), score_max=Decimal("100"), score_label="Strong",
            summary="Covered 7 of 8 rubric points.",
        )
        return WriteBackCase(assessment=assessment, to_status="completed", ref=order["orderId"])

    def received_writebacks(self, *, sandbox, case: WriteBackCase) -> list[dict]:
        order = next((o for o in sandbox.orders() if o["orderId"] == case.ref), None)
        if order is None:
            return []
        return [entry["request_body"] for entry in order["history"] if entry["accepted"]]

    def writeback_problems(self, body: dict, *, reference: Path) -> list[str]:
        """Against contract.json's PackageResult (and the Score, AssessmentResult and result-link
        Attachment it names): only documented fields, each of its documented type or enum, the
        required ones there."""
        schemas = _fixture(reference, CONTRACT)["schemas"]
        if not isinstance(body, dict):
            return ["the body is not a JSON object"]
        return _problems(schemas, "PackageResult", body, "")


# --- contract.json's informal schemas ------------------------------------------------------------------
ENUM = re.compile(r"^[A-Z_]+( \| [A-Z_]+)+$")
SCHEMA_NAMES = {"Attachment": "Attachment (result link)"}


def _problems(schemas: dict, name: str, value: Any, where: str) -> list[str]:
    schema = schemas[SCHEMA_NAMES.get(name, name)]
    if not isinstance(value, dict):
        return [f"{where or name} is not an object ({name})"]
    properties: dict[str, str] = schema.get("properties") or {}
    found = [f"{where}{key}: not a {name} field" for key in sorted(set(value) - set(properties))]
    found += [f"{where}{key}: required by {name}" for key in schema.get("required") or [] if key not in value]
    for key, described in properties.items():
        if key in value:
            found += _type_problems(schemas, described, value[key], f"{where}{key}")
    return found


def _type_problems(schemas: dict, described: str, value: Any, where: str) -> list[str]:
    kind = described.split(" ")[0] if described else ""
    if ENUM.match(described):
        allowed = described.split(" | ")
        return [] if value in allowed else [f"{where}: {value!r} is not one of {', '.join(allowed)}"]
    if described.startswith("array of "):
        if not isinstance(value, list):
            return [f"{where}: not an array"]
        item = described.removeprefix("array of ").strip()
        return [p for n, v in enumerate(value) for p in _problems(schemas, item, v, f"{where}[{n}].")]
    if kind in schemas or kind in SCHEMA_NAMES:
        return _problems(schemas, kind, value, f"{where}.")
    if kind == "integer" or kind == "integer,":
        return [] if isinstance(value, int) and not isinstance(value, bool) else [f"{where}: {value!r} is not an integer"]
    if kind == "date-time":
        try:
            dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return [f"{where}: {value!r} is not a date-time"]
        return [] if isinstance(value, str) else [f"{where}: not a string"]
    if kind == "uri":
        parts = urlsplit(value) if isinstance(value, str) else None
        return [] if parts and parts.scheme in ("http", "https") and parts.netloc else [f"{where}: {value!r} is not a URL"]
    # "string" and the prose descriptions (summary, scoreLabel, description) are text.
    return [] if isinstance(value, str) else [f"{where}: {value!r} is not a string"]


ADAPTER = SmartRecruitersAdapter()
