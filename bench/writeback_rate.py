"""Write-back rate against the ATS sandboxes at their real limits (issue 10, item 4).

Completed assessments are written back to the sandbox (a real HTTP server in a process of its own)
by two Celery worker nodes (the Procfile's ``worker`` line twice: 4 pool processes) on the Redis
broker, the outbox and the shared rate limiter as in production. Counted at the sandbox: the
requests it received, its 429s, and every result it holds (each written exactly once).

- Teamtailor: ``BENCH_WRITEBACKS`` (1,000) order-mode assessments, each completed once -> one
  ``PUT`` of its partner result's update-url; the sandbox allows 50 requests per 10 s per key.
- SmartRecruiters: ``BENCH_WRITEBACKS_SR`` (500) marketplace orders, each completed once -> the
  results ``PATCH`` and the report PDF ``POST .../results/attachment`` (two requests each: 1,000
  requests); the sandbox allows 10 requests per second per credential.

Baseline: the floor the rate limit allows (requests / allowed rate), measured against the wall
time from the workers being ready (every completion recorded before: the outbox holds all the
write-backs) to the last write-back the sandbox applied; the ratio is the achieved share of the
allowed rate.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
import time
from pathlib import Path

from bench import servers

WRITEBACKS = int(os.environ.get("BENCH_WRITEBACKS", "1000"))
WRITEBACKS_SR = int(os.environ.get("BENCH_WRITEBACKS_SR", "500"))
ONLY_ATS = [name for name in os.environ.get("BENCH_WRITEBACK_ATS", "teamtailor,smartrecruiters").split(",") if name]
TARGET_RATIO = 0.90
WORKER_NODES = 2


def main():
    """In a process of its own (``python -m bench``): the production environment is set here."""
    servers.production_environment(ATS_EXTRA_ALLOWED_HOSTS="127.0.0.1")
    from bench import run_in_test_database

    return run_in_test_database(_run)


# --- the sandbox side (runs in the sandbox's process, see bench.servers) ---------------------------
def seed_teamtailor(app, *, results: int) -> dict:
    """``results`` partner results as Teamtailor creates them on a trigger; their ids."""
    ids = [app.state.partner_result_create(candidate_id="54324", job_id="27", created_via="trigger")["id"]
           for _ in range(results)]
    config = app.config
    return {"results": ids, "company_uuid": config.company_uuid, "partner_api_key": config.partner_api_key,
            "api_key": config.api_key}


def seed_smartrecruiters(app, *, orders: int) -> dict:
    """A company that consented and is integrated (customer credentials), and ``orders`` orders."""
    import secrets

    from integrations.smartrecruiters.sandbox.state import ADA_ID, SUPPORT_JOB_ID

    state, company_id = app.state, app.config.company_id
    client_id, client_secret = f"sr-{company_id}-bench", secrets.token_urlsafe(32)
    with state.lock:
        state.credentials_add(client_id=client_id, secret=client_secret, kind="customer", company_id=company_id)
        state.company_add(company_id, name=company_id).update(consented=True, integrated=True, customer_client_id=client_id)
        ids = [state.order_create(company_id=company_id, cid=ADA_ID, job_id=SUPPORT_JOB_ID, mode="ad-hoc",
                                  trigger="recruiter")["orderId"] for _ in range(orders)]
    return {"orders": ids, "company_id": company_id, "client_id": client_id, "client_secret": client_secret,
            "candidate_id": ADA_ID, "job_id": SUPPORT_JOB_ID}


# --- Stagehook's side ----------------------------------------------------------------------------------
def _tenant_and_package(slug: str):
    from assessments.models import Package
    from tenants.models import Tenant

    tenant = Tenant.objects.create(name=f"Bench {slug}", slug=f"bench-{slug}")
    return tenant, Package.objects.create(tenant=tenant, name="Bench interview")


def _assessments_in_progress(*, tenant, package, connection, orders: list[tuple[str, str]], candidate_id: str, job_id: str):
    """Open assessments as an order leaves them once the candidate started: in progress, with the
    ATS's callback URL. Created in bulk (the write-backs of earlier statuses are not measured)."""
    from django.utils import timezone

    from assessments.models import Assessment, Status

    now = timezone.now()
    Assessment.objects.bulk_create([
        Assessment(
            tenant=tenant, package=package, mode="order", source=connection.source_key, remote_order_id=order_id,
            remote_candidate_id=candidate_id, remote_job_id=job_id, callback_url=callback_url,
            candidate_first_name="Bench", candidate_last_name=f"Candidate {n}", candidate_email=f"bench{n}@example.com",
            status=Status.IN_PROGRESS, invited_at=now - dt.timedelta(hours=1), started_at=now - dt.timedelta(minutes=30),
            expires_at=now + dt.timedelta(days=7),
        )
        for n, (order_id, callback_url) in enumerate(orders)
    ], batch_size=500)
    return list(Assessment.objects.filter(source=connection.source_key).order_by("pk"))


