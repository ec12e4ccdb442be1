"""The polling sync with a real Celery worker: a pool process killed in the middle of a sync leaves
the cursor at the last page it committed, and the run, delivered again, resumes from there and
completes (acks_late + reject_on_worker_lost; the advisory lock died with the killed process)."""

import datetime as dt
import os
import signal

import pytest
from django.db import connection as db_connection
from django.utils import timezone

from integrations import ratelimit
from integrations.models import RemoteCandidate, SyncRun
from integrations.sync import sync_start
from tests.factories import ConnectionFactory, TenantFactory
from tests.sandbox_fixtures import serve_sandbox

from .conftest import wait_for

pytestmark = pytest.mark.e2e

CANDIDATES = 300


def _pool_processes(worker) -> list[int]:
    return [int(pid) for pid in open(f"/proc/{worker.pid}/task/{worker.pid}/children").read().split()]


def _snapshot(connection_id: int) -> tuple[str | None, dt.datetime | None, int]:
    """The stored cursor, the newest mirrored candidate and the mirror's size, in one statement
    (one snapshot: a page and its cursor are committed together)."""
    with db_connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT sync_cursors->>'candidates' FROM integrations_connection WHERE id = %s),"
            " (SELECT max(remote_updated_at) FROM integrations_remotecandidate WHERE connection_id = %s),"
            " (SELECT count(*) FROM integrations_remotecandidate WHERE connection_id = %s)",
            [connection_id] * 3,
        )
        return cursor.fetchone()


def test_a_worker_killed_mid_sync_leaves_the_cursor_at_the_last_committed_page_and_the_run_completes(
    celery_worker, settings
):
    ratelimit.limiter_get().reset()
    with serve_sandbox("teamtailor") as sandbox:
        config = sandbox.config
        start = timezone.now() - dt.timedelta(days=10)
        for i in range(CANDIDATES):
            sandbox.state.add_candidate(candidate_id=str(200000 + i), updated_at=start + dt.timedelta(minutes=10 * i))
        total = len(sandbox.state.candidates)
        # The reference fixtures' two candidates date from 2020: past the retention, not mirrored.
        mirrorable = total - 2
        connection = ConnectionFactory(
            tenant=TenantFactory(), region="eu", api_base_url=sandbox.url, remote_account_id=config.company_uuid,
            credentials={"api_key": config.api_key, "partner_api_key": config.partner_api_key},
        )
        sandbox.faults(delay=0.4)  # every page takes a while: the kill lands between commits
        run = sync_start(connection=connection, kinds=("candidates",))
        assert run is not None

        wait_for(lambda: _snapshot(connection.pk)[2] >= 60, timeout=60, what="two pages committed")
        for pid in _pool_processes(celery_worker):
            os.kill(pid, signal.SIGKILL)
        cursor, newest, mirrored = _snapshot(connection.pk)
        assert 0 < mirrored < mirrorable
        assert dt.datetime.fromisoformat(cursor) == newest  # the cursor is exactly the last committed page
        live = SyncRun.objects.get(pk=run.pk)
        assert live.status == "running"
        # Live progress: committed with each page, so it matches the mirror at any moment.
        assert live.pages >= 2 and live.counts["candidates"]["created"] >= 60 and live.heartbeat_at is not None

        sandbox.clear_faults()
        finished = wait_for(
            lambda: SyncRun.objects.filter(pk=run.pk).exclude(status__in=["queued", "running"]).first(),
            timeout=90, what="the sync delivered again and completed",
        )
        assert finished.status == "succeeded", finished.error
        counts = finished.counts["candidates"]
        assert counts["created"] == mirrorable and counts["updated"] == 0 and counts["skipped"] >= 2
        # Resumed from the cursor, not from the start: only the overlap was read twice.
        assert total <= counts["seen"] <= total + 30
        assert RemoteCandidate.objects.filter(connection=connection).count() == mirrorable
        cursor, newest, _ = _snapshot(connection.pk)
        assert dt.datetime.fromisoformat(cursor) == newest == max(
            dt.datetime.fromisoformat(c["attributes"]["updated-at"]) for c in sandbox.state.candidates.values()
        )
        assert celery_worker.poll() is None
