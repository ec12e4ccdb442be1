"""The connection admin: credentials are write-only, stored encrypted, hashed where they are looked up."""

import pytest
from django.db import connection as db

from integrations.models import Connection, ConnectionEvent, secret_hash
from tests.factories import ConnectionFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def _form(conn: Connection, credentials_change: str) -> dict:
    return {
        "tenant": conn.tenant_id, "provider": conn.provider, "name": conn.name,
        "remote_account_id": conn.remote_account_id, "status": conn.status, "status_reason": "",
        "region": conn.region, "api_base_url": conn.api_base_url, "subscription_ids": "{}",
        "sync_cursors": "{}", "sync_enabled": "on", "credentials_change": credentials_change,
        "stage_mappings-TOTAL_FORMS": "0", "stage_mappings-INITIAL_FORMS": "0",
        "status_events-TOTAL_FORMS": "0", "status_events-INITIAL_FORMS": "0",
    }


def test_the_change_page_names_stored_credentials_but_never_shows_them(staff_client):
    conn = ConnectionFactory(credentials={"api_key": "very-secret-api-key"})
    page = staff_client.get(f"/admin/integrations/connection/{conn.pk}/change/").content.decode()
    assert "api_key" in page
    assert "very-secret-api-key" not in page


def test_credentials_are_changed_key_by_key_encrypted_and_hashed(staff_client):
    conn = ConnectionFactory(credentials={"api_key": "old-key", "webhook_secret": "keep-me"})
    response = staff_client.post(
        f"/admin/integrations/connection/{conn.pk}/change/",
        _form(conn, '{"api_key": "new-key", "provider_key": "pk-123", "webhook_secret": "keep-me"}'),
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    conn.refresh_from_db()
    assert conn.credentials == {"api_key": "new-key", "provider_key": "pk-123", "webhook_secret": "keep-me"}
    assert conn.provider_key_hash == secret_hash("pk-123")
    with db.cursor() as cursor:
        cursor.execute("SELECT credentials FROM integrations_connection WHERE id = %s", [conn.pk])
        assert "new-key" not in cursor.fetchone()[0]

    staff_client.post(f"/admin/integrations/connection/{conn.pk}/change/", _form(conn, '{"provider_key": ""}'))
    conn.refresh_from_db()
    assert "provider_key" not in conn.credentials and conn.provider_key_hash is None


@pytest.mark.parametrize("bad", ['{"api_key": 12}', "not json", '["api_key"]'])
def test_bad_credentials_input_is_refused_and_nothing_changes(staff_client, bad):
    conn = ConnectionFactory(credentials={"api_key": "old-key"}, name="Before")
    form = _form(conn, bad)
    form["name"] = "After"
    response = staff_client.post(f"/admin/integrations/connection/{conn.pk}/change/", form)
    assert response.status_code == 200
    assert "JSON" in response.content.decode()
    conn.refresh_from_db()
    assert conn.credentials == {"api_key": "old-key"} and conn.name == "Before"


def test_a_status_change_in_the_admin_is_recorded_with_who_and_why(staff_client):
    conn = ConnectionFactory(status="active")
    form = {**_form(conn, ""), "status": "disconnected", "status_reason": "customer left"}
    response = staff_client.post(f"/admin/integrations/connection/{conn.pk}/change/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    conn.refresh_from_db()
    assert (conn.status, conn.status_reason) == ("disconnected", "customer left")
    event = ConnectionEvent.objects.get(connection=conn)
    assert (event.from_status, event.to_status, event.reason) == ("active", "disconnected", "customer left")
    assert event.actor.startswith("admin:")
    page = staff_client.get(f"/admin/integrations/connection/{conn.pk}/change/").content.decode()
    assert "customer left" in page and event.actor in page