def _complete_all(assessments) -> None:
    """Record a result for each assessment, as the results API does (one transaction each: the
    outbox row commits with the status and its send is queued after commit)."""
    from assessments.services import assessment_record_result

    for n, assessment in enumerate(assessments):
        assessment_record_result(
            assessment=assessment, score_value=50 + n % 50, score_min=0, score_max=100, score_label="good",
            summary="Bench result", transcript=[], details={}, actor="bench",
        )


def _wait_deliveries(connection, *, expected: int, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        counts = _delivery_counts(connection)
        if counts.get("sent", 0) + counts.get("dead", 0) >= expected or time.monotonic() > deadline:
            return counts
        time.sleep(1)  # polling the outbox until every delivery is done, bounded by the deadline


def _delivery_counts(connection) -> dict:
    from django.db.models import Count

    from integrations.models import Delivery

    return {row["status"]: row["n"] for row in
            Delivery.objects.filter(connection=connection).values("status").annotate(n=Count("id"))}


def _attempt_ms(connection) -> dict:
    """How long the write-back calls took (each attempt: the requests and what is built for them)."""
    from integrations.models import DeliveryAttempt

    ms = sorted(DeliveryAttempt.objects.filter(delivery__connection=connection).values_list("duration_ms", flat=True))
    if not ms:
        return {"mean": 0, "p95": 0}
    return {"mean": round(sum(ms) / len(ms)), "p95": ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]}


def _parse(value: str) -> float:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def _max_in_window(times: list[float], window: float) -> int:
    """The most write-backs the sandbox applied within any ``window`` seconds."""
    times = sorted(times)
    best, start = 0, 0
    for end in range(len(times)):
        while times[end] - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


def _teamtailor(work: Path, database_name: str) -> dict:
    from integrations.models import Connection

    sandbox = servers.SandboxProcess("teamtailor", seed="bench.writeback_rate:seed_teamtailor",
                                     seed_args={"results": WRITEBACKS}, work=work)
    try:
        seed = sandbox.seed
        tenant, package = _tenant_and_package("teamtailor")
        connection = Connection.objects.create(
            tenant=tenant, provider="teamtailor", remote_account_id=seed["company_uuid"], status="active",
            region="eu", api_base_url=sandbox.url,
            credentials={"partner_api_key": seed["partner_api_key"], "api_key": seed["api_key"]},
        )
        assessments = _assessments_in_progress(
            tenant=tenant, package=package, connection=connection, candidate_id="54324", job_id="27",
            orders=[(rid, f"{sandbox.url}/partner/v1/partner-results/{rid}") for rid in seed["results"]],
        )
        # Completed before the workers start: the outbox (and the queue) holds every write-back, and
        # the time is the delivery's alone, whatever the recording of the results costs.
        clock = time.time()
        _complete_all(assessments)
        completed_in = time.time() - clock
        with servers.celery_workers(database_name, work, count=WORKER_NODES):
            started = time.time()
            counts = _wait_deliveries(connection, expected=len(assessments), timeout=WRITEBACKS / 5 * 1.5 + 120)
        attempts = _attempt_ms(connection)
        stats = sandbox.control("GET", "stats")
        results = {r["id"]: r for r in sandbox.control("GET", "partner-results", timeout=120)["partner_results"]}
    finally:
        sandbox.close()
    applied, twice, missing = [], 0, 0
    for rid in seed["results"]:
        accepted = [h for h in results[rid]["history"] if h["accepted"]]
        if not accepted or accepted[-1]["status_after"] != "completed":
            missing += 1
        if len(accepted) > 1:
            twice += 1
        applied += [_parse(h["at"]) for h in accepted]
    return _figures("Teamtailor (PUT partner result)", limit=50, window=10.0, started=started, completed_in=completed_in,
                    applied=applied, expected_requests=len(seed["results"]), stats=stats, counts=counts,
                    delivered=len(seed["results"]) - missing, expected=len(seed["results"]), twice=twice,
                    attempts=attempts)


