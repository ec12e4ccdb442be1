"""Pages of one SmartRecruiters connection, mounted at /app/connections/<connection_id>/smartrecruiters/."""

from django.urls import path

from . import connection_views

app_name = "smartrecruiters_connection"

urlpatterns = [
    path("settings", connection_views.settings_view, name="settings"),
]
