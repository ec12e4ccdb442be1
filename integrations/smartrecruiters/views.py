"""What SmartRecruiters (and the customer's admin, for the consent page) calls under
``/smartrecruiters/``. Thin: authenticate, call one service or selector, translate."""

from __future__ import annotations

import json
import logging
from urllib.parse import urlsplit

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from integrations.models import ConnectionStatus
from integrations.providers import InboundRejected, provider_get
from integrations.webhooks import inbound_json_body, json_error, stored_headers, webhook_receive

from . import auth, parsing, selectors, services
from .constants import OUR_SCOPES, PARTNER_FIELDS, PROVIDER_NAME, SUBSCRIPTION_REF
from .provider import KIND_ORDER, KIND_WEBHOOK

logger = logging.getLogger(__name__)

FORM_TYPE = "application/x-www-form-urlencoded"
SCOPE_TEXT = {
    "packages_view": "list your Stagehook interview packages in SmartRecruiters",
    "orders_manage": "order interviews for candidates (by recruiters or hiring-process steps)",
    "jobs_read": "read the jobs the interviews are for",
    "candidates_read": "read candidates' names and contact details to invite them",
    "assessment_result_manage": "write interview status, score, summary and report back to SmartRecruiters",
}
DATA_USED = (
    "Candidate name, e-mail address and phone number: to send the interview invitation.",
    "Job title and application status: to name the interview and start it at the stages you map.",
    "Interview answers, score and report: stored in your Stagehook workspace's region and sent back to "
    "SmartRecruiters; kept for your workspace's retention period, and erased when SmartRecruiters deletes the candidate.",
)


# --- consent ----------------------------------------------------------------------------------
def _consent_page(request, *, status: int = 200, **context) -> HttpResponse:
    base = {"scopes": [SCOPE_TEXT[s] for s in OUR_SCOPES if s in SCOPE_TEXT], "data_used": DATA_USED,
            "company_id": request.GET.get("companyId", ""), "redirect_to": request.GET.get("redirect", "")}
    response = render(request, "smartrecruiters/consent.html", {**base, **context}, status=status)
    response["Referrer-Policy"] = "same-origin"
    redirect_to = request.GET.get("redirect", "")
    if redirect_to and parsing.browser_url_allowed(redirect_to):
        # Browsers hold the redirect after the approve POST to the form's form-action too: allow
        # SmartRecruiters' return origin beside our own (django-csp merges it into the policy).
        parts = urlsplit(redirect_to)
        response._csp_update = {"form-action": [f"{parts.scheme}://{parts.netloc}"]}
    # In POPUP mode SmartRecruiters' page opened us: keep the opener relation (Django's default
    # same-origin policy would sever it) so the pop-up can report back and close.
    response["Cross-Origin-Opener-Policy"] = "unsafe-none"
    return response


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def integration(request: HttpRequest) -> HttpResponse:
    """The consent page (REDIRECT mode, or a 600 px pop-up without ``redirect``)."""
    company_id = (request.GET.get("companyId") or "").strip()[:128]
    redirect_to = (request.GET.get("redirect") or "").strip()
    if not company_id:
        return _consent_page(request, status=400, error="The link from SmartRecruiters has no companyId.")
    if redirect_to and not parsing.browser_url_allowed(redirect_to):
        return _consent_page(request, status=400, error="The link from SmartRecruiters has a redirect that is not a "
                             "SmartRecruiters address; start the installation again from SmartRecruiters.")
    tenants = list(selectors.admin_tenants(user=request.user))
    if not tenants:
        return _consent_page(request, status=403, error="Only an admin of a Stagehook workspace can connect it to "
                             "SmartRecruiters. Ask your Stagehook admin, or sign in with an admin account.")
    existing = selectors.connection_for_company(company_id=company_id)
    context = {"tenants": tenants, "existing": existing if existing and existing.tenant in tenants else None}
    if request.method == "GET":
        return _consent_page(request, **context)
    chosen = next((t for t in tenants if str(t.pk) == request.POST.get("tenant", "")), None)
    if chosen is None:
        return _consent_page(request, status=400, error="Choose the Stagehook workspace to connect.", **context)
    try:
        result = services.smartrecruiters_install(tenant=chosen, company_id=company_id,
                                                  actor=f"user:{request.user.pk}", alerting_email=request.user.email)
    except services.InstallFailed as exc:
        return _consent_page(request, status=400, error=exc.message, retry=True, **context)
    if redirect_to:
        return HttpResponseRedirect(redirect_to)
    return _consent_page(request, done=True, tenant=chosen, reconsent=result.reconsent, **context)


@csrf_exempt
def disconnect(request: HttpRequest, company_id: str) -> HttpResponse:
    """SmartRecruiters removed Stagehook for a company: 204, and the connection is disconnected."""
    if request.method != "DELETE":
        return json_error(405, "method not allowed: use DELETE", Allow="DELETE")
    authorization = request.headers.get("Authorization", "")
    if not authorization:
        # The contract names no authentication for this call: an anonymous one only asks us to
        # check with SmartRecruiters, which disconnects only if our credentials are refused there.
        services.smartrecruiters_disconnect_check_queue(company_id=company_id[:128])
        return HttpResponse(status=204)
    connection = auth.connection_for_bearer(authorization, include_disconnected=True)
    if connection is None:
        return json_error(401, "Unauthorized.")
    if connection.remote_account_id != company_id:
        return json_error(404, "Unknown company.")
    if auth.is_own_app(connection):
        # The marketplace listing was removed; the company's own app still connects it.
        logger.info("connection %s: marketplace removal ignored (connected through its own app)", connection.pk)
        return HttpResponse(status=204)
    if connection.status != ConnectionStatus.DISCONNECTED:
        services.smartrecruiters_disconnect(connection=connection, reason="disconnected in SmartRecruiters")
    return HttpResponse(status=204)


