"""The tenant admin's own-app pages under ``/smartrecruiters/``: the connect form (-> SmartRecruiters'
authorize page), the OAuth callback, the disconnect. Thin: look up, call one service, translate.
The flow works in a pop-up (the callback page tells the form page and closes) or full page."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from integrations.models import ConnectionStatus

from . import auth, own_app, selectors
from .constants import PROVIDER_NAME

CONNECTIONS_URL = "/app/connections/"


def _with_popup_opener(response: HttpResponse) -> HttpResponse:
    # The pop-up passes through SmartRecruiters' origin: keep the opener relation (Django's
    # same-origin default would sever it) so the callback page can tell the form page it is done.
    response["Cross-Origin-Opener-Policy"] = "unsafe-none"
    return response


def _form_page(request: HttpRequest, *, tenants, status: int = 200, **context) -> HttpResponse:
    client_id, _ = own_app.default_app()
    base = {
        "tenants": tenants, "redirect_uri": own_app.redirect_uri(), "vendor_app": bool(client_id),
        "scopes": [(s, own_app.SCOPE_WORDS.get(s, "")) for s in own_app.KNOWN_SCOPES],
        "connections_url": CONNECTIONS_URL, "values": request.POST if request.method == "POST" else {},
    }
    response = render(request, "smartrecruiters/own_app_connect.html", {**base, **context}, status=status)
    parts = urlsplit(auth.authorize_base())
    # The form's POST answers with a redirect to SmartRecruiters: browsers check it against form-action.
    response._csp_update = {"form-action": [f"{parts.scheme}://{parts.netloc}"]}
    response["Cross-Origin-Opener-Policy"] = "same-origin-allow-popups"
    return response


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def own_app_connect(request: HttpRequest) -> HttpResponse:
    """GET: the form. POST: to SmartRecruiters' authorize page (in the pop-up, or this window)."""
    tenants = list(selectors.admin_tenants(user=request.user))
    if not tenants:
        return _form_page(request, tenants=tenants, status=403, error=own_app.OwnAppError(
            "not_admin", "Only an admin of a Stagehook workspace can connect SmartRecruiters.",
            "Ask your Stagehook admin, or sign in with an admin account."))
    if request.method == "GET":
        return _form_page(request, tenants=tenants)
    tenant = next((t for t in tenants if str(t.pk) == request.POST.get("tenant", "")), None)
    if tenant is None and len(tenants) == 1 and not request.POST.get("tenant"):
        tenant = tenants[0]
    if tenant is None:
        return _form_page(request, tenants=tenants, status=400, error=own_app.OwnAppError(
            "tenant", "Choose the Stagehook workspace to connect.", ""))
    client_id, client_secret = request.POST.get("client_id", ""), request.POST.get("client_secret", "")
    if not client_id.strip() and not client_secret.strip():
        client_id, client_secret = own_app.default_app()
    try:
        url = own_app.authorization_start(
            session=request.session, tenant=tenant, client_id=client_id[:200], client_secret=client_secret[:500],
            company_id=request.POST.get("company_id", "")[:128], popup=request.POST.get("popup") == "1",
        )
    except own_app.OwnAppError as exc:
        return _form_page(request, tenants=tenants, status=400, error=exc)
    return _with_popup_opener(HttpResponseRedirect(url))


def _result_page(request: HttpRequest, *, popup: bool, status: int = 200, **context) -> HttpResponse:
    context = {"popup": popup, "connections_url": CONNECTIONS_URL,
               "retry_url": reverse("smartrecruiters:own-app-connect"), **context}
    response = render(request, "smartrecruiters/own_app_result.html", context, status=status)
    response["Referrer-Policy"] = "no-referrer"  # the callback URL carries the code
    return _with_popup_opener(response)


@never_cache
@login_required
def oauth_callback(request: HttpRequest) -> HttpResponse:
    """SmartRecruiters sends the admin back here with ``code`` + ``state`` (or ``error``)."""
    state = request.GET.get("state", "")
    popup = own_app.state_popup(state)
    try:
        pending = own_app.authorization_take(session=request.session, state=state)
        if not selectors.admin_tenants(user=request.user).filter(pk=pending.tenant_id).exists():
            raise own_app.OwnAppError("not_admin", "Only an admin of the Stagehook workspace can connect it.",
                                      "Sign in with an admin account and start again.")
        if request.GET.get("error"):
            raise own_app.authorize_error(request.GET.get("error", ""), request.GET.get("error_description", ""))
        result = own_app.own_app_connect(pending=pending, code=request.GET.get("code", ""),
                                         actor=f"user:{request.user.pk}", alerting_email=request.user.email)
    except own_app.OwnAppError as exc:
        return _result_page(request, popup=popup, status=400, error=exc)
    granted = [(s, own_app.SCOPE_WORDS.get(s, "")) for s in result.granted]
    missing = [(s, own_app.SCOPE_WORDS.get(s, "")) for s in result.missing]
    return _result_page(request, popup=popup, done=True, connection=result.connection, granted=granted,
                        missing=missing, reconnected=result.reconnected,
                        sync_url=f"{CONNECTIONS_URL}{result.connection.pk}/sync/")


@login_required
def own_app_disconnect(request: HttpRequest, connection_id: int) -> HttpResponse:
    """The connections page's "Disconnect" of an own-app connection (an admin of its workspace)."""
    tenants = selectors.admin_tenants(user=request.user)
    connection = (selectors.live_connections().filter(pk=connection_id, tenant__in=tenants).first()
                  if tenants.exists() else None)
    if connection is None or not auth.is_own_app(connection) or connection.provider != PROVIDER_NAME:
        raise Http404("No own-app SmartRecruiters connection of yours has this id.")
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if connection.status != ConnectionStatus.DISCONNECTED:
        own_app.own_app_disconnect(connection=connection, actor=f"user:{request.user.pk}")
        messages.success(request, f"{connection} is disconnected. Its history stays; Stagehook deletes its webhook "
                         "subscription in SmartRecruiters and forgets its tokens. Remove the app's access in "
                         "SmartRecruiters (Settings → Apps & Integrations) if it is no longer used.")
    return redirect(CONNECTIONS_URL)
