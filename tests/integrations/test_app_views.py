"""The recruiter's connection pages: the connections list, the wizard, "Use in ATS"."""

import datetime as dt

import pytest
from django.utils import timezone

from integrations.models import (
    RemoteApplication,
    RemoteJob,
    RemoteStage,
    StageMapping,
    StageMappingVersion,
    SyncRun,
    WebhookEvent,
)
from tenants.models import Role
from tests.factories import ConnectionFactory, MembershipFactory, PackageFactory, StageMappingFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup(db):
    mine = MembershipFactory(role=Role.RECRUITER)
    connection = ConnectionFactory(tenant=mine.tenant, name="Teamtailor")
    for position, (stage_id, name) in enumerate([("s1", "Inbox"), ("s2", "Interview"), ("s3", "Offer")]):
        RemoteStage.objects.create(connection=connection, remote_id=stage_id, name=name, position=position)
    RemoteStage.objects.create(connection=connection, remote_id="s2/Sched", name="Scheduled", parent_remote_id="s2",
                               sub_status="Sched")
    RemoteJob.objects.create(connection=connection, remote_id="j1", title="Backend engineer")
    RemoteJob.objects.create(connection=connection, remote_id="j2", title="Designer")
    RemoteApplication.objects.create(connection=connection, remote_id="a1", remote_job_id="j1", remote_stage_id="s2")
    RemoteApplication.objects.create(connection=connection, remote_id="a2", remote_job_id="j2", remote_stage_id="s2")
    package = PackageFactory(tenant=mine.tenant, name="Backend test")
    other_package = PackageFactory(tenant=mine.tenant, name="Culture interview")
    other = MembershipFactory(role=Role.ADMIN)
    other_connection = ConnectionFactory(tenant=other.tenant)
    return {"user": mine.user, "connection": connection, "package": package, "other_package": other_package,
            "other_user": other.user, "other_connection": other_connection,
            "foreign_package": PackageFactory(tenant=other.tenant)}


def url(connection, step=None, **params):
    base = f"/app/connections/{connection.pk}/mapping"
    query = "&".join([f"step={step}"] * bool(step) + [f"{k}={v}" for k, v in params.items()])
    return base + ("?" + query if query else "")


def test_pages_need_a_login(client, setup):
    for path in ["/app/connections/", url(setup["connection"]), f"/app/connections/use-package/{setup['package'].pk}"]:
        response = client.get(path)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_another_tenants_connection_and_package_are_404(client, setup):
    client.force_login(setup["other_user"])
    connection = setup["connection"]
    version = StageMappingVersion.objects.create(connection=connection, number=1, rows=[])
    for method, path in [
        ("get", url(connection)), ("get", url(connection, "review")), ("post", url(connection, "review")),
        ("post", f"/app/connections/{connection.pk}/mapping/refresh"),
        ("post", f"/app/connections/{connection.pk}/mapping/versions/{version.pk}/restore"),
        ("get", f"/app/connections/use-package/{setup['package'].pk}"),
        ("post", f"/app/connections/use-package/{setup['package'].pk}"),
    ]:
        assert getattr(client, method)(path, {"action": "save"} if method == "post" else None).status_code == 404, path
    page = client.get("/app/connections/").content.decode()
    assert f'id="connection-{connection.pk}"' not in page
    assert f'id="connection-{setup["other_connection"].pk}"' in page


