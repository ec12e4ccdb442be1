"""Consent / install at /smartrecruiters/integration: sign-in, tenant choice, approval, then
setUpIntegration, one activated subscription with its key, and the redirect back."""

import pytest

from integrations.models import Connection, ConnectionStatus
from integrations.smartrecruiters.constants import CRED_WEBHOOK_KEYS, SUBSCRIPTION_REF, WEBHOOK_EVENTS
from integrations.smartrecruiters.models import PartnerClient
from tests.factories import MembershipFactory, TenantFactory
from tenants.models import Role

from .conftest import COMPANY_ID, CUSTOMER_ID, CUSTOMER_SECRET, WEBHOOK_KEY, Answer

SETUP = r"/assessment-api/v202010/integration/company/[^/]+"


def consent_url(fake_sr, redirect=True):
    url = f"/smartrecruiters/integration?companyId={COMPANY_ID}"
    return url + (f"&redirect={fake_sr.url}/back" if redirect else "")


def test_signing_in_comes_first(client, fake_sr):
    response = client.get(consent_url(fake_sr))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert "next=" in response["Location"]


def test_the_admin_sees_scopes_and_data_and_approves(client, admin_user, tenant, fake_sr, django_capture_on_commit_callbacks):
    client.force_login(admin_user)
    page = client.get(consent_url(fake_sr))
    assert page.status_code == 200
    html = page.content.decode()
    assert "csrfmiddlewaretoken" in html and "write interview status" in html and "e-mail address" in html
    response = client.post(consent_url(fake_sr), {"tenant": tenant.pk})
    assert response.status_code == 302 and response["Location"] == f"{fake_sr.url}/back"

    connection = Connection.objects.get(remote_account_id=COMPANY_ID)
    assert connection.status == ConnectionStatus.ACTIVE and connection.tenant == tenant
    assert connection.credentials["client_id"] == CUSTOMER_ID and connection.credentials["client_secret"] == CUSTOMER_SECRET
    assert connection.credentials[CRED_WEBHOOK_KEYS] == [WEBHOOK_KEY]
    assert connection.subscription_ids[SUBSCRIPTION_REF] == {"id": "sub-1", "events": list(WEBHOOK_EVENTS), "active": True}
    [setup] = fake_sr.calls("POST", SETUP)
    minted = PartnerClient.objects.get(connection=connection)
    assert setup.json()["clientId"] == minted.client_id and setup.json()["clientSecret"] not in minted.secret_hash
    [sub] = fake_sr.calls("POST", r"/webhooks-api/v201907/subscriptions")
    assert sub.json()["events"] == list(WEBHOOK_EVENTS) and f"companyId={COMPANY_ID}" in sub.json()["callbackUrl"]
    assert sub.json()["alertingEmailAddress"] == admin_user.email
    assert len(fake_sr.calls("PUT", r"/webhooks-api/v201907/subscriptions/sub-1/activation")) == 1
    assert len(fake_sr.calls("POST", r"/webhooks-api/v201907/subscriptions/sub-1/secret-key")) == 1
    # The master token set it up; the customer token made the subscription.
    token_calls = [s.form["client_id"] for s in fake_sr.calls("POST", r"/identity/oauth/token")]
    assert token_calls == ["master-client", CUSTOMER_ID]
    # The secret we minted works at our token endpoint.
    secret = setup.json()["clientSecret"]
    token = client.post("/smartrecruiters/oauth/token", data=f"grant_type=client_credentials&client_id={minted.client_id}"
                        f"&client_secret={secret}", content_type="application/x-www-form-urlencoded")
    assert token.status_code == 200


def test_popup_mode_shows_success_and_closes(client, admin_user, tenant, fake_sr):
    client.force_login(admin_user)
    response = client.post(consent_url(fake_sr, redirect=False), {"tenant": tenant.pk})
    assert response.status_code == 200 and b"js/smartrecruiters_consent.js" in response.content and b"consent-done" in response.content


