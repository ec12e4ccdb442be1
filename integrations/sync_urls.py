"""Sync controls of one connection, mounted at /app/connections/<connection_id>/sync/."""

from django.urls import path

from . import sync_views

app_name = "sync"

urlpatterns = [
    path("", sync_views.sync_status_view, name="status"),
    path("start", sync_views.sync_start_view, name="start"),
]
