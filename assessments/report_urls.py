"""Report routes: the recruiter's /app/assessments/<id>/report and the signed /r/<signed>/."""

from django.urls import path

from . import report_views

app_name = "reports"

urlpatterns = [
    path("app/assessments/<int:pk>/report", report_views.report, name="report"),
    path("r/<str:signed>/", report_views.signed_report, name="signed"),
]