def test_only_a_smartrecruiters_redirect_is_followed(client, admin_user, tenant, fake_sr):
    client.force_login(admin_user)
    response = client.get(f"/smartrecruiters/integration?companyId={COMPANY_ID}&redirect=https://evil.example/x")
    assert response.status_code == 400
    assert client.post(f"/smartrecruiters/integration?companyId={COMPANY_ID}&redirect=https://evil.example/x",
                       {"tenant": tenant.pk}).status_code == 400
    assert not Connection.objects.exists()


def test_several_tenants_the_admin_picks_one_and_only_admin_ones_are_offered(client, admin_user, tenant, fake_sr):
    second = TenantFactory(name="Beta")
    MembershipFactory(user=admin_user, tenant=second, role=Role.ADMIN)
    recruiter_only = TenantFactory(name="Gamma")
    MembershipFactory(user=admin_user, tenant=recruiter_only, role=Role.RECRUITER)
    client.force_login(admin_user)
    html = client.get(consent_url(fake_sr)).content.decode()
    assert "Beta" in html and "Acme" in html and "Gamma" not in html
    assert client.post(consent_url(fake_sr), {"tenant": recruiter_only.pk}).status_code == 400
    assert client.post(consent_url(fake_sr), {"tenant": second.pk}).status_code == 302
    assert Connection.objects.get().tenant == second


def test_a_non_admin_is_refused(client, tenant, fake_sr):
    from tests.factories import UserFactory

    user = UserFactory()
    MembershipFactory(user=user, tenant=tenant, role=Role.RECRUITER)
    client.force_login(user)
    assert client.get(consent_url(fake_sr)).status_code == 403


@pytest.mark.parametrize("status,words", [(403, "consent"), (404, "partner configuration"), (500, "SmartRecruiters")])
def test_a_failed_setup_leaves_it_pending_with_the_reason_and_a_retry_completes_it(
    client, admin_user, tenant, fake_sr, status, words
):
    fake_sr.queue("POST", SETUP, Answer(status, {"message": "no"}))
    client.force_login(admin_user)
    response = client.post(consent_url(fake_sr), {"tenant": tenant.pk})
    assert response.status_code == 400 and words in response.content.decode()
    connection = Connection.objects.get()
    assert connection.status == ConnectionStatus.PENDING and words in connection.status_reason
    assert not fake_sr.calls("POST", r"/webhooks-api/v201907/subscriptions")
    assert not PartnerClient.objects.filter(revoked_at__isnull=True).exists()

    assert client.post(consent_url(fake_sr), {"tenant": tenant.pk}).status_code == 302
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.ACTIVE


def test_a_failure_after_the_subscription_was_created_resumes_without_a_second_one(client, admin_user, tenant, fake_sr):
    fake_sr.queue("PUT", r"/webhooks-api/v201907/subscriptions/[^/]+/activation", Answer(502, {}))
    client.force_login(admin_user)
    assert client.post(consent_url(fake_sr), {"tenant": tenant.pk}).status_code == 400
    assert Connection.objects.get().status == ConnectionStatus.PENDING
    fake_sr.queue("POST", SETUP, Answer(409, {"message": "already integrated"}))
    assert client.post(consent_url(fake_sr), {"tenant": tenant.pk}).status_code == 302
    connection = Connection.objects.get()
    assert connection.status == ConnectionStatus.ACTIVE and "re-consented" in connection.status_reason
    assert len(fake_sr.calls("POST", r"/webhooks-api/v201907/subscriptions")) == 1
    assert len(fake_sr.calls("PUT", r"/webhooks-api/v201907/subscriptions/sub-1/activation")) == 2


def test_409_reconsent_keeps_the_active_connection(client, admin_user, tenant, fake_sr):
    client.force_login(admin_user)
    assert client.post(consent_url(fake_sr), {"tenant": tenant.pk}).status_code == 302
    fake_sr.queue("POST", SETUP, Answer(409, {}))
    assert client.post(consent_url(fake_sr, redirect=False), {"tenant": tenant.pk}).status_code == 200
    connection = Connection.objects.get()
    assert connection.status == ConnectionStatus.ACTIVE and connection.credentials["client_id"] == CUSTOMER_ID
    assert PartnerClient.objects.filter(revoked_at__isnull=True).count() == 1  # the one SmartRecruiters holds


