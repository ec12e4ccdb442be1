"""The sync controls: /app/connections/<id>/sync/ (tenant-scoped, POST + CSRF) and the admin actions."""

import pytest
from django.test import Client
from django.urls import reverse

from integrations.models import SyncRun
from tests.factories import ConnectionFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def connection(db):
    return ConnectionFactory(name="Acme Teamtailor", credentials={"api_key": "k"})


@pytest.fixture
def recruiter_client(client, connection):
    user = MembershipFactory(tenant=connection.tenant, role="recruiter").user
    client.force_login(user)
    return client


def test_sync_now_queues_one_run_and_shows_its_progress(recruiter_client, connection):
    url = f"/app/connections/{connection.pk}/sync/"
    page = recruiter_client.get(url)
    assert page.status_code == 200 and "Not synced yet." in page.content.decode()

    response = recruiter_client.post(url + "start", {"next": "/app/connections/"})
    assert response.status_code == 302 and response["Location"] == "/app/connections/"
    run = SyncRun.objects.get()
    assert (run.status, run.full, run.connection) == ("queued", False, connection)
    assert "sync now by" in run.reason

    again = recruiter_client.post(url + "start", {"full": "1"}, follow=True)
    assert "already queued" in again.content.decode()
    assert SyncRun.objects.count() == 1

    SyncRun.objects.filter(pk=run.pk).update(status="running", pages=3, counts={"jobs": {"seen": 7, "created": 2}})
    panel = recruiter_client.get(url + "?partial=1").content.decode()
    assert 'data-live="1"' in panel and "<strong>Running</strong>" in panel
    assert "<td>3</td><td>7</td><td>2</td>" in panel
    assert "disabled" in panel  # no second sync while one is live

    SyncRun.objects.filter(pk=run.pk).update(status="succeeded")
    recruiter_client.post(url + "start", {"full": "1", "next": "https://elsewhere.example/"})
    assert SyncRun.objects.filter(full=True, status="queued").count() == 1


def test_sync_controls_are_post_only_with_csrf(connection):
    user = MembershipFactory(tenant=connection.tenant).user
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.get(f"/app/connections/{connection.pk}/sync/start").status_code == 405
    assert client.post(f"/app/connections/{connection.pk}/sync/start").status_code == 403
    assert not SyncRun.objects.exists()


def test_another_tenants_connection_is_a_404(client, connection):
    client.force_login(MembershipFactory().user)  # a member of another tenant
    assert client.get(f"/app/connections/{connection.pk}/sync/").status_code == 404
    assert client.post(f"/app/connections/{connection.pk}/sync/start").status_code == 404
    assert not SyncRun.objects.exists()
    client.logout()
    assert client.post(f"/app/connections/{connection.pk}/sync/start").status_code == 302  # to the login


def test_a_connection_that_cannot_sync_says_why(recruiter_client, connection):
    connection.credentials = {}
    connection.save()
    response = recruiter_client.post(f"/app/connections/{connection.pk}/sync/start", follow=True)
    assert "cannot be synced: no Teamtailor API key is stored" in response.content.decode()
    assert not SyncRun.objects.exists()


def test_admin_sync_now_and_full_resync_actions(client, connection):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    url = reverse("admin:integrations_connection_changelist")
    ok = client.post(url, {"action": "full_resync", "_selected_action": [connection.pk]}, follow=True)
    assert "full resync queued" in ok.content.decode()
    run = SyncRun.objects.get()
    assert run.full and run.reason.startswith("admin: ")
    again = client.post(url, {"action": "sync_now", "_selected_action": [connection.pk]}, follow=True)
    assert "already queued" in again.content.decode()
    runs = client.get(reverse("admin:integrations_syncrun_changelist"))
    assert runs.status_code == 200 and "Acme Teamtailor" in runs.content.decode()
    assert client.get(reverse("admin:integrations_syncrun_change", args=[run.pk])).status_code == 200
