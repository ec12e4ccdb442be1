"""Trigger latency (issue 10, item 2): from a stage move in the ATS to the invitation e-mail.

Real processes: gunicorn (config/gunicorn.conf.py, the production settings of bench/servers.py),
one Celery worker node (the Procfile's ``worker`` line) on the Redis broker, and the Teamtailor
sandbox as a real HTTP server in a process of its own, seeded with ``BENCH_MOVES`` (200) plus
``BENCH_SYNC_MOVES`` (200) candidates in job 12345's "Phone screen" (stage 12); stage 13
("Stagehook interview") is mapped to a package. E-mail is Django's file backend
(``EMAIL_URL=filemail://``): one file per invitation, written by the worker; its modification
time is when the e-mail was written.

1. A first full sync mirrors the company (as after an activation).
2. Baseline: ``BENCH_DIRECT`` (20) trigger-mode orders placed directly (``assessment_order``, no
   webhook, one at a time) -> the invitation e-mail: the part of the path every trigger shares
   (a Celery hop, the invitation rendered and written).
3. Webhooks: ``BENCH_MOVES`` moves to stage 13 fired by the sandbox's control endpoint, one every
   ``BENCH_MOVE_INTERVAL`` (0.5) s, within the key's API budget (the nudge costs one public-API
   read); each sends the signed ``job_application.update`` to ``/teamtailor/company-webhooks``.
   Latency = e-mail written - move fired; p50/p95/max.
4. Webhooks dropped (the sandbox's fault) for ``BENCH_SYNC_MOVES`` moves, then "sync now"
   (``sync_start``, what the button's view calls): time from the click to each invitation and to
   all of them; baseline = the floor of the sync's own rate (its API requests / its share of the
   limit).

The web server runs without ``HTTPS_ONLY`` / ``BEHIND_TLS_PROXY``: the sandbox calls plain HTTP
with no TLS proxy in front to add ``X-Forwarded-Proto`` (everything else as in production).
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import tempfile
import time
from email import message_from_bytes
from email.utils import parseaddr
from pathlib import Path

from bench import servers

MOVES = int(os.environ.get("BENCH_MOVES", "200"))
SYNC_MOVES = int(os.environ.get("BENCH_SYNC_MOVES", "200"))
DIRECT = int(os.environ.get("BENCH_DIRECT", "20"))
MOVE_INTERVAL = float(os.environ.get("BENCH_MOVE_INTERVAL", "0.5"))
TARGET_P95 = 1.0
JOB, FROM_STAGE, TO_STAGE = "12345", "12", "13"


def main():
    """In a process of its own (``python -m bench``): the production environment is set here."""
    work = Path(tempfile.mkdtemp(prefix="stagehook-bench-trigger-"))
    (work / "mail").mkdir()
    servers.production_environment(
        ATS_EXTRA_ALLOWED_HOSTS="127.0.0.1", EMAIL_URL="filemail://", EMAIL_FILE_PATH=str(work / "mail"),
    )
    from bench import run_in_test_database

    try:
        return run_in_test_database(lambda: _run(work))
    finally:
        shutil.rmtree(work, ignore_errors=True)


# --- the sandbox side (runs in the sandbox's process, see bench.servers) ---------------------------
def seed(app, *, moves: int, sync_moves: int) -> dict:
    """Candidates with an application each in the demo job's "Phone screen"."""
    applications = {}
    for group, count in (("move", moves), ("sync", sync_moves)):
        rows = []
        for n in range(count):
            email = f"bench-{group}-{n}@example.com"
            candidate = app.state.add_candidate(first_name="Bench", last_name=f"{group} {n}", email=email)
            rows.append([app.state.add_application(candidate_id=candidate, job_id=JOB, stage_id=FROM_STAGE), email])
        applications[group] = rows
    config = app.config
    return {"applications": applications, "company_uuid": config.company_uuid, "api_key": config.api_key,
            "partner_api_key": config.partner_api_key, "company_webhook_secret": config.company_webhook_secret,
            "webhook_secret": config.webhook_secret}


