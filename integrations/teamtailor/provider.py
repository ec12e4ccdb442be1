"""Teamtailor behind the provider seam: inbound authentication (partner trigger and company
webhooks), parsing into normalized events, and the partner-result write-back.

Write-back channels: order mode (the partner trigger) ``PUT``s the update-url Teamtailor gave us
(kept on the integration's ``AssessmentLink``). Trigger mode (our own stage mapping, no update-url)
creates a partner result with ``POST /partner/v1/partner-results`` and then updates it; the created
id is kept on the link (``remote_result_id``) the moment Teamtailor returns it (so a retried
delivery never creates a second one) and also returned as ``remote_refs``. The provider never
writes the assessments app's tables.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from urllib.parse import quote, urlsplit

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse

from assessments.models import Assessment, Package, Status
from assessments.selectors import assessment_report_url
from integrations.errors import AuthFailed, BadRequest, EventFailed, PayloadError
from integrations.http import host_allowed
from integrations.models import (
    AssessmentLink,
    Connection,
    ConnectionStatus,
    Delivery,
    DeliveryChannel,
    ErrorCode,
    WebhookEvent,
)
from integrations.providers import (
    Candidate,
    JobChanged,
    DeliverySpec,
    InboundRejected,
    NormalizedEvent,
    Page,
    Provider,
    VerifiedInbound,
    WriteBackResult,
    provider_register,
)
from integrations.selectors import assessment_remote_refs
from integrations.services import assessment_link_get_or_create, assessment_link_result_set
from integrations.webhooks import stored_headers

from . import auth, webhooks
from .client import PartnerApiClient, PublicApiClient, allowed_hosts_for
from .text import printable

logger = logging.getLogger(__name__)

KIND_PARTNER = "partner"
KIND_COMPANY = "company"
PARTNER_RESULT_REF = "partner_result_id"

# Stagehook status -> partner-result status (TEAMTAILOR.md "Mapping our statuses"). ``ordered`` is
# Teamtailor's own "sending", which it set before calling us: nothing to write.
STATUS_MAP = {
    Status.INVITED: "sent",
    Status.IN_PROGRESS: "pending",
    Status.COMPLETED: "completed",
    Status.FAILED: "failed",
    Status.EXPIRED: "failed",
    Status.CANCELLED: "failed",
}
FAILED_SUMMARIES = {
    Status.FAILED: "The Stagehook interview failed",
    Status.EXPIRED: "The Stagehook interview expired before the candidate completed it",
    Status.CANCELLED: "The Stagehook interview was cancelled",
}
UNAUTHORIZED = "Unauthorized."
UPDATE_URL_REFUSED = (
    "Stagehook cannot report back to this Teamtailor result (its update address is not a Teamtailor "
    "host of this account's region), so no interview was sent. Contact Stagehook support."
)
REGION_REFUSED = (
    "This Teamtailor account answers from another data region than its Stagehook connection. "
    "Nothing was moved; contact Stagehook support."
)

# Buttons on the partner-result card (``actions[{buttonText, endpoint}]``). Teamtailor POSTs to
# ``{our base URL}/{endpoint}`` when a recruiter clicks, i.e. ``/teamtailor/actions/<name>``.
ACTION_RESEND = "resend"
ACTION_CANCEL = "cancel"
ACTION_BUTTONS = {ACTION_RESEND: "Resend invitation", ACTION_CANCEL: "Cancel interview"}
ACTION_EVENT_PREFIX = "partner.action."
# Which buttons a card shows in each state; a closed interview shows none (an empty list, sent on
# purpose: Teamtailor keeps attributes an update leaves out, so the buttons must be cleared).
ACTIONS_BY_STATUS = {
    Status.INVITED: (ACTION_RESEND, ACTION_CANCEL),
    Status.IN_PROGRESS: (ACTION_CANCEL,),
}
# Company webhooks that name no company are matched by signature against at most this many connections.
MAX_SIGNATURE_CANDIDATES = 1000


def _body(raw_body: bytes) -> Any:
    try:
        return json.loads(raw_body)
    except (ValueError, UnicodeDecodeError):
        raise InboundRejected(400, "The body is not valid JSON.") from None


# --- write-back payloads ------------------------------------------------------------------------
def score_percent(assessment: Assessment) -> int | None:
    """The score on Teamtailor's 0-100 integer scale."""
    if assessment.score_value is None:
        return None
    low = assessment.score_min if assessment.score_min is not None else Decimal(0)
    high = assessment.score_max if assessment.score_max is not None else Decimal(100)
    if high <= low:
        return None
    share = (Decimal(assessment.score_value) - low) / (high - low) * 100
    return int(min(max(share, Decimal(0)), Decimal(100)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _duration(assessment: Assessment) -> str:
    if not (assessment.started_at and assessment.completed_at) or assessment.completed_at < assessment.started_at:
        return ""
    seconds = int((assessment.completed_at - assessment.started_at).total_seconds())
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _flat(value: Any) -> Any:
    """A details value at most one more level deep (Teamtailor renders two levels)."""
    if isinstance(value, dict):
        return {str(k): v if isinstance(v, (str, int, float, bool)) or v is None else json.dumps(v) for k, v in value.items()}
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return json.dumps(value)


def _attachments(assessment: Assessment) -> list[dict[str, str]]:
    items = []
    for item in assessment.attachments or []:
        if not isinstance(item, dict):
            continue
        url = str(item.get("url") or "")
        if not url.startswith(("https://", "http://")):
            continue
        description = str(item.get("description") or item.get("name") or item.get("title") or "Attachment")
        items.append({"url": url, "description": description[:200]})
    return items


def completed_attributes(assessment: Assessment) -> dict[str, Any]:
    """A completed assessment's partner-result attributes, without the report ``url`` (a signed,
    expiring link, made fresh when the delivery is sent)."""
    score = score_percent(assessment)
    threshold = (assessment.options or {}).get("threshold")
    details: dict[str, Any] = {"package": assessment.package.name}
    assessment_block: dict[str, Any] = {}
    if score is not None:
        assessment_block["score"] = score
        details["score"] = f"{score} / 100"
    if assessment.score_label:
        details["rating"] = assessment.score_label
    if isinstance(threshold, int) and score is not None:
        passed = score >= threshold
        details["threshold"] = str(threshold)
        details["result"] = "pass" if passed else "fail"
        assessment_block["grade"] = "top_fit" if passed else "might_not_be_fit"
    duration = _duration(assessment)
    if duration:
        assessment_block["duration"] = duration
    questions = (assessment.details or {}).get("questions") if isinstance(assessment.details, dict) else None
    criteria = []
    if isinstance(questions, list):
        per_question = {}
        for index, q in enumerate(questions, start=1):
            if not isinstance(q, dict):
                continue
            percent = q.get("percent")
            label = f"Q{q.get('position', index)}: {str(q.get('question') or '')[:60]}"
            per_question[label] = f"{percent}%" if percent is not None else ""
            if q.get("question_id") is not None and percent is not None:
                try:
                    criteria.append({"id": f"question-{q['question_id']}", "score": int(Decimal(str(percent)).quantize(Decimal(1), rounding=ROUND_HALF_UP))})
                except ArithmeticError:
                    pass
        if per_question:
            details["questions"] = _flat(per_question)
    attributes: dict[str, Any] = {
        "status": "completed",
        "summary": assessment.summary or f"Completed: {assessment.package.name}",
        "details": details,
        "attachments": _attachments(assessment),
    }
    if assessment_block:
        attributes["assessment"] = assessment_block
    if criteria:
        attributes["assessment-criteria"] = criteria
    return attributes


def actions_for(to_status: str) -> list[dict[str, str]]:
    """The card's buttons for an assessment in ``to_status`` (none once it is closed)."""
    return [
        {"buttonText": ACTION_BUTTONS[name], "endpoint": f"actions/{name}"}
        for name in ACTIONS_BY_STATUS.get(to_status, ())
    ]


def attributes_for(assessment: Assessment, to_status: str) -> dict[str, Any] | None:
    result_status = STATUS_MAP.get(to_status)
    if result_status is None:
        return None
    if to_status == Status.COMPLETED:
        attributes = completed_attributes(assessment)
    elif result_status == "failed":
        summary = FAILED_SUMMARIES.get(to_status, "The Stagehook interview did not complete")
        reason = (assessment.status_reason or "").strip()
        attributes = {"status": "failed", "summary": f"{summary}: {reason}." if reason else f"{summary}."}
    else:
        attributes = {"status": result_status}
    attributes["actions"] = actions_for(to_status)
    return attributes


def partner_client_for(connection: Connection, **kwargs: Any) -> PartnerApiClient:
    return PartnerApiClient(
        partner_api_key=auth.partner_api_key_for(connection),
        api_base_url=connection.api_base_url,
        region=connection.region,
        **kwargs,
    )


def public_client_for(connection: Connection, **kwargs: Any) -> PublicApiClient:
    credentials = connection.credentials or {}
    return PublicApiClient(
        api_key=str(credentials.get("api_key") or ""),
        api_base_url=connection.api_base_url,
        region=connection.region,
        **kwargs,
    )


@dataclass(frozen=True)
class VerifiedAction:
    connection: Connection
    target: webhooks.ActionTarget
    headers: auth.PartnerHeaders


def record_partner_headers(*, connection: Connection, headers: auth.PartnerHeaders) -> None:
    from .services import teamtailor_partner_headers_record  # services import this module's constants

    try:
        teamtailor_partner_headers_record(connection=connection, headers=headers)
    except auth.RegionChangeRefused:
        # Lost a race with another call that moved the region: refuse like the first check does.
        raise InboundRejected(403, REGION_REFUSED) from None


def update_url_allowed(connection: Connection, url: str, *, api_host: auth.ApiHost | None = None) -> bool:
    """Whether a partner result's update-url is on the connection's allow-list (the same rule the
    client applies when it writes back: Teamtailor's API host of the region, https, no user-info,
    or an ATS_EXTRA_ALLOWED_HOSTS dev host). ``api_host``: a new host the call records."""
    region, base_url = auth.connection_region(connection), connection.api_base_url
    if api_host is not None:
        region, base_url = api_host.region or region, api_host.base_url
    allowed = allowed_hosts_for(region=region, api_base_url=base_url)
    return host_allowed(url, allowed, extra_hosts=settings.ATS_EXTRA_ALLOWED_HOSTS)


def record_trigger_signature(request: HttpRequest) -> None:
    from .services import TRIGGER_SIGNATURE_KIND, teamtailor_signature_record

    fingerprint = auth.partner_signature_fingerprint(request.headers.get("Teamtailor-Signature", ""))
    teamtailor_signature_record(fingerprint=fingerprint, kind=TRIGGER_SIGNATURE_KIND)


def trigger_signature_seen(request: HttpRequest) -> bool:
    from .selectors import signature_kind
    from .services import TRIGGER_SIGNATURE_KIND

    fingerprint = auth.partner_signature_fingerprint(request.headers.get("Teamtailor-Signature", ""))
    return bool(fingerprint) and signature_kind(fingerprint=fingerprint) == TRIGGER_SIGNATURE_KIND


class TeamtailorProvider(Provider):
    name = auth.PROVIDER_NAME

    # --- inbound ----------------------------------------------------------------------------
    def verify_inbound(self, request: HttpRequest, *, raw_body: bytes, kind: str) -> VerifiedInbound:
        if kind == KIND_PARTNER:
            return self._verify_partner(request, raw_body=raw_body)
        if kind == KIND_COMPANY:
            return self._verify_company(request, raw_body=raw_body)
        raise InboundRejected(404, "Unknown Teamtailor endpoint.")

    def _partner_connection(self, request: HttpRequest, *, raw_body: bytes, signed_id) -> tuple[Connection, Any]:
        """The checks every partner call (trigger and action) passes: a Bearer provider key bound to
        a live connection, a JSON body, and a fresh ``Teamtailor-Signature`` over the id
        ``signed_id(body)`` returns, with the connection's webhook secret or the deployment's
        (unsigned calls only in local development, when no secret is configured at all). Unknown and wrong answer
        alike (401), so the key is no oracle."""
        connection = auth.connection_for_provider_key(auth.bearer_token(request))
        if connection is None:
            raise InboundRejected(401, UNAUTHORIZED)
        body = _body(raw_body)
        try:
            event_id = signed_id(body)
        except PayloadError as exc:
            raise InboundRejected(400, f"{exc.message}.") from None
        secret = auth.partner_webhook_secret_for(connection)
        if not secret and not auth.unsigned_partner_calls_allowed():
            logger.warning(
                "connection %s: partner call refused, no Teamtailor webhook secret is configured "
                "(set TEAMTAILOR_PARTNER_WEBHOOK_SECRET)", connection.pk,
            )
            raise InboundRejected(401, UNAUTHORIZED)
        if secret and not (
            event_id
            and auth.partner_signature_valid(
                request.headers.get("Teamtailor-Signature", ""), secret=secret, partner_event_id=event_id
            )
        ):
            raise InboundRejected(401, UNAUTHORIZED)
        company = webhooks.partner_company_uuid(body)
        if company and connection.remote_account_id and company != connection.remote_account_id:
            raise InboundRejected(401, UNAUTHORIZED)
        return connection, body

    @staticmethod
    def partner_headers(request: HttpRequest, *, connection: Connection) -> auth.PartnerHeaders:
        """``Teamtailor-Host`` / ``Teamtailor-Api-Token`` of an authenticated partner call; a host
        of another region than the connection's is refused (403) and logged, never followed."""
        try:
            return auth.partner_headers_of(request, connection=connection)
        except auth.RegionChangeRefused as exc:
            logger.warning(
                "connection %s: Teamtailor-Host of region %s refused, the connection is in region %s",
                connection.pk, exc.new_region, exc.current_region,
            )
            raise InboundRejected(403, REGION_REFUSED) from None

    def _verify_partner(self, request: HttpRequest, *, raw_body: bytes) -> VerifiedInbound:
        connection, body = self._partner_connection(request, raw_body=raw_body, signed_id=webhooks.partner_event_id)
        event_id = webhooks.partner_event_id(body)
        headers = self.partner_headers(request, connection=connection)
        package_id = webhooks.partner_package_id(body)
        if not package_id:
            raise InboundRejected(400, "Choose a Stagehook interview package in the trigger.")
        if not package_id.isdigit() or not Package.objects.filter(
            pk=int(package_id), tenant_id=connection.tenant_id, active=True
        ).exists():
            raise InboundRejected(400, "The chosen Stagehook interview package is not available.")
        self._check_update_url(
            request, connection=connection, body=body, event_id=event_id, raw_body=raw_body, headers=headers
        )
        # Only now, with the call accepted: a rejected call changes nothing.
        record_partner_headers(connection=connection, headers=headers)
        record_trigger_signature(request)
        return VerifiedInbound(
            connection=connection, event_id=event_id, event_type=webhooks.PARTNER_EVENT_TYPE, payload=body
        )

    @staticmethod
    def _check_update_url(
        request: HttpRequest, *, connection: Connection, body: Any, event_id: str, raw_body: bytes,
        headers: auth.PartnerHeaders,
    ) -> None:
        """The partner result's update-url must be a Teamtailor API host of the connection's region
        (or a dev host from ATS_EXTRA_ALLOWED_HOSTS), in every spelling: otherwise every write-back
        would be refused and the card would say "sending" forever. Refused at intake: nobody is
        invited, the event is kept as failed (HOST_NOT_ALLOWED, with the reason) and Teamtailor
        gets a plain-text error it shows on the card. Judged with the API host this very call's
        ``Teamtailor-Host`` brings (already checked to stay in the connection's region)."""
        url = webhooks.partner_update_url(body)
        if not url or update_url_allowed(connection, url, api_host=headers.api_host):
            return
        from .services import teamtailor_partner_event_refuse

        try:
            host = urlsplit(url).hostname or ""
        except ValueError:
            host = ""
        reason = (
            f"update-url host \"{printable(host or url)}\" is not a Teamtailor API host of the connection's "
            f"region ({auth.connection_region(connection) or 'none'}): nothing was ordered"
        )
        teamtailor_partner_event_refuse(
            connection=connection, event_id=event_id, headers=stored_headers(request), raw_body=raw_body,
            error_code=ErrorCode.HOST_NOT_ALLOWED, reason=reason,
        )
        logger.warning("connection %s: partner event refused: %s", connection.pk, reason)
        raise InboundRejected(422, UPDATE_URL_REFUSED, plain_text=True)

    def verify_action(self, request: HttpRequest, *, raw_body: bytes) -> VerifiedAction:
        """A result-card action click. Signed like the trigger: the docs say the click carries "the
        same partner event as originally sent", so the signature covers that event's id. For a
        result we created ourselves (no original event) the docs are silent: the signature is then
        checked over the partner-result id."""

        def signed_id(body: Any) -> str:
            target = webhooks.action_target(body)
            return target.partner_event_id or target.partner_result_id

        connection, body = self._partner_connection(request, raw_body=raw_body, signed_id=signed_id)
        if trigger_signature_seen(request):
            # The trigger's own signed request, replayed at an action endpoint: not a click.
            logger.warning("connection %s: a trigger's signature was replayed as a result-card click", connection.pk)
            raise InboundRejected(401, UNAUTHORIZED)
        target = webhooks.action_target(body)
        headers = self.partner_headers(request, connection=connection)
        return VerifiedAction(connection=connection, target=target, headers=headers)

    def _verify_company(self, request: HttpRequest, *, raw_body: bytes) -> VerifiedInbound:
        body = _body(raw_body)
        try:
            event_name, data = webhooks.company_payload(body)
        except PayloadError as exc:
            raise InboundRejected(400, f"{exc.message}.") from None
        connection = None
        for candidate in self._company_connections(request, data):
            credentials = candidate.credentials or {}
            if auth.company_signature_valid(
                request.headers.get("TT-Signature", ""),
                secret=str(credentials.get("company_webhook_secret") or ""),
                raw_body=raw_body,
                data_id=str(data.get("id")),
                allow_v1=auth.truthy(credentials.get("allow_signature_v1")),
            ):
                connection = candidate
                break
        if connection is None:
            raise InboundRejected(401, UNAUTHORIZED)
        event_id = webhooks.company_event_id(
            connection_id=connection.pk, event_name=event_name, data=data, raw_body=raw_body
        )
        return VerifiedInbound(connection=connection, event_id=event_id, event_type=event_name, payload=body)

    @staticmethod
    def _company_connections(request: HttpRequest, data: dict[str, Any]) -> list[Connection]:
        """Whose webhook this may be: the Bearer provider key's connection when Teamtailor sends
        one, else the company uuid's (``?company_id=`` in the URL we gave Teamtailor, or the
        payload's ``company-uuid``). Without either, every live Teamtailor connection: the
        per-company secret that verifies the signature then names the connection."""
        key = auth.bearer_token(request)
        if key:
            found = auth.connection_for_provider_key(key)
            return [found] if found is not None else []
        live = (
            Connection.objects.select_related("tenant")
            .filter(provider=auth.PROVIDER_NAME, tenant__active=True)
            .exclude(status=ConnectionStatus.DISCONNECTED)
        )
        company = (request.GET.get("company_id") or request.GET.get("company") or webhooks.company_uuid(data)).strip()
        if company:
            return list(live.filter(remote_account_id=company)[:1])
        return list(live.order_by("id")[:MAX_SIGNATURE_CANDIDATES])

    def acknowledge(self, event: WebhookEvent, *, duplicate: bool) -> HttpResponse:
        return JsonResponse({"received": True, "duplicate": duplicate}, status=200)

    def parse(self, event: WebhookEvent) -> list[NormalizedEvent]:
        try:
            body = json.loads(bytes(event.raw_body))
        except (ValueError, UnicodeDecodeError):
            raise PayloadError("the stored body is not valid JSON") from None
        if event.event_type.startswith(ACTION_EVENT_PREFIX):
            # A click's effect happened in the request (services.teamtailor_action_perform); the
            # row is its record, and reprocessing it must not repeat the effect.
            return []
        try:
            if event.event_type == webhooks.PARTNER_EVENT_TYPE:
                ordered = webhooks.assessment_ordered_from_partner_event(body)
                if event.connection is not None and ordered.callback_url and not update_url_allowed(
                    event.connection, ordered.callback_url
                ):
                    # Refused at intake; an admin's "reprocess" must not order it either.
                    raise EventFailed(ErrorCode.HOST_NOT_ALLOWED, "the update-url is not a Teamtailor API host of the connection's region")
                return [ordered]
            events: list[NormalizedEvent] = []
            for item in webhooks.company_webhook_parse(body):
                if isinstance(item, webhooks.ApplicationNudge):
                    events.extend(self._application_events(event.connection, item.remote_application_id))
                else:
                    events.append(item)
            return events
        except PayloadError:
            raise
        except (KeyError, TypeError, AttributeError) as exc:
            raise PayloadError(f"unexpected payload shape: {type(exc).__name__}") from None

    @staticmethod
    def _application_events(connection: Connection | None, application_id: str) -> list[NormalizedEvent]:
        """A ``job_application`` webhook carries no stage or candidate id (TEAMTAILOR.md): read the
        application from the public API, with its stage, candidate and job. What makes this
        impossible fails the event with the reason (shown in the admin); an ATS outage is retried."""
        if connection is None:
            raise EventFailed(ErrorCode.UNKNOWN_CONNECTION, "job application webhook without a connection")
        if not (connection.credentials or {}).get("api_key"):
            raise EventFailed(
                ErrorCode.AUTH_FAILED,
                "no Teamtailor API key is stored for this connection: the job application (its stage and "
                "candidate are not in Teamtailor's webhook) cannot be read",
            )
        try:
            document = public_client_for(connection).get_json(
                f"job-applications/{quote(application_id, safe='')}", params={"include": webhooks.APPLICATION_INCLUDE}
            )
        except BadRequest as exc:
            if exc.status_code == 404:
                raise EventFailed(
                    ErrorCode.BAD_PAYLOAD, f"job application {printable(application_id)} no longer exists in Teamtailor"
                ) from None
            raise
        return webhooks.events_from_application(document)

    # --- write-back -------------------------------------------------------------------------
    def delivery_for(self, *, connection: Connection, assessment: Assessment, to_status: str) -> DeliverySpec | None:
        attributes = attributes_for(assessment, to_status)
        if attributes is None:
            return None
        link = assessment_link_get_or_create(assessment=assessment, connection=connection)
        channel = DeliveryChannel.RESULT if link.update_url else DeliveryChannel.NOTE
        return DeliverySpec(channel=channel, payload={"assessment_status": str(to_status), "attributes": attributes})

    def deliver(self, delivery: Delivery) -> WriteBackResult:
        connection = delivery.connection
        assessment = Assessment.objects.select_related("package").get(pk=delivery.assessment_id)
        attributes = dict((delivery.payload or {}).get("attributes") or {})
        if not attributes:
            raise BadRequest("the delivery has no partner-result attributes")
        if attributes.get("status") == "completed":
            attributes["url"] = assessment_report_url(assessment=assessment)
        client = partner_client_for(connection)
        link = assessment_link_get_or_create(assessment=assessment, connection=connection)
        if link.update_url:
            result_id = link.remote_result_id or link.remote_order_id
            client.partner_result_update(result_id=result_id, attributes=attributes, update_url=link.update_url)
            return WriteBackResult(status_code=200, remote_refs={PARTNER_RESULT_REF: result_id})
        result_id = self._trigger_result(client=client, link=link, attributes=attributes)
        return WriteBackResult(status_code=200, remote_refs={PARTNER_RESULT_REF: result_id})

    def _trigger_result(self, *, client: PartnerApiClient, link: AssessmentLink, attributes: dict[str, Any]) -> str:
        """Trigger mode: update the partner result we created earlier, or create it now. Move rules
        in Teamtailor run only on an update, so a final status is always sent as an update too."""
        if not link.remote_candidate_id:
            raise BadRequest("a trigger-mode write-back needs the Teamtailor candidate id")
        with transaction.atomic():
            # The lock on the link makes concurrent deliveries of one assessment create one result.
            locked = AssessmentLink.objects.select_for_update().get(pk=link.pk)
            result_id = locked.remote_result_id
            if not result_id:
                # Refs the outbox stored from earlier sent deliveries (the link is written first).
                result_id = assessment_remote_refs(assessment=locked.assessment).get(PARTNER_RESULT_REF, "")
            if not result_id:
                created = client.partner_result_create(
                    candidate_id=locked.remote_candidate_id, job_id=locked.remote_job_id, attributes=attributes
                )
                result_id = str((created.get("data") or {}).get("id") or "")
                if not result_id:
                    raise BadRequest("Teamtailor created a partner result without an id")
                assessment_link_result_set(link=locked, remote_result_id=result_id)
                if attributes.get("status") not in ("completed", "failed"):
                    return result_id
        client.partner_result_update(result_id=result_id, attributes=attributes)
        return result_id

    # --- reads ------------------------------------------------------------------------------
    def candidate_fetch(self, connection: Connection, *, remote_candidate_id: str) -> Candidate | None:
        if not (connection.credentials or {}).get("api_key"):
            return None  # without the company's API key the public API cannot be asked
        try:
            body = public_client_for(connection).candidate(remote_candidate_id, include="")
        except BadRequest as exc:
            if exc.status_code == 404:
                return None
            raise
        data = body.get("data") if isinstance(body, dict) else None
        return webhooks.candidate_from(data) if isinstance(data, dict) else None

    def job_fetch(self, connection: Connection, *, remote_job_id: str) -> JobChanged | None:
        if not (connection.credentials or {}).get("api_key"):
            return None
        try:
            body = public_client_for(connection).get_json(f"jobs/{remote_job_id}")
        except BadRequest as exc:
            if exc.status_code == 404:
                return None
            raise
        data = body.get("data") if isinstance(body, dict) else None
        return webhooks.job_from(data) if isinstance(data, dict) else None

    def validate_credentials(self, connection: Connection) -> None:
        if not (connection.credentials or {}).get("api_key"):
            raise AuthFailed("no Teamtailor API key is stored for this connection")
        public_client_for(connection).validate_credentials()

    def pages(self, connection: Connection, *, kind: str, cursor: str | None) -> Iterator[Page]:
        """Raw JSON:API resources, one ``Page`` per Teamtailor page; ``cursor`` is an updated-at /
        changed-stage-at lower bound (ISO 8601) and ``next_cursor`` the newest one seen."""
        client = public_client_for(connection)
        if kind == "jobs":
            source = client.jobs(updated_from=cursor or "")
            field = "updated-at"
        elif kind == "candidates":
            source = client.candidates(updated_from=cursor or "")
            field = "updated-at"
        elif kind == "applications":
            source = client.job_applications(changed_stage_from=cursor or "", include="stage")
            field = "changed-stage-at"
        elif kind == "stages":
            yield from self._stage_pages(client)
            return
        else:
            raise ValueError(f"unknown page kind {kind!r}")
        newest = cursor
        for page in source:
            items = page.get("data") or []
            for item in items:
                value = (item.get("attributes") or {}).get(field)
                if value and (newest is None or value > newest):
                    newest = value
            yield Page(kind=kind, items=items, next_cursor=newest)

    @staticmethod
    def _stage_pages(client: PublicApiClient) -> Iterator[Page]:
        for jobs_page in client.jobs():
            for job in jobs_page.get("data") or []:
                for page in client.job_stages(str(job.get("id"))):
                    items = []
                    for stage in page.get("data") or []:
                        stage = dict(stage)
                        stage["job_id"] = str(job.get("id"))
                        items.append(stage)
                    yield Page(kind="stages", items=items, next_cursor=None)


provider = provider_register(TeamtailorProvider())
