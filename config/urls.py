from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from integrations.ats_urls import ats_app_urlpatterns, ats_connection_urlpatterns, ats_urlpatterns

from . import errors, health

# One login with one set of brute-force limits: the admin's own login form redirects to allauth's.
admin.site.login = secure_admin_login(admin.site.login)

urlpatterns = [
    # First: the routes ATS servers call (``/<mount>/...``), the ones under load, match before the
    # rest is tried (no other route starts with an ATS's mount).
    *ats_urlpatterns(),
    path("healthz", errors.get_only(health.healthz), name="healthz"),
    path("readyz", errors.get_only(health.readyz), name="readyz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    # Each ATS mounts itself from the provider registry (Provider.urls / app_urls).
    *ats_app_urlpatterns(),
    *ats_connection_urlpatterns(),
    path("app/connections/<int:connection_id>/sync/", include("integrations.sync_urls")),
    path("app/connections/", include("integrations.app_urls")),
    path("app/", include("assessments.app_urls")),
    path("app/", include("tenants.urls")),
    path("api/v1/", include("assessments.api_urls")),
    path("i/", include("assessments.candidate_urls")),
    path("", include("assessments.report_urls")),
    path("api/schema/", errors.get_only(SpectacularAPIView.as_view()), name="schema"),
    # The split view serves its script from a URL (not inline), as the Content-Security-Policy requires.
    path("api/docs/", errors.get_only(SpectacularSwaggerSplitView.as_view(url_name="schema")), name="api-docs"),
]

# JSON, not HTML, for /api/ and the ATS entry points when no view answers.
handler404 = errors.not_found
handler500 = errors.server_error
