import pytest
from django.http import Http404

from assessments.models import Package
from tenants.selectors import get_for_user_or_404, scope_for_user, tenant_list_for_user
from tests.factories import MembershipFactory, PackageFactory, TenantFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_a_recruiter_sees_only_their_tenants_rows():
    a, b = MembershipFactory(), MembershipFactory()
    own = PackageFactory(tenant=a.tenant)
    PackageFactory(tenant=b.tenant)
    assert list(scope_for_user(Package.objects.all(), user=a.user)) == [own]
    assert list(tenant_list_for_user(user=a.user)) == [a.tenant]


def test_another_tenants_object_is_a_404_not_a_403():
    a, b = MembershipFactory(), MembershipFactory()
    theirs = PackageFactory(tenant=b.tenant)
    with pytest.raises(Http404):
        get_for_user_or_404(Package.objects.all(), user=a.user, pk=theirs.pk)
    assert get_for_user_or_404(Package.objects.all(), user=b.user, pk=theirs.pk) == theirs


def test_inactive_tenants_and_anonymous_users_see_nothing():
    membership = MembershipFactory(tenant=TenantFactory(active=False))
    PackageFactory(tenant=membership.tenant)
    assert not scope_for_user(Package.objects.all(), user=membership.user).exists()

    class Anonymous:
        is_authenticated = False

    assert not tenant_list_for_user(user=Anonymous()).exists()


def test_app_requires_login_and_lists_only_the_users_tenants(client):
    assert client.get("/app/").status_code == 302
    a = MembershipFactory(tenant__name="Acme Hiring")
    MembershipFactory(tenant__name="Other Corp")
    client.force_login(a.user)
    page = client.get("/app/").content.decode()
    assert "Acme Hiring" in page
    assert "Other Corp" not in page


def test_login_page_is_served_and_signup_is_closed(client):
    assert client.get("/accounts/login/").status_code == 200
    signup = client.get("/accounts/signup/")
    assert "account/signup_closed.html" in [t.name for t in signup.templates]
    client.post("/accounts/signup/", {"email": "x@example.com", "password1": "Zq9!long-pass", "password2": "Zq9!long-pass"})
    assert not UserFactory._meta.model.objects.filter(email="x@example.com").exists()


def test_recruiter_logs_in_with_email(client):
    user = UserFactory(email="riley@example.com", username="riley@example.com")
    MembershipFactory(user=user)
    response = client.post("/accounts/login/", {"login": "riley@example.com", "password": "correct horse battery"})
    assert response.status_code == 302
    assert response["Location"] == "/app/"
