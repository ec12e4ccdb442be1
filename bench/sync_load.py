"""The polling sync at the ATS's real limits (issue 10, item 3).

Each sandbox (Teamtailor: 50 requests / 10 s per key, 30 per page; SmartRecruiters: 10 requests/s,
1 concurrent ``GET /candidates``, 100 per page) is served on 127.0.0.1 (a free port, threads of
this process) and seeded over its control endpoint (``sandbox <ats> seed --candidates N``) with
``BENCH_SYNC_CANDIDATES`` candidates with an application each. A real Celery worker (its own
queue, one pool process) runs ``sync_connection`` in a throwaway database
(test_<BENCH_DATABASE_URL name>). Measured:

- the full sync: requests made and 429s served (counted at the sandbox), wall time against the
  floor the ATS's limit allows for those requests (requests / limit): the ratio is the share of
  the allowed request rate the sync achieved;
- an immediate second (incremental) sync: requests made, mirror rows written (PostgreSQL's xmin of
  every mirrored row before and after, as tests/integrations/teamtailor/test_sync.py counts them);
- the peak RSS (VmHWM) of the pool process that ran the sync, beside its RSS before;
- the mirror upsert alone (``mirror_page_transaction``, the sync's transaction per page)
  against a plain bulk INSERT of the same rows in the same page sizes, in the same run, beside a
  raw ``INSERT .. unnest`` without conflict handling, ``COPY`` and the commit floor (one-row
  transactions/s times the page size). ``BENCH_SYNC_PARTS=upsert`` runs only this part.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import requests

from bench import servers

ROOT = Path(__file__).resolve().parents[1]
CANDIDATES = int(os.environ.get("BENCH_SYNC_CANDIDATES", "10000"))
UPSERT_ROWS = int(os.environ.get("BENCH_UPSERT_ROWS", "10000"))
# The page sizes of the upsert alone: Teamtailor's (30), SmartRecruiters' (100), and 1,000 to show
# what a transaction per page costs.
UPSERT_PAGE_SIZES = [int(size) for size in os.environ.get("BENCH_UPSERT_PAGE_SIZES", "30,100,1000").split(",") if size]
# Which parts to run (both by default): BENCH_SYNC_PARTS=upsert runs the mirror upsert alone (seconds,
# not the syncs' minutes at the ATS's limits).
SYNC_PAGE_SIZES = (30, 100)  # Teamtailor's and SmartRecruiters' pages: the upsert's target holds for these
PARTS = {part for part in os.environ.get("BENCH_SYNC_PARTS", "sync,upsert").split(",") if part}
# Which ATSs to sync (both by default): BENCH_SYNC_ATS=teamtailor
ATS = [name for name in os.environ.get("BENCH_SYNC_ATS", "teamtailor,smartrecruiters").split(",") if name]
TARGET_RATE_SHARE, TARGET_UPSERT_RPS, TARGET_RSS_MB = 0.90, 15_000.0, 300.0
SYNC_TIMEOUT = float(os.environ.get("BENCH_SYNC_TIMEOUT", "1800"))


def main():
    """``python -m bench`` runs this in a process of its own: the environment set here stays here."""
    setup_environment()
    from bench import run_in_test_database

    return run_in_test_database(_run)


def setup_environment() -> None:
    os.environ.setdefault("ATS_EXTRA_ALLOWED_HOSTS", "127.0.0.1")
    os.environ["CELERY_TASK_DEFAULT_QUEUE"] = f"bench-sync-{uuid.uuid4().hex[:8]}"
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "off"


def quiet_logs() -> None:
    """The sandbox's per-request log and the sync's progress lines would bury the report (after
    django.setup(), which configures logging)."""
    import logging

    for name in ("werkzeug", "integrations", "celery", "kombu"):
        logging.getLogger(name).setLevel(logging.WARNING)


# --- the sandbox, served here, every API request recorded ---------------------------------------
@dataclasses.dataclass
class Served:
    name: str
    app: Any
    url: str
    log: list[tuple[float, str, str, int]]  # (monotonic time, method, path, status) of API requests
    http: requests.Session

    def control(self, method: str, path: str, payload: dict | None = None) -> Any:
        response = self.http.request(method, f"{self.url}/_sandbox/{path}", json=payload, timeout=120)
        if response.status_code >= 400:
            raise SystemExit(f"{self.name} sandbox /_sandbox/{path}: {response.status_code} {response.text[:300]}")
        return response.json()

    def stats(self) -> dict:
        return self.control("GET", "stats")

    def seed(self, candidates: int) -> int:
        """``manage.py sandbox <ats> seed --candidates N`` does this same call."""
        return self.control("POST", "seed", {"candidates": candidates})["candidates"]

    def api_log(self, start: int = 0, end: int | None = None) -> list[tuple[float, str, str, int]]:
        return [entry for entry in self.log[start:end] if not entry[2].startswith("/_sandbox/")]


@contextlib.contextmanager
def serve(name: str, **overrides: Any) -> Iterator[Served]:
    """The registered sandbox ``name`` on 127.0.0.1:<free port>, on threads of this process."""
    from werkzeug.serving import make_server

    from integrations.sandbox import build, sandbox_spec

    app = build(sandbox_spec(name), host="127.0.0.1", port=0, **overrides)
    log: list[tuple[float, str, str, int]] = []
    lock = threading.Lock()

    def recorded(environ, start_response):
        def start(status, headers, exc_info=None):
            with lock:
                log.append((time.monotonic(), environ["REQUEST_METHOD"], environ.get("PATH_INFO", ""), int(status[:3])))
            return start_response(status, headers, exc_info)

        return app(environ, start)

    server = make_server("127.0.0.1", 0, recorded, threaded=True)
    server.daemon_threads = True
    server.block_on_close = False
    app.configure(port=server.server_port)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), name=f"{name}-sandbox", daemon=True)
    thread.start()
    http = requests.Session()
    http.trust_env = False
    try:
        yield Served(name, app, f"http://127.0.0.1:{server.server_port}", log, http)
    finally:
        http.close()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        app.close()


# --- connections to the sandboxes, as the install flows leave them ---------------------------------
def connect(served: Served, tenant) -> Any:
    return {"teamtailor": _connect_teamtailor, "smartrecruiters": _connect_smartrecruiters}[served.name](served, tenant)


def _connect_teamtailor(served: Served, tenant):
    from integrations.models import Connection, secret_hash

    config = served.app.config
    return Connection.objects.create(
        tenant=tenant, provider="teamtailor", remote_account_id=config.company_uuid, status="active", region="eu",
        api_base_url=served.url, provider_key_hash=secret_hash(config.provider_key),
        credentials={"partner_api_key": config.partner_api_key, "webhook_secret": config.webhook_secret,
                     "api_key": config.api_key, "company_webhook_secret": config.company_webhook_secret,
                     "provider_key": config.provider_key},
    )


def _connect_smartrecruiters(served: Served, tenant):
    """Partner configuration, consent and setUpIntegration over the sandbox's HTTP API (what the
    install does): the customer-level credentials the sync uses."""
    from integrations.models import Connection
    from integrations.smartrecruiters.constants import CRED_CLIENT_ID, CRED_CLIENT_SECRET

    config = served.app.config
    token = served.http.post(f"{served.url}/identity/oauth/token", data={
        "grant_type": "client_credentials", "client_id": config.master_client_id,
        "client_secret": config.master_client_secret}, timeout=30).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    stagehook = "http://127.0.0.1:9/smartrecruiters/"  # never called: the sync reads, SmartRecruiters orders nothing
    configuration = {
        "consentUrl": f"{stagehook}integration", "consentDisplayMode": "REDIRECT",
        "assessmentPackageListUrl": f"{stagehook}packages", "singleAssessmentPackageUrl": f"{stagehook}packages/{{id}}",
        "packageOrderUrl": f"{stagehook}packages/orders", "inlineAssessmentPackageOrderUrl": f"{stagehook}packages/inline/orders",
        "oauthTokenUrl": f"{stagehook}oauth/token", "integrationDisableUrl": f"{stagehook}integrations/companies",
        "fields": [], "supportedAssessmentTypes": ["VIDEO_INTERVIEW"],
    }
    answer = served.http.put(f"{served.url}/assessment-api/v202010/partner/configuration", json=configuration,
                             headers=headers, timeout=30)
    if answer.status_code != 200:
        raise SystemExit(f"SmartRecruiters sandbox partner configuration: {answer.status_code} {answer.text[:300]}")
    served.control("POST", "consent", {})
    answer = served.http.post(f"{served.url}/assessment-api/v202010/integration/company/{config.company_id}",
                              json={"clientId": "sh_sr_bench_client", "clientSecret": "sh-sr-bench-secret"},
                              headers=headers, timeout=30)
    if answer.status_code != 200:
        raise SystemExit(f"SmartRecruiters sandbox setUpIntegration: {answer.status_code} {answer.text[:300]}")
    customer = answer.json()
    return Connection.objects.create(
        tenant=tenant, provider="smartrecruiters", remote_account_id=config.company_id, status="active",
        api_base_url=served.url,
        credentials={CRED_CLIENT_ID: customer["clientId"], CRED_CLIENT_SECRET: customer["clientSecret"]},
    )


# --- a real Celery worker ----------------------------------------------------------------------------
def pool_processes(pid: int) -> list[int]:
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


def proc_status_kb(pid: int, field: str) -> int:
    """VmRSS / VmHWM (the peak RSS) of a live process, in kB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


def cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU seconds of a process (default: this one)."""
    if pid is None:
        times = os.times()
        return times.user + times.system
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- one sync -----------------------------------------------------------------------------------------
MIRROR_TABLES = ("integrations_remotejob", "integrations_remotestage", "integrations_remotecandidate",
                 "integrations_remoteapplication")


def row_versions(connection) -> dict[tuple[str, str], str]:
    """Every mirrored row's version (xmin): it changes when the row is written."""
    from django.db import connection as db

    versions = {}
    with db.cursor() as cursor:
        for table in MIRROR_TABLES:
            cursor.execute(f"SELECT remote_id, xmin::text FROM {table} WHERE connection_id = %s", [connection.pk])
            versions.update({(table, remote_id): xmin for remote_id, xmin in cursor.fetchall()})
    return versions


def rows_written(before: dict, after: dict) -> dict[str, int]:
    return {
        "inserted": len(set(after) - set(before)),
        "rewritten": sum(1 for key, xmin in after.items() if key in before and before[key] != xmin),
        "deleted": len(set(before) - set(after)),
    }


def sync_and_wait(connection, *, full: bool, timeout: float = SYNC_TIMEOUT) -> tuple[Any, float]:
    """Queue a sync (the worker picks it up), wait until it ends; (the run, wall seconds)."""
    from integrations.models import SyncRun
    from integrations.sync import sync_start

    started = time.monotonic()
    run = sync_start(connection=connection, full=full, reason="benchmark")
    if run is None:
        raise SystemExit(f"connection {connection.pk} cannot be synced")
    deadline = started + timeout
    while True:
        finished = SyncRun.objects.filter(pk=run.pk).exclude(status__in=["queued", "running"]).first()
        if finished is not None:
            return finished, time.monotonic() - started
        if time.monotonic() > deadline:
            raise SystemExit(f"sync {run.pk} did not finish within {timeout:.0f} s")
        time.sleep(0.1)  # polling the run's row for its end, bounded by the deadline


