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
- the mirror upsert alone (``mirror_page_store``, one transaction per page as the sync commits)
  against a plain bulk INSERT of the same rows in the same page sizes, in the same run.
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
from urllib.parse import urlsplit, urlunsplit

import requests

ROOT = Path(__file__).resolve().parents[1]
CANDIDATES = int(os.environ.get("BENCH_SYNC_CANDIDATES", "10000"))
UPSERT_ROWS = int(os.environ.get("BENCH_UPSERT_ROWS", "10000"))
# Which ATSs to sync (both by default): BENCH_SYNC_ATS=teamtailor
ATS = [name for name in os.environ.get("BENCH_SYNC_ATS", "teamtailor,smartrecruiters").split(",") if name]
TARGET_RATE_SHARE, TARGET_UPSERT_RPS, TARGET_RSS_MB = 0.90, 15_000.0, 300.0
SYNC_TIMEOUT = float(os.environ.get("BENCH_SYNC_TIMEOUT", "1800"))


def main() -> None:
    """In a process of its own (the environment below must not leak into other benchmarks)."""
    completed = subprocess.run([sys.executable, "-m", "bench.sync_load"], cwd=ROOT)
    if completed.returncode:
        raise SystemExit(completed.returncode)


def setup_environment() -> None:
    os.environ.setdefault("ATS_EXTRA_ALLOWED_HOSTS", "127.0.0.1")
    os.environ["CELERY_TASK_DEFAULT_QUEUE"] = f"bench-sync-{uuid.uuid4().hex[:8]}"
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "off"


def quiet_logs() -> None:
    """The sandbox's per-request log and the sync's progress lines would bury the table."""
    import logging

    for name in ("werkzeug", "integrations", "celery", "kombu"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _main() -> None:
    setup_environment()
    from bench import run_in_test_database

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    quiet_logs()

    run_in_test_database(_run)


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
def database_url() -> str:
    from django.db import connection as db

    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path="/" + db.settings_dict["NAME"]))