# --- measuring -----------------------------------------------------------------------------------------
class Mailbox:
    """The file backend's folder: when each recipient's e-mail was written (mtime). The backend
    names a file by the second and its connection object's id, so two e-mails of one process in one
    second may share a file (appended): a file is read again whenever it grew (the earlier e-mail of
    such a file may then be dated by the later one: latency overstated, never understated)."""

    SEPARATOR = b"-" * 79

    def __init__(self, folder: Path):
        self.folder = folder
        self.written: dict[str, float] = {}
        self.count: dict[str, int] = {}
        self._read: dict[str, int] = {}  # file name -> messages already taken from it
        self._sizes: dict[str, int] = {}  # file name -> its size when last read

    def scan(self) -> dict[str, float]:
        for path in self.folder.glob("*.log"):
            stat = path.stat()
            if self._sizes.get(path.name) == stat.st_size:
                continue
            mtime = stat.st_mtime
            raw = path.read_bytes()
            self._sizes[path.name] = len(raw)
            # Only whole messages: each ends with the separator line (one still being written has none yet).
            chunks = [c for c in raw.split(self.SEPARATOR)[:-1] if c.strip()]
            for chunk in chunks[self._read.get(path.name, 0):]:
                to = parseaddr(message_from_bytes(chunk.strip()).get("To", ""))[1]
                self.written.setdefault(to, mtime)
                self.count[to] = self.count.get(to, 0) + 1
            self._read[path.name] = len(chunks)
        return self.written

    def wait(self, emails: list[str], *, timeout: float) -> dict[str, float]:
        deadline = time.monotonic() + timeout
        while True:
            written = self.scan()
            if all(e in written for e in emails) or time.monotonic() > deadline:
                return {e: written[e] for e in emails if e in written}
            time.sleep(0.05)  # polling the mail folder for the files, bounded by the deadline


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = max(0, min(len(ordered) - 1, round(q * (len(ordered) - 1))))
    return ordered[index]


def _summary(latencies: list[float]) -> dict:
    return {"n": len(latencies), "p50 s": round(_percentile(latencies, 0.50), 3),
            "p95 s": round(_percentile(latencies, 0.95), 3), "max s": round(max(latencies), 3) if latencies else None}


def _task_times(log: Path) -> dict[str, list[float]]:
    """Each task's run times, from the worker's "Task <name>[<id>] succeeded in <s>s" lines."""
    times: dict[str, list[float]] = {}
    pattern = re.compile(r"Task ([\w.]+)\[[^\]]+\] succeeded in ([0-9.]+)s")
    for match in pattern.finditer(log.read_text(errors="replace") if log.exists() else ""):
        times.setdefault(match.group(1), []).append(float(match.group(2)))
    return times


def _wait_sync(run_id: int, timeout: float):
    from integrations.models import SyncRun

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = SyncRun.objects.get(pk=run_id)
        if run.status not in ("queued", "running"):
            return run
        time.sleep(0.2)  # polling the run's row, bounded by the deadline
    raise SystemExit(f"sync run {run_id} did not finish within {timeout:.0f} s")


