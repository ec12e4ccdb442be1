from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from integrations.ats_urls import ats_app_urlpatterns, ats_urlpatterns

from . import health

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    # Each ATS mounts itself from the provider registry (Provider.urls / app_urls).
    *ats_app_urlpatterns(),
    path("app/connections/<int:connection_id>/sync/", include("integrations.sync_urls")),
    path("app/connections/", include("integrations.app_urls")),
    path("app/", include("assessments.app_urls")),
    path("app/", include("tenants.urls")),
    path("api/v1/", include("assessments.api_urls")),
    path("i/", include("assessments.candidate_urls")),
    *ats_urlpatterns(),
    path("", include("assessments.report_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]