def _smartrecruiters(work: Path, database_name: str) -> dict:
    from integrations.models import Connection
    from integrations.smartrecruiters.constants import CRED_CLIENT_ID, CRED_CLIENT_SECRET, PROVIDER_NAME

    sandbox = servers.SandboxProcess("smartrecruiters", seed="bench.writeback_rate:seed_smartrecruiters",
                                     seed_args={"orders": WRITEBACKS_SR}, work=work)
    try:
        seed = sandbox.seed
        tenant, package = _tenant_and_package("smartrecruiters")
        connection = Connection.objects.create(
            tenant=tenant, provider=PROVIDER_NAME, remote_account_id=seed["company_id"], status="active",
            api_base_url=sandbox.url,
            credentials={CRED_CLIENT_ID: seed["client_id"], CRED_CLIENT_SECRET: seed["client_secret"]},
        )
        assessments = _assessments_in_progress(
            tenant=tenant, package=package, connection=connection, candidate_id=seed["candidate_id"],
            job_id=seed["job_id"],
            orders=[(oid, f"{sandbox.url}/assessment-api/v202010/orders/{oid}/results") for oid in seed["orders"]],
        )
        # Completed before the workers start: the outbox (and the queue) holds every write-back, and
        # the time is the delivery's alone, whatever the recording of the results costs.
        clock = time.time()
        _complete_all(assessments)
        completed_in = time.time() - clock
        with servers.celery_workers(database_name, work, count=WORKER_NODES):
            started = time.time()
            counts = _wait_deliveries(connection, expected=len(assessments), timeout=WRITEBACKS_SR * 2 / 10 * 1.5 + 120)
        attempts = _attempt_ms(connection)
        stats = sandbox.control("GET", "stats")
        orders = {o["orderId"]: o for o in sandbox.control("GET", "orders", timeout=120)["orders"]}
    finally:
        sandbox.close()
    applied, twice, missing = [], 0, 0
    for oid in seed["orders"]:
        order = orders[oid]
        accepted = [h for h in order["history"] if h["accepted"]]
        if (order.get("result") or {}).get("status") != "COMPLETED" or not order.get("attachments"):
            missing += 1
        if len(accepted) > 1 or len(order.get("attachments") or []) > 1:
            twice += 1
        applied += [_parse(h["at"]) for h in accepted]
        applied += [_parse(a["at"]) for a in order.get("attachments") or []]
    return _figures("SmartRecruiters (PATCH results + PDF)", limit=10, window=1.0, started=started,
                    completed_in=completed_in, applied=applied, expected_requests=2 * len(seed["orders"]),
                    stats=stats, counts=counts, delivered=len(seed["orders"]) - missing, expected=len(seed["orders"]),
                    twice=twice, attempts=attempts)


def _figures(label, *, limit, window, started, completed_in, applied, expected_requests, stats, counts,
             delivered, expected, twice, attempts) -> dict:
    allowed = limit / window
    requests = len(applied)
    wall = (max(applied) - started) if applied else float("inf")
    floor = requests / allowed
    return {
        "label": label, "allowed": allowed, "limit": f"{limit} / {window:g} s", "requests": requests,
        "expected_requests": expected_requests, "sandbox_requests": stats.get("requests", 0),
        "rate_limited": stats.get("rate_limited", 0), "wall": wall, "floor": floor, "rate": requests / wall,
        "ratio": floor / wall, "max_window": _max_in_window(applied, window), "delivered": delivered,
        "expected": expected, "twice": twice, "counts": counts, "completed_in": completed_in, "window": window,
        "attempts": attempts,
    }


