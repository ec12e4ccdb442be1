"""Content-Security-Policy on every page (issue 7 #10), strict on candidate and report pages."""

import pytest
from django.core import signing

from assessments.models import Status
from assessments.tokens import token_new
from tests.factories import AssessmentFactory

pytestmark = pytest.mark.django_db


def _policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/", "/api/docs/", "/app/", "/healthz"])
def test_every_page_has_a_policy_without_inline_code(client, path):
    response = client.get(path)
    policy = _policy(response)
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"] and policy["style-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"] and policy["object-src"] == ["'none'"]
    assert not any("unsafe" in source for sources in policy.values() for source in sources)


def test_the_swagger_page_loads_its_script_from_a_url_not_inline(client):
    page = client.get("/api/docs/").content.decode()
    assert "<style>" not in page
    assert "<script>" not in page  # every script has a src
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200 and b"SwaggerUIBundle" in script.content


def test_candidate_pages_have_the_strict_policy(client):
    token, digest = token_new()
    AssessmentFactory(status=Status.INVITED, token_hash=digest)
    for path in (f"/i/{token}/", "/i/not-a-token/"):
        policy = _policy(client.get(path))
        assert policy["default-src"] == ["'none'"], path
        assert policy["script-src"] == ["'none'"] and policy["connect-src"] == ["'none'"]
        assert policy["form-action"] == ["'self'"]


def test_signed_report_pages_have_the_strict_policy(client):
    response = client.get("/r/" + signing.dumps({"a": 1}) + "/")
    assert _policy(response)["default-src"] == ["'none'"]
    assert _policy(response)["script-src"] == ["'none'"]


def test_the_recruiters_report_page_has_the_strict_policy(client):
    from tests.factories import MembershipFactory

    membership = MembershipFactory()
    assessment = AssessmentFactory(tenant=membership.tenant, status=Status.COMPLETED)
    client.force_login(membership.user)
    response = client.get(f"/app/assessments/{assessment.pk}/report")
    assert response.status_code == 200
    assert _policy(response)["default-src"] == ["'none'"]
    assert _policy(client.get("/app/"))["default-src"] == ["'self'"]


# --- the header built once (config/csp.py) -------------------------------------------------------
def _headers(path: str, *, view=None, settings_only=True) -> tuple[str, str]:
    """The header our middleware writes for ``path``, and django-csp's own for the same response."""
    from csp.middleware import CSPMiddleware
    from django.http import HttpResponse
    from django.test import RequestFactory

    from config.csp import STRICT_PATHS, StagehookCSPMiddleware

    view = view or (lambda request: HttpResponse("ok"))
    ours = StagehookCSPMiddleware(view)(RequestFactory().get(path))["Content-Security-Policy"]

    def strict_view(request):
        response = view(request)
        if STRICT_PATHS.match(path) and getattr(response, "_csp_config", None) is None:
            from django.conf import settings

            response._csp_config = settings.STAGEHOOK_STRICT_CSP["DIRECTIVES"]
        return response

    theirs = CSPMiddleware(strict_view)(RequestFactory().get(path))["Content-Security-Policy"]
    return ours, theirs


@pytest.mark.parametrize("path", ["/app/", "/teamtailor/webhook", "/i/some-token/", "/r/x/", "/app/assessments/7/report"])
def test_the_prebuilt_header_is_the_one_django_csp_builds(path):
    ours, theirs = _headers(path)
    assert ours == theirs
    assert ("default-src 'none'" in ours) == path.startswith(("/i/", "/r/", "/app/assessments/"))


def test_a_decorated_view_still_gets_its_own_policy():
    from csp.decorators import csp_update
    from django.http import HttpResponse

    @csp_update({"img-src": ["https://img.example"]})
    def view(request):
        return HttpResponse("ok")

    ours, theirs = _headers("/app/", view=view)
    assert ours == theirs
    assert "https://img.example" in ours


def test_a_page_that_used_its_nonce_gets_it_in_the_header(settings):
    from csp.constants import NONCE
    from django.http import HttpResponse
    from django.test import RequestFactory

    from config.csp import StagehookCSPMiddleware

    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {**settings.CONTENT_SECURITY_POLICY["DIRECTIVES"],
                                                       "script-src": ["'self'", NONCE]}}
    seen = {}

    def view(request):
        seen["nonce"] = str(request.csp_nonce)
        return HttpResponse("ok")

    middleware = StagehookCSPMiddleware(view)
    request = RequestFactory().get("/app/")
    middleware.process_request(request)
    header = middleware.process_response(request, view(request))["Content-Security-Policy"]
    assert f"'nonce-{seen['nonce']}'" in header


def test_a_changed_setting_changes_the_prebuilt_header(settings):
    before, _ = _headers("/app/")
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {**settings.CONTENT_SECURITY_POLICY["DIRECTIVES"],
                                                       "img-src": ["'self'", "https://cdn.example"]}}
    after, theirs = _headers("/app/")
    assert after == theirs != before
    assert "https://cdn.example" in after