def ats_limit(served: Served) -> tuple[int, float]:
    config = served.app.config
    return config.rate_limit, config.rate_window


def busiest_window(times: list[float], window: float) -> int:
    """The most requests that arrived within any ``window`` seconds."""
    best, start = 0, 0
    for end in range(len(times)):
        while times[end] - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


def sync_figures(served: Served, connection, worker: subprocess.Popen) -> dict[str, Any]:
    """Full sync then an immediate incremental one, against ``served`` at its configured limit."""
    from django.db import connection as db

    from integrations import ratelimit

    ratelimit.limiter_get().reset()
    limit, window = ats_limit(served)
    pool = pool_processes(worker.pid)
    if len(pool) != 1:
        raise SystemExit(f"expected one pool process, found {pool}")
    child = pool[0]
    rss_before = proc_status_kb(child, "VmRSS")
    stats0, log0, cpu0, sandbox_cpu0 = served.stats(), len(served.log), cpu_seconds(child), cpu_seconds()
    run, wall = sync_and_wait(connection, full=True)
    stats1, log1, cpu1, sandbox_cpu1 = served.stats(), len(served.log), cpu_seconds(child), cpu_seconds()
    peak_rss = proc_status_kb(child, "VmHWM")
    if run.status != "succeeded":
        raise SystemExit(f"the full {served.name} sync failed: {run.error_code} {run.error}")
    entries = served.api_log(log0, log1)
    times = [entry[0] for entry in entries]
    full = {
        "run": run, "wall": wall, "requests": stats1["requests"] - stats0["requests"],
        "served_429": stats1["rate_limited"] - stats0["rate_limited"],
        "paging": (times[-1] - times[0]) if len(times) > 1 else 0.0,
        "busiest": busiest_window(times, window), "cpu": cpu1 - cpu0, "sandbox_cpu": sandbox_cpu1 - sandbox_cpu0,
        "rss_before_mb": rss_before / 1024, "peak_rss_mb": peak_rss / 1024,
        "candidates": run.counts.get("candidates", {}), "applications": run.counts.get("applications", {}),
    }
    full["floor"] = full["requests"] / (limit / window)
    full["share"] = full["floor"] / wall if wall else 0.0
    # The sync's own share of the key's rate (Provider.sync_rate): the most our pacing lets it take.
    from integrations.providers import provider_get

    own = provider_get(connection.provider).sync_rate
    full["own_rate"] = f"{own.limit} per {own.seconds} s" if own else "none"
    full["x_own"] = (full["requests"] / (own.limit / own.seconds)) / wall if own and wall else None

    db.close()
    before = row_versions(connection)
    stats2 = served.stats()
    again, again_wall = sync_and_wait(connection, full=False)
    stats3 = served.stats()
    after = row_versions(connection)
    if again.status != "succeeded":
        raise SystemExit(f"the incremental {served.name} sync failed: {again.error_code} {again.error}")
    incremental = {
        "run": again, "wall": again_wall, "requests": stats3["requests"] - stats2["requests"],
        "served_429": stats3["rate_limited"] - stats2["rate_limited"], "written": rows_written(before, after),
        "mirror_rows": len(after), "seen": sum(int(c.get("seen", 0)) for c in again.counts.values()),
    }
    return {"full": full, "incremental": incremental, "limit": f"{limit} per {window:g} s"}