@contextlib.contextmanager
def celery_worker(work: Path, *, extra_env: dict[str, str] | None = None) -> Iterator[subprocess.Popen]:
    """``celery worker`` on this run's queue with one pool process (the one that runs the sync)."""
    env = {**os.environ, "DATABASE_URL": database_url(), "STAGEHOOK_VAR_DIR": str(work / "var"), **(extra_env or {})}
    log_path = work / "worker.log"
    log = log_path.open("w")
    process = subprocess.Popen(
        [str(ROOT / ".venv/bin/celery"), "-A", "config", "worker", "-Q", os.environ["CELERY_TASK_DEFAULT_QUEUE"],
         "--concurrency", "1", "--loglevel", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 90
        while "ready." not in log_path.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the Celery worker did not start:\n" + log_path.read_text(errors="replace")[-3000:])
            time.sleep(0.2)  # polling the worker's log for its banner, bounded by the deadline
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


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
    """``mirror_page_store`` of ``rows`` candidates in pages (one transaction each, as the sync
    commits a page): all new, then all unchanged, then all changed; beside a plain bulk INSERT of
    the same rows in the same pages and transactions. Rows/s of each."""
    from django.db import connection as db
    from django.db import transaction
    from django.utils import timezone

    from integrations.models import Connection, RemoteCandidate
    from integrations.providers import SyncedCandidate
    from integrations.sync import mirror_page_store

    moment = timezone.now() - dt.timedelta(days=1)

    def items(version: str) -> list[SyncedCandidate]:
        return [SyncedCandidate(remote_id=str(5_000_000 + n), first_name=f"First{version}", last_name=f"Last {n}",
                                email=f"upsert{n}@example.com", phone="+46 70 000 00 00",
                                remote_updated_at=moment + dt.timedelta(seconds=n)) for n in range(rows)]

    def pages(values: list) -> Iterator[list]:
        for start in range(0, len(values), page_size):
            yield values[start:start + page_size]

    upserted = Connection.objects.create(tenant=tenant, provider="teamtailor", remote_account_id=f"upsert-{page_size}",
                                         status="active", credentials={})
    plain = Connection.objects.create(tenant=tenant, provider="teamtailor", remote_account_id=f"plain-{page_size}",
                                      status="active", credentials={})
    figures = {}
    # The baseline: the same rows, a plain INSERT per page (no conflict handling, no read first).
    first = items("A")
    started = time.perf_counter()
    for page in pages(first):
        with transaction.atomic():
            RemoteCandidate.objects.bulk_create([
                RemoteCandidate(connection=plain, remote_id=item.remote_id, first_name=item.first_name,
                                last_name=item.last_name, email=item.email, phone=item.phone,
                                remote_updated_at=item.remote_updated_at) for item in page])
    figures["plain insert"] = rows / (time.perf_counter() - started)
    for label, values in (("upsert: new rows", first), ("upsert: unchanged rows", first),
                          ("upsert: changed rows", items("B"))):
        written = 0
        started = time.perf_counter()
        for page in pages(values):
            with transaction.atomic():
                result = mirror_page_store(connection=upserted, kind="candidates", items=page, emit=True)
            written += result.created + result.updated
        figures[label] = rows / (time.perf_counter() - started)
        figures[label + " written"] = written
    with db.cursor() as cursor:
        cursor.execute("DELETE FROM integrations_remotecandidate WHERE connection_id IN (%s, %s)", [upserted.pk, plain.pk])
    upserted.delete()
    plain.delete()
    return figures


# --- the benchmark ---------------------------------------------------------------------------------------
def _run() -> None:
    import tempfile

    from tenants.models import Tenant

    work = Path(tempfile.mkdtemp(prefix="stagehook-bench-sync-"))
    load = os.getloadavg()
    tenant = Tenant.objects.create(name="Bench sync", slug="bench-sync")
    results = {}
    with celery_worker(work) as worker:
        for name in ATS:
            with serve(name) as served:
                seeded_at = time.monotonic()
                total = served.seed(CANDIDATES)
                seed_seconds = time.monotonic() - seeded_at
                connection = connect(served, tenant)
                results[name] = sync_figures(served, connection, worker)
                results[name].update({"total": total, "seed_seconds": seed_seconds})
    upserts = {size: upsert_figures(tenant, rows=UPSERT_ROWS, page_size=size) for size in (30, 100)}
    load_after = os.getloadavg()
    report(results, upserts, load=(load, load_after))
    import shutil

    shutil.rmtree(work, ignore_errors=True)


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def report(results: dict, upserts: dict, *, load) -> None:
    print(f"\nsync at the ATS's real limits: {CANDIDATES} generated candidates with an application each per sandbox; "
          f"a real Celery worker (one pool process), PostgreSQL, Redis; load average "
          f"{load[0][0]:.2f} before, {load[1][0]:.2f} after")
    head = (f"{'':18} {'limit':>12} {'requests':>8} {'429s':>5} {'busiest':>7} {'wall s':>7} {'floor s':>7} "
            f"{'x allowed':>9} {'cpu s':>6} {'sbx cpu':>7} {'rss MB':>7} {'peak MB':>7}")
    print(head)
    for name, figures in results.items():
        f = figures["full"]
        print(f"{name + ' full':18} {figures['limit']:>12} {f['requests']:8d} {f['served_429']:5d} {f['busiest']:7d} "
              f"{f['wall']:7.1f} {f['floor']:7.1f} {f['share']:9.2f} {f['cpu']:6.1f} {f['sandbox_cpu']:7.1f} "
              f"{f['rss_before_mb']:7.0f} {f['peak_rss_mb']:7.0f}")
    for name, figures in results.items():
        f, i = figures["full"], figures["incremental"]
        print(f"  {name}: {figures['total']} candidates in the sandbox (seeded in {figures['seed_seconds']:.1f} s); "
              f"full sync {f['run'].pages} pages, candidates {_counts(f['candidates'])}, "
              f"applications {_counts(f['applications'])}")
        w = i["written"]
        print(f"  {name} incremental (immediately after): {i['requests']} requests, {i['served_429']} 429s, "
              f"{i['wall']:.1f} s, {i['seen']} records read again; mirror rows ({i['mirror_rows']}): "
              f"{w['inserted']} inserted, {w['rewritten']} rewritten, {w['deleted']} deleted")
    print(f"\nmirror upsert alone ({UPSERT_ROWS} candidates, one transaction per page) beside a plain bulk INSERT "
          f"of the same rows")
    print(f"{'':28} " + " ".join(f"{f'rows/s @{size}':>12} {'x insert':>8}" for size in upserts))
    for label in ("plain insert", "upsert: new rows", "upsert: unchanged rows", "upsert: changed rows"):
        cells = []
        for size, figures in upserts.items():
            cells.append(f"{figures[label]:12.0f} {figures[label] / figures['plain insert']:8.2f}")
        print(f"{label:28} " + " ".join(cells))
    for size, figures in upserts.items():
        if figures["upsert: unchanged rows written"]:
            raise SystemExit(f"the upsert rewrote {figures['upsert: unchanged rows written']} unchanged rows")
    print()
    for name, figures in results.items():
        f, i = figures["full"], figures["incremental"]
        print(f"  targets, {name}: >= {TARGET_RATE_SHARE:.0%} of the allowed request rate "
              f"({f['share']:.0%}): {verdict(f['share'] >= TARGET_RATE_SHARE)}; zero 429s "
              f"({f['served_429'] + i['served_429']}): {verdict(f['served_429'] + i['served_429'] == 0)}; "
              f"no row rewritten when nothing changed ({i['written']['rewritten']}): "
              f"{verdict(i['written']['rewritten'] == 0 and i['written']['inserted'] == 0)}; peak RSS < "
              f"{TARGET_RSS_MB:.0f} MB ({f['peak_rss_mb']:.0f}): {verdict(f['peak_rss_mb'] < TARGET_RSS_MB)}")
    for size, figures in upserts.items():
        rate = min(figures["upsert: new rows"], figures["upsert: changed rows"])
        print(f"  target, upsert >= {TARGET_UPSERT_RPS:.0f} rows/s in pages of {size} (slowest of new/changed: "
              f"{rate:.0f}): {verdict(rate >= TARGET_UPSERT_RPS)}")


def _counts(counts: dict) -> str:
    return ", ".join(f"{counts.get(key, 0)} {key}" for key in ("seen", "created", "updated", "unchanged", "skipped"))


if __name__ == "__main__":
    _main()