def _run():
    from django.db import connection as db

    from bench.report import Check, Row, Section, Target
    from integrations import ratelimit

    work = Path(tempfile.mkdtemp(prefix="stagehook-bench-writeback-"))
    database_name = db.settings_dict["NAME"]
    measured = []
    try:
        for name, run in (("teamtailor", _teamtailor), ("smartrecruiters", _smartrecruiters)):
            if name in ONLY_ATS:
                ratelimit.limiter_get().reset()
                db.close()
                load = os.getloadavg()[0]
                measured.append({**run(work, database_name), "load": load, "load_after": os.getloadavg()[0]})
                print(f"  {measured[-1]['label']}: {measured[-1]['requests']} write-backs in {measured[-1]['wall']:.1f} s",
                      flush=True)
    finally:
        left = servers.queue_purge(delete=True)
        logs = {path.name: path.read_text(errors="replace") for path in work.glob("*.log")}
        shutil.rmtree(work, ignore_errors=True)
    sections = []
    columns = ["limit", "requests", "wall s", "floor s", "req/s", "allowed req/s", "429s", "max in a window",
               "delivered", "twice"]
    for r in measured:
        floor_row = Row(f"baseline: the rate limit's floor ({r['requests']} requests / {r['allowed']:g} per s)", {
            "limit": r["limit"], "requests": r["requests"], "wall s": round(r["floor"], 1), "floor s": round(r["floor"], 1),
            "req/s": r["allowed"], "allowed req/s": r["allowed"],
        })
        row = Row(r["label"], {
            "limit": r["limit"], "requests": r["requests"], "wall s": round(r["wall"], 1), "floor s": round(r["floor"], 1),
            "req/s": round(r["rate"], 2), "allowed req/s": r["allowed"], "429s": r["rate_limited"],
            "max in a window": r["max_window"], "delivered": f"{r['delivered']}/{r['expected']}", "twice": r["twice"],
        }, baseline=floor_row.label, ratio=r["ratio"])
        sections.append(Section(
            title=f"write-back rate: {r['label']}",
            columns=columns, rows=[floor_row, row],
            ratio_of="achieved req/s / the allowed req/s (= the floor's wall time / the wall time)",
            targets=[
                Target(f">= {TARGET_RATIO:.0%} of the allowed rate", met=r["ratio"] >= TARGET_RATIO,
                       measured=f"{r['ratio']:.1%} ({r['rate']:.2f} of {r['allowed']:g} req/s)", subject=r["label"]),
                Target("zero 429s", met=r["rate_limited"] == 0, measured=str(r["rate_limited"]), subject=r["label"]),
            ],
            checks=[
                Check(f"all {r['expected']} delivered (at the sandbox)", ok=r["delivered"] == r["expected"],
                      detail=f"{r['delivered']} results completed in the sandbox; outbox {r['counts']}"),
                Check("none delivered twice (at the sandbox)", ok=r["twice"] == 0 and r["requests"] == r["expected_requests"],
                      detail=f"{r['twice']} results written more than once; {r['requests']} write-backs applied, "
                             f"{r['expected_requests']} expected; {r['sandbox_requests']} API requests in all "
                             "(with the token requests)"),
            ],
            notes=[
                f"{WORKER_NODES} Celery worker nodes (the Procfile's worker line, --concurrency 2 each) on Redis, the "
                f"outbox and the shared rate limiter as in production; the sandbox in a process of its own at its real "
                f"limit ({r['limit']} per credential).",
                f"The {r['expected']} completions were recorded first ({r['completed_in']:.1f} s: the results-API "
                f"service, one transaction each, the outbox row with it and its send queued); wall time: from the "
                f"workers being ready to the last write-back the sandbox applied. 'max in a window': the most write-backs the sandbox applied in any "
                f"{r['window']:g} s (sliding; the sandbox's own windows are fixed, each starting at a first request).",
                f"A write-back attempt took {r['attempts']['mean']} ms on average, p95 {r['attempts']['p95']} ms (its "
                f"requests and what is built for them). The client's rate slot is held from a request's departure "
                f"until {r['window']:g} s after its answer (the ATS counts arrivals: integrations.ratelimit.slot), so "
                f"at most {r['limit'].split(' /')[0]} requests per ({r['window']:g} s + the round trip) go out: the "
                "round trip is the price of zero 429s, small against a 10 s window, not against 1 s.",
                f"Load average {r['load']:.2f} before, {r['load_after']:.2f} after (2 cores, shared).",
            ] + ([f"{left} messages were left in the run's queue"] if left else []),
        ))
        if r["delivered"] != r["expected"] or r["twice"]:
            for name, text in logs.items():
                tail = "\n".join(text.splitlines()[-15:])
                print(f"--- {name} (tail)\n{tail}")
    return sections
