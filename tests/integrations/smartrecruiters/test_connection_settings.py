"""The score-property picker of an own-app connection: /app/connections/<id>/smartrecruiters/settings
and the Django admin, both reading ``GET /configuration/candidate-properties`` from SmartRecruiters."""

from __future__ import annotations

import re

import pytest

from integrations.models import Connection
from integrations.smartrecruiters.constants import PROVIDER_NAME
from integrations.smartrecruiters.models import ConnectionSettings
from tenants.models import Role
from tests.factories import MembershipFactory, TenantFactory, UserFactory

from .stub import Answer, CandidateRecords
from .test_own_app_writeback import records  # noqa: F401  (a fixture)

PROPERTIES = CandidateRecords.PROPERTIES


def url(connection) -> str:
    return f"/app/connections/{connection.pk}/smartrecruiters/settings"


def options(response) -> list[str]:
    return re.findall(r'<option value="([^"]*)"', response.content.decode())


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def test_the_admin_sees_the_properties_that_can_hold_a_score(admin_client, own_connection, records):
    response = admin_client.get(url(own_connection))
    assert response.status_code == 200
    assert options(response) == ["", "stagehook-score", "score-percent", "notes-text"]  # by label; no SINGLE_SELECT
    assert "Interview score (number)" in response.content.decode()


def test_choosing_a_property_stores_it_with_its_label_and_type(admin_client, admin_user, own_connection, records, fake_sr):
    response = admin_client.post(url(own_connection), {"score_property": "stagehook-score"})
    assert response.status_code == 302 and response["Location"] == url(own_connection)
    row = ConnectionSettings.objects.get(connection=own_connection)
    assert (row.score_property_id, row.score_property_label, row.score_property_type) == (
        "stagehook-score", "Interview score", "NUMBER")
    assert row.updated_by == f"user:{admin_user.pk}"
    page = admin_client.get(url(own_connection)).content.decode()
    assert '<option value="stagehook-score" selected>' in page and "Scores go into the candidate property" in page

    response = admin_client.post(url(own_connection), {"score_property": ""})
    assert response.status_code == 302
    assert ConnectionSettings.objects.get(connection=own_connection).score_property_id == ""


@pytest.mark.parametrize("value", ["source-select", "no-such-property"])
def test_a_property_that_cannot_hold_a_score_is_refused_and_nothing_stored(admin_client, own_connection, records, value):
    response = admin_client.post(url(own_connection), {"score_property": value})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert not ConnectionSettings.objects.filter(connection=own_connection).exists()


def test_a_property_removed_in_smartrecruiters_meanwhile_is_refused(admin_client, own_connection, records):
    admin_client.get(url(own_connection))
    records.properties[:] = [p for p in records.properties if p["id"] != "stagehook-score"]
    response = admin_client.post(url(own_connection), {"score_property": "stagehook-score"})
    assert response.status_code == 400
    assert not ConnectionSettings.objects.filter(connection=own_connection).exists()


def test_smartrecruiters_unreachable_is_said_in_words_and_only_clearing_works(admin_client, own_connection, records, fake_sr):
    ConnectionSettings.objects.create(connection=own_connection, score_property_id="stagehook-score",
                                      score_property_label="Interview score", score_property_type="NUMBER")
    fake_sr.queue("GET", PROPERTIES, Answer(503, {"message": "down"}))
    page = admin_client.get(url(own_connection))
    assert page.status_code == 200
    assert "could not be reached to list the candidate properties" in page.content.decode()
    assert options(page) == ["", "stagehook-score"]  # the current choice stays visible

    fake_sr.queue("GET", PROPERTIES, Answer(503, {"message": "down"}), Answer(503, {"message": "down"}))
    response = admin_client.post(url(own_connection), {"score_property": "stagehook-score"})
    assert response.status_code == 400 and "could not be reached" in response.content.decode()
    fake_sr.queue("GET", PROPERTIES, Answer(503, {"message": "down"}))
    assert admin_client.post(url(own_connection), {"score_property": ""}).status_code == 302
    assert ConnectionSettings.objects.get(connection=own_connection).score_property_id == ""


