"""Teamtailor's adapter for the provider contract suite (tests/integrations/provider_contract.py):
the partner trigger is the inbound call, the partner-result update the write-back."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

from assessments.models import Assessment
from integrations.models import secret_hash
from integrations.providers import AssessmentOrdered, Candidate, CandidateChanged, JobChanged
from integrations.teamtailor import auth
from tests.conftest import FIXTURES_DIR
from tests.factories import AssessmentFactory, ConnectionFactory
from tests.integrations.provider_contract import ContractAdapter, FixtureCase, InboundCall, WriteBackCase

WEBHOOK = "/teamtailor/webhook"
PARTNER_EVENT = "teamtailor/partner-docs/partner_webhook_request_body.json"


def _fixture(reference: Path, name: str) -> dict:
    return json.loads((reference / name).read_text())


class TeamtailorAdapter(ContractAdapter):
    provider = "teamtailor"
    sandbox = "teamtailor"

    def connect(self, *, sandbox, tenant):
        config = sandbox.config
        return ConnectionFactory(
            tenant=tenant,
            provider="teamtailor",
            remote_account_id=config.company_uuid,
            status="active",
            region="eu",
            api_base_url=sandbox.url,
            provider_key_hash=secret_hash(config.provider_key),
            credentials={
                "partner_api_key": config.partner_api_key,
                "webhook_secret": config.webhook_secret,
                "api_key": config.api_key,
                "company_webhook_secret": config.company_webhook_secret,
                "provider_key": config.provider_key,
            },
        )

    # --- inbound ---------------------------------------------------------------------------------
    def _event(self, sandbox, package) -> dict:
        """Teamtailor's example partner event for a partner result the sandbox holds, with our
        trigger's package field filled in (the sandbox builds the same shape)."""
        body = copy.deepcopy(_fixture(FIXTURES_DIR, PARTNER_EVENT))
        result = sandbox.state.partner_result_create(candidate_id="54321", job_id="12345", created_via="trigger")
        event = body["partner-event"]
        event["webhook-data"] = {"package": str(package.pk)}
        event["partner-result"]["id"] = result["id"]
        event["partner-result"]["update-url"] = f"{sandbox.url}/partner/v1/partner-results/{result['id']}"
        return body

    def _headers(self, sandbox, event_id: str, *, provider_key: str | None = None, secret: str | None = None) -> dict:
        config = sandbox.config
        return {
            "HTTP_AUTHORIZATION": f"Bearer {provider_key or config.provider_key}",
            "HTTP_TEAMTAILOR_SIGNATURE": auth.partner_signature_header(
                secret=secret or config.webhook_secret, partner_event_id=event_id
            ),
            "HTTP_TEAMTAILOR_HOST": urlsplit(sandbox.url).netloc,
        }

    def valid_call(self, *, connection, sandbox, package) -> InboundCall:
        body = self._event(sandbox, package)
        return InboundCall(WEBHOOK, json.dumps(body).encode(), self._headers(sandbox, body["partner-event"]["id"]))

    def unknown_credential_call(self, *, connection, sandbox, package) -> InboundCall:
        body = self._event(sandbox, package)
        headers = self._headers(sandbox, body["partner-event"]["id"], provider_key="a-provider-key-nobody-has")
        return InboundCall(WEBHOOK, json.dumps(body).encode(), headers)

    def wrong_credential_call(self, *, connection, sandbox, package) -> InboundCall:
        body = self._event(sandbox, package)
        headers = self._headers(sandbox, body["partner-event"]["id"], secret="not-the-webhook-secret")
        return InboundCall(WEBHOOK, json.dumps(body).encode(), headers)

    def signed_call(self, *, connection, sandbox, raw_body: bytes, content_type: str) -> InboundCall:
        # The signature covers the partner-event id, which an unreadable body does not have: the
        # Bearer provider key is all a malformed call can carry.
        config = sandbox.config
        headers = {"HTTP_AUTHORIZATION": f"Bearer {config.provider_key}", "HTTP_TEAMTAILOR_HOST": urlsplit(sandbox.url).netloc}
        return InboundCall(WEBHOOK, raw_body, headers, content_type=content_type)

    def effects(self, *, connection) -> int:
        return Assessment.objects.filter(source=connection.source_key).count()

    # --- parsing -----------------------------------------------------------------------------------
    def fixture_cases(self, reference: Path) -> list[FixtureCase]:
        partner = _fixture(reference, PARTNER_EVENT)
        ours = copy.deepcopy(partner)
        ours["partner-event"]["webhook-data"] = {"package": "7", "threshold": "75"}
        candidate = _fixture(reference, "teamtailor/public-api/candidate.json")["data"]
        result_url = "https://api.teamtailor.com/partner/v1/partner-results/1a6d5a41-f0dd-4226-9d3b-186392bea484"
        return [
            FixtureCase(
                fixture=PARTNER_EVENT,
                event_type="partner.trigger",
                raw_body=json.dumps(partner).encode(),
                refused="webhook-data.package is missing",
                note="verbatim: the docs partner's own field ids, not ours",
            ),
            FixtureCase(
                fixture=PARTNER_EVENT,
                event_type="partner.trigger",
                raw_body=json.dumps(ours).encode(),
                expected=[
                    AssessmentOrdered(
                        remote_order_id="1a6d5a41-f0dd-4226-9d3b-186392bea484",
                        package_id="7",
                        candidate=Candidate(
                            remote_id="54321",
                            first_name="Juston",
                            last_name="Becker",
                            email="applicant100@example.com",
                            phone="+4670432121",
                        ),
                        remote_job_id="12345",
                        remote_job_title="Full-stack web developer",
                        remote_stage_id="1",
                        callback_url=result_url,
                        options={"threshold": 75},
                    )
                ],
                note="webhook-data with our trigger's field ids (package, threshold)",
            ),
            FixtureCase(
                fixture="teamtailor/partner-docs/company_webhook_payload_job_update.json",
                event_type="job.update",
                raw_body=(reference / "teamtailor/partner-docs/company_webhook_payload_job_update.json").read_bytes(),
                expected=[JobChanged(remote_job_id="2", title="IT Designer 1", status="archived")],
            ),
            FixtureCase(
                fixture="teamtailor/public-api/candidate.json",
                event_type="candidate.update",
                raw_body=json.dumps({"payload": {"event_name": "candidate.update", "data": candidate}}).encode(),
                expected=[
                    CandidateChanged(
                        candidate=Candidate(
                            remote_id="1", first_name="Gregoria", last_name="Deckow", email="applicant1@example.com"
                        )
                    )
                ],
                note="the public API's candidate resource as a company webhook's data",
            ),
        ]

    # --- write-back ----------------------------------------------------------------------------------
    def writeback_case(self, *, connection, sandbox, package) -> WriteBackCase:
        result = sandbox.state.partner_result_create(candidate_id="54321", job_id="12345", created_via="trigger")
        assessment = AssessmentFactory(
            tenant=connection.tenant,
            package=package,
            mode="order",
            source=connection.source_key,
            remote_order_id=result["id"],
            callback_url=f"{sandbox.url}/partner/v1/partner-results/{result['id']}",
            remote_candidate_id="54321",
            remote_job_id="12345",
            status="completed",
            score_value=Decimal("82"),
            score_min=Decimal("0"),
            score_max=Decimal("100"),
            score_label="Strong",
            summary="Covered 7 of 8 rubric points.",
        )
        return WriteBackCase(assessment=assessment, to_status="completed", ref=result["id"])

    def received_writebacks(self, *, sandbox, case: WriteBackCase) -> list[dict]:
        result = next((r for r in sandbox.results() if r["id"] == case.ref), None)
        if result is None:
            return []
        return [entry["request"] for entry in result["history"] if entry["accepted"]]

    def writeback_problems(self, body: dict, *, reference: Path) -> list[str]:
        """Against partner_result_update_request.json (the request shape) and
        partner_result_object.json (every attribute a partner result has)."""
        request = _fixture(reference, "teamtailor/partner-docs/partner_result_update_request.json")["data"]
        known = set(_fixture(reference, "teamtailor/partner-docs/partner_result_object.json")["data"]["attributes"])
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            return ["no data object"]
        problems = []
        if data.get("type") != request["type"]:
            problems.append(f"data.type is {data.get('type')!r}, documented {request['type']!r}")
        attributes = data.get("attributes")
        if not isinstance(attributes, dict):
            return [*problems, "no data.attributes object"]
        unknown = sorted(set(attributes) - known)
        if unknown:
            problems.append(f"attributes Teamtailor does not document: {', '.join(unknown)}")
        if attributes.get("status") not in ("sending", "sent", "pending", "completed", "failed"):
            problems.append(f"status {attributes.get('status')!r} is not a partner-result status")
        score = (attributes.get("assessment") or {}).get("score")
        if score is not None and not (isinstance(score, int) and 0 <= score <= 100):
            problems.append(f"assessment.score {score!r} is not an integer 0-100")
        return problems


ADAPTER = TeamtailorAdapter()
