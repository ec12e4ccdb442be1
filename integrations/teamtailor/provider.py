"""Teamtailor behind the provider seam: inbound authentication (partner trigger and company
webhooks), parsing into normalized events (parsing.py), the partner-result write-back
(writeback.py: the ATS's ids live on the integration's ``AssessmentLink``) and the reads the
shared machinery asks for. The provider never writes the assessments app's tables."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from urllib.parse import quote, urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from assessments.models import Assessment, Package
from integrations.errors import AuthFailed, BadRequest, EventFailed, PayloadError
from integrations import inbound_cache
from integrations.http import host_allowed
from integrations.models import Connection, ConnectionStatus, Delivery, ErrorCode, WebhookEvent
from integrations.ratelimit import Rate
from integrations.providers import (
    Candidate,
    JobChanged,
    DeliverySpec,
    InboundRejected,
    NormalizedEvent,
    Page,
    Provider,
    RowWrite,
    SyncedApplication,
    SyncedCandidate,
    SyncedJob,
    SyncedStage,
    VerifiedInbound,
    WriteBackResult,
    provider_register,
)
from integrations.webhooks import json_answer, stored_headers
from tenants.logsafe import log_safe

from . import auth, parsing, writeback
from .client import PublicApiClient, allowed_hosts_for, public_client_for
from .constants import ACTION_EVENT_PREFIX, KIND_COMPANY, KIND_PARTNER, REGION_REFUSED, UNAUTHORIZED, UPDATE_URL_REFUSED
from .services import teamtailor_partner_headers_record

logger = logging.getLogger(__name__)

# Company webhooks that name no company are matched by signature against at most this many connections.
MAX_SIGNATURE_CANDIDATES = 1000


def _body(raw_body: bytes) -> Any:
    try:
        return json.loads(raw_body)
    except (ValueError, UnicodeDecodeError):
        raise InboundRejected(400, "The body is not valid JSON.") from None


@dataclass(frozen=True)
class VerifiedAction:
    connection: Connection
    target: parsing.ActionTarget
    headers: auth.PartnerHeaders


def record_partner_headers(*, connection: Connection, headers: auth.PartnerHeaders) -> None:
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


def trigger_signature_writes(request: HttpRequest) -> tuple[RowWrite, ...]:
    """The trigger's signature, remembered with its event (an action never accepts it)."""
    from .services import TRIGGER_SIGNATURE_KIND, teamtailor_signature_write

    fingerprint = auth.partner_signature_fingerprint(request.headers.get("Teamtailor-Signature", ""))
    return (teamtailor_signature_write(fingerprint=fingerprint, kind=TRIGGER_SIGNATURE_KIND),) if fingerprint else ()


def trigger_signature_seen(request: HttpRequest) -> bool:
    from .selectors import signature_kind
    from .services import TRIGGER_SIGNATURE_KIND

    fingerprint = auth.partner_signature_fingerprint(request.headers.get("Teamtailor-Signature", ""))
    return bool(fingerprint) and signature_kind(fingerprint=fingerprint) == TRIGGER_SIGNATURE_KIND


# The partner and company webhooks' answer, by whether the event was a duplicate.
_ACKNOWLEDGED = {duplicate: json.dumps({"received": True, "duplicate": duplicate}).encode() for duplicate in (False, True)}


