import copy
import io
import json

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection as db

from assessments.models import Package, Question
from integrations import providers
from integrations.config_as_code import ConfigError, config_apply
from integrations.models import Connection, StageMapping, secret_hash
from tenants.models import Membership, Tenant

pytestmark = pytest.mark.django_db

DOC = {
    "users": [{"email": "ops@vendor.test", "password": "ops-pass-123!", "superuser": True}],
    "tenants": [
        {
            "slug": "acme",
            "name": "Acme",
            "region": "us",
            "retention_days": 30,
            "users": [{"email": "rec@acme.test", "password": "rec-pass-123!", "role": "recruiter", "name": "Rae Cruz"}],
            "packages": [
                {
                    "name": "Sales Interview",
                    "type": "interview",
                    "questions": [
                        {"text": "Pitch us our product.", "rubric": ["value", "customer"], "weight": 2},
                        {"text": "Handle an objection.", "rubric": ["listen", "reframe"]},
                    ],
                }
            ],
            "connections": [
                {
                    "provider": "testats",
                    "remote_account_id": "company-1",
                    "api_base_url": "http://127.0.0.1:8101",
                    "credentials": {"client_id": "id-1", "client_secret": "s3cret", "provider_key": "pk-1"},
                    "stage_mappings": [{"stage": "interview", "package": "Sales Interview"}],
                }
            ],
        }
    ],
}


@pytest.fixture(autouse=True)
def testats(monkeypatch):
    monkeypatch.setitem(providers._registry, "testats", providers.Provider())


def _raw(table: str, column: str, pk: int):
    with db.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def test_applies_everything_the_document_names():
    report = config_apply(doc=DOC)
    assert report.changed
    tenant = Tenant.objects.get(slug="acme")
    assert (tenant.region, tenant.retention_days) == ("us", 30)
    user = get_user_model().objects.get(email="rec@acme.test")
    assert user.check_password("rec-pass-123!")
    assert Membership.objects.get(user=user, tenant=tenant).role == "recruiter"
    assert get_user_model().objects.get(email="ops@vendor.test").is_superuser
    package = Package.objects.get(tenant=tenant, name="Sales Interview")
    assert list(package.questions.values_list("text", flat=True)) == ["Pitch us our product.", "Handle an objection."]
    conn = Connection.objects.get(tenant=tenant, provider="testats")
    assert conn.credentials["client_secret"] == "s3cret"
    assert conn.provider_key_hash == secret_hash("pk-1")
    assert StageMapping.objects.get(connection=conn).package == package


def test_second_run_changes_nothing():
    config_apply(doc=DOC)
    conn = Connection.objects.get(remote_account_id="company-1")
    ciphertext = _raw("integrations_connection", "credentials", conn.pk)
    password_hash = get_user_model().objects.get(email="rec@acme.test").password
    updated_at = Package.objects.get(name="Sales Interview").updated_at

    report = config_apply(doc=copy.deepcopy(DOC))

    assert report.created == [] and report.updated == []
    assert report.unchanged > 0
    assert _raw("integrations_connection", "credentials", conn.pk) == ciphertext
    assert get_user_model().objects.get(email="rec@acme.test").password == password_hash
    assert Package.objects.get(name="Sales Interview").updated_at == updated_at


def test_a_changed_value_updates_only_that_row_and_removes_dropped_questions():
    config_apply(doc=DOC)
    doc = copy.deepcopy(DOC)
    doc["tenants"][0]["packages"][0]["questions"] = doc["tenants"][0]["packages"][0]["questions"][:1]
    doc["tenants"][0]["retention_days"] = 60
    report = config_apply(doc=doc)
    assert any(line.startswith("tenant acme (retention_days)") for line in report.updated)
    assert Question.objects.filter(package__name="Sales Interview").count() == 1
    assert Tenant.objects.get(slug="acme").retention_days == 60


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d["tenants"][0].update(colour="blue"), "tenants[0].colour: unknown key"),
        (lambda d: d["tenants"][0].update(region="mars"), "tenants[0].region: 'mars' is not one of eu, us, au"),
        (lambda d: d["tenants"][0]["users"][0].update(email="not-an-email"), "tenants[0].users[0].email"),
        (lambda d: d["tenants"][0]["users"][0].update(role="boss"), "tenants[0].users[0].role"),
        (lambda d: d["tenants"][0].update(retention_days="ninety"), "tenants[0].retention_days: expected a whole number"),
        (lambda d: d["tenants"][0]["packages"][0]["questions"][0].pop("text"), "questions[0].text: required"),
        (lambda d: d["tenants"][0]["connections"][0].update(provider="nope"), "connections[0].provider: 'nope'"),
        (
            lambda d: d["tenants"][0]["connections"][0]["stage_mappings"][0].update(package="Missing"),
            "stage_mappings[0].package: no package named 'Missing'",
        ),
        (lambda d: d["tenants"][0]["connections"][0].update(api_base_url="ftp://x"), "api_base_url"),
        (lambda d: d.update(tenants="acme"), "tenants: expected a list"),
    ],
)
def test_bad_input_is_rejected_naming_the_key_and_nothing_is_applied(mutate, message):
    doc = copy.deepcopy(DOC)
    mutate(doc)
    if isinstance(doc["tenants"], list):
        # A valid tenant first: it must not be half-applied when a later one is bad.
        doc["tenants"].insert(0, {"slug": "fine", "name": "Fine Ltd"})
        message = message.replace("tenants[0]", "tenants[1]")
    with pytest.raises(ConfigError) as excinfo:
        config_apply(doc=doc)
    assert any(message in error for error in excinfo.value.errors), excinfo.value.errors
    assert Tenant.objects.count() == 0
    assert get_user_model().objects.count() == 0


