from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from . import health

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("app/integrations/teamtailor/", include("integrations.teamtailor.app_urls")),
    path("app/", include("assessments.app_urls")),
    path("app/", include("tenants.urls")),
    path("api/v1/", include("assessments.api_urls")),
    path("i/", include("assessments.candidate_urls")),
    path("teamtailor/", include("integrations.teamtailor.urls")),
    path("smartrecruiters/", include("integrations.smartrecruiters.urls")),
    path("", include("assessments.report_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]