class TeamtailorProvider(Provider):
    name = auth.PROVIDER_NAME
    urls = "integrations.teamtailor.urls"
    app_urls = "integrations.teamtailor.app_urls"
    supports_stage_move = True

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
        company = parsing.partner_company_uuid(body)
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
        connection, body = self._partner_connection(request, raw_body=raw_body, signed_id=parsing.partner_event_id)
        event_id = parsing.partner_event_id(body)
        headers = self.partner_headers(request, connection=connection)
        package_id = parsing.partner_package_id(body)
        if not package_id:
            raise InboundRejected(400, "Choose a Stagehook interview package in the trigger.")
        # From the brief in-process cache when it was found active a moment ago (cleared on every
        # package change; processing checks it again, so a package deactivated within the cache's
        # seconds fails the event instead of being refused at intake).
        if not package_id.isdigit() or not inbound_cache.cached(
            "package", f"{connection.tenant_id}:{int(package_id)}",
            lambda: Package.objects.filter(pk=int(package_id), tenant_id=connection.tenant_id, active=True).exists() or None,
        ):
            raise InboundRejected(400, "The chosen Stagehook interview package is not available.")
        self._check_update_url(
            request, connection=connection, body=body, event_id=event_id, raw_body=raw_body, headers=headers
        )
        # Only now, with the call accepted: a rejected call changes nothing. The signature is
        # stored with the event, in the same statement.
        record_partner_headers(connection=connection, headers=headers)
        return VerifiedInbound(
            connection=connection, event_id=event_id, event_type=parsing.PARTNER_EVENT_TYPE, payload=body,
            writes=trigger_signature_writes(request),
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
        url = parsing.partner_update_url(body)
        if not url or update_url_allowed(connection, url, api_host=headers.api_host):
            return
        from .services import teamtailor_partner_event_refuse

        try:
            host = urlsplit(url).hostname or ""
        except ValueError:
            host = ""
        reason = (
            f"update-url host \"{log_safe(host or url)}\" is not a Teamtailor API host of the connection's "
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
            target = parsing.action_target(body)
            return target.partner_event_id or target.partner_result_id

        connection, body = self._partner_connection(request, raw_body=raw_body, signed_id=signed_id)
        if trigger_signature_seen(request):
            # The trigger's own signed request, replayed at an action endpoint: not a click.
            logger.warning("connection %s: a trigger's signature was replayed as a result-card click", connection.pk)
            raise InboundRejected(401, UNAUTHORIZED)
        target = parsing.action_target(body)
        headers = self.partner_headers(request, connection=connection)
        return VerifiedAction(connection=connection, target=target, headers=headers)

    def _verify_company(self, request: HttpRequest, *, raw_body: bytes) -> VerifiedInbound:
        body = _body(raw_body)
        try:
            event_name, data = parsing.company_payload(body)
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
        event_id = parsing.company_event_id(
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
        def live():  # built only when asked: a cached answer needs no queryset
            return (
                Connection.objects.select_related("tenant")
                .filter(provider=auth.PROVIDER_NAME, tenant__active=True)
                .exclude(status=ConnectionStatus.DISCONNECTED)
            )

        company = (request.GET.get("company_id") or request.GET.get("company") or parsing.company_uuid(data)).strip()
        if company:
            found = inbound_cache.cached("teamtailor:company", company, lambda: live().filter(remote_account_id=company).first())
            return [found] if found is not None else []
        return list(live().order_by("id")[:MAX_SIGNATURE_CANDIDATES])

    def acknowledge(self, event: WebhookEvent, *, duplicate: bool) -> HttpResponse:
        return json_answer(_ACKNOWLEDGED[duplicate])

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
            if event.event_type == parsing.PARTNER_EVENT_TYPE:
                ordered = parsing.assessment_ordered_from_partner_event(body)
                if event.connection is not None and ordered.callback_url and not update_url_allowed(
                    event.connection, ordered.callback_url
                ):
                    # Refused at intake; an admin's "reprocess" must not order it either.
                    raise EventFailed(ErrorCode.HOST_NOT_ALLOWED, "the update-url is not a Teamtailor API host of the connection's region")
                return [ordered]
            events: list[NormalizedEvent] = []
            for item in parsing.company_webhook_parse(body):
                if isinstance(item, parsing.ApplicationNudge):
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
                f"job-applications/{quote(application_id, safe='')}", params={"include": parsing.APPLICATION_INCLUDE}
            )
        except BadRequest as exc:
            if exc.status_code == 404:
                raise EventFailed(
                    ErrorCode.BAD_PAYLOAD, f"job application {log_safe(application_id)} no longer exists in Teamtailor"
                ) from None
            raise
        return parsing.events_from_application(document)

    # --- write-back -------------------------------------------------------------------------
    def delivery_for(self, *, connection: Connection, assessment: Assessment, to_status: str) -> DeliverySpec | None:
        return writeback.delivery_spec_for(connection=connection, assessment=assessment, to_status=to_status)

    def deliver(self, delivery: Delivery) -> WriteBackResult:
        return writeback.deliver(delivery)

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
        return parsing.candidate_from(data) if isinstance(data, dict) else None

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
        return parsing.job_from(data) if isinstance(data, dict) else None

    def validate_credentials(self, connection: Connection) -> None:
        if not (connection.credentials or {}).get("api_key"):
            raise AuthFailed("no Teamtailor API key is stored for this connection")
        public_client_for(connection).validate_credentials()

    # --- sync -------------------------------------------------------------------------------
    # No share of its own: the sync takes slots of the key's limit like every caller (see
    # Provider.sync_rate), so it runs at the whole rate when nothing else waits.

    def attention_fix(self, connection: Connection) -> str:
        return ("Check the company API key Stagehook was given in Teamtailor: if it was revoked, create a new one "
                "and enter it in Stagehook's activation form again (or ask your Stagehook administrator); then run a sync.")

    def sync_unavailable(self, connection: Connection) -> str:
        if not (connection.credentials or {}).get("api_key"):
            return "no Teamtailor API key is stored (the sync reads the company's public API)"
        return super().sync_unavailable(connection)

    def pages(self, connection: Connection, *, kind: str, cursor: str | None) -> Iterator[Page]:
        """Jobs and stages in full every time (few; Teamtailor's jobs carry no updated-at);
        candidates and job applications changed since ``cursor`` by updated-at (a rejection
        changes an application's updated-at, not its changed-stage-at), oldest first."""
        client = public_client_for(connection)
        if kind == "jobs":
            for page in client.paginate("jobs"):
                yield Page(kind=kind, items=[sync_job(item) for item in page.get("data") or []], next_cursor=None)
        elif kind == "stages":
            yield from self._stage_pages(client)
        elif kind == "candidates":
            yield from _changed_pages(client, "candidates", kind=kind, since=cursor, convert=sync_candidate)
        elif kind == "applications":
            yield from _changed_pages(
                client, "job-applications", kind=kind, since=cursor, convert=sync_application,
                params={"include": "candidate,job,stage"},
            )
        else:
            raise ValueError(f"unknown page kind {kind!r}")

    @staticmethod
    def _stage_pages(client: PublicApiClient) -> Iterator[Page]:
        for jobs_page in client.paginate("jobs"):
            for job in jobs_page.get("data") or []:
                job_id = str(job.get("id"))
                position = 0
                for page in client.job_stages(job_id):  # in pipeline (row-order) order
                    items = []
                    for stage in page.get("data") or []:
                        items.append(sync_stage(stage, job_id=job_id, position=position))
                        position += 1
                    yield Page(kind="stages", items=items, next_cursor=None)


def _changed_pages(
    client: PublicApiClient, path: str, *, kind: str, since: str | None, convert, params=None
) -> Iterator[Page]:
    newest = None
    for page in client.paginate_changed(path, since=since or "", field="updated-at", params=params):
        items = [convert(item) for item in page.get("data") or []]
        for item in items:
            if item.remote_updated_at is not None and (newest is None or item.remote_updated_at > newest):
                newest = item.remote_updated_at
        yield Page(kind=kind, items=items, next_cursor=newest.isoformat() if newest else None)


def _when(value: Any):
    return parsing._datetime(value)


def sync_job(data: dict[str, Any]) -> SyncedJob:
    job = parsing.job_from(data)
    return SyncedJob(
        remote_id=job.remote_job_id, title=job.title[:300], status=job.status[:64],
        remote_updated_at=_when(parsing.attr(data, "updated-at")),
    )


def sync_stage(data: dict[str, Any], *, job_id: str, position: int = 0) -> SyncedStage:
    return SyncedStage(
        remote_id=str(data.get("id")), name=str(parsing.attr(data, "name") or "")[:200], remote_job_id=job_id,
        position=position,
        stage_type=str(parsing.attr(data, "stage-type") or "")[:64],
        remote_updated_at=_when(parsing.attr(data, "updated-at")),
    )


def sync_candidate(data: dict[str, Any]) -> SyncedCandidate:
    candidate = parsing.candidate_from(data)
    return SyncedCandidate(
        remote_id=candidate.remote_id, first_name=candidate.first_name[:150], last_name=candidate.last_name[:150],
        email=candidate.email[:254], phone=candidate.phone[:40],
        remote_updated_at=_when(parsing.attr(data, "updated-at")),
    )


def sync_application(data: dict[str, Any]) -> SyncedApplication:
    return SyncedApplication(
        remote_id=str(data.get("id")),
        remote_candidate_id=parsing.related_id(data, "candidate"),
        remote_job_id=parsing.related_id(data, "job"),
        remote_stage_id=parsing.related_id(data, "stage"),
        rejected_at=_when(parsing.attr(data, "rejected-at")),
        changed_stage_at=_when(parsing.attr(data, "changed-stage-at")),
        remote_updated_at=_when(parsing.attr(data, "updated-at")),
    )


provider = provider_register(TeamtailorProvider())