# --- the mirror upsert alone ---------------------------------------------------------------------------
def upsert_figures(tenant, *, rows: int, page_size: int) -> dict[str, float]:
    """``mirror_page_transaction`` of ``rows`` candidates in pages (the sync's transaction per
    page): all new, then all unchanged, then all changed; beside baselines writing the
    same rows in the same pages and transactions: a plain bulk INSERT (Django's ``bulk_create``, no
    conflict handling, no read first), the same raw ``INSERT .. SELECT FROM unnest`` without
    ``ON CONFLICT`` (what the upsert's statement costs without its conflict handling and
    comparison), and PostgreSQL's ``COPY`` (the fastest way in: the ceiling of a page per
    transaction). Rows/s of each."""
    from django.db import connection as db
    from django.db import transaction
    from django.utils import timezone

    from integrations.models import Connection, RemoteCandidate
    from integrations.providers import SyncedCandidate
    from integrations.sync import commit_without_waiting_for_the_disk, mirror_page_store, mirror_page_transaction

    moment = timezone.now() - dt.timedelta(days=1)
    columns = ("connection_id", "remote_id", "first_name", "last_name", "email", "phone", "remote_updated_at",
               "data", "synced_at")

    def items(version: str) -> list[SyncedCandidate]:
        return [SyncedCandidate(remote_id=str(5_000_000 + n), first_name=f"First{version}", last_name=f"Last {n}",
                                email=f"upsert{n}@example.com", phone="+46 70 000 00 00",
                                remote_updated_at=moment + dt.timedelta(seconds=n)) for n in range(rows)]

    def pages(values: list) -> Iterator[list]:
        for start in range(0, len(values), page_size):
            yield values[start:start + page_size]

    def connection_for(name: str):
        return Connection.objects.create(tenant=tenant, provider="teamtailor", remote_account_id=f"{name}-{page_size}",
                                         status="active", credentials={})

    def bulk_create(target, page):
        RemoteCandidate.objects.bulk_create([
            RemoteCandidate(connection=target, remote_id=item.remote_id, first_name=item.first_name,
                            last_name=item.last_name, email=item.email, phone=item.phone,
                            remote_updated_at=item.remote_updated_at) for item in page])

    def unnest_insert(target, page):
        with db.cursor() as cursor:
            cursor.execute(
                "INSERT INTO integrations_remotecandidate (" + ", ".join(columns) + ") "
                "SELECT %s, i.*, '{}'::jsonb, %s FROM unnest(%s::varchar(128)[], %s::varchar(150)[], "
                "%s::varchar(150)[], %s::varchar(254)[], %s::varchar(40)[], %s::timestamptz[]) AS i",
                [target.pk, timezone.now(), [item.remote_id for item in page], [item.first_name for item in page],
                 [item.last_name for item in page], [item.email for item in page], [item.phone for item in page],
                 [item.remote_updated_at for item in page]])

    def copy(target, page):
        now = timezone.now()
        with db.cursor() as cursor, cursor.cursor.copy(
                "COPY integrations_remotecandidate (" + ", ".join(columns) + ") FROM STDIN") as stream:
            for item in page:
                stream.write_row((target.pk, item.remote_id, item.first_name, item.last_name, item.email, item.phone,
                                  item.remote_updated_at, "{}", now))

    @contextlib.contextmanager
    def page_transaction(*, durable: bool = False):
        """A baseline's page transaction, committed as mirror_page_transaction commits a page that
        dispatched nothing (synchronous_commit off), or ``durable``ly as one that did."""
        with transaction.atomic():
            yield
            if not durable:
                commit_without_waiting_for_the_disk()

    made = []
    figures = {}
    first = items("A")
    for label, write in (("plain insert", bulk_create), ("unnest insert", unnest_insert), ("copy", copy)):
        target = connection_for(label.replace(" ", "-"))
        made.append(target)
        started = time.perf_counter()
        for page in pages(first):
            with page_transaction():
                write(target, page)
        figures[label] = rows / (time.perf_counter() - started)
    # The floor of a transaction per page: as many transactions as there are pages (at least 100),
    # each writing one row; times the page size, the most rows/s any write a page can reach here.
    # Both ways a page commits: without waiting for the disk, and durably.
    for name, durable in (("", False), ("durable ", True)):
        floor = connection_for(f"{name}floor")
        made.append(floor)
        transactions = max(100, -(-rows // page_size))
        started = time.perf_counter()
        for n in range(transactions):
            with page_transaction(durable=durable):
                unnest_insert(floor, [dataclasses.replace(first[0], remote_id=str(n))])
        elapsed = time.perf_counter() - started
        figures[f"{name}commits/s"] = transactions / elapsed
        figures[f"{name}commit floor"] = figures[f"{name}commits/s"] * page_size
    # Through the sync's own page transaction; once more with every page committed durably (as a
    # page that dispatched a stage change commits), which is what the asynchronous commit saves.
    upserted, durable_upserted = connection_for("upsert"), connection_for("upsert-durable")
    made += [upserted, durable_upserted]
    for label, target, values, durable in (
        ("upsert: new rows", upserted, first, False),
        ("upsert: unchanged rows", upserted, first, False),
        ("upsert: changed rows", upserted, items("B"), False),
        ("upsert: new rows, durable commit", durable_upserted, first, True),
    ):
        written = 0
        started = time.perf_counter()
        for page in pages(values):
            if durable:
                with transaction.atomic():
                    result = mirror_page_store(connection=target, kind="candidates", items=page, emit=True)
            else:
                result = mirror_page_transaction(connection=target, kind="candidates", items=page, emit=True)
            written += result.created + result.updated
        figures[label] = rows / (time.perf_counter() - started)
        figures[label + " written"] = written
    with db.cursor() as cursor:
        cursor.execute("DELETE FROM integrations_remotecandidate WHERE connection_id = ANY(%s)", [[c.pk for c in made]])
    for target in made:
        target.delete()
    return figures


# --- the benchmark ---------------------------------------------------------------------------------------
def _run():
    import shutil
    import tempfile

    from django.db import connection as db

    from tenants.models import Tenant

    quiet_logs()
    work = Path(tempfile.mkdtemp(prefix="stagehook-bench-sync-"))
    tenant = Tenant.objects.create(name="Bench sync", slug="bench-sync")
    results = {}
    upserts = {}
    try:
        with contextlib.ExitStack() as stack:
            # One node with one pool process: the one that runs the sync (its CPU and memory are read).
            worker = stack.enter_context(servers.celery_workers(
                db.settings_dict["NAME"], work, concurrency=1, STAGEHOOK_VAR_DIR=str(work / "var"),
            ))[0] if "sync" in PARTS else None
            for name in ATS if "sync" in PARTS else ():
                with serve(name) as served:
                    seeded_at = time.monotonic()
                    total = served.seed(CANDIDATES)
                    seed_seconds = time.monotonic() - seeded_at
                    connection = connect(served, tenant)
                    results[name] = sync_figures(served, connection, worker)
                    results[name].update({"total": total, "seed_seconds": seed_seconds})
        if "upsert" in PARTS:
            upserts = {size: upsert_figures(tenant, rows=UPSERT_ROWS, page_size=size) for size in UPSERT_PAGE_SIZES}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return sections(results, upserts)


LABELS = {"teamtailor": "Teamtailor", "smartrecruiters": "SmartRecruiters"}


def sections(results: dict, upserts: dict) -> list:
    from bench.report import Check, Row, Section, Target, compare

    rows, targets, checks = [], [], []
    for name, figures in results.items():
        f, label = figures["full"], LABELS[name]
        floor = Row(f"floor: {f['requests']} requests at {figures['limit']}", {"wall s": f["floor"]})
        row = Row(f"{label}: full sync", {
            "requests": f["requests"], "429s": f["served_429"], "busiest window": f["busiest"], "wall s": f["wall"],
            "sync cpu s": f["cpu"], "sandbox cpu s": f["sandbox_cpu"], "RSS before MB": f["rss_before_mb"],
            "peak RSS MB": f["peak_rss_mb"], "x sync share": f["x_own"],
        })
        rows += [floor, compare(row, floor, "wall s", lower_is_better=True)]
        i = figures["incremental"]
        written = i["written"]
        targets += [
            Target(f">= {TARGET_RATE_SHARE:.0%} of the allowed request rate", f["share"] >= TARGET_RATE_SHARE,
                   f"{f['share']:.0%} ({f['requests']} requests in {f['wall']:.1f} s; floor {f['floor']:.1f} s)", label),
            Target("zero 429s", f["served_429"] + i["served_429"] == 0,
                   f"{f['served_429']} full + {i['served_429']} incremental, counted at the sandbox", label),
            Target("incremental sync: no row rewritten when nothing changed",
                   written["rewritten"] == 0 and written["inserted"] == 0 and written["deleted"] == 0,
                   f"{written['rewritten']} rewritten, {written['inserted']} inserted, {written['deleted']} deleted "
                   f"of {i['mirror_rows']} (xmin)", label),
            Target(f"worker peak memory < {TARGET_RSS_MB:.0f} MB", f["peak_rss_mb"] < TARGET_RSS_MB,
                   f"{f['peak_rss_mb']:.0f} MB peak RSS (VmHWM) of the pool process, {f['rss_before_mb']:.0f} MB before",
                   label),
        ]
        candidates = f["candidates"]
        checks.append(Check(f"{label}: every sandbox candidate mirrored or skipped by retention",
                            int(candidates.get("created", 0)) + int(candidates.get("skipped", 0)) == figures["total"],
                            f"{figures['total']} in the sandbox; {_counts(candidates)}"))
    notes = [
        f"{CANDIDATES:,} generated candidates with an application each per sandbox (`sandbox <ats> seed`), served on "
        "127.0.0.1 at the ATS's documented limits; a real Celery worker (one pool process) runs sync_connection; "
        "PostgreSQL and Redis as in production. Floor = requests / the ATS's limit; ratio = floor / wall = the share "
        "of the allowed request rate achieved. x sync share = the same against a cap of the sync's own "
        "(Provider.sync_rate; none for either ATS: the sync shares the key's limiter with webhook-driven reads and "
        "write-backs, which win about every other slot when they wait). Busiest window = most "
        "requests the sandbox saw in any one window.",
    ]
    for name, figures in results.items():
        f, i = figures["full"], figures["incremental"]
        notes.append(f"{LABELS[name]}: sync share {f['own_rate']}; full sync {f['run'].pages} pages (candidates {_counts(f['candidates'])}; "
                     f"applications {_counts(f['applications'])}); incremental right after: {i['requests']} requests, "
                     f"{i['wall']:.1f} s, {i['seen']} records read again.")
    sync_section = Section(
        title="Sync at the ATS's real limits", rows=rows, targets=targets, checks=checks, notes=notes,
        columns=["requests", "429s", "busiest window", "wall s", "x sync share", "sync cpu s", "sandbox cpu s",
                 "RSS before MB", "peak RSS MB"],
        ratio_of="the floor's wall time / the sync's (share of the ATS's allowed request rate)",
    )
    incremental_rows = []
    for name, figures in results.items():
        i, w = figures["incremental"], figures["incremental"]["written"]
        incremental_rows.append(Row(f"{LABELS[name]}: incremental right after", {
            "requests": i["requests"], "429s": i["served_429"], "wall s": i["wall"], "records read": i["seen"],
            "mirror rows": i["mirror_rows"], "inserted": w["inserted"], "rewritten": w["rewritten"],
            "deleted": w["deleted"]}))
    incremental_section = Section(
        title="Incremental sync immediately after the full one", rows=incremental_rows,
        columns=["requests", "429s", "wall s", "records read", "mirror rows", "inserted", "rewritten", "deleted"],
        notes=["Rows written counted with PostgreSQL's xmin of every mirrored job, stage, candidate and application "
               "before and after (as tests/integrations/teamtailor/test_sync.py does)."],
    )
    upsert_rows, upsert_targets, upsert_checks = [], [], []
    for size, figures in upserts.items():
        base = Row(f"baseline: plain bulk INSERT, pages of {size}", {"rows/s": figures["plain insert"]})
        upsert_rows += [
            base,
            compare(Row(f"raw INSERT .. unnest, no ON CONFLICT, pages of {size}", {"rows/s": figures["unnest insert"]}),
                    base, "rows/s"),
            compare(Row(f"COPY, pages of {size}", {"rows/s": figures["copy"]}), base, "rows/s"),
            compare(Row(f"commit floor: {figures['commits/s']:,.0f} one-row transactions/s x {size}",
                        {"rows/s": figures["commit floor"]}), base, "rows/s"),
            compare(Row(f"durable commit floor: {figures['durable commits/s']:,.0f} one-row transactions/s x {size}",
                        {"rows/s": figures["durable commit floor"]}), base, "rows/s"),
        ]
        for label in ("upsert: new rows", "upsert: unchanged rows", "upsert: changed rows",
                      "upsert: new rows, durable commit"):
            upsert_rows.append(compare(Row(f"{label}, pages of {size}", {
                "rows/s": figures[label], "rows written": figures[label + " written"]}), base, "rows/s"))
        slowest = min(figures["upsert: new rows"], figures["upsert: changed rows"])
        if size in SYNC_PAGE_SIZES:
            upsert_targets.append(Target(
                f">= {TARGET_UPSERT_RPS:,.0f} rows/s", slowest >= TARGET_UPSERT_RPS,
                f"{slowest:,.0f} rows/s (slowest of new/changed; plain INSERT {figures['plain insert']:,.0f}, "
                f"COPY {figures['copy']:,.0f}, commit floor {figures['commit floor']:,.0f}; committed durably "
                f"{figures['upsert: new rows, durable commit']:,.0f})",
                f"mirror upsert, pages of {size}"))
        upsert_checks += [
            Check(f"pages of {size}: unchanged rows are not written", figures["upsert: unchanged rows written"] == 0,
                  f"{figures['upsert: unchanged rows written']} written"),
            Check(f"pages of {size}: every new and every changed row written once",
                  figures["upsert: new rows written"] == UPSERT_ROWS == figures["upsert: changed rows written"],
                  f"{figures['upsert: new rows written']} new, {figures['upsert: changed rows written']} changed "
                  f"of {UPSERT_ROWS}"),
        ]
    upsert_section = Section(
        title="Mirror upsert alone", columns=["rows/s", "rows written"], rows=upsert_rows,
        ratio_of="rows/s / the plain bulk INSERT's rows/s (same rows, same pages, same run)",
        targets=upsert_targets, checks=upsert_checks,
        notes=[f"{UPSERT_ROWS:,} candidates through integrations.sync.mirror_page_transaction, the sync's page "
               "transaction (Teamtailor's page holds 30, SmartRecruiters' 100; pages of 1,000 only show what a "
               "transaction per page costs, no target): all new, then the same again (unchanged), then all changed. "
               "A page that dispatches no stage change commits without waiting for the disk (synchronous_commit off "
               "for that transaction: its rows come from the ATS again; see the function); 'durable commit' is the "
               "same upsert committed as a page that dispatched one is. Baselines write the same rows in the same "
               "pages and transactions, committed the same way: bulk_create (the ratio's base), the upsert's raw "
               "INSERT .. SELECT FROM unnest without ON CONFLICT, and COPY; the commit floors are one-row "
               "transactions per second times the page size, each way: the most rows/s a transaction per page "
               "allows on this machine, whatever the statement."],
    )
    if not results:
        return [upsert_section] if upserts else []
    if not upserts:
        return [sync_section, incremental_section]
    return [sync_section, incremental_section, upsert_section]


def _counts(counts: dict) -> str:
    return ", ".join(f"{counts.get(key, 0)} {key}" for key in ("seen", "created", "updated", "unchanged", "skipped"))


if __name__ == "__main__":
    from bench.report import render_text

    for section in main():
        print(render_text(section) + "\n")
