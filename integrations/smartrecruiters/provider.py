"""SmartRecruiters behind the provider seam: inbound authentication (our Bearer tokens for orders,
the signed Webhooks API deliveries), parsing into normalized events, the result write-back
(``PATCH`` of the order's results URL + the report PDF), reads and pages of the customer API."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterator
from typing import Any

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone

from assessments.models import Assessment, Mode, Status
from assessments.report_pdf import assessment_report_pdf
from assessments.selectors import assessment_report_url
from integrations import inbound_cache
from integrations.errors import AuthFailed, BadRequest, ClientError, HostNotAllowed, PayloadError, RateLimited
from integrations.models import Connection, Delivery, DeliveryChannel, DeliveryStatus, WebhookEvent
from integrations.ratelimit import Rate
from integrations.providers import (
    Candidate,
    CandidateChanged,
    DeliverySpec,
    InboundRejected,
    JobChanged,
    NormalizedEvent,
    Page,
    Provider,
    StageChanged,
    SyncedApplication,
    SyncedCandidate,
    SyncedJob,
    SyncedStage,
    VerifiedInbound,
    WriteBackResult,
    provider_register,
)
from integrations.webhooks import json_answer

from . import auth, parsing, selectors, writeback
from .client import MESSAGES_PAGE_LIMIT
from .constants import (
    APPLICATION_STATUSES,
    CRED_CLIENT_ID,
    CRED_CLIENT_SECRET,
    CRED_REFRESH_TOKEN,
    CRED_SCOPES,
    CRED_WEBHOOK_KEYS,
    OWN_APP_SCOPES,
    PROVIDER_NAME,
    SUB_STATUS_STATUSES,
)

logger = logging.getLogger(__name__)

KIND_ORDER = "order"
KIND_INLINE = "inline"
KIND_WEBHOOK = "webhook"
EVENT_ORDER = "order"
EVENT_INLINE = "inline_order"
UNAUTHORIZED = "Unauthorized."
OWN_APP_NO_ORDERS = ("This SmartRecruiters company is connected to Stagehook through its own app (trigger mode): "
                     "Stagehook offers no packages and takes no Assessment API orders for it. Interviews start "
                     "from the stage mapping in Stagehook; to order packages, connect through the marketplace.")
ATTACHMENT_REF = "attachment_url"
# Deliveries that name no company are matched by signature against at most this many connections.
MAX_SIGNATURE_CANDIDATES = 1000


# A note whose first try may have reached SmartRecruiters unanswered is looked for in at most
# this many pages of the candidate's messages (newest first), down to messages older than its
# delivery by this much (the two clocks may differ).
NOTE_LOOKUP_PAGES = 5
NOTE_CLOCK_SLACK = dt.timedelta(days=1)
# The shared cache's mark of a note POST under way: a worker killed during it leaves the mark.
NOTE_MARK_TIMEOUT = 30 * 24 * 3600


def note_posting_key(delivery_id: int) -> str:
    return f"smartrecruiters:note-posting:{delivery_id}"


def _maybe_stored(exc: Exception) -> bool:
    """Whether a failed POST may still have been stored by SmartRecruiters: not when nothing was
    sent (the allow-list, our limiter) or SmartRecruiters refused it (a 4xx other than 408)."""
    if isinstance(exc, (HostNotAllowed, RateLimited)):
        return False
    if isinstance(exc, ClientError) and exc.status_code is not None:
        return not (400 <= exc.status_code < 500 and exc.status_code != 408)
    return True


# What the admin does with a held note it looked for and did not find (integrations.admin, Delivery).
RELEASE_HOW = ("select this write-back in the admin (Deliveries) and run “Send a held write-back without its "
               "check”: the note is posted once without looking")


class NoteUnchecked(AuthFailed):
    """A trigger-mode note is held, not posted again: an earlier try may have reached
    SmartRecruiters (its answer was lost) and Stagehook cannot check, because SmartRecruiters
    refuses ``GET /messages`` to a credential whose user is not an ADMINISTRATOR (``refused``), or
    the messages it reads back do not reach the delivery's time (``not_reached``). Posting blind
    could put two notes on the candidate, so the delivery stops dead (an ``AuthFailed``: not
    retried, the connection flagged) with what to look for and what to do; the PDF and the score
    property still go. A re-send checks again and posts the note only if it is missing; the admin's
    "send without its check" (``delivery_release_held``) posts it once without looking."""

    @classmethod
    def refused(cls, *, delivery: Delivery, assessment: Assessment, reference: str, why: str) -> "NoteUnchecked":
        """SmartRecruiters refused the check (``why``): the fix is the role, then a re-send (for an
        own app, re-authorizing also clears the connection's flag)."""
        if auth.is_own_app(delivery.connection):
            first = "give the app's SmartRecruiters user the ADMINISTRATOR role and re-authorize, then re-send"
            how = ("give the SmartRecruiters user who authorized Stagehook the ADMINISTRATOR role (or use an "
                   "administrator) and re-authorize Stagehook (Connections → “Connect SmartRecruiters (own app)”)")
        else:
            first = "ask SmartRecruiters to let the integration read messages, then re-send"
            how = "ask SmartRecruiters to let Stagehook's integration read the company's messages"
        return cls._held(
            delivery, assessment, reference, why=why, first=first,
            then=(f"If you find it there, nothing is missing. If not, {how}, then re-send this write-back: Stagehook "
                  f"looks again and posts the note only if it is not there; or, without that, {RELEASE_HOW}."),
        )

    @classmethod
    def not_reached(cls, *, delivery: Delivery, assessment: Assessment, reference: str) -> "NoteUnchecked":
        """The messages Stagehook reads back did not reach the delivery's time: a person looks."""
        return cls._held(
            delivery, assessment, reference,
            why=f"it is not among the candidate's {NOTE_LOOKUP_PAGES * MESSAGES_PAGE_LIMIT} newest messages, and "
                "Stagehook reads no further",
            first="look for it on the candidate in SmartRecruiters",
            then=f"If you find it there, nothing is missing. If not, {RELEASE_HOW}.",
        )

    @classmethod
    def _held(cls, delivery: Delivery, assessment: Assessment, reference: str, *, why: str, first: str,
              then: str) -> "NoteUnchecked":
        # The fix first: the connection's reason (300 characters) and the write-back list quote this truncated.
        rest = " The PDF report and the score went on." if auth.is_own_app(delivery.connection) else ""
        return cls(
            f"Note held ({writeback.NOTE_REFERENCE_LABEL} {reference}): an earlier try may already be in "
            f"SmartRecruiters, and Stagehook could not check; {first}. Why: the earlier try's answer was lost, and "
            f"{why}; Stagehook does not post the note blind, so that the candidate does not get it twice.{rest} Look "
            f"for the note with “{writeback.NOTE_REFERENCE_LABEL} {reference}” on candidate "
            f"{assessment.remote_candidate_id}. {then}",
            status_code=403,
        )


def _customer_client(connection: Connection):
    """The company's API client, for either kind of connection: the marketplace's customer
    credentials, or an own app's authorization-code tokens (``own_app.AuthorizationCodeTokenSource``:
    refreshed before expiry, a 403 flagged with the permission it lacks)."""
    from .services import customer_client  # services build on this module's parsing

    return customer_client(connection)


class SmartRecruitersProvider(Provider):
    name = PROVIDER_NAME
    urls = "integrations.smartrecruiters.urls"
    connection_urls = "integrations.smartrecruiters.connection_urls"
    # No share of its own: the sync takes slots of the credential's 10 requests/s like every
    # caller (see Provider.sync_rate).
    supports_stage_move = True  # a stage mapping's score rules: PUT .../status

    def sync_unavailable(self, connection: Connection) -> str:
        credentials = connection.credentials or {}
        if auth.is_own_app(connection):
            if not credentials.get(CRED_REFRESH_TOKEN):
                return "the company's own app is not authorized (re-authorize it on the connections page)"
            return super().sync_unavailable(connection)
        if not (credentials.get(CRED_CLIENT_ID) and credentials.get(CRED_CLIENT_SECRET)):
            return "no SmartRecruiters customer credentials are stored (the consent has not completed)"
        return super().sync_unavailable(connection)

    def connection_settings_url(self, connection: Connection) -> str:
        if not auth.is_own_app(connection):
            return ""  # a marketplace connection has nothing to set here (its results go to the order)
        return reverse("smartrecruiters_connection:settings", kwargs={"connection_id": connection.pk})

    # --- the connections page -------------------------------------------------------------------
    def connect_links(self) -> list[tuple[str, str]]:
        return [("Connect SmartRecruiters (own app)", reverse("smartrecruiters:own-app-connect"))]

    def connection_panel(self, connection: Connection) -> dict[str, Any] | None:
        """An own-app connection's card: trigger mode, the permissions granted, re-authorize, disconnect."""
        if not auth.is_own_app(connection):
            return None
        granted = str((connection.credentials or {}).get(CRED_SCOPES) or "").split()
        return {"template": "smartrecruiters/_own_app_panel.html", "context": {
            "granted": granted, "missing": [s for s in OWN_APP_SCOPES.split() if s not in granted],
            "connect_url": reverse("smartrecruiters:own-app-connect"),
            "disconnect_url": reverse("smartrecruiters:own-app-disconnect", args=[connection.pk]),
            "sync_url": f"/app/connections/{connection.pk}/sync/",
        }}

    def attention_fix(self, connection: Connection) -> str:
        if auth.is_own_app(connection):
            return ("Re-authorize Stagehook: \"Connect SmartRecruiters (own app)\" with the same app, granting the "
                    "permission the reason above names (allow it for the app in SmartRecruiters, Settings → Apps & "
                    "Integrations, first if it is not listed there), as a SmartRecruiters user whose system role "
                    "allows what the reason names; then run a sync.")
        return ("Check Stagehook's installation in SmartRecruiters' marketplace (re-approve it if SmartRecruiters asks), "
                "then run a sync.")

    # --- inbound ------------------------------------------------------------------------------
    def verify_inbound(self, request: HttpRequest, *, raw_body: bytes, kind: str) -> VerifiedInbound:
        if kind in (KIND_ORDER, KIND_INLINE):
            connection, order = self.verify_order(request, raw_body=raw_body, inline=kind == KIND_INLINE)
            return VerifiedInbound(connection=connection, event_id=f"order:{order.order_id}",
                                   event_type=EVENT_INLINE if order.inline else EVENT_ORDER, payload=order)
        if kind == KIND_WEBHOOK:
            return self._verify_webhook(request, raw_body=raw_body)
        raise InboundRejected(404, "Unknown SmartRecruiters endpoint.")

    @staticmethod
    def bearer_connection(request: HttpRequest) -> Connection:
        connection = auth.connection_for_bearer(request.headers.get("Authorization", ""))
        if connection is None:
            raise InboundRejected(401, UNAUTHORIZED)
        if auth.is_own_app(connection):
            raise InboundRejected(403, OWN_APP_NO_ORDERS)
        return connection

    def verify_order(self, request: HttpRequest, *, raw_body: bytes, inline: bool) -> tuple[Connection, parsing.Order]:
        connection = self.bearer_connection(request)
        order = parsing.order_parse(parsing.json_object(raw_body), inline=inline)  # 400 naming what is wrong
        if order.company_id != connection.remote_account_id:
            raise InboundRejected(403, "companyId is not the company this token was issued to.")
        if selectors.package_for(connection=connection, package_id=order.package_id) is None:
            raise InboundRejected(404, f"No assessment package with id {order.package_id!r}.")
        return connection, order

    def _verify_webhook(self, request: HttpRequest, *, raw_body: bytes) -> VerifiedInbound:
        headers = request.headers
        event_id = headers.get("event-id", "").strip()
        event_name = headers.get("event-name", "").strip()
        timestamp = headers.get("smartrecruiters-timestamp", "")
        signature = headers.get("smartrecruiters-signature", "")
        if not signature or not auth.timestamp_fresh(timestamp):
            raise InboundRejected(401, UNAUTHORIZED)
        payload = auth.signature_payload(
            timestamp=timestamp, raw_body=raw_body, event_id=headers.get("event-id", ""),
            event_name=headers.get("event-name", ""), event_version=headers.get("event-version", ""),
            link=headers.get("link", ""),
        )
        company_id = (request.GET.get("companyId") or "").strip()[:128]
        if company_id:  # one connection per company: from the brief in-process cache when found a moment ago
            found = inbound_cache.cached(
                "smartrecruiters:company", company_id, lambda: selectors.live_connections(company_id=company_id).first()
            )
            candidates = [found] if found is not None else []
        else:
            candidates = selectors.live_connections().order_by("id")[:MAX_SIGNATURE_CANDIDATES]
        connection = None
        for candidate in candidates:
            keys = [str(k) for k in (candidate.credentials or {}).get(CRED_WEBHOOK_KEYS) or []]
            if auth.signature_valid(header=signature, secrets_=keys, payload=payload):
                connection = candidate
                break
        if connection is None:
            raise InboundRejected(401, UNAUTHORIZED)
        if not event_id or not event_name:
            raise InboundRejected(400, "event-id and event-name headers are required.")
        try:
            body = json.loads(raw_body)
        except (ValueError, UnicodeDecodeError):
            raise InboundRejected(400, "The body is not valid JSON.") from None
        return VerifiedInbound(connection=connection, event_id=f"webhook:{event_id}", event_type=event_name[:100],
                               payload=body)

    def acknowledge(self, event: WebhookEvent, *, duplicate: bool) -> HttpResponse:
        return json_answer(b"{}", status=202)

    def parse(self, event: WebhookEvent) -> list[NormalizedEvent]:
        try:
            body = json.loads(bytes(event.raw_body))
        except (ValueError, UnicodeDecodeError):
            raise PayloadError("the stored body is not valid JSON") from None
        if event.event_type in (EVENT_ORDER, EVENT_INLINE):
            try:
                return [parsing.order_parse(body, inline=event.event_type == EVENT_INLINE).event()]
            except InboundRejected as exc:
                raise PayloadError(exc.message) from None
        if event.connection is None:
            raise PayloadError("a webhook without a connection")
        return self._webhook_events(event, body)

    def _webhook_events(self, event: WebhookEvent, body: Any) -> list[NormalizedEvent]:
        name = event.event_type
        link = parsing.link_url(str((event.headers or {}).get("Link") or (event.headers or {}).get("link") or ""))
        connection = event.connection
        if name in ("application.status.updated", "application.created"):
            application_id, candidate_id, job_id = parsing.application_ids(body)
            if not (candidate_id and job_id):
                raise PayloadError(f"{name} without candidate_id and job_id")
            state = self._current(connection, link, f"candidates/{candidate_id}/jobs/{job_id}")
            status, sub_status = parsing.application_status(state)
            if status not in APPLICATION_STATUSES:
                raise PayloadError(f"application {application_id or candidate_id} has no known status")
            timestamp = (event.headers or {}).get("Smartrecruiters-Timestamp", "")
            changed_at = None
            if str(timestamp).isdigit():
                changed_at = dt.datetime.fromtimestamp(int(timestamp), tz=dt.timezone.utc)
            return [StageChanged(
                remote_application_id=parsing.application_key(candidate_id, job_id), remote_candidate_id=candidate_id,
                remote_job_id=job_id, remote_stage_id=status,
                remote_sub_status=sub_status if status in SUB_STATUS_STATUSES else "", changed_at=changed_at,
            )]
        if name == "candidate.deleted":
            candidate_id = parsing.text((body or {}).get("id") if isinstance(body, dict) else "", 128)
            if not candidate_id:
                raise PayloadError("candidate.deleted without id")
            return [CandidateChanged(candidate=Candidate(remote_id=candidate_id), deleted=True, erase=True)]
        if name.startswith("candidate."):
            candidate_id = parsing.text((body or {}).get("id") if isinstance(body, dict) else "", 128)
            if not candidate_id:
                raise PayloadError(f"{name} without id")
            data = self._current(connection, link, f"candidates/{candidate_id}")
            candidate = parsing.candidate_from(data)
            return [CandidateChanged(candidate=candidate if candidate.remote_id else Candidate(remote_id=candidate_id))]
        if name.startswith("job."):
            job_id = parsing.text(
                ((body or {}).get("id") or (body or {}).get("job_id")) if isinstance(body, dict) else "", 128)
            if not job_id:
                raise PayloadError(f"{name} without id")
            job = parsing.job_from(self._current(connection, link, f"jobs/{job_id}"))
            return [job] if job else []
        return []

    @staticmethod
    def _current(connection: Connection, link: str, path: str) -> Any:
        """The current state: through ``link`` when its host is SmartRecruiters', else the API path."""
        client = _customer_client(connection)
        if link and parsing.api_url_allowed(link):
            return client.get_link(link)
        if link:
            logger.warning("connection %s: webhook link on a host off the allow-list ignored", connection.pk)
        return client.json("GET", path)

    # --- write-back -----------------------------------------------------------------------------
    def delivery_for(self, *, connection: Connection, assessment: Assessment, to_status: str) -> DeliverySpec | None:
        if assessment.mode == Mode.ORDER and assessment.callback_url:
            body = writeback.result_body(assessment, to_status)
            if body is None:
                return None
            return DeliverySpec(channel=DeliveryChannel.RESULT, payload={"assessment_status": str(to_status), "result": body})
        if to_status == Status.COMPLETED and assessment.remote_job_id and assessment.remote_candidate_id:
            return DeliverySpec(channel=DeliveryChannel.NOTE, payload={"assessment_status": str(to_status)})
        return None

    def deliver(self, delivery: Delivery) -> WriteBackResult:
        assessment = Assessment.objects.select_related("package", "tenant").get(pk=delivery.assessment_id)
        client = _customer_client(delivery.connection)
        payload = delivery.payload or {}
        if delivery.channel == DeliveryChannel.NOTE:
            return self._trigger_results(client, delivery, assessment)
        if delivery.channel == DeliveryChannel.STAGE_MOVE:
            return self._stage_move(client, delivery, assessment, payload)
        body = dict(payload.get("result") or {})
        if not body:
            raise BadRequest("the delivery has no result body")
        if not parsing.api_url_allowed(assessment.callback_url):
            raise BadRequest("the order's results URL is not a SmartRecruiters URL")
        completed = body.get("status") == "COMPLETED"
        if completed:
            body["attachments"] = [writeback.report_attachment(assessment_report_url(assessment=assessment))]
        client.result_patch(results_url=assessment.callback_url, body=body)
        refs: dict[str, str] = {}
        if completed and not writeback.is_inline(assessment):
            answer = client.result_attachment(
                results_url=assessment.callback_url, filename=writeback.report_filename(assessment),
                content=assessment_report_pdf(assessment=assessment),
            )
            refs[ATTACHMENT_REF] = str((answer or {}).get("url") or "") if isinstance(answer, dict) else ""
        return WriteBackResult(status_code=200, remote_refs=refs)

    def delivery_release_held(self, delivery: Delivery) -> bool:
        """A note held (``NoteUnchecked``: an earlier POST may have arrived, and Stagehook could not
        look) goes once without looking, on its next send."""
        refs = dict(delivery.remote_refs or {})
        unconfirmed = refs.get(writeback.REF_NOTE_UNCONFIRMED)
        if (delivery.channel not in (DeliveryChannel.NOTE, DeliveryChannel.STAGE_MOVE) or not unconfirmed
                or writeback.REF_NOTE in refs or delivery.status not in (DeliveryStatus.DEAD, DeliveryStatus.FAILED)):
            return False
        delivery.remote_refs = {**refs, writeback.REF_NOTE_RELEASED: unconfirmed}
        delivery.save(update_fields=["remote_refs", "updated_at"])
        return True

    def _stage_move(self, client, delivery: Delivery, assessment: Assessment, payload: dict[str, Any]) -> WriteBackResult:
        """A stage mapping's score rule: move the application (``PUT .../status``, idempotent), or,
        with no target status, leave the rule's note on the candidate, once, as a result's note is
        left (``_note_step``: a note stored whose answer was lost is found, not posted again)."""
        target = writeback.stage_move_target(payload)
        if target is None:
            done, refs = dict(delivery.remote_refs or {}), {}
            if writeback.REF_NOTE not in done:
                body = writeback.rule_note_body(assessment, note=str(payload.get("note") or ""),
                                                reference=writeback.note_reference(delivery))
                try:
                    self._note_step(client, delivery, assessment, done=done, refs=refs, body=body)
                except Exception as exc:
                    exc.remote_refs = refs  # an unconfirmed POST, kept for the retry
                    raise
            return WriteBackResult(status_code=201, remote_refs=refs)
        status, sub_status = target
        client.application_status_set(assessment.remote_candidate_id, assessment.remote_job_id,
                                       status=status, sub_status=sub_status)
        return WriteBackResult(status_code=204, remote_refs={"moved_to_stage_id": f"{status}/{sub_status}".rstrip("/")})

    def _trigger_results(self, client, delivery: Delivery, assessment: Assessment) -> WriteBackResult:
        """Trigger mode: the completed interview as a note on the candidate, shared with the job's
        hiring team; for an own-app connection also the PDF report on the application and, when
        one is chosen, the score in a candidate property. Each step done is kept in the delivery's
        ``remote_refs`` (also when a later step fails: the refs ride on the exception), so a retry
        repeats only what is missing and never posts the note twice: a note whose POST may have
        been stored unanswered is looked for first (``_note_step``); when SmartRecruiters refuses
        that check, the note is held and the other steps still go (``NoteUnchecked``)."""
        done = dict(delivery.remote_refs or {})
        refs: dict[str, str] = {}
        held: NoteUnchecked | None = None
        candidate_id, job_id = assessment.remote_candidate_id, assessment.remote_job_id
        try:
            if writeback.REF_NOTE not in done:
                try:
                    body = writeback.note_body(assessment, report_url=assessment_report_url(assessment=assessment),
                                               reference=writeback.note_reference(delivery))
                    self._note_step(client, delivery, assessment, done=done, refs=refs, body=body)
                except NoteUnchecked as exc:
                    held = exc
            if auth.is_own_app(delivery.connection):
                if writeback.REF_ATTACHMENT not in done:
                    refs[writeback.REF_ATTACHMENT] = self._report_attach(client, delivery, assessment)
                chosen = selectors.score_property_for(connection=delivery.connection)
                value = writeback.property_value(assessment, chosen.score_property_type) if chosen else None
                if chosen and value is not None:
                    ref = writeback.score_property_ref(chosen.score_property_id, value)
                    if done.get(writeback.REF_SCORE_PROPERTY) != ref:
                        self._score_property_set(client, chosen, candidate_id, job_id, value)
                        refs[writeback.REF_SCORE_PROPERTY] = ref
        except Exception as exc:
            exc.remote_refs = refs  # the steps that went through (integrations.deliveries stores them)
            raise
        if held is not None:
            held.remote_refs = refs
            raise held
        return WriteBackResult(status_code=201, remote_refs=refs)

    def _note_step(
        self, client, delivery: Delivery, assessment: Assessment, *, done: dict, refs: dict, body: dict[str, Any]
    ) -> None:
        """The note ``body`` (its ``correlationId`` the delivery's reference), once: found among the
        candidate's messages by its reference when an earlier try may have been stored unanswered
        (``REF_NOTE_UNCONFIRMED``, or the mark a worker killed during the POST left in the shared
        cache), else posted. A POST that fails after it may have been stored leaves
        ``REF_NOTE_UNCONFIRMED`` for the retry."""
        reference = body["correlationId"]
        mark = note_posting_key(delivery.pk)
        unconfirmed = done.get(writeback.REF_NOTE_UNCONFIRMED, "")
        if not unconfirmed and cache.get(mark):  # a killed worker's mark: kept where no cache flush reaches
            unconfirmed = refs[writeback.REF_NOTE_UNCONFIRMED] = writeback.iso(timezone.now())
        if unconfirmed and done.get(writeback.REF_NOTE_RELEASED) == unconfirmed:
            # A person looked and did not find it (``delivery_release_held``): posted once without
            # looking; the release is used up, so a later unconfirmed try is looked for again.
            refs[writeback.REF_NOTE_RELEASED] = f"posted after {unconfirmed}"
        elif unconfirmed:
            found = self._note_find(client, delivery, assessment, reference)
            if found:
                refs[writeback.REF_NOTE] = found
                cache.delete(mark)
                return
        cache.set(mark, "1", timeout=NOTE_MARK_TIMEOUT)  # outlives a worker killed during the call
        try:
            answer = client.message_share(content=body["content"], job_id=assessment.remote_job_id,
                                          correlation_id=body["correlationId"])
        except Exception as exc:
            if _maybe_stored(exc):
                refs[writeback.REF_NOTE_UNCONFIRMED] = writeback.iso(timezone.now())
            else:
                cache.delete(mark)
            raise
        cache.delete(mark)
        refs[writeback.REF_NOTE] = str((answer or {}).get("id") or "") if isinstance(answer, dict) else ""

    @staticmethod
    def _note_find(client, delivery: Delivery, assessment: Assessment, reference: str) -> str:
        """The id of this delivery's note among the candidate's messages for the job ("" when it
        is not there): ``GET /messages`` newest first, up to ``NOTE_LOOKUP_PAGES`` pages, stopping
        at messages older than the delivery (minus a day of clock difference). Raises
        ``NoteUnchecked`` when SmartRecruiters refuses the check (403: the credential's user is no
        ADMINISTRATOR) or the pages end before they reach back that far."""
        candidate_id, job_id = assessment.remote_candidate_id, assessment.remote_job_id
        oldest_possible = delivery.created_at - NOTE_CLOCK_SLACK
        page_id = ""
        for _ in range(NOTE_LOOKUP_PAGES):
            try:
                page = client.messages(candidate_id=candidate_id, job_id=job_id, page_id=page_id)
            except AuthFailed as exc:
                if exc.status_code != 403:
                    raise
                raise NoteUnchecked.refused(delivery=delivery, assessment=assessment, reference=reference,
                                            why=exc.message) from None
            found = writeback.note_id_with_reference(page, reference)
            if found:
                return found
            page_id = str(page.get("nextPageId") or "")
            if not page_id or not page.get("content") or writeback.messages_reach_back_to(page, oldest_possible):
                return ""
        raise NoteUnchecked.not_reached(delivery=delivery, assessment=assessment, reference=reference)

    @staticmethod
    def _report_attach(client, delivery: Delivery, assessment: Assessment) -> str:
        """The report PDF on the application (``GENERIC_FILE``); its attachment id. A retry first
        looks for the file by name: an earlier attempt may have stored it without our hearing the
        answer (a timeout)."""
        filename = writeback.report_filename(assessment)
        candidate_id, job_id = assessment.remote_candidate_id, assessment.remote_job_id
        if delivery.attempts or delivery.attempt_rows.exists():  # a retry, or a re-send (attempts reset)
            found = writeback.attachment_id_named(client.application_attachments(candidate_id, job_id), filename)
            if found:
                return found
        answer = client.application_attachment_add(
            candidate_id, job_id, filename=filename, content=assessment_report_pdf(assessment=assessment),
            attachment_type=writeback.ATTACHMENT_TYPE,
        )
        return str((answer or {}).get("id") or "") if isinstance(answer, dict) else ""

    @staticmethod
    def _score_property_set(client, chosen, candidate_id: str, job_id: str, value: Any) -> None:
        try:
            client.application_property_set(candidate_id, job_id, chosen.score_property_id, value=value)
        except BadRequest as exc:
            if exc.status_code != 404:
                raise
            label = chosen.score_property_label or chosen.score_property_id
            raise BadRequest(
                f"SmartRecruiters no longer has the score property {label!r} (or this application): choose "
                f"another in the connection's settings, then re-send this write-back ({exc.message})",
                status_code=404,
            ) from None

    # --- reads ----------------------------------------------------------------------------------
    def candidate_fetch(self, connection: Connection, *, remote_candidate_id: str) -> Candidate | None:
        try:
            data = _customer_client(connection).candidate(remote_candidate_id)
        except BadRequest as exc:
            if exc.status_code == 404:
                return None
            raise
        candidate = parsing.candidate_from(data)
        return candidate if candidate.remote_id else None

    def job_fetch(self, connection: Connection, *, remote_job_id: str) -> JobChanged | None:
        try:
            data = _customer_client(connection).job(remote_job_id)
        except BadRequest as exc:
            if exc.status_code == 404:
                return None
            raise
        return parsing.job_from(data)

    def validate_credentials(self, connection: Connection) -> None:
        next(iter(_customer_client(connection).jobs()), None)

    def pages(self, connection: Connection, *, kind: str, cursor: str | None) -> Iterator[Page]:
        """The customer API as the sync engine's normalized records, one ``Page`` per
        SmartRecruiters page. ``cursor`` is an ``updatedAfter`` bound (ISO 8601) and
        ``next_cursor`` the newest ``updatedOn`` seen. Stages: the fixed statuses plus each hiring
        process's sub-statuses. Applications: the candidates' primary assignments (SmartRecruiters
        lists no applications of its own)."""
        client = _customer_client(connection)
        if kind == "stages":
            yield Page(kind="stages", items=[_synced_stage(item) for item in self._stages(client)], next_cursor=None)
            return
        if kind == "applications":
            yield from self._application_pages(client, cursor)
            return
        if kind == "candidates":
            source, convert = client.candidates(updated_after=cursor or ""), _synced_candidate
        elif kind == "jobs":
            source, convert = client.jobs(updated_after=cursor or ""), _synced_job
        else:
            raise ValueError(f"unknown page kind {kind!r}")
        newest = cursor
        for page in source:
            items = [item for item in page.get("content") or [] if isinstance(item, dict) and item.get("id")]
            for item in items:
                value = item.get("updatedOn")
                if isinstance(value, str) and (newest is None or value > newest):
                    newest = value
            yield Page(kind=kind, items=[convert(item) for item in items], next_cursor=newest)

    @staticmethod
    def _application_pages(client, cursor: str | None) -> Iterator[Page]:
        """Applications as the candidate pages carry them (``primaryAssignment``: job, status,
        sub-status), keyed like the webhooks key them (``parsing.application_key``)."""
        newest = cursor
        for page in client.candidates(updated_after=cursor or ""):
            items = []
            for candidate in page.get("content") or []:
                item = parsing.application_from_candidate(candidate)
                if item is None:
                    continue
                items.append(SyncedApplication(
                    remote_id=item["id"], remote_candidate_id=item["candidate_id"], remote_job_id=item["job_id"],
                    remote_stage_id=item["status"], remote_sub_status=item["subStatus"],
                    remote_updated_at=parsing.parse_time(item["updatedOn"]),
                ))
                if item["updatedOn"] and (newest is None or item["updatedOn"] > newest):
                    newest = item["updatedOn"]
            yield Page(kind="applications", items=items, next_cursor=newest)

    @staticmethod
    def _stages(client) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = [
            {"id": status, "name": status.replace("_", " ").title(), "position": n, "sub_status": ""}
            for n, status in enumerate(APPLICATION_STATUSES)
        ]
        processes = client.hiring_processes()
        content = processes.get("content") if isinstance(processes, dict) else processes
        seen = set()
        for process in content or []:
            if not isinstance(process, dict):
                continue
            subs = process.get("subStatuses")
            if not isinstance(subs, dict) and process.get("id"):
                subs = (client.hiring_process(str(process["id"])) or {}).get("subStatuses")
            for status, names in (subs or {}).items() if isinstance(subs, dict) else ():
                for name in names or []:
                    label = name.get("label") or name.get("name") if isinstance(name, dict) else name
                    key = (status, str(label))
                    if status in SUB_STATUS_STATUSES and label and key not in seen:
                        seen.add(key)
                        items.append({"id": f"{status}/{label}", "name": f"{status.title()}: {label}",
                                      "position": APPLICATION_STATUSES.index(status), "status": status,
                                      "sub_status": str(label)})
        return items


provider = provider_register(SmartRecruitersProvider())


# --- sync records ----------------------------------------------------------------------------------
# Statuses the mapping wizard and the trigger rules treat as closed applications.
CLOSED_STAGE_TYPES = {"REJECTED": "rejected", "WITHDRAWN": "withdrawn"}


def _synced_stage(item: dict[str, Any]) -> SyncedStage:
    sub_status = str(item.get("sub_status") or "")
    return SyncedStage(
        remote_id=item["id"], name=item["name"][:200], position=int(item.get("position") or 0),
        stage_type=CLOSED_STAGE_TYPES.get(item["id"], ""),
        # A sub-status is a sub-stage of its status: mapped as (status, sub-status), the pair
        # applications and webhooks carry.
        parent_remote_id=str(item.get("status") or "") if sub_status else "", sub_status=sub_status,
    )


def _synced_candidate(item: dict[str, Any]) -> SyncedCandidate:
    candidate = parsing.candidate_from(item)
    return SyncedCandidate(
        remote_id=candidate.remote_id, first_name=candidate.first_name, last_name=candidate.last_name,
        email=candidate.email, phone=candidate.phone, remote_updated_at=parsing.parse_time(item.get("updatedOn")),
    )


def _synced_job(item: dict[str, Any]) -> SyncedJob:
    job = parsing.job_from(item)
    return SyncedJob(
        remote_id=job.remote_job_id, title=job.title, status=job.status,
        remote_updated_at=parsing.parse_time(item.get("updatedOn")),
    )
