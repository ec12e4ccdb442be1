"""The polling sync against the Teamtailor sandbox served as a real HTTP server: full and
incremental paging, rows written only when they changed, missed webhooks caught, one invite per
move whichever way it arrives, full reconciliation, one sync per connection, the reaper, and the
needs-attention e-mail."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from django.core import mail
from django.db import connection as db_connection
from django.db import connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from assessments.models import Assessment
from integrations import ratelimit
from integrations.models import (
    Connection,
    RemoteApplication,
    RemoteCandidate,
    RemoteJob,
    RemoteStage,
    StageMapping,
    SyncRun,
    WebhookEvent,
)
from integrations.sync import sync_all, sync_run_execute, sync_runs_reap, sync_start
from integrations.tasks import sync_connection
from integrations.teamtailor.sandbox.state import isoformat
from tests.factories import MembershipFactory, StageMappingFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_windows():
    # The sandbox's API key is the same in every test: start each with empty windows.
    ratelimit.limiter_get().reset()


def run_sync(capture, connection, **kwargs) -> SyncRun:
    with capture(execute=True):
        run = sync_start(connection=connection, **kwargs)
    assert run is not None
    run.refresh_from_db()
    return run


def xmins(connection) -> dict[str, str]:
    """Each mirrored candidate's row version (PostgreSQL's xmin): it changes when a row is written."""
    with db_connection.cursor() as cursor:
        cursor.execute(
            "SELECT remote_id, xmin::text FROM integrations_remotecandidate WHERE connection_id = %s", [connection.pk]
        )
        return dict(cursor.fetchall())


def cursor_of(connection, kind):
    connection.refresh_from_db()
    return dt.datetime.fromisoformat(connection.sync_cursors[kind])


# --- paging and writing ----------------------------------------------------------------------------
def test_2000_candidates_in_full_then_an_incremental_sync_writes_only_the_50_that_changed(
    teamtailor_sandbox, sandbox_connection, django_capture_on_commit_callbacks
):
    state = teamtailor_sandbox.state
    start = timezone.now() - dt.timedelta(days=30)
    ids = [str(100000 + i) for i in range(2000)]
    for i, candidate_id in enumerate(ids):
        state.add_candidate(candidate_id=candidate_id, first_name=f"C{i}", updated_at=start + dt.timedelta(minutes=10 * i))
    total = len(state.candidates)  # the sandbox's own seeded candidates too
    # The reference fixtures' candidates date from 2020: past the tenant's retention, not mirrored.
    retention = timezone.now() - dt.timedelta(days=sandbox_connection.tenant.retention_days)
    old = sum(dt.datetime.fromisoformat(c["attributes"]["updated-at"]) < retention for c in state.candidates.values())
    assert old == 2

    full = run_sync(django_capture_on_commit_callbacks, sandbox_connection, kinds=("candidates",))
    assert full.status == "succeeded", full.error
    assert full.counts["candidates"] == {
        "seen": total, "created": total - old, "updated": 0, "unchanged": 0, "skipped": old, "deleted": 0
    }
    assert teamtailor_sandbox.stats()["rate_limited"] == 0  # within Teamtailor's limit throughout
    assert full.pages >= total // 30
    assert RemoteCandidate.objects.filter(connection=sandbox_connection).count() == total - old
    newest = max(dt.datetime.fromisoformat(c["attributes"]["updated-at"]) for c in state.candidates.values())
    assert cursor_of(sandbox_connection, "candidates") == newest
    ada = RemoteCandidate.objects.get(connection=sandbox_connection, remote_id="54322")
    assert (ada.first_name, ada.email) == ("Ada", "ada.lovelace@example.com")

    changed = ids[::40]
    assert len(changed) == 50
    with state.lock:
        for candidate_id in changed:
            attributes = state.candidates[candidate_id]["attributes"]
            attributes["first-name"] = "Renamed"
            attributes["updated-at"] = isoformat(timezone.now())
    before = xmins(sandbox_connection)
    with CaptureQueriesContext(db_connection) as queries:
        incremental = run_sync(django_capture_on_commit_callbacks, sandbox_connection, kinds=("candidates",))
    after = xmins(sandbox_connection)

    assert incremental.status == "succeeded", incremental.error
    assert incremental.counts["candidates"]["updated"] == 50
    assert incremental.counts["candidates"]["created"] == 0
    # Only the overlap (the few candidates changed at the end of the last run) was read again.
    assert incremental.counts["candidates"]["seen"] < 50 + 30
    assert set(after) == set(before)
    rewritten = {remote_id for remote_id, version in after.items() if before[remote_id] != version}
    assert rewritten == set(changed)
    assert set(RemoteCandidate.objects.filter(connection=sandbox_connection, first_name="Renamed")
               .values_list("remote_id", flat=True)) == set(changed)
    inserts = [q for q in queries.captured_queries if q["sql"].startswith('INSERT INTO "integrations_remotecandidate"')]
    assert 1 <= len(inserts) <= incremental.pages  # one statement per page, never one per row
    assert cursor_of(sandbox_connection, "candidates") > newest


def test_candidates_older_than_the_retention_period_are_not_mirrored_again(
    teamtailor_sandbox, sandbox_connection, django_capture_on_commit_callbacks
):
    sandbox_connection.tenant.retention_days = 30
    sandbox_connection.tenant.save()
    teamtailor_sandbox.state.add_candidate(candidate_id="70001", updated_at=timezone.now() - dt.timedelta(days=31))
    run = run_sync(django_capture_on_commit_callbacks, sandbox_connection, kinds=("candidates",))
    assert run.counts["candidates"]["skipped"] == 3  # and the two fixture candidates of 2020
    assert not RemoteCandidate.objects.filter(connection=sandbox_connection, remote_id="70001").exists()
    assert RemoteCandidate.objects.filter(connection=sandbox_connection, remote_id="54322").exists()


def test_a_full_sync_mirrors_jobs_stages_and_applications(
    teamtailor_sandbox, sandbox_connection, django_capture_on_commit_callbacks
):
    run = run_sync(django_capture_on_commit_callbacks, sandbox_connection)
    assert run.status == "succeeded", run.error
    assert run.kinds == ["jobs", "stages", "candidates", "applications"] and run.kinds_done == run.kinds
    state = teamtailor_sandbox.state
    assert set(RemoteJob.objects.filter(connection=sandbox_connection).values_list("remote_id", flat=True)) == set(state.jobs)
    pipeline = list(RemoteStage.objects.filter(connection=sandbox_connection, remote_job_id="12345")
                    .order_by("position").values_list("remote_id", "name"))
    assert pipeline == [("11", "Inbox"), ("12", "Phone screen"), ("13", "Stagehook interview"), ("14", "Offer"), ("15", "Hired")]
    application = RemoteApplication.objects.get(connection=sandbox_connection, remote_id="637")
    assert (application.remote_candidate_id, application.remote_job_id, application.remote_stage_id) == ("54322", "12345", "11")
    assert RemoteApplication.objects.filter(connection=sandbox_connection).count() == len(state.applications)
    sandbox_connection.refresh_from_db()
    assert sandbox_connection.last_synced_at is not None
    assert set(sandbox_connection.sync_cursors) == {"candidates", "applications"}


# --- stage moves ------------------------------------------------------------------------------------
@pytest.fixture
def mapped(sandbox_connection, package):
    return StageMappingFactory(connection=sandbox_connection, remote_stage_id="13", package=package)


def test_a_move_whose_webhook_the_sandbox_drops_is_invited_by_the_next_sync_exactly_once(
    teamtailor_sandbox, sandbox_connection, mapped, package, django_capture_on_commit_callbacks
):
    # Application 636 sat in stage 12 before the connection existed: the first sync records where
    # everyone stands and invites no one for it.
    StageMappingFactory(connection=sandbox_connection, remote_stage_id="12", package=package)
    baseline = run_sync(django_capture_on_commit_callbacks, sandbox_connection)
    assert baseline.status == "succeeded" and baseline.baseline and baseline.invites_triggered == 0
    assert not Assessment.objects.exists()

    teamtailor_sandbox.faults(drop_webhooks=1)
    teamtailor_sandbox.move("637", "13")
    assert teamtailor_sandbox.stats()["webhooks_dropped"] == 1

    caught = run_sync(django_capture_on_commit_callbacks, sandbox_connection)
    assert caught.status == "succeeded", caught.error
    assert caught.invites_triggered == 1 and not caught.baseline
    assessment = Assessment.objects.get()
    assert (assessment.mode, assessment.package, assessment.remote_application_id) == ("trigger", package, "637")
    assert [m.to for m in mail.outbox] == [["ada.lovelace@example.com"]]
    assert RemoteApplication.objects.get(connection=sandbox_connection, remote_id="637").remote_stage_id == "13"

    again = run_sync(django_capture_on_commit_callbacks, sandbox_connection, full=True)
    assert again.status == "succeeded" and again.invites_triggered == 0
    assert Assessment.objects.count() == 1 and len(mail.outbox) == 1


def test_a_webhook_and_a_sync_of_the_same_move_make_one_invite(
    client, sandbox_server, webhook_receiver, settings, tenant, package, django_capture_on_commit_callbacks
):
    from tests.factories import ConnectionFactory

    settings.ATS_EXTRA_ALLOWED_HOSTS = ["127.0.0.1"]
    sandbox = sandbox_server("teamtailor", stagehook_url=webhook_receiver.url)
    config = sandbox.config
    connection = ConnectionFactory(
        tenant=tenant, remote_account_id=config.company_uuid, region="eu", api_base_url=sandbox.url,
        credentials={"partner_api_key": config.partner_api_key, "api_key": config.api_key,
                     "company_webhook_secret": config.company_webhook_secret},
    )
    StageMappingFactory(connection=connection, remote_stage_id="13", package=package)
    assert run_sync(django_capture_on_commit_callbacks, connection).status == "succeeded"

    sandbox.move("637", "13")
    received = webhook_receiver.wait_for(1)[0]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/teamtailor/company-webhooks", data=received.body, content_type="application/json",
                               HTTP_TT_SIGNATURE=received.headers["Tt-Signature"])
    assert response.status_code == 200, response.content
    assert WebhookEvent.objects.get(event_type="job_application.update").status == "processed"
    assert Assessment.objects.count() == 1

    run = run_sync(django_capture_on_commit_callbacks, connection)
    assert run.status == "succeeded" and run.invites_triggered == 0
    assert Assessment.objects.count() == 1
    assert [m.to for m in mail.outbox] == [["ada.lovelace@example.com"]]


def test_the_first_sync_invites_a_move_made_after_the_connection_was_created(
    teamtailor_sandbox, sandbox_connection, mapped, package, django_capture_on_commit_callbacks
):
    """The demo's order: the wizard's refresh syncs jobs and stages only, the candidate is moved
    with webhooks off, then the first full sync of applications catches the move."""
    assert run_sync(django_capture_on_commit_callbacks, sandbox_connection, kinds=("jobs", "stages")).status == "succeeded"
    teamtailor_sandbox.faults(drop_webhooks=1)
    teamtailor_sandbox.move("637", "13")
    first = run_sync(django_capture_on_commit_callbacks, sandbox_connection)
    assert first.baseline and first.invites_triggered == 1
    assert Assessment.objects.get().remote_application_id == "637"


def test_a_rejected_application_moved_while_webhooks_were_lost_is_not_invited(
    teamtailor_sandbox, sandbox_connection, mapped, django_capture_on_commit_callbacks
):
    run_sync(django_capture_on_commit_callbacks, sandbox_connection)
    state = teamtailor_sandbox.state
    teamtailor_sandbox.faults(drop_webhooks=1)
    teamtailor_sandbox.move("638", "13")
    with state.lock:
        state.applications["638"]["attributes"]["rejected-at"] = isoformat(timezone.now())
        state.applications["638"]["attributes"]["updated-at"] = isoformat(timezone.now())
    run = run_sync(django_capture_on_commit_callbacks, sandbox_connection)
    assert run.status == "succeeded" and run.invites_triggered == 0
    assert RemoteApplication.objects.get(connection=sandbox_connection, remote_id="638").rejected_at is not None
    assert not Assessment.objects.exists()


# --- full reconciliation ------------------------------------------------------------------------------
def test_full_reconciliation_removes_what_the_ats_deleted_and_flags_the_orphaned_mapping(
    teamtailor_sandbox, sandbox_connection, package, django_capture_on_commit_callbacks
):
    interview = StageMappingFactory(connection=sandbox_connection, remote_stage_id="13", package=package)
    screen = StageMappingFactory(connection=sandbox_connection, remote_stage_id="12", package=package)
    assert run_sync(django_capture_on_commit_callbacks, sandbox_connection, full=True).status == "succeeded"
    assert RemoteStage.objects.filter(connection=sandbox_connection, remote_id="13").exists()

    state = teamtailor_sandbox.state
    with state.lock:
        del state.stages["13"]
        del state.candidates["54324"]
        del state.applications["639"]
        del state.jobs["27"]
        for stage_id in ("6", "7", "8"):
            del state.stages[stage_id]

    # An incremental run lists jobs and stages in full (they are few) but candidates only by change.
    incremental = run_sync(django_capture_on_commit_callbacks, sandbox_connection)
    assert incremental.status == "succeeded", incremental.error
    assert not RemoteStage.objects.filter(connection=sandbox_connection, remote_id="13").exists()
    assert RemoteCandidate.objects.filter(connection=sandbox_connection, remote_id="54324").exists()

    full = run_sync(django_capture_on_commit_callbacks, sandbox_connection, full=True)
    assert full.status == "succeeded", full.error
    assert not RemoteCandidate.objects.filter(connection=sandbox_connection, remote_id="54324").exists()
    assert not RemoteApplication.objects.filter(connection=sandbox_connection, remote_id="639").exists()
    assert not RemoteJob.objects.filter(connection=sandbox_connection, remote_id="27").exists()
    assert full.counts["candidates"]["deleted"] == 1 and full.counts["applications"]["deleted"] == 1
    interview.refresh_from_db()
    screen.refresh_from_db()
    assert interview.remote_stage_missing_since is not None
    assert screen.remote_stage_missing_since is None

    # The stage comes back (same id): the flag goes.
    with state.lock:
        state.stages["13"] = {"id": "13", "job_id": "12345", "attributes": dict(state.stages["12"]["attributes"],
                                                                                 name="Stagehook interview")}
    run_sync(django_capture_on_commit_callbacks, sandbox_connection, kinds=("jobs", "stages"))
    interview.refresh_from_db()
    assert interview.remote_stage_missing_since is None


# --- one at a time ----------------------------------------------------------------------------------------
def test_sync_start_returns_the_live_run_instead_of_a_second(sandbox_connection):
    first = sync_start(connection=sandbox_connection, kinds=("jobs", "stages"), reason="wizard")
    second = sync_start(connection=sandbox_connection, full=True)
    assert first is not None and second.pk == first.pk
    assert (first.status, first.kinds, first.reason) == ("queued", ["jobs", "stages"], "wizard")
    assert SyncRun.objects.count() == 1
    with pytest.raises(ValueError, match="unknown sync kinds"):
        sync_start(connection=sandbox_connection, kinds=("resumes",))


def test_a_connection_without_an_api_key_is_not_synced(sandbox_connection):
    sandbox_connection.credentials = {"partner_api_key": "x"}
    sandbox_connection.save()
    assert sync_start(connection=sandbox_connection) is None
    sandbox_connection.status = "disconnected"
    assert sync_start(connection=sandbox_connection) is None
    assert not SyncRun.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_sync_tasks_for_one_connection_at_once_one_runs(teamtailor_sandbox, sandbox_connection):
    # Queued as sync_start would, without its task (tasks run eagerly in tests): the threads below run it.
    run = SyncRun.objects.create(connection=sandbox_connection, kinds=["jobs", "stages", "candidates", "applications"])
    teamtailor_sandbox.faults(delay=0.3)
    outcome = {}

    def first():
        try:
            outcome["first"] = sync_run_execute(sync_run_id=run.pk)
        finally:
            connections.close_all()

    thread = threading.Thread(target=first)
    thread.start()
    deadline = time.monotonic() + 20
    while SyncRun.objects.get(pk=run.pk).status != "running":
        assert time.monotonic() < deadline, "the first sync never started"
        time.sleep(0.05)

    second = sync_run_execute(sync_run_id=run.pk)
    assert (second.ran, second.busy) == (False, True)
    # The task: a duplicate delivery of a run another worker executes ends quietly, no retry.
    assert sync_connection.apply(args=[run.pk]).state == "SUCCESS"
    assert sync_start(connection=sandbox_connection).pk == run.pk

    teamtailor_sandbox.clear_faults()
    thread.join(timeout=60)
    assert outcome["first"].ran
    run.refresh_from_db()
    assert run.status == "succeeded", run.error
    assert SyncRun.objects.count() == 1
    assert run.counts["candidates"]["created"] == RemoteCandidate.objects.filter(connection=sandbox_connection).count()


# --- schedule ------------------------------------------------------------------------------------------
def test_sync_all_starts_due_connections_once_and_respects_pause_and_interval(sandbox_connection, tenant):
    from tests.factories import ConnectionFactory

    paused = ConnectionFactory(tenant=tenant, credentials={"api_key": "k"}, sync_enabled=False)
    hourly = ConnectionFactory(tenant=tenant, credentials={"api_key": "k"}, sync_interval_minutes=60)
    pending = ConnectionFactory(tenant=tenant, credentials={"api_key": "k"}, status="pending")

    started = sync_all()
    assert {run.connection_id for run in started} == {sandbox_connection.pk, hourly.pk}
    assert all(run.full for run in started)  # never reconciled in full yet
    assert sync_all() == []  # beat firing twice: the runs are already queued

    SyncRun.objects.update(status="succeeded", finished_at=timezone.now())
    assert sync_all() == []  # not due yet
    later = timezone.now() + dt.timedelta(minutes=61)
    assert [run.connection_id for run in sync_all(now=later)] == [hourly.pk]
    SyncRun.objects.update(status="succeeded")
    due = {run.connection_id: run.full for run in sync_all(now=timezone.now() + dt.timedelta(hours=3))}
    assert due == {sandbox_connection.pk: False, hourly.pk: False}  # incremental: the full run is recent
    assert not SyncRun.objects.filter(connection__in=[paused, pending]).exists()


# --- reaper and failures ---------------------------------------------------------------------------------
def test_the_reaper_marks_a_stale_run_failed_and_leaves_a_live_one(sandbox_connection, tenant):
    from tests.factories import ConnectionFactory

    other = ConnectionFactory(tenant=tenant, credentials={"api_key": "k"})
    lost = other_queued = None
    lost = SyncRun.objects.create(connection=sandbox_connection, status="running",
                                  heartbeat_at=timezone.now() - dt.timedelta(minutes=20))
    live = SyncRun.objects.create(connection=other, status="running", heartbeat_at=timezone.now())
    assert sync_runs_reap() == 1
    lost.refresh_from_db()
    live.refresh_from_db()
    assert (lost.status, lost.error_code) == ("failed", "TIMEOUT") and lost.finished_at is not None
    assert "reaper" in lost.error
    assert live.status == "running"
    SyncRun.objects.filter(pk=live.pk).update(status="failed")
    other_queued = SyncRun.objects.create(connection=other)
    SyncRun.objects.filter(pk=other_queued.pk).update(started_at=timezone.now() - dt.timedelta(hours=1))
    assert sync_runs_reap() == 1  # queued and never picked up
    assert SyncRun.objects.get(pk=other_queued.pk).status == "failed"


@pytest.fixture
def admins(tenant):
    return [MembershipFactory(tenant=tenant, role="admin", user=UserFactory(email=f"admin{i}@acme.example")).user
            for i in range(2)] + [MembershipFactory(tenant=tenant, role="recruiter").user]


def test_three_failed_syncs_in_a_row_flag_the_connection_and_email_each_admin_once(
    teamtailor_sandbox, sandbox_connection, admins, django_capture_on_commit_callbacks
):
    teamtailor_sandbox.faults(status=500)
    for attempt in range(2):
        run = run_sync(django_capture_on_commit_callbacks, sandbox_connection, kinds=("jobs",))
        assert (run.status, run.error_code) == ("failed", "REMOTE_ERROR")
        sandbox_connection.refresh_from_db()
        assert sandbox_connection.status == "active"
    assert mail.outbox == []

    run_sync(django_capture_on_commit_callbacks, sandbox_connection, kinds=("jobs",))
    sandbox_connection.refresh_from_db()
    assert sandbox_connection.status == "needs_attention"
    assert "the last 3 syncs failed" in sandbox_connection.status_reason
    assert sorted(m.to[0] for m in mail.outbox) == ["admin0@acme.example", "admin1@acme.example"]
    assert "needs attention" in mail.outbox[0].subject

    # A flagged connection can still be synced by hand; failing again sends nothing more.
    assert run_sync(django_capture_on_commit_callbacks, sandbox_connection, kinds=("jobs",)).status == "failed"
    assert len(mail.outbox) == 2
    assert sync_all() == []  # the schedule leaves it alone until it is fixed


def test_credentials_the_ats_refuses_flag_the_connection_at_the_first_failure(
    teamtailor_sandbox, sandbox_connection, admins, django_capture_on_commit_callbacks
):
    sandbox_connection.credentials = {**sandbox_connection.credentials, "api_key": "revoked-key"}
    sandbox_connection.save()
    run = run_sync(django_capture_on_commit_callbacks, sandbox_connection)
    assert (run.status, run.error_code) == ("failed", "AUTH_FAILED")
    sandbox_connection.refresh_from_db()
    assert sandbox_connection.status == "needs_attention" and "refused" in sandbox_connection.status_reason
    assert len(mail.outbox) == 2
    assert "revoked-key" not in mail.outbox[0].body and "revoked-key" not in run.error

    # The admin fixes the key and syncs by hand: the connection is active again.
    sandbox_connection.credentials = {**sandbox_connection.credentials, "api_key": teamtailor_sandbox.config.api_key}
    sandbox_connection.save()
    assert run_sync(django_capture_on_commit_callbacks, sandbox_connection, kinds=("jobs",)).status == "succeeded"
    sandbox_connection.refresh_from_db()
    assert (sandbox_connection.status, sandbox_connection.status_reason) == ("active", "")
    assert len(mail.outbox) == 2


def test_activation_queues_the_first_full_sync(db, tenant):
    from integrations.teamtailor import services as teamtailor_services
    from integrations.teamtailor.sandbox import activation_jws
    from tests.integrations.teamtailor.conftest import PARTNER_API_KEY

    connection = teamtailor_services.teamtailor_connection_get_or_create(tenant=tenant)
    connection.credentials = {"partner_api_key": PARTNER_API_KEY, "api_key": "company-key"}
    connection.save()
    token = teamtailor_services.teamtailor_connection_token_issue(connection=connection)
    key = activation_jws({"connection_token": token}, PARTNER_API_KEY)
    activation = teamtailor_services.teamtailor_activation_bind(provider_key=key, teamtailor_host="api.teamtailor.com")
    assert activation.created
    run = SyncRun.objects.get(connection=connection)
    assert run.full and run.status == "queued" and run.reason == "first sync after activation"
    assert Connection.objects.get(pk=connection.pk).status == "active"
    assert StageMapping.objects.count() == 0


def test_the_sync_command_runs_and_reports(teamtailor_sandbox, sandbox_connection, capsys):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    call_command("sync", str(sandbox_connection.pk), "--kinds", "jobs,stages", "--wait")
    out = capsys.readouterr().out
    assert "succeeded" in out and "0 invites" in out
    assert RemoteStage.objects.filter(connection=sandbox_connection, remote_id="13").exists()
    with pytest.raises(CommandError, match="unknown sync kinds"):
        call_command("sync", str(sandbox_connection.pk), "--kinds", "resumes")
    with pytest.raises(CommandError, match="no connection"):
        call_command("sync", "999999")


def test_a_provider_without_pages_is_not_synced(db, test_provider, tenant):
    """An ATS whose integration has not implemented ``pages`` yet is skipped, not failed over and over."""
    from tests.factories import ConnectionFactory
    from tests.integrations.conftest import PROVIDER

    connection = ConnectionFactory(tenant=tenant, provider=PROVIDER, credentials={"api_key": "k"})
    assert sync_start(connection=connection) is None
    assert sync_all() == []
    assert not SyncRun.objects.exists()


def test_the_company_api_key_arriving_with_a_partner_call_starts_the_first_sync(sandbox_connection):
    from integrations.teamtailor import auth
    from integrations.teamtailor.services import teamtailor_partner_headers_record

    sandbox_connection.credentials = {k: v for k, v in sandbox_connection.credentials.items() if k != "api_key"}
    sandbox_connection.save()
    assert sync_start(connection=sandbox_connection) is None  # nothing to read the public API with
    teamtailor_partner_headers_record(connection=sandbox_connection, headers=auth.PartnerHeaders(api_token="new-key"))
    run = SyncRun.objects.get(connection=sandbox_connection)
    assert run.full and run.reason == "first sync (API key received)"
    # Once synced, a later key change queues nothing new.
    SyncRun.objects.filter(pk=run.pk).update(status="succeeded")
    teamtailor_partner_headers_record(connection=sandbox_connection, headers=auth.PartnerHeaders(api_token="newer-key"))
    assert SyncRun.objects.filter(connection=sandbox_connection).count() == 1
