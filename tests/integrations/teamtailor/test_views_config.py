"""GET /teamtailor/config: the fields of the "Send Stagehook interview" trigger."""

import json

import pytest

from tests.factories import PackageFactory, QuestionFactory, TenantFactory

from .conftest import PROVIDER_KEY

pytestmark = pytest.mark.django_db


def _config(client, query="?job_id=12345&stage_id=1&user_id=31", key=PROVIDER_KEY):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"} if key is not None else {}
    return client.get(f"/teamtailor/config{query}", **headers)


def test_fields_list_the_tenants_active_packages(client, connection, package):
    PackageFactory(tenant=connection.tenant, name="Inactive one", active=False)
    PackageFactory(tenant=TenantFactory(), name="Another tenant's")
    response = _config(client)
    assert response.status_code == 200
    config = response.json()["config"]
    select = next(f for f in config["fields"] if f["id"] == "package")
    assert select["type"] == "select"
    assert select["options"] == [{"id": str(package.pk), "label": "Backend interview"}]
    threshold = next(f for f in config["fields"] if f["id"] == "threshold")
    assert threshold["type"] == "number" and threshold["min"] == 0 and threshold["max"] == 100
    assert threshold["required"] is False


def test_assessment_criteria_from_the_packages_questions(client, connection, package):
    second = QuestionFactory(package=package, text="How do you test?")
    criteria = _config(client).json()["config"]["assessment-criteria"]
    ids = [c["id"] for c in criteria]
    assert f"question-{second.pk}" in ids and len(ids) == 2
    assert all(set(c) == {"id", "label"} and c["label"].startswith("Backend interview: ") for c in criteria)


def test_bulk_mode_without_job_and_stage(client, connection, package):
    response = _config(client, query="?user_id=31")
    assert response.status_code == 200
    assert response.json()["config"]["fields"][0]["options"][0]["id"] == str(package.pk)


def test_shape_matches_teamtailors_example(client, connection, package, reference_fixtures):
    example = json.loads((reference_fixtures / "teamtailor/partner-docs/webhook_config_response.json").read_text())
    ours = _config(client).json()
    assert set(ours) == set(example) and set(ours["config"]) == set(example["config"])
    example_select = example["config"]["fields"][1]
    our_select = ours["config"]["fields"][0]
    assert set(example_select) <= set(our_select) | {"optgroups"}
    assert set(example["config"]["assessment-criteria"][0]) == set(ours["config"]["assessment-criteria"][0])


@pytest.mark.parametrize("key", [None, "", "unknown-provider-key"])
def test_unknown_provider_key_gets_an_error_field(client, connection, package, key, reference_fixtures):
    response = _config(client, key=key)
    assert response.status_code == 401
    example = json.loads((reference_fixtures / "teamtailor/partner-docs/webhook_config_error_field.json").read_text())
    field = response.json()["config"]["fields"][0]
    assert set(field) == set(example) and field["type"] == "error" and field["required"] == "true"
    assert "Backend interview" not in response.content.decode()


def test_disconnected_connection_is_unknown(client, connection, package):
    connection.status = "disconnected"
    connection.save()
    assert _config(client).status_code == 401


def test_no_packages_yet(client, connection):
    response = _config(client)
    assert response.status_code == 200
    assert response.json()["config"]["fields"][0]["type"] == "error"