def test_the_command_reads_yaml_and_json_and_reports(tmp_path):
    path = tmp_path / "stagehook.json"
    path.write_text(json.dumps(DOC))
    out = io.StringIO()
    call_command("apply_config", str(path), stdout=out)
    assert "created tenant acme" in out.getvalue()
    out = io.StringIO()
    call_command("apply_config", str(path), stdout=out)
    assert "0 created, 0 updated" in out.getvalue()

    bad = tmp_path / "bad.yaml"
    bad.write_text("tenants:\n  - slug: x\n    nmae: typo\n")
    with pytest.raises(CommandError, match=r"(?s)nothing applied.*tenants\[0\]\.nmae: unknown key"):
        call_command("apply_config", str(bad))
    broken = tmp_path / "broken.yaml"
    broken.write_text("tenants: [\n")
    with pytest.raises(CommandError, match="not valid YAML"):
        call_command("apply_config", str(broken))


def test_the_demo_config_applies_cleanly_twice():
    from pathlib import Path

    from integrations.config_as_code import config_load

    if "teamtailor" not in providers.provider_names():
        pytest.fail("the teamtailor provider is not registered")
    doc = config_load(Path(__file__).resolve().parents[2] / "demo" / "stagehook.yaml")
    assert config_apply(doc=doc).changed
    assert not config_apply(doc=doc).changed


def test_several_packages_on_one_stage_and_the_score_rules_apply():
    doc = copy.deepcopy(DOC)
    tenant = doc["tenants"][0]
    tenant["packages"].append({"name": "Culture Interview"})
    tenant["connections"][0]["stage_mappings"] = [
        {"stage": "interview", "package": "Sales Interview", "advance_threshold": 70, "advance_to_stage": "offer",
         "fail_threshold": 40, "fail_to_stage": "rejected", "reinvite_on_reentry": True},
        {"stage": "interview", "package": "Culture Interview"},
    ]
    config_apply(doc=doc)
    rows = {m.package.name: m for m in StageMapping.objects.select_related("package")}
    assert set(rows) == {"Sales Interview", "Culture Interview"}
    sales = rows["Sales Interview"]
    assert (sales.advance_threshold, sales.advance_to_stage_id, sales.fail_threshold, sales.fail_to_stage_id,
            sales.reinvite_on_reentry) == (70, "offer", 40, "rejected", True)
    assert not config_apply(doc=doc).changed


def test_a_fail_threshold_out_of_range_is_rejected():
    doc = copy.deepcopy(DOC)
    doc["tenants"][0]["connections"][0]["stage_mappings"][0]["fail_threshold"] = 101
    with pytest.raises(ConfigError, match=r"stage_mappings\[0\]\.fail_threshold: must be 0-100"):
        config_apply(doc=doc)
    assert not StageMapping.objects.exists()


def test_a_user_created_by_this_run_is_reported_once_as_created_never_as_updated():
    report = config_apply(doc=DOC)
    users_created = [line for line in report.created if line.startswith("user ")]
    assert sorted(users_created) == ["user ops@vendor.test", "user rec@acme.test"]
    assert not [line for line in report.updated if line.startswith("user ")], report.updated
    assert get_user_model().objects.get(email="ops@vendor.test").check_password("ops-pass-123!")


def test_a_user_created_without_a_password_cannot_sign_in_with_an_empty_one():
    doc = copy.deepcopy(DOC)
    del doc["users"][0]["password"]
    config_apply(doc=doc)
    user = get_user_model().objects.get(email="ops@vendor.test")
    assert not user.has_usable_password()


def test_a_connection_made_active_gets_its_first_full_sync_queued(django_capture_on_commit_callbacks):
    from integrations.models import SyncRun

    doc = copy.deepcopy(DOC)
    spec = doc["tenants"][0]["connections"][0]
    spec["provider"] = "teamtailor"  # a provider that can sync (the test provider cannot)
    spec["credentials"] = {"api_key": "company-key", "provider_key": "pk-1"}
    report = config_apply(doc=doc)
    [conn] = report.activated
    run = SyncRun.objects.get(connection=conn)
    assert run.full and run.reason == "first sync after activation"
    # A second run activates nothing and queues nothing more.
    assert config_apply(doc=doc).activated == [] and SyncRun.objects.filter(connection=conn).count() == 1