# --- our token endpoint -------------------------------------------------------------------------
def _token_error(status: int, error: str, description: str, **headers: str) -> JsonResponse:
    response = JsonResponse({"error": error, "error_description": description}, status=status)
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    for name, value in headers.items():
        response[name] = value
    return response


@csrf_exempt
def token(request: HttpRequest) -> HttpResponse:
    """Client credentials grant (RFC 6749 §4.4) for the credentials we minted at consent; errors
    per §5.2 (``invalid_client`` is 401 with a challenge when HTTP Basic was used)."""
    if request.method != "POST":
        return _token_error(405, "invalid_request", "Use POST.", Allow="POST")
    if (request.content_type or "").lower() != FORM_TYPE:
        return _token_error(400, "invalid_request", f"Send the parameters as {FORM_TYPE}.")
    basic = auth.basic_credentials(request.headers.get("Authorization", ""))
    if basic is not None and ("client_secret" in request.POST or "client_id" in request.POST and
                              request.POST.get("client_id") != basic[0]):
        return _token_error(400, "invalid_request", "Use one client authentication method, not two.")
    headers = {"Authorization": request.headers.get("Authorization", "")} if basic is not None else {}
    try:
        body = request.body.decode()
    except UnicodeDecodeError:
        return _token_error(400, "invalid_request", "The body is not UTF-8.")
    uri = request.build_absolute_uri()
    answer_headers, answer_body, status = auth.token_server().create_token_response(
        uri, http_method="POST", body=body, headers=headers,
    )
    data = json.loads(answer_body or "{}")
    if status >= 400:
        error = data.get("error", "invalid_request")
        if error == "invalid_client":
            if basic is not None:
                return _token_error(401, error, "Client authentication failed.",
                                    **{"WWW-Authenticate": 'Basic realm="stagehook"'})
            return _token_error(400, error, "Client authentication failed.")
        return _token_error(400 if status < 500 else status, error, data.get("error_description") or error)
    response = JsonResponse({"access_token": data["access_token"], "token_type": "Bearer",
                             "expires_in": int(data["expires_in"])})
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response


# --- packages and orders ------------------------------------------------------------------------
def _bearer(request: HttpRequest):
    return provider_get(PROVIDER_NAME).bearer_connection(request)


def packages(request: HttpRequest) -> HttpResponse:
    if request.method != "GET":
        return json_error(405, "method not allowed: use GET", Allow="GET")
    try:
        connection = _bearer(request)
        parsing.requester_parse(request.headers.get("requester", ""))
    except InboundRejected as exc:
        return json_error(exc.status, exc.message)
    filters = {field["id"]: request.GET.get(field["id"], "") for field in PARTNER_FIELDS}
    items = selectors.packages_for(connection=connection, filters=filters)
    if not items:
        return HttpResponse(status=204)
    return JsonResponse(items, safe=False)


def package(request: HttpRequest, package_id: str) -> HttpResponse:
    if request.method != "GET":
        return json_error(405, "method not allowed: use GET", Allow="GET")
    try:
        connection = _bearer(request)
    except InboundRejected as exc:
        return json_error(exc.status, exc.message)
    found = selectors.package_for(connection=connection, package_id=package_id)
    if found is None:
        return json_error(404, f"No assessment package with id {package_id[:64]!r}.")
    return JsonResponse(selectors.package_json(found))


@csrf_exempt
def orders(request: HttpRequest) -> HttpResponse:
    """An order (ad-hoc or a hiring-process auto-trigger): stored once per orderId, answered 202 {}."""
    return webhook_receive(request, provider_name=PROVIDER_NAME, kind=KIND_ORDER)


@csrf_exempt
def inline_orders(request: HttpRequest) -> HttpResponse:
    """An inline order: 200 with the candidate's link (``url`` and ``assessmentPackageURL``)."""
    raw_body = inbound_json_body(request)
    if isinstance(raw_body, JsonResponse):
        return raw_body
    provider = provider_get(PROVIDER_NAME)
    try:
        connection, order = provider.verify_order(request, raw_body=raw_body, inline=True)
    except InboundRejected as exc:
        return json_error(exc.status, exc.message)
    try:
        result = services.smartrecruiters_inline_order(
            connection=connection, order=order, raw_body=raw_body, headers=stored_headers(request),
        )
    except services.InlineOrderFailed as exc:
        return json_error(400, exc.message)
    return JsonResponse({"url": result.url, "assessmentPackageURL": result.url})


# --- webhooks -----------------------------------------------------------------------------------
@csrf_exempt
def webhooks(request: HttpRequest) -> HttpResponse:
    """Webhooks API: the activation handshake (200 echoing ``X-Hook-Secret``) for a subscription we
    are creating, else a signed delivery through the shared intake (202)."""
    hook_secret = request.headers.get("X-Hook-Secret")
    if hook_secret is not None and request.method == "POST":
        company_id = (request.GET.get("companyId") or "").strip()[:128]
        connection = selectors.connection_for_company(company_id=company_id)
        known = (
            connection is not None and connection.status != ConnectionStatus.DISCONNECTED
            and (connection.subscription_ids or {}).get(SUBSCRIPTION_REF, {}).get("id")
        )
        if not known or not hook_secret or len(hook_secret) > 500:
            return json_error(404, "No subscription of ours is waiting for activation here.")
        response = HttpResponse(status=200)
        response["X-Hook-Secret"] = hook_secret
        return response
    return webhook_receive(request, provider_name=PROVIDER_NAME, kind=KIND_WEBHOOK)

