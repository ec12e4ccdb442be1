"""The tenant admin's Teamtailor page, mounted at /app/integrations/teamtailor/."""

from django.urls import path

from . import app_views

app_name = "teamtailor_app"

urlpatterns = [
    path("", app_views.settings_view, name="settings"),
]
