"""Tenant admins connect Teamtailor here: issue the one-time connection token pasted into
Teamtailor's activation form. The raw token is shown once, in the response to the POST."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from integrations.models import Connection
from tenants.models import Membership, Role

from . import auth, services


def _admin_memberships(user):
    return (
        Membership.objects.filter(user=user, role=Role.ADMIN, tenant__active=True)
        .select_related("tenant")
        .order_by("tenant__name")
    )


@login_required
def settings_view(request: HttpRequest) -> HttpResponse:
    memberships = list(_admin_memberships(request.user))
    if not memberships:
        return render(request, "teamtailor/settings.html", {"forbidden": True}, status=403)
    tenants = {str(m.tenant.pk): m.tenant for m in memberships}
    issued = None
    if request.method == "POST":
        tenant = tenants.get(request.POST.get("tenant", ""))
        if tenant is None:
            return render(request, "teamtailor/settings.html", {"forbidden": True}, status=403)
        connection = services.teamtailor_connection_get_or_create(tenant=tenant)
        issued = {"tenant": tenant, "token": services.teamtailor_connection_token_issue(connection=connection)}
    connections = {
        c.tenant_id: c
        for c in Connection.objects.filter(provider=auth.PROVIDER_NAME, tenant__in=list(tenants.values())).order_by("id")
    }
    rows = [{"tenant": m.tenant, "connection": connections.get(m.tenant.pk)} for m in memberships]
    response = render(request, "teamtailor/settings.html", {"rows": rows, "issued": issued})
    # The page may show a secret: never cache it.
    response["Cache-Control"] = "no-store"
    return response
