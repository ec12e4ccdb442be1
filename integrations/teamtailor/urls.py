"""Teamtailor's calls to Stagehook, mounted at /teamtailor/ (paths fixed by the partner setup)."""

from django.urls import path, re_path

from . import views

app_name = "teamtailor"

urlpatterns = [
    path("activation", views.activation, name="activation"),
    path("activation/validate", views.activation_validate, name="activation-validate"),
    path("config", views.config, name="config"),
    path("webhook", views.webhook, name="webhook"),
    path("actions/<str:name>", views.action, name="action"),
    path("company-webhooks", views.company_webhooks, name="company-webhooks"),
    # Anything else: 404 JSON (not Django's HTML page).
    re_path(r"^.*$", views.not_found, name="not-found"),
]
