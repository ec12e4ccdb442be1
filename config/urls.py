from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from . import errors, health

# One login with one set of brute-force limits: the admin's own login form redirects to allauth's.
admin.site.login = secure_admin_login(admin.site.login)

urlpatterns = [
    path("healthz", errors.get_only(health.healthz), name="healthz"),
    path("readyz", errors.get_only(health.readyz), name="readyz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("app/integrations/teamtailor/", include("integrations.teamtailor.app_urls")),
    path("app/", include("assessments.app_urls")),
    path("app/", include("tenants.urls")),
    path("api/v1/", include("assessments.api_urls")),
    path("i/", include("assessments.candidate_urls")),
    path("teamtailor/", include("integrations.teamtailor.urls")),
    path("", include("assessments.report_urls")),
    path("api/schema/", errors.get_only(SpectacularAPIView.as_view()), name="schema"),
    # The split view serves its script from a URL (not inline), as the Content-Security-Policy requires.
    path("api/docs/", errors.get_only(SpectacularSwaggerSplitView.as_view(url_name="schema")), name="api-docs"),
]

# JSON, not HTML, for /api/ and the ATS entry points when no view answers.
handler404 = errors.not_found
handler500 = errors.server_error
