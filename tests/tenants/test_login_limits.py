"""One login with one set of brute-force limits (issue 7 #3, #4): the admin's login is allauth's,
and behind a proxy each client is counted by its own address."""

import pytest
from django.core.cache import cache
from django.test import override_settings

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"
LOCKED = "Too many failed login attempts"


def _locked(response) -> bool:
    """allauth answers a locked-out login with the form and this error (or 429 past the IP limit)."""
    return response.status_code == 429 or LOCKED in response.content.decode()


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


def _signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_the_admin_login_form_is_allauths_and_takes_no_password_itself(client):
    admin = UserFactory(email="ops@vendor.test", username="ops@vendor.test", is_staff=True, is_superuser=True)
    response = client.post("/admin/login/?next=/admin/", {"username": admin.username, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")
    assert not _signed_in(client)
    page = client.get("/admin/login/")
    assert page.status_code == 302 and page["Location"].startswith("/accounts/login/")
    # Staff sign in where recruiters do, and land back in the admin.
    response = client.post("/accounts/login/?next=/admin/", {"login": admin.email, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_wrong_passwords_for_the_admin_are_locked_out_like_any_login(client):
    admin = UserFactory(email="ops@vendor.test", username="ops@vendor.test", is_staff=True, is_superuser=True)
    locked = []
    for attempt in range(25):
        client.post("/admin/login/", {"username": admin.username, "password": f"wrong-{attempt}"})
        response = client.post("/accounts/login/?next=/admin/", {"login": admin.email, "password": f"wrong-{attempt}"})
        locked.append(_locked(response))
    # allauth's limit for one account: 5 failures in 5 minutes.
    assert locked.index(True) == 5, locked
    # The right password is refused too while the lockout lasts, through either door.
    client.post("/admin/login/", {"username": admin.username, "password": PASSWORD})
    assert not _signed_in(client)
    response = client.post("/accounts/login/?next=/admin/", {"login": admin.email, "password": PASSWORD})
    assert _locked(response) and not _signed_in(client)


def _fail_logins(client, *, xff: str, times: int) -> list[bool]:
    """Failed logins for ``times`` different accounts from one client: the per-IP limit (10/min)."""
    return [
        _locked(client.post(
            "/accounts/login/", {"login": f"nobody{i}@example.com", "password": "nope"}, HTTP_X_FORWARDED_FOR=xff
        ))
        for i in range(times)
    ]


@override_settings(ALLAUTH_TRUSTED_PROXY_COUNT=1)
def test_behind_a_proxy_one_clients_failures_do_not_lock_out_another(client, django_user_model):
    user = UserFactory(email="riley@example.com", username="riley@example.com")
    assert True in _fail_logins(client, xff="203.0.113.7", times=12)
    other = client.__class__()
    response = other.post(
        "/accounts/login/", {"login": user.email, "password": PASSWORD}, HTTP_X_FORWARDED_FOR="198.51.100.9"
    )
    assert response.status_code == 302


def test_without_a_trusted_proxy_count_every_client_is_the_proxy(client):
    """What the deploy check guards against: the same setup without the count locks everyone out."""
    user = UserFactory(email="riley@example.com", username="riley@example.com")
    assert True in _fail_logins(client, xff="203.0.113.7", times=12)
    other = client.__class__()
    response = other.post(
        "/accounts/login/", {"login": user.email, "password": PASSWORD}, HTTP_X_FORWARDED_FOR="198.51.100.9"
    )
    assert _locked(response) and response.status_code != 302