def _run(work: Path):
    from django.db import connection as db
    from django.db.models import Count

    from assessments.models import Package
    from assessments.services import CandidateSnapshot, assessment_order
    from bench.report import Check, Row, Section, Target, compare
    from integrations import ratelimit
    from integrations.models import Connection, StageMapping, WebhookEvent
    from integrations.sync import sync_start
    from integrations.teamtailor.provider import TeamtailorProvider
    from integrations.teamtailor import client as teamtailor_client
    from tenants.models import Tenant

    database_name = db.settings_dict["NAME"]
    mailbox = Mailbox(work / "mail")
    ratelimit.limiter_get().reset()
    tenant = Tenant.objects.create(name="Bench trigger", slug="bench-trigger")
    package = Package.objects.create(tenant=tenant, name="Bench interview")
    db.close()
    load_before = os.getloadavg()[0]
    web_env = {"HTTPS_ONLY": "off", "BEHIND_TLS_PROXY": "off"}
    with servers.gunicorn(database_name, work, **web_env) as (base, _web), \
            servers.celery_workers(database_name, work, count=1):
        sandbox = servers.SandboxProcess("teamtailor", seed="bench.trigger_latency:seed",
                                         seed_args={"moves": MOVES, "sync_moves": SYNC_MOVES}, work=work,
                                         stagehook_url=f"{base}/teamtailor/")
        try:
            s = sandbox.seed
            connection = Connection.objects.create(
                tenant=tenant, provider="teamtailor", remote_account_id=s["company_uuid"], status="active",
                region="eu", api_base_url=sandbox.url,
                credentials={"api_key": s["api_key"], "partner_api_key": s["partner_api_key"],
                             "company_webhook_secret": s["company_webhook_secret"], "webhook_secret": s["webhook_secret"]},
            )
            StageMapping.objects.create(connection=connection, remote_stage_id=TO_STAGE, package=package)

            # 1. The first full sync, as after an activation: the mirror and the cursors.
            clock = time.monotonic()
            first = sync_start(connection=connection, full=True, reason="bench: first sync")
            first = _wait_sync(first.pk, timeout=240)
            first_seconds = time.monotonic() - clock
            if first.status != "succeeded":
                raise SystemExit(f"the first sync failed: {first.error}")

            # 2. Baseline: trigger-mode orders placed directly, one at a time, to their e-mail.
            direct = []
            for n in range(DIRECT):
                email = f"bench-direct-{n}@example.com"
                fired = time.time()
                assessment_order(
                    # A source no connection has: no write-back, only the order and its invitation.
                    tenant=tenant, package=package, mode="trigger", actor="bench", source="bench-direct",
                    remote_application_id=f"direct-{n}", candidate=CandidateSnapshot(first_name="Bench", last_name=f"direct {n}", email=email),
                )
                written = mailbox.wait([email], timeout=60)
                if email in written:
                    direct.append(written[email] - fired)

            # 3. Signed webhooks: the sandbox moves applications into the mapped stage.
            moves = s["applications"]["move"]
            fired_at, round_trips, answers = {}, [], []
            start = time.monotonic()
            for n, (application_id, email) in enumerate(moves):
                pause = start + n * MOVE_INTERVAL - time.monotonic()
                if pause > 0:
                    time.sleep(pause)  # the pace of the moves, not a wait for a condition
                fired_at[email] = time.time()
                clock = time.monotonic()
                body = sandbox.control("POST", f"applications/{application_id}/move", {"stage_id": TO_STAGE})
                round_trips.append(time.monotonic() - clock)
                answers.extend(a.get("status") for a in body["stagehook"])
            moved_in = time.monotonic() - start
            written = mailbox.wait(list(fired_at), timeout=120 + MOVES * 0.5)
            webhook = [written[e] - fired_at[e] for e in fired_at if e in written]
            events = WebhookEvent.objects.filter(connection=connection, event_type="job_application.update")
            events_processed = events.filter(status="processed").count()
            events_stored = events.count()

            # 4. Webhooks dropped, then "sync now".
            sandbox.control("POST", "faults", {"drop_webhooks": SYNC_MOVES})
            dropped_moves = s["applications"]["sync"]
            for application_id, _email in dropped_moves:
                body = sandbox.control("POST", f"applications/{application_id}/move", {"stage_id": TO_STAGE})
                if body["stagehook"] != [{"dropped": True}]:
                    raise SystemExit(f"a move's webhook was not dropped: {body['stagehook']}")
            requests_before = sandbox.control("GET", "stats")["requests"]
            clicked = time.time()
            run = sync_start(connection=connection, reason="sync now (bench)")
            emails = [email for _a, email in dropped_moves]
            written = mailbox.wait(emails, timeout=300)
            synced = [written[e] - clicked for e in emails if e in written]
            run = _wait_sync(run.pk, timeout=300)
            stats = sandbox.control("GET", "stats")
        finally:
            sandbox.close()
    load_after = os.getloadavg()[0]
    task_times = _task_times(work / "worker0.log")
    worker_log = (work / "worker0.log").read_text(errors="replace") if (work / "worker0.log").exists() else ""
    deferrals = worker_log.count(" deferred ")
    from integrations.models import Delivery

    delivery_states = dict(Delivery.objects.filter(connection=connection).values_list("status").annotate(n=Count("id")))
    delivery_errors = dict(Delivery.objects.filter(connection=connection, status__in=("failed", "dead"))
                           .values_list("error_code").annotate(n=Count("id")))
    # The worker time one move costs: its event's processing, one invitation and one write-back
    # (the invitation's partner result), against what the worker node has per move at this pace.
    per_move = sum(
        statistics.mean(task_times[name]) for name in
        ("integrations.tasks.process_webhook_events", "assessments.tasks.send_invitation", "integrations.tasks.deliver")
        if task_times.get(name)
    )
    # The sync's own requests are its pages (one API request each); the sandbox's count beside them
    # also has the invitations' write-backs (partner results created on the partner key).
    sync_requests = run.pages
    api_requests = stats["requests"] - requests_before
    # The sync's pace: its own cap if the provider sets one, else the key's limit it shares.
    sync_rate = TeamtailorProvider.sync_rate or teamtailor_client.RATE
    sync_floor = sync_requests / (sync_rate.limit / sync_rate.seconds)
    mailbox.scan()
    mails_per_email = {e: n for e, n in mailbox.count.items() if not e.startswith("bench-direct-")}
    invited = len(webhook) + len(synced)

    base_row = Row(f"baseline: order placed directly -> e-mail ({len(direct)} one at a time)", _summary(direct))
    hook = compare(Row(f"stage move -> signed webhook -> e-mail ({len(webhook)} moves, one per {MOVE_INTERVAL:g} s)",
                       _summary(webhook)), base_row, "p95 s", lower_is_better=True)
    trip = Row("  the move's webhook round trip (sandbox -> intake -> answer)", _summary(round_trips))
    latency = Section(
        title="trigger latency: Teamtailor stage move -> invitation e-mail written",
        columns=["n", "p50 s", "p95 s", "max s"], rows=[base_row, hook, trip],
        ratio_of="the direct order's p95 / this p95 (1.0: the webhook path adds nothing)",
        targets=[Target(f"p95 < {TARGET_P95:g} s", met=bool(webhook) and _percentile(webhook, 0.95) < TARGET_P95,
                        measured=f"{_percentile(webhook, 0.95):.3f} s", subject="stage move -> e-mail")],
        checks=[
            Check(f"every one of the {MOVES} moves invited", ok=len(webhook) == MOVES,
                  detail=f"{len(webhook)} e-mails; webhook answers {sorted(set(map(str, answers)))}"),
            Check("one job_application.update stored and processed per move", ok=events_stored == events_processed == MOVES,
                  detail=f"{events_stored} stored, {events_processed} processed"),
        ],
        notes=[
            f"gunicorn ({servers.gunicorn_workers()} sync workers), 1 Celery worker node (--concurrency 2) on Redis "
            "consuming both queues (the trigger queue first; write-backs and syncs on the background queue), "
            f"the Teamtailor sandbox in a process of its own (50 requests / 10 s per key). First full sync of "
            f"{MOVES + SYNC_MOVES} candidates: {first_seconds:.1f} s.",
            "E-mail written = the file backend's file modification time; a move fired = just before the sandbox's "
            "control call. A move costs one public-API read (the webhook carries no stage) within the "
            "50 / 10 s of the key: the moves are paced under it.",
            f"Load average {load_before:.2f} before, {load_after:.2f} after (2 cores, shared).",
            f"One move costs the worker {per_move:.2f} s of task time (processing + invitation + write-back, the "
            f"means below); at one move per {MOVE_INTERVAL:g} s the node's 2 processes have {2 * MOVE_INTERVAL:.2f} s "
            f"per move: utilization {per_move / (2 * MOVE_INTERVAL):.0%} (over 100 %: the queue grows, and so does "
            f"the latency). The {MOVES} moves took {moved_in:.1f} s to fire.",
            "Where the worker's time went (its log: tasks run, mean / max seconds each): " + "; ".join(
                f"{name.rsplit('.', 1)[-1]} {len(times)} x {statistics.mean(times):.3f} / {max(times):.3f} s"
                for name, times in sorted(task_times.items(), key=lambda item: -sum(item[1]))),
        ],
    )
    floor_row = Row(f"baseline: the sync's rate floor ({sync_requests} pages / {sync_rate})",
                    {"n": sync_requests, "first s": None, "p50 s": None, "all s": round(sync_floor, 1)})
    sync_row = compare(Row(f"webhooks dropped, 'sync now' -> e-mails ({len(synced)} moves)", {
        "n": len(synced), "first s": round(min(synced), 2) if synced else None,
        "p50 s": round(_percentile(synced, 0.5), 2), "all s": round(max(synced), 2) if synced else None,
    }), floor_row, "all s", lower_is_better=True)
    sync_section = Section(
        title="trigger latency without webhooks: 'sync now' -> invitation e-mails",
        columns=["n", "first s", "p50 s", "all s"], rows=[floor_row, sync_row],
        ratio_of="the rate floor / the time to all invitations",
        checks=[
            Check(f"every one of the {SYNC_MOVES} moves invited by the sync", ok=len(synced) == SYNC_MOVES,
                  detail=f"{len(synced)} e-mails; the run {run.status}, {run.invites_triggered} invites, {run.pages} pages"),
            Check("one invitation per candidate", ok=all(v == 1 for v in mails_per_email.values()) and invited == MOVES + SYNC_MOVES,
                  detail=f"{sum(mails_per_email.values())} e-mails for {len(mails_per_email)} recipients"),
        ],
        notes=[f"The sandbox dropped {SYNC_MOVES} webhooks (fault injection); the sync read {sync_requests} pages "
               f"(one API request each) at {sync_rate} (the key's limit, shared with the write-backs); the sandbox counted {api_requests} API "
               f"requests from the click on (with the invitations' write-backs); {stats.get('rate_limited', 0)} 429s in "
               "the whole run.",
               f"Write-backs of the run's invitations at the end (the background queue yields to the trigger queue): "
               f"{', '.join(f'{k} {v}' for k, v in sorted(delivery_states.items()))}; {deferrals} deferrals (no rate "
               "slot within 1 s: re-queued for the key's next turn instead of holding a pool process); failed or dead "
               f"by error: {delivery_errors or 'none'}."],
    )
    return [latency, sync_section]