def test_wizard_default_override_rules_review_save(client, setup):
    client.force_login(setup["user"])
    connection, package, other = setup["connection"], setup["package"], setup["other_package"]
    page = client.get(url(connection)).content.decode()
    assert "Interview" in page and "Scheduled" not in page
    assert "Scheduled" in client.get(url(connection, "stages", sub=1)).content.decode()

    response = client.post(url(connection), {"step": "stages", "default::s2|": [str(package.pk)], "action": "next"})
    assert response.status_code == 302 and "step=jobs" in response["Location"]
    assert not StageMapping.objects.exists()  # only the draft so far

    page = client.get(url(connection, "jobs", q="back")).content.decode()
    assert "Backend engineer" in page and "Designer" not in page
    response = client.post(url(connection, "jobs"), {"step": "jobs", "job": "j2", "override::s2|": ["none"],
                                                       "override::s3|": [str(other.pk)], "action": "apply"})
    assert response.status_code == 302
    response = client.post(url(connection), {"step": "rules", "action": "next",
                                             f"rule::|s2||{package.pk}::pass_threshold": "70",
                                             f"rule::|s2||{package.pk}::pass_stage": "s3",
                                             f"rule::|s2||{package.pk}::fail_threshold": "",
                                             f"rule::|s2||{package.pk}::reinvite": "on"})
    assert response.status_code == 302 and "step=review" in response["Location"]

    review = client.get(url(connection, "review")).content.decode()
    assert "unsaved changes" in review
    assert "score ≥ 70 → move to Offer" in review and "No interview" in review
    response = client.post(url(connection, "review"), {"step": "review", "action": "save"})
    assert response.status_code == 302
    rows = {(m.remote_job_id, m.remote_stage_id, m.package_id): m for m in StageMapping.objects.all()}
    assert set(rows) == {("", "s2", package.pk), ("j2", "s2", None), ("j2", "s3", other.pk)}
    assert rows[("", "s2", package.pk)].advance_threshold == 70 and rows[("", "s2", package.pk)].reinvite_on_reentry
    version = StageMappingVersion.objects.get()
    assert version.created_by == setup["user"] and len(version.diff["added"]) == 3
    review = client.get(url(connection, "review")).content.decode()
    assert "Saved as version 1" in review and "unsaved changes" not in review


def test_review_counts_candidates_now(client, setup):
    client.force_login(setup["user"])
    connection, package = setup["connection"], setup["package"]
    client.post(url(connection), {"step": "stages", "default::s2|": [str(package.pk)]})
    page = client.get(url(connection, "review")).content.decode()
    assert "<td>All jobs</td><td>Interview</td><td>Backend test</td>" in page
    assert page.split("Backend test</td>")[1].split("</tr>")[0].strip().endswith("<td>2</td>")


def test_a_foreign_package_is_a_clear_error_and_nothing_is_stored(client, setup):
    client.force_login(setup["user"])
    connection = setup["connection"]
    response = client.post(url(connection), {"step": "stages", "default::s2|": [str(setup["foreign_package"].pk)]})
    assert response.status_code == 400
    assert "is not one of this workspace&#x27;s packages" in response.content.decode()
    assert client.session.get(f"stage_mapping_draft:{connection.pk}") is None


def test_saving_a_stage_of_another_connection_is_refused(client, setup):
    client.force_login(setup["user"])
    connection = setup["connection"]
    RemoteStage.objects.create(connection=setup["other_connection"], remote_id="x9", name="Elsewhere")
    session = client.session
    session[f"stage_mapping_draft:{connection.pk}"] = [{"stage": "x9", "package": setup["package"].pk}]
    session.save()
    response = client.post(url(connection, "review"), {"step": "review", "action": "save"})
    assert response.status_code == 400
    assert "no such stage in this connection" in response.content.decode()
    assert not StageMapping.objects.exists()


def test_restore_and_history(client, setup):
    client.force_login(setup["user"])
    connection, package = setup["connection"], setup["package"]
    StageMappingFactory(connection=connection, remote_stage_id="s1", package=package, remote_stage_name="Inbox")
    client.post(url(connection), {"step": "stages", "default::s2|": [str(package.pk)]})
    client.post(url(connection, "review"), {"step": "review", "action": "save"})
    assert list(StageMappingVersion.objects.values_list("number", flat=True)) == [2, 1]
    page = client.get(url(connection, "review")).content.decode()
    assert "Restore version 1" in page and "Restore version 2" not in page
    first = StageMappingVersion.objects.get(number=1)
    response = client.post(f"/app/connections/{connection.pk}/mapping/versions/{first.pk}/restore")
    assert response.status_code == 302
    assert list(StageMapping.objects.values_list("remote_stage_id", flat=True)) == ["s1"]
    assert "Version 1 restored as version 3" in client.get(url(connection, "review")).content.decode()


