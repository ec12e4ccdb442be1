"""Machine APIs, mounted at /api/v1/ (paths are part of the stable URL map in ARCHITECTURE.md)."""

from django.urls import path

from . import api

app_name = "api_v1"

urlpatterns = [
    path("assessments/<int:assessment_id>/result", api.AssessmentResultView.as_view(), name="assessment-result"),
    path("packages/list", api.PackageListView.as_view(), name="package-list"),
]
