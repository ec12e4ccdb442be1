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
