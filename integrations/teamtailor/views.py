"""What Teamtailor calls on our base URL ``/teamtailor/``: the activation form and its validation,
the trigger's config form, the partner webhook and company webhooks (the last two through the
shared intake), and the result-card actions. Thin: authenticate, call one service or selector,
translate."""

from __future__ import annotations

import logging
import uuid
from functools import wraps

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from integrations.providers import InboundRejected, provider_get
from integrations.webhooks import inbound_json_body, json_error, stored_headers, webhook_receive

from tenants.logsafe import log_safe

from . import auth, selectors, services
from .constants import ACTION_BUTTONS, KIND_COMPANY, KIND_PARTNER, REGION_REFUSED
from .parsing import FIELD_PACKAGE, FIELD_THRESHOLD
from .writeback import STATUS_MAP, actions_for

logger = logging.getLogger(__name__)

CONNECTION_TOKEN_FIELD = "connection_token"


def require_get(view):
    """GET (and HEAD) only, answered like every ATS entry point: a wrong method is 405 JSON, never
    Django's HTML CSRF page (Teamtailor's calls carry no CSRF token; these views change nothing a
    browser session could be tricked into)."""

    @csrf_exempt
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs):
        if request.method not in ("GET", "HEAD"):
            return json_error(405, "method not allowed: use GET", Allow="GET, HEAD")
        return view(request, *args, **kwargs)

    return wrapped


def _errors(status: int, *messages: str) -> JsonResponse:
    """Teamtailor shows ``{"errors": [...]}`` to the admin on the activation form."""
    return JsonResponse({"errors": list(messages)}, status=status)


@require_get
def activation(request: HttpRequest) -> JsonResponse:
    """Our activation form: where to find the connection token, and the field to paste it in."""
    settings_url = f"{settings.SITE_URL}/app/integrations/teamtailor/"
    fields = [
        {
            "type": "infobox",
            "content": (
                f"Sign in to Stagehook as an admin, open <a href='{settings_url}'>Integrations &gt; Teamtailor</a> "
                "and issue a connection token. Paste it below: it connects this Teamtailor account to your "
                "Stagehook workspace and can be used once."
            ),
            "icon": "info",
        },
        {
            "id": CONNECTION_TOKEN_FIELD,
            "type": "password",
            "label": "Stagehook connection token",
            "required": True,
            "description": "The one-time token from Stagehook (Integrations > Teamtailor).",
        },
    ]
    return JsonResponse({"config": {"fields": fields}, "validateEndpoint": "activation/validate"})


@require_get
def activation_validate(request: HttpRequest) -> JsonResponse:
    """Teamtailor saved the activation form: the Bearer provider key carries the filled form."""
    try:
        result = services.teamtailor_activation_bind(
            provider_key=auth.bearer_token(request),
            teamtailor_host=request.headers.get("Teamtailor-Host", ""),
            company_id=(request.GET.get("company_id") or "").strip()[:128],
            query_token=(request.GET.get(CONNECTION_TOKEN_FIELD) or "").strip(),
        )
    except InboundRejected as exc:
        return _errors(exc.status, exc.message)
    return JsonResponse({"status": "active", "created": result.created})


def _config_error(message: str, status: int) -> JsonResponse:
    field = {"type": "error", "message": message, "required": "true"}
    return JsonResponse({"config": {"fields": [field]}, "errors": [message]}, status=status)


@require_get
def config(request: HttpRequest) -> JsonResponse:
    """The fields of the "Send Stagehook interview" trigger for the provider key's tenant. Job and
    stage ids are context only (absent in bulk mode): every active package is offered."""
    connection = auth.connection_for_provider_key(auth.bearer_token(request))
    if connection is None:
        return _config_error("This Teamtailor account is not connected to Stagehook. Activate the integration again.", 401)
    try:
        headers = provider_get(auth.PROVIDER_NAME).partner_headers(request, connection=connection)
        services.teamtailor_partner_headers_record(connection=connection, headers=headers)
    except (InboundRejected, auth.RegionChangeRefused):
        return _config_error(REGION_REFUSED, 403)
    choices = selectors.trigger_choices(tenant=connection.tenant)
    if not choices.packages:
        return _config_error("There is no active interview package in Stagehook yet. Create one first.", 200)
    fields = [
        {
            "id": FIELD_PACKAGE,
            "label": "Interview package",
            "placeholder": "Select an interview",
            "type": "select",
            "required": True,
            "options": [{"id": str(p.pk), "label": p.name} for p in choices.packages],
        },
        {
            "id": FIELD_THRESHOLD,
            "label": "Pass threshold (optional)",
            "placeholder": "0-100",
            "type": "number",
            "min": 0,
            "max": 100,
            "step": 1,
            "required": False,
        },
    ]
    criteria = [{"id": criterion_id, "label": label} for criterion_id, label in choices.criteria]
    return JsonResponse({"config": {"fields": fields, "assessment-criteria": criteria}})


