"""The recruiter's connection pages, mounted at /app/connections/ (before the other /app/ pages)."""

from django.urls import path

from . import app_views

app_name = "integrations_app"

urlpatterns = [
    path("", app_views.connection_list_view, name="connection-list"),
    path("<int:connection_id>/mapping", app_views.mapping_wizard_view, name="mapping"),
    path("<int:connection_id>/mapping/refresh", app_views.mapping_refresh_view, name="mapping-refresh"),
    path("<int:connection_id>/mapping/versions/<int:version_id>/restore", app_views.mapping_restore_view,
         name="mapping-restore"),
    path("use-package/<int:package_id>", app_views.use_package_view, name="use-package"),
]
