import re

import pytest
from django.core import mail

from assessments.apikeys import tenant_api_key_authenticate
from assessments.models import Assessment, Status, TenantApiKey
from tests.factories import PackageFactory, QuestionFactory, TenantFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    user = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(user)
    return client


def _form(package, **overrides):
    data = {
        "tenant": package.tenant_id,
        "package": package.pk,
        "candidate_first_name": "Grace",
        "candidate_last_name": "Hopper",
        "candidate_email": "grace@example.com",
        "candidate_phone": "",
        "expires_at_0": "",
        "expires_at_1": "",
    }
    data.update(overrides)
    return data


def test_an_assessment_added_in_the_admin_is_ordered_and_invited(admin_client, django_capture_on_commit_callbacks):
    package = PackageFactory(tenant=TenantFactory(name="Acme Hiring"))
    QuestionFactory(package=package)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post("/admin/assessments/assessment/add/", _form(package))
    assert response.status_code == 302, response.content.decode()[:2000]
    assessment = Assessment.objects.get()
    assert assessment.status == Status.INVITED
    assert assessment.mode == "manual"
    assert assessment.expires_at is not None
    assert len(mail.outbox) == 1
    assert "/i/" in mail.outbox[0].body
    assert "Acme Hiring" in mail.outbox[0].body


def test_a_package_of_another_tenant_is_refused_and_nothing_is_stored(admin_client):
    package = PackageFactory()
    response = admin_client.post("/admin/assessments/assessment/add/", _form(package, tenant=TenantFactory().pk))
    assert response.status_code == 200
    assert "belongs to another tenant" in response.content.decode()
    assert not Assessment.objects.exists()


def test_cancel_action_moves_open_assessments_through_the_status_machine(admin_client):
    package = PackageFactory()
    with_email = Assessment.objects.create(tenant=package.tenant, package=package, candidate_email="a@example.com")
    response = admin_client.post(
        "/admin/assessments/assessment/",
        {"action": "cancel", "_selected_action": [with_email.pk]},
    )
    assert response.status_code == 302
    with_email.refresh_from_db()
    assert with_email.status == Status.CANCELLED
    assert with_email.events.filter(to_status=Status.CANCELLED).exists()


def _cookie_text(morsel) -> str:
    """A cookie's value as a reader of the cookie sees it: the messages cookie is signed and
    compressed, not encrypted, so anyone holding it can decode it."""
    from django.contrib.messages.storage.cookie import CookieStorage
    from django.test import RequestFactory

    decoded = CookieStorage(RequestFactory().get("/"))._decode(morsel.value)
    return morsel.value + " " + " ".join(str(m) for m in decoded or [])


# --- a new API key is shown once, on the page of the response that created it (issue 7 #6) --------
def test_a_new_api_key_is_shown_on_the_response_page_and_never_travels_in_a_cookie(client):
    admin_user = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin_user)
    tenant = TenantFactory()
    response = client.post(
        "/admin/assessments/tenantapikey/add/", {"tenant": tenant.pk, "name": "AI engine", "_save": "Save"}
    )
    api_key = TenantApiKey.objects.get(tenant=tenant)
    # No cookie of the response carries the key (the messages cookie did: signed, not encrypted).
    for morsel in response.cookies.values():
        assert api_key.prefix not in _cookie_text(morsel), f"cookie {morsel.key} carries the new key"
    assert response.status_code == 200, response.status_code
    page = response.content.decode()
    raw = re.search(r'value="(shk_[0-9a-f]{8}\.[A-Za-z0-9_-]+)"', page).group(1)
    assert tenant_api_key_authenticate(raw) == api_key
    assert "no-store" in response["Cache-Control"]
    secret = raw.split(".", 1)[1]
    for morsel in response.cookies.values():
        assert secret not in _cookie_text(morsel), morsel.key
    # The next page (the key's details) does not show it again, nor does any message.
    later = client.get(f"/admin/assessments/tenantapikey/{api_key.pk}/change/")
    assert secret not in later.content.decode()
    for morsel in later.cookies.values():
        assert secret not in _cookie_text(morsel)