@csrf_exempt
def webhook(request: HttpRequest) -> HttpResponse:
    """The partner trigger fired: stored by the shared intake, answered at once."""
    return webhook_receive(request, provider_name=auth.PROVIDER_NAME, kind=KIND_PARTNER)


@csrf_exempt
def company_webhooks(request: HttpRequest) -> HttpResponse:
    """Company webhooks (``job_application.update`` etc.) for the trigger mode."""
    return webhook_receive(request, provider_name=auth.PROVIDER_NAME, kind=KIND_COMPANY)


def _action_event_id(request: HttpRequest, *, connection_id: int, name: str) -> str:
    """The inbox id of a click: the connection, the action and the *canonical* signature
    (timestamp, v1 digest) — not the header's spelling, so re-spelling a captured header (hex
    case, spaces, extra ``v0=``/``t=`` parts) or changing the body is the same click again (and
    two clicks within the same second are one intent). Unsigned (local development, no secret
    configured): every click is new."""
    fingerprint = auth.partner_signature_fingerprint(request.headers.get("Teamtailor-Signature", ""))
    if not fingerprint:
        return f"action:{connection_id}:{name}:{uuid.uuid4().hex}"
    return f"action:{connection_id}:{name}:{fingerprint}"


@csrf_exempt
def action(request: HttpRequest, name: str) -> JsonResponse:
    """A recruiter clicked one of our buttons on the partner-result card (``actions/<name>``).
    Not through the shared intake: a click carries the original partner event, whose id the
    intake would take for a duplicate. The same guarantees (405/415/413/401/400, nothing stored on
    rejection); then 404 for an unknown action or interview, 409 when its state forbids the action."""
    raw_body = inbound_json_body(request)
    if isinstance(raw_body, JsonResponse):
        return raw_body
    provider = provider_get(auth.PROVIDER_NAME)
    try:
        verified = provider.verify_action(request, raw_body=raw_body)
    except InboundRejected as exc:
        logger.info("teamtailor action %s rejected: %s %s", log_safe(name, limit=40), exc.status, exc.message)
        return json_error(exc.status, exc.message)
    if name not in ACTION_BUTTONS:
        return json_error(404, f"Unknown Stagehook action \"{log_safe(name, limit=40)}\".")
    target = verified.target
    try:
        assessment = selectors.assessment_for_partner_result(
            connection=verified.connection, partner_result_id=target.partner_result_id,
            candidate_id=target.candidate_id, job_id=target.job_id,
        )
    except selectors.AmbiguousCandidate:
        return json_error(409, "This candidate has several open Stagehook interviews; use the button on the right result.")
    if assessment is None:
        return json_error(404, "This Stagehook interview was not found.")
    try:
        outcome = services.teamtailor_action_perform(
            connection=verified.connection, assessment=assessment, action=name,
            event_id=_action_event_id(request, connection_id=verified.connection.pk, name=name),
            headers=stored_headers(request), raw_body=raw_body, partner_headers=verified.headers,
            signature_fingerprint=auth.partner_signature_fingerprint(request.headers.get("Teamtailor-Signature", "")),
        )
    except InboundRejected as exc:
        if exc.retry_after:
            return json_error(exc.status, exc.message, **{"Retry-After": str(exc.retry_after)})
        return json_error(exc.status, exc.message)
    except auth.RegionChangeRefused:
        return json_error(403, REGION_REFUSED)
    # No partner_result_attributes in the answer on purpose: the outbox is the one ordered channel
    # that writes the card's state (a cancel's "failed" goes out through it), and an answer's
    # snapshot could land after, and overwrite, a newer status the outbox already wrote.
    status = outcome.assessment.status
    return JsonResponse(
        {
            "action": name,
            "message": outcome.message,
            "duplicate": outcome.duplicate,
            "status": STATUS_MAP.get(status, "sending"),
            "actions": actions_for(status),
        }
    )
