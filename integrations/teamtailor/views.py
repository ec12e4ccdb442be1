"""What Teamtailor calls on our base URL ``/teamtailor/``: the activation form and its validation,
the trigger's config form, the partner webhook and company webhooks (the last two through the
shared intake). Thin: authenticate, call one service or selector, translate."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from integrations.webhooks import webhook_receive

from . import auth, selectors, services
from .provider import KIND_COMPANY, KIND_PARTNER
from .webhooks import FIELD_PACKAGE, FIELD_THRESHOLD

CONNECTION_TOKEN_FIELD = "connection_token"


def _errors(status: int, *messages: str) -> JsonResponse:
    """Teamtailor shows ``{"errors": [...]}`` to the admin on the activation form."""
    return JsonResponse({"errors": list(messages)}, status=status)


@require_GET
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


@require_GET
def activation_validate(request: HttpRequest) -> JsonResponse:
    """Teamtailor saved the activation form: the Bearer provider key carries the filled form."""
    try:
        result = services.teamtailor_activation_bind(
            provider_key=auth.bearer_token(request),
            teamtailor_host=request.headers.get("Teamtailor-Host", ""),
            company_id=(request.GET.get("company_id") or "").strip()[:128],
            query_token=(request.GET.get(CONNECTION_TOKEN_FIELD) or "").strip(),
        )
    except services.ActivationError as exc:
        return _errors(exc.status, exc.message)
    return JsonResponse({"status": "active", "created": result.created})


def _config_error(message: str, status: int) -> JsonResponse:
    field = {"type": "error", "message": message, "required": "true"}
    return JsonResponse({"config": {"fields": [field]}, "errors": [message]}, status=status)


@require_GET
def config(request: HttpRequest) -> JsonResponse:
    """The fields of the "Send Stagehook interview" trigger for the provider key's tenant. Job and
    stage ids are context only (absent in bulk mode): every active package is offered."""
    connection = auth.connection_for_provider_key(auth.bearer_token(request))
    if connection is None:
        return _config_error("This Teamtailor account is not connected to Stagehook. Activate the integration again.", 401)
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
