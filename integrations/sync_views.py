"""The recruiter's sync controls for one connection, mounted at /app/connections/<id>/sync/:
"Sync now" and "Full resync" (POST), and the latest run's live progress (GET; the page refreshes
itself while the run is live, and ``?partial=1`` answers only the panel for the connections page's
script). Any member of the connection's tenant may use them; another tenant's connection is a 404."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from tenants.selectors import get_for_user_or_404

from .models import Connection
from .selectors import sync_run_latest
from .sync import sync_start, sync_unavailable_reason

def _connection(request: HttpRequest, connection_id: int) -> Connection:
    return get_for_user_or_404(Connection.objects.select_related("tenant"), user=request.user, pk=connection_id)


def _context(connection: Connection) -> dict:
    return {"connection": connection, "latest_sync_run": sync_run_latest(connection=connection)}


@login_required
@require_GET
def sync_status_view(request: HttpRequest, connection_id: int) -> HttpResponse:
    connection = _connection(request, connection_id)
    partial = bool(request.GET.get("partial"))
    context = {**_context(connection), "sync_partial": partial}
    template = "integrations/_sync_panel.html" if partial else "integrations/sync_status.html"
    response = render(request, template, context)
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def sync_start_view(request: HttpRequest, connection_id: int) -> HttpResponse:
    connection = _connection(request, connection_id)
    full = request.POST.get("full") == "1"
    what = "full resync" if full else "sync now"
    run = sync_start(connection=connection, full=full, reason=f"{what} by {request.user.email}")
    if run is None:
        messages.error(request, f"{connection} cannot be synced: {sync_unavailable_reason(connection=connection)}.")
    elif run.full != full or run.status == "running":
        messages.info(request, f"A sync of {connection} is already {run.get_status_display().lower()}.")
    else:
        messages.success(request, f"{'Full resync' if full else 'Sync'} of {connection} queued.")
    target = request.POST.get("next") or ""
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        target = ""
    return redirect(target or f"/app/connections/{connection.pk}/sync/")