def test_a_missing_permission_names_the_fix(admin_client, own_connection, records, fake_sr):
    fake_sr.queue("GET", PROPERTIES, Answer(403, {"message": "Missing scope jobs_read"}))
    page = admin_client.get(url(own_connection)).content.decode()
    assert "Re-authorize the connection" in page


def test_a_recruiter_sees_the_choice_but_cannot_change_it(client, tenant, own_connection, records):
    recruiter = UserFactory()
    MembershipFactory(user=recruiter, tenant=tenant, role=Role.RECRUITER)
    client.force_login(recruiter)
    page = client.get(url(own_connection))
    assert page.status_code == 200 and 'name="score_property"' not in page.content.decode()
    assert "Ask an administrator" in page.content.decode()
    assert client.post(url(own_connection), {"score_property": "stagehook-score"}).status_code == 403
    assert not ConnectionSettings.objects.filter(connection=own_connection).exists()


def test_another_tenants_connection_is_not_found(client, own_connection, records, fake_sr):
    outsider = UserFactory()
    MembershipFactory(user=outsider, tenant=TenantFactory(), role=Role.ADMIN)
    client.force_login(outsider)
    assert client.get(url(own_connection)).status_code == 404
    assert client.post(url(own_connection), {"score_property": "stagehook-score"}).status_code == 404


def test_a_marketplace_connection_has_no_settings_page(admin_client, fake_sr, tenant):
    marketplace = Connection.objects.create(tenant=tenant, provider=PROVIDER_NAME, remote_account_id="Market",
                                            credentials={"client_id": "x", "client_secret": "y"})
    assert admin_client.get(url(marketplace)).status_code == 404
    page = admin_client.get("/app/connections/").content.decode()
    assert url(marketplace) not in page


def test_the_connections_list_links_the_settings(admin_client, own_connection, records):
    page = admin_client.get("/app/connections/").content.decode()
    assert f'href="{url(own_connection)}"' in page


# --- the Django admin -------------------------------------------------------------------------------
@pytest.fixture
def superuser_client(db):
    from django.test import Client

    client = Client()  # its own session: the own-app connect signs the admin user into ``client``
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


ADMIN_ADD = "/admin/smartrecruiters/connectionsettings/add/"


def test_the_admin_checks_the_property_against_smartrecruiters(superuser_client, own_connection, records):
    response = superuser_client.post(ADMIN_ADD, {"connection": own_connection.pk, "score_property_id": "source-select"})
    assert response.status_code == 200 and "no candidate property" in response.content.decode()
    assert not ConnectionSettings.objects.exists()

    response = superuser_client.post(ADMIN_ADD, {"connection": own_connection.pk, "score_property_id": "notes-text"})
    assert response.status_code == 302, response.content.decode()[:2000]
    row = ConnectionSettings.objects.get(connection=own_connection)
    assert (row.score_property_label, row.score_property_type) == ("Screening notes", "TEXT")

    change = f"/admin/smartrecruiters/connectionsettings/{row.pk}/change/"
    page = superuser_client.get(change)
    assert page.status_code == 200 and '<option value="notes-text" selected>' in page.content.decode()
    assert superuser_client.post(change, {"score_property_id": "stagehook-score"}).status_code == 302
    row.refresh_from_db()
    assert (row.score_property_id, row.score_property_type) == ("stagehook-score", "NUMBER")
    assert ConnectionSettings.objects.count() == 1


def test_the_admin_refuses_a_marketplace_connection(superuser_client, tenant, fake_sr, records):
    connection = Connection.objects.create(tenant=tenant, provider=PROVIDER_NAME, remote_account_id="Market",
                                           credentials={"client_id": "x", "client_secret": "y"})
    response = superuser_client.post(ADMIN_ADD, {"connection": connection.pk, "score_property_id": "stagehook-score"})
    assert response.status_code == 200 and "Only own-app SmartRecruiters connections" in response.content.decode()
    assert not ConnectionSettings.objects.exists()