def test_refresh_queues_a_jobs_and_stages_sync(client, setup):
    client.force_login(setup["user"])
    connection = setup["connection"]
    connection.credentials = {**(connection.credentials or {}), "api_key": "company-key"}  # the sync reads the public API
    connection.save()
    response = client.post(f"/app/connections/{connection.pk}/mapping/refresh", follow=True)
    assert "Refreshing the pipeline from the ATS" in response.content.decode()
    run = SyncRun.objects.get(connection=connection)
    assert run.kinds == ["jobs", "stages"] and not run.full


def test_refresh_of_a_connection_that_cannot_sync_says_so(client, setup):
    client.force_login(setup["user"])
    connection = setup["connection"]
    response = client.post(f"/app/connections/{connection.pk}/mapping/refresh", follow=True)
    assert "cannot be synced right now" in response.content.decode()
    assert not SyncRun.objects.filter(connection=connection).exists()


def test_orphaned_mapping_is_flagged_in_wizard_and_connections_page(client, setup):
    client.force_login(setup["user"])
    connection = setup["connection"]
    StageMappingFactory(connection=connection, remote_stage_id="gone", package=setup["package"], remote_stage_name="Old")
    StageMappingFactory(connection=connection, remote_stage_id="s3", package=setup["package"], remote_stage_name="Offer sent")
    for page in (client.get(url(connection)).content.decode(), client.get("/app/connections/").content.decode()):
        assert "the stage no longer exists in the ATS" in page
        assert "renamed in the ATS (was “Offer sent”, now “Offer”)" in page


def test_connections_page_shows_status_syncs_and_webhooks(client, setup):
    client.force_login(setup["user"])
    connection = setup["connection"]
    connection.status, connection.status_reason = "needs_attention", "write-back refused: 401"
    connection.credentials = {**(connection.credentials or {}), "api_key": "company-key"}  # syncable
    connection.save()
    now = timezone.now()
    SyncRun.objects.create(connection=connection, status="succeeded", finished_at=now - dt.timedelta(hours=2), pages=3,
                           counts={"seen": 12})
    SyncRun.objects.create(connection=connection, status="failed", finished_at=now - dt.timedelta(hours=1),
                           error_code="AUTH_FAILED", error="the key was refused")
    for i, status in enumerate(["processed", "failed", "processed"]):
        WebhookEvent.objects.create(provider="teamtailor", connection=connection, event_id=f"e{i}", raw_body=b"{}",
                                    status=status)
    old = WebhookEvent.objects.create(provider="teamtailor", connection=connection, event_id="old", raw_body=b"{}")
    WebhookEvent.objects.filter(pk=old.pk).update(received_at=now - dt.timedelta(days=2))
    page = client.get("/app/connections/").content.decode()
    assert "Needs attention</strong>: write-back refused: 401" in page and "What to do:" in page
    assert "AUTH_FAILED the key was refused" in page
    assert (now - dt.timedelta(hours=2)).strftime("%Y-%m-%d") in page
    assert "3 in the last 24 h · 1 failed" in page
    assert "Latest sync: <strong>Failed</strong>" in page  # the sync panel include
    latest = SyncRun.objects.filter(connection=connection).order_by("-started_at").first()
    next_at = timezone.localtime(latest.started_at + dt.timedelta(hours=3))
    assert next_at.strftime("%Y-%m-%d %H:%M") in page  # the next scheduled sync: 3 h after the last one
    connection.credentials = {}
    connection.save()
    assert "not scheduled: no Teamtailor API key is stored" in client.get("/app/connections/").content.decode()