def test_a_company_of_another_workspace_is_refused(client, admin_user, tenant, fake_sr):
    other = TenantFactory()
    Connection.objects.create(tenant=other, provider="smartrecruiters", remote_account_id=COMPANY_ID,
                              status=ConnectionStatus.ACTIVE)
    client.force_login(admin_user)
    response = client.post(consent_url(fake_sr), {"tenant": tenant.pk})
    assert response.status_code == 400 and "another Stagehook workspace" in response.content.decode()
    assert Connection.objects.get().tenant == other


def test_disconnect_revokes_tokens_deletes_the_subscription_and_keeps_history(
    client, bearer, connection, fake_sr, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.delete(f"/smartrecruiters/integrations/companies/{COMPANY_ID}", HTTP_AUTHORIZATION=bearer)
    assert response.status_code == 204
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.DISCONNECTED
    assert len(fake_sr.calls("DELETE", r"/webhooks-api/v201907/subscriptions/sub-1")) == 1
    assert CRED_WEBHOOK_KEYS not in connection.credentials and SUBSCRIPTION_REF not in connection.subscription_ids
    assert client.get("/smartrecruiters/packages", HTTP_AUTHORIZATION=bearer).status_code == 401
    # Repeated: the same answer, nothing more happens.
    assert client.delete(f"/smartrecruiters/integrations/companies/{COMPANY_ID}", HTTP_AUTHORIZATION=bearer).status_code == 204
    assert client.delete("/smartrecruiters/integrations/companies/Other", HTTP_AUTHORIZATION=bearer).status_code == 404
    assert client.delete(f"/smartrecruiters/integrations/companies/{COMPANY_ID}", HTTP_AUTHORIZATION="Bearer nope").status_code == 401
    assert Connection.objects.filter(pk=connection.pk).exists()


def test_an_install_that_never_got_credentials_does_not_block_another_workspace(client, admin_user, tenant, fake_sr):
    other = TenantFactory()
    Connection.objects.create(tenant=other, provider="smartrecruiters", remote_account_id=COMPANY_ID,
                              status=ConnectionStatus.PENDING, status_reason="SmartRecruiters refused")
    client.force_login(admin_user)
    assert client.post(consent_url(fake_sr), {"tenant": tenant.pk}).status_code == 302
    connection = Connection.objects.get()
    assert connection.tenant == tenant and connection.status == ConnectionStatus.ACTIVE


def test_an_anonymous_disconnect_is_confirmed_with_smartrecruiters_first(
    client, connection, fake_sr, django_capture_on_commit_callbacks
):
    url = f"/smartrecruiters/integrations/companies/{COMPANY_ID}"
    with django_capture_on_commit_callbacks(execute=True):
        assert client.delete(url).status_code == 204
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.ACTIVE  # SmartRecruiters still accepts our credentials

    del fake_sr.clients[CUSTOMER_ID]  # the integration was removed in SmartRecruiters
    with django_capture_on_commit_callbacks(execute=True):
        assert client.delete(url).status_code == 204
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.DISCONNECTED and "refused" in connection.status_reason
    with django_capture_on_commit_callbacks(execute=True):
        assert client.delete("/smartrecruiters/integrations/companies/Unknown").status_code == 204


def test_the_consent_page_lets_its_form_return_to_smartrecruiters_only(client, admin_user, tenant, fake_sr):
    """Browsers apply form-action to the redirect after the approve POST: SmartRecruiters' return
    origin is allowed beside ours, on the page that holds the form, and nothing else is."""
    client.force_login(admin_user)
    page = client.get(consent_url(fake_sr))
    assert page.status_code == 200
    policy = dict(d.strip().split(" ", 1) for d in page["Content-Security-Policy"].split(";") if d.strip())
    assert policy["form-action"].split() == ["'self'", fake_sr.url]
    assert policy["script-src"] == "'self'"  # the pop-up's close script is a file of ours
    plain = client.get(consent_url(fake_sr, redirect=False))
    assert dict(d.strip().split(" ", 1) for d in plain["Content-Security-Policy"].split(";") if d.strip())[
        "form-action"] == "'self'"
