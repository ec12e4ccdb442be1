"""Recruiter pages of the assessments app, mounted at /app/ before the tenants' home.

/app/assessments/<id>/report is served by the report view, not here."""

from django.urls import path

from . import app_views, dashboard_views, detail_views

app_name = "assessments_app"

urlpatterns = [
    # The recruiter's home; the list of workspaces moved to /app/workspaces/ (tenants).
    path("", dashboard_views.dashboard_view, name="dashboard"),
    path("packages/", app_views.package_list_view, name="package-list"),
    path("assessments/", app_views.assessment_list_view, name="assessment-list"),
    path("assessments/<int:pk>/", detail_views.assessment_detail_view, name="assessment-detail"),
    path("assessments/<int:pk>/resend", detail_views.assessment_resend_view, name="assessment-resend"),
    path("assessments/<int:pk>/extend", detail_views.assessment_extend_view, name="assessment-extend"),
    path("assessments/<int:pk>/cancel", detail_views.assessment_cancel_view, name="assessment-cancel"),
]