def test_use_in_ats_creates_the_same_rows_and_a_version(client, setup):
    client.force_login(setup["user"])
    connection, package = setup["connection"], setup["package"]
    base = f"/app/connections/use-package/{package.pk}"
    page = client.get(base).content.decode()
    assert "Backend engineer" in page and "Designer" in page
    response = client.post(base, {"connection": connection.pk, "step": "jobs", "jobs": ["j1", "j2"]})
    page = response.content.decode()
    assert response.status_code == 200 and "Trigger stage for Backend engineer" in page
    response = client.post(base, {"connection": connection.pk, "step": "apply", "jobs": ["j1", "j2"],
                                  "stage::j1": "s2|", "stage::j2": "s2|Sched"})
    assert response.status_code == 302 and response["Location"].endswith("step=review")
    assert set(StageMapping.objects.values_list("remote_job_id", "remote_stage_id", "remote_sub_status", "package_id")) == {
        ("j1", "s2", "", package.pk), ("j2", "s2", "Sched", package.pk)}
    assert StageMappingVersion.objects.get().note == f"“Use in ATS” for {package.name}"


def test_use_in_ats_refuses_a_missing_stage_and_foreign_jobs(client, setup):
    client.force_login(setup["user"])
    connection, package = setup["connection"], setup["package"]
    base = f"/app/connections/use-package/{package.pk}"
    response = client.post(base, {"connection": connection.pk, "step": "apply", "jobs": ["j1"], "stage::j1": ""})
    assert response.status_code == 400 and "choose the trigger stage" in response.content.decode()
    response = client.post(base, {"connection": connection.pk, "step": "jobs", "jobs": ["nope"]})
    assert response.status_code == 400
    response = client.post(base, {"connection": setup["other_connection"].pk, "step": "jobs", "jobs": ["j1"]})
    assert response.status_code == 400 and "Choose one of this workspace" in response.content.decode()
    assert not StageMapping.objects.exists()


def test_package_page_links_to_use_in_ats(client, setup):
    client.force_login(setup["user"])
    page = client.get("/app/packages/").content.decode()
    assert f'href="/app/connections/use-package/{setup["package"].pk}"' in page


def test_a_deactivated_packages_mapping_is_not_dropped_by_a_step(client, setup):
    client.force_login(setup["user"])
    connection = setup["connection"]
    retired = PackageFactory(tenant=connection.tenant, name="Retired test", active=False)
    StageMappingFactory(connection=connection, remote_stage_id="s2", package=retired, remote_stage_name="Interview")
    client.post(url(connection), {"step": "stages", "default::s2|": [str(setup["package"].pk)]})
    client.post(url(connection, "review"), {"step": "review", "action": "save"})
    assert set(StageMapping.objects.values_list("package__name", flat=True)) == {"Retired test", "Backend test"}


def test_a_save_by_someone_else_meanwhile_is_not_overwritten_silently(client, setup):
    client.force_login(setup["user"])
    connection, package = setup["connection"], setup["package"]
    client.post(url(connection), {"step": "stages", "default::s2|": [str(package.pk)]})
    # Meanwhile a colleague saves (version 1).
    from integrations import mapping

    mapping.stage_mappings_save(connection=connection, rows=[{"stage": "s3", "package": setup["other_package"].pk}])
    response = client.post(url(connection, "review"), {"step": "review", "action": "save"})
    assert response.status_code == 400 and "Version 1 was saved while you were editing" in response.content.decode()
    assert list(StageMapping.objects.values_list("remote_stage_id", flat=True)) == ["s3"]
    response = client.post(url(connection, "review"), {"step": "review", "action": "save"})  # on purpose, again
    assert response.status_code == 302
    assert list(StageMapping.objects.values_list("remote_stage_id", flat=True)) == ["s2"]
    assert StageMappingVersion.objects.count() == 2
