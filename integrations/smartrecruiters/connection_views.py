"""The settings of an own-app SmartRecruiters connection: which candidate property receives the
interview score (``GET /configuration/candidate-properties``, read live). Members see it; tenant
admins change it. Another tenant's connection, or a marketplace one, is a 404."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from integrations.selectors_app import connection_get_for_user
from tenants.models import Membership, Role

from . import auth, selectors, services
from .constants import PROVIDER_NAME

NONE_LABEL = "No score property (note and report only)"


class ScorePropertyForm(forms.Form):
    score_property = forms.ChoiceField(label="Candidate property for the score", required=False)

    def __init__(self, *args, properties: list[dict[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["score_property"].choices = [("", NONE_LABEL)] + [
            (p["id"], f"{p['label']} ({p['type'].lower()})") for p in properties
        ]


def _own_app_connection(request: HttpRequest, connection_id: int):
    connection = connection_get_for_user(user=request.user, connection_id=connection_id)
    if connection.provider != PROVIDER_NAME or not auth.is_own_app(connection):
        raise Http404("No SmartRecruiters own-app connection with this id.")
    return connection


def _is_admin(user, connection) -> bool:
    return Membership.objects.filter(user=user, tenant_id=connection.tenant_id, role=Role.ADMIN).exists()


@login_required
def settings_view(request: HttpRequest, connection_id: int) -> HttpResponse:
    connection = _own_app_connection(request, connection_id)
    can_edit = _is_admin(request.user, connection)
    chosen = selectors.score_property_for(connection=connection)
    error, status = "", 200
    live: list[dict[str, str]] | None
    try:
        live = services.smartrecruiters_score_properties_fetch(connection=connection)
    except services.SettingsRefused as exc:
        live, error = None, exc.message
    properties = list(live or [])
    if chosen and all(p["id"] != chosen.score_property_id for p in properties):
        # Still shown while SmartRecruiters cannot be asked (or after it was removed there); saving
        # it again checks it against SmartRecruiters' list.
        properties = [{"id": chosen.score_property_id, "label": chosen.score_property_label or chosen.score_property_id,
                       "type": chosen.score_property_type}] + properties
    form = ScorePropertyForm(properties=properties, initial={"score_property": chosen.score_property_id if chosen else ""})
    if request.method == "POST":
        if not can_edit:
            return render(request, "smartrecruiters/connection_settings.html",
                          {"connection": connection, "forbidden": True}, status=403)
        form = ScorePropertyForm(request.POST, properties=properties)
        if form.is_valid():
            try:
                services.smartrecruiters_score_property_set(
                    connection=connection, property_id=form.cleaned_data["score_property"],
                    actor=f"user:{request.user.pk}", available=live,
                )
            except services.SettingsRefused as exc:
                error, status = exc.message, 400
            else:
                picked = selectors.score_property_for(connection=connection)
                messages.success(request, f"Scores go into the candidate property “{picked.score_property_label}”."
                                 if picked else "Scores are no longer written into a candidate property.")
                return redirect("smartrecruiters_connection:settings", connection_id=connection.pk)
        else:
            status = 400
    return render(request, "smartrecruiters/connection_settings.html", {
        "connection": connection, "form": form, "chosen": chosen, "error": error, "can_edit": can_edit,
        "has_properties": bool(live),
    }, status=status)
