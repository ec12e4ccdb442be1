"""Webhook intake under real concurrent load (issue 10, item 1).

gunicorn serves Stagehook with the production settings the README documents (PostgreSQL, Redis
broker and cache, ``config/gunicorn.conf.py``, HTTPS behind a TLS proxy: the requests carry
``X-Forwarded-Proto: https``), adapted to 127.0.0.1, in a throwaway database
(test_<BENCH_DATABASE_URL name>). ``wrk`` (a second process) replays pre-generated, unique, validly
signed requests — each sent once — bounded in count (``BENCH_EVENTS`` per endpoint) and time
(``BENCH_DURATION`` seconds), with ``BENCH_THREADS`` threads and ``BENCH_CONNECTIONS`` connections.

In the same run, on the same server: two baselines, ``GET /bench/bare`` (a view that does nothing)
and ``POST /bench/insert`` (a view that inserts one row in one transaction), mounted only by
``bench.settings``. Every figure is printed beside them as a ratio, because absolute figures on a
shared machine drift. Afterwards every accepted (2xx) event is counted in the database: present
exactly once, nothing else stored.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

from bench import servers

ROOT = Path(__file__).resolve().parents[1]
# Enough events that the time bound, not their count, ends a measured run up to 2,500/s: a run that
# sends them all has a rate capped at EVENTS / DURATION (wrk's clock runs the whole -d), and fails
# the check below instead of understating the intake (10,000 capped it at 1,000/s).
EVENTS = int(os.environ.get("BENCH_EVENTS", "25000"))  # per endpoint and round
# The machine is shared and its speed drifts within minutes: the insert baseline and the three
# endpoints are measured in turn BENCH_ROUNDS times, and each figure is the median of its rounds.
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
DURATION = int(os.environ.get("BENCH_DURATION", "10"))
THREADS = int(os.environ.get("BENCH_THREADS", "2"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "16"))
TARGET_RPS, TARGET_P99_MS, TARGET_RATIO = 1000.0, 100.0, 0.60
WARMUP = int(os.environ.get("BENCH_WARMUP", "300"))  # unmeasured events per endpoint first
# wrk runs for its whole -d even when every request was answered: the warm-up's bound, checked below.
WARMUP_SECONDS = int(os.environ.get("BENCH_WARMUP_SECONDS", "15"))
COMPANY = "bench-company"
SR_COMPANY = "bench-sr-company"


def main():
    """The production environment is set in this process: ``python -m bench`` runs each benchmark
    in a process of its own, so it does not leak into the others."""
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: `make bench` installs Debian's wrk")
    # The server's Celery publishes go to a queue of this run's own, deleted afterwards.
    servers.production_environment()
    from bench import run_in_test_database

    return run_in_test_database(_run)


def _line(method: str, path: str, body: bytes | None, headers: dict[str, str]) -> str:
    text = body.decode() if body else "-"
    assert "\t" not in text and "\n" not in text
    return "\t".join([method, path, text, *(f"{k}: {v}" for k, v in headers.items())])


PROXY_HEADERS = servers.PROXY_HEADERS


def _seed(work: Path) -> dict:
    """One tenant, package and Teamtailor connection; the request files of every endpoint."""
    from django.db import connection as db

    from assessments.models import Package
    from bench.urls import BENCH_TABLE
    from integrations.models import Connection, secret_hash
    from integrations.smartrecruiters.sandbox.signing import signature_header as sr_signature_header
    from integrations.teamtailor import auth
    from tenants.models import Tenant

    with db.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {BENCH_TABLE} (id bigserial PRIMARY KEY, body bytea NOT NULL)")
    tenant = Tenant.objects.create(name="Bench", slug="bench")
    package = Package.objects.create(tenant=tenant, name="Bench interview")
    provider_key = "bench-provider-key-" + secrets.token_hex(16)
    partner_secret, company_secret = "bench-webhook-secret", "bench-company-webhook-secret"
    Connection.objects.create(
        tenant=tenant, provider="teamtailor", remote_account_id=COMPANY, status="active",
        provider_key_hash=secret_hash(provider_key),
        credentials={"webhook_secret": partner_secret, "provider_key": provider_key,
                     "company_webhook_secret": company_secret},
    )
    sr_key = "bench-sr-signing-key-" + secrets.token_hex(16)
    Connection.objects.create(
        tenant=tenant, provider="smartrecruiters", remote_account_id=SR_COMPANY, status="active",
        credentials={"webhook_secret_keys": [sr_key]},
    )
    template = json.loads((ROOT / "integrations/teamtailor/fixtures/partner_webhook_request_body.json").read_text())
    template["company"]["uuid"] = COMPANY
    run = uuid.uuid4().hex[:8]

    def partner(prefix: str, count: int) -> list[str]:
        lines = []
        for i in range(count):
            event_id = f"{prefix}-{run}-{i}"
            body = json.loads(json.dumps(template))
            body["partner-event"]["id"] = event_id
            body["partner-event"]["webhook-data"] = {"package": str(package.pk)}
            body["partner-event"]["partner-result"]["id"] = f"result-{prefix}-{run}-{i}"
            body["partner-event"]["partner-result"]["update-url"] = (
                f"https://api.teamtailor.com/partner/v1/partner-results/result-{prefix}-{run}-{i}"
            )
            raw = json.dumps(body).encode()
            lines.append(_line("POST", "/teamtailor/webhook", raw, {
                **PROXY_HEADERS, "Content-Type": "application/json", "Authorization": f"Bearer {provider_key}",
                "Teamtailor-Signature": auth.partner_signature_header(secret=partner_secret, partner_event_id=event_id),
                "Teamtailor-Host": "api.teamtailor.com",
            }))
        return lines

    def company(first_id: int, count: int) -> list[str]:
        lines = []
        for i in range(count):
            body = {"payload": {"event_name": "job_application.update", "data": {
                "id": str(first_id + i), "type": "job-applications",
                "attributes": {"updated-at": f"2026-01-01T00:00:00.{i:06d}Z", "changed-stage-at": "2026-01-01T00:00:00Z"},
            }}}
            raw = json.dumps(body).encode()
            lines.append(_line("POST", f"/teamtailor/company-webhooks?company_id={COMPANY}", raw, {
                **PROXY_HEADERS, "Content-Type": "application/json",
                "TT-Signature": auth.company_signature_header(secret=company_secret, raw_body=raw),
            }))
        return lines

    def smartrecruiters(prefix: str, count: int) -> list[str]:
        """Signed as the Webhooks API (and the sandbox, integrations/smartrecruiters/sandbox) signs:
        v1 = HMAC-SHA256(key, timestamp.body.event-id.event-name.event-version.link)."""
        lines = []
        timestamp = str(int(time.time()))
        for i in range(count):
            event_id = str(uuid.uuid4())
            candidate, job = f"{prefix}-cand-{run}-{i}", f"{prefix}-job-{run}"
            raw = json.dumps({"job_id": job, "candidate_id": candidate, "application_id": f"{prefix}-app-{run}-{i}"},
                             separators=(",", ":")).encode()
            link = f"<https://api.smartrecruiters.com/candidates/{candidate}/jobs/{job}>; rel=self"
            parts = {"timestamp": timestamp, "body": raw, "event_id": event_id,
                     "event_name": "application.status.updated", "event_version": "v1", "link": link}
            lines.append(_line("POST", f"/smartrecruiters/webhooks?companyId={SR_COMPANY}", raw, {
                **PROXY_HEADERS, "Content-Type": "application/json", "event-id": event_id,
                "event-name": parts["event_name"], "event-version": parts["event_version"], "link": link,
                "smartrecruiters-timestamp": timestamp,
                "smartrecruiters-signature": sr_signature_header([sr_key], **parts),
            }))
        return lines

    # Generated (and signed) just before each run: the signatures' timestamps must be fresh (5 min).
    files = {
        **{f"partner-{r}": (lambda r=r: partner(f"bench{r}", EVENTS)) for r in range(ROUNDS)},
        **{f"company-{r}": (lambda r=r: company(1_000_000 + r * EVENTS, EVENTS)) for r in range(ROUNDS)},
        **{f"smartrecruiters-{r}": (lambda r=r: smartrecruiters(f"bench{r}", EVENTS)) for r in range(ROUNDS)},
        "warm-partner": lambda: partner("warm", WARMUP),
        "warm-company": lambda: company(5_000_000, WARMUP),
        "warm-smartrecruiters": lambda: smartrecruiters("warm", WARMUP),
        # The baselines replay one request over and over (every thread needs lines of its own).
        "bare": lambda: [_line("GET", "/bench/bare", None, PROXY_HEADERS)] * 64,
        "insert": lambda: [_line("POST", "/bench/insert", b'{"row": 1}', {**PROXY_HEADERS, "Content-Type": "application/json"})] * 64,
        # Sent once each (not replayed): the warm-up ends when every request was answered.
        "warm-insert": lambda: [_line("POST", "/bench/insert", b'{"row": 0}', {**PROXY_HEADERS, "Content-Type": "application/json"})] * WARMUP,
    }
    return RequestFiles(work, files)


class RequestFiles:
    """``files[name]``: the path of that run's request file, written when first asked for."""

    def __init__(self, work: Path, generators: dict):
        self.work, self.generators = work, generators

    def __getitem__(self, name: str) -> Path:
        path = self.work / f"{name}.tsv"
        if not path.exists():
            path.write_text("\n".join(self.generators[name]()) + "\n")
        return path


def _wrk(base: str, requests_file: Path, *, wrap: bool, duration: int = DURATION) -> dict:
    command = [
        "wrk", "-t", str(THREADS), "-c", str(CONNECTIONS), "-d", f"{duration}s", "--timeout", "10s",
        "-s", str(ROOT / "bench/wrk_requests.lua"), base,
        "--", str(requests_file), str(THREADS), "1" if wrap else "0",
    ]
    out = subprocess.run(command, capture_output=True, text=True, check=True, timeout=DURATION + 120).stdout
    line = next(li for li in out.splitlines() if li.startswith("BENCH "))
    figures = json.loads(line[len("BENCH "):])
    if os.environ.get("BENCH_VERBOSE"):
        print(out, figures)
    seconds = figures["duration_us"] / 1e6
    counted = figures["ok"] + figures["bad"]
    errors = sum(v for k, v in figures.items() if k.startswith("errors_"))
    return {
        "ok": figures["ok"], "bad": figures["bad"], "errors": errors, "seconds": seconds,
        "rps": figures["ok"] / seconds, "p50": figures["p50_us"] / 1000, "p99": figures["p99_us"] / 1000,
        "max": figures["max_us"] / 1000, "answered": counted, "sent": figures["sent"],
        "bad_status": figures.get("bad_status", 0),
    }


# BENCH_PROFILE=partner,company: sample the gunicorn workers with py-spy (installed by
# `make bench-profile`, not a requirement) while that endpoint is under load, print where time goes.
PROFILE = [name for name in os.environ.get("BENCH_PROFILE", "").split(",") if name]


def _profile_start(pid: int, out: Path) -> subprocess.Popen:
    spy = shutil.which("py-spy") or str(ROOT / ".venv/bin/py-spy")
    return subprocess.Popen(
        [spy, "record", "--pid", str(pid), "--subprocesses", "--duration", str(DURATION), "--rate", "200",
         "--format", "raw", "--output", str(out), "--nonblocking"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def _profile_report(spy: subprocess.Popen, folded: Path, name: str, top: int = 30):
    spy.wait(timeout=DURATION + 60)
    inclusive: dict[str, int] = {}
    total = 0
    for line in folded.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        total += int(count)
        for frame in set(frames):
            inclusive[frame] = inclusive.get(frame, 0) + int(count)
    from bench.report import Row, Section

    rows = []
    shown = 0
    for frame, count in sorted(inclusive.items(), key=lambda item: -item[1]):
        if not any(part in frame for part in ("(integrations/", "(tenants/", "(assessments/", "(celery/", "(kombu/", "(redis/")):
            continue  # the request's own path and the broker client, not the server around it
        rows.append(Row(frame[:150], {"share %": round(100 * count / total, 1)}))
        shown += 1
        if shown >= top:
            break
    return Section(
        title=f"Where the time goes: py-spy, {name}", columns=["share %"], rows=rows,
        notes=[f"{total} samples of the gunicorn workers while {name} was under load; share of the samples "
               "in each frame (inclusive) of the request's own path and the broker client."],
    )


def _server_env(database_name: str, fd: int) -> dict:
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": servers.database_url(database_name),
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "GUNICORN_BIND": f"fd://{fd}",
    })
    return env


ENDPOINTS = {
    # name: (label, provider, event type) of what each endpoint stores
    "partner": ("POST /teamtailor/webhook", "teamtailor", "partner.trigger"),
    "company": ("POST /teamtailor/company-webhooks", "teamtailor", "job_application.update"),
    "smartrecruiters": ("POST /smartrecruiters/webhooks", "smartrecruiters", "application.status.updated"),
}


def _median_of(runs: list[dict]) -> dict:
    """One figure of several rounds: the median rate and latencies, the counts summed."""
    figure = {key: sum(run[key] for run in runs) for key in ("ok", "bad", "errors", "answered", "sent")}
    figure.update({key: statistics.median(run[key] for run in runs) for key in ("rps", "p50", "p99", "seconds")})
    figure["max"] = max(run["max"] for run in runs)
    figure["bad_status"] = next((run["bad_status"] for run in runs if run["bad_status"]), 0)
    return figure


def _queued_event_ids(celery_app) -> Counter:
    """Read (and take) every message of the run's own queue: how often each webhook event id was
    queued for processing, one id per ``process_webhook_event`` message, a list per
    ``process_webhook_events`` one (the intake's batches, tenants/queueing.py)."""
    queued: Counter = Counter()
    with celery_app.connection_for_write() as conn:
        with conn.SimpleQueue(os.environ["CELERY_TASK_DEFAULT_QUEUE"]) as queue:
            while True:
                try:
                    message = queue.get(block=False)
                except queue.Empty:
                    return queued
                args = message.decode()[0]
                task = message.headers.get("task", "")
                if task == "integrations.tasks.process_webhook_events":
                    queued.update(args[0])
                elif task == "integrations.tasks.process_webhook_event":
                    queued.update(args[:1])
                message.ack()


def _run():
    from django.db import connection as db

    from bench.urls import BENCH_TABLE
    from config.celery import app as celery_app
    from integrations.models import WebhookEvent
    from integrations.teamtailor.parsing import PARTNER_EVENT_TYPE

    assert ENDPOINTS["partner"][2] == PARTNER_EVENT_TYPE
    work = Path(tempfile.mkdtemp(prefix="stagehook-bench-"))
    paths = _seed(work)
    db.close()  # the server's workers get every database connection they ask for
    sock = servers.listening_socket()
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    log = (work / "gunicorn.log").open("w")
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "config.wsgi", "-c", str(ROOT / "config/gunicorn.conf.py")],
        cwd=ROOT, env=_server_env(db.settings_dict["NAME"], sock.fileno()), stdout=log, stderr=subprocess.STDOUT,
        pass_fds=[sock.fileno()],
    )
    sock.close()  # gunicorn holds it now
    results = {}
    rounds: dict[str, list[dict]] = {name: [] for name in ("insert", *ENDPOINTS)}
    profiles = []
    warmup = {}
    try:
        servers.wait_ready(base, server, deadline=time.monotonic() + 60)
        # Unmeasured warm-up: every worker imports and connects lazily on its first requests. The
        # writing ones send each request once and end when every one was answered (nothing in
        # flight afterwards: checked below) ...
        warm_bare = _wrk(base, paths["bare"], wrap=True, duration=3)
        for name in (*ENDPOINTS, "insert"):
            warmup[name] = _wrk(base, paths[f"warm-{name}"], wrap=False, duration=WARMUP_SECONDS)
        # ... and their rows forgotten, so that the counts below are the measured runs' alone.
        WebhookEvent.objects.all().delete()
        with db.cursor() as cursor:
            cursor.execute(f"TRUNCATE {BENCH_TABLE}")
        db.close()
        servers.queue_purge()
        results["bare"] = _wrk(base, paths["bare"], wrap=True)
        for r in range(ROUNDS):
            for name in ("insert", *ENDPOINTS):
                spy = _profile_start(server.pid, work / f"{name}.folded") if name in PROFILE and r == 0 else None
                rounds[name].append(_wrk(base, paths[name if name == "insert" else f"{name}-{r}"], wrap=name == "insert"))
                if spy is not None:
                    profiles.append(_profile_report(spy, work / f"{name}.folded", name))
    finally:
        servers.stop(server)
        log.close()
    gunicorn_log = (work / "gunicorn.log").read_text(errors="replace")
    results.update({name: _median_of(runs) for name, runs in rounds.items()})

    stored, distinct = {}, {}
    for name, (_, provider, event_type) in ENDPOINTS.items():
        events = WebhookEvent.objects.filter(provider=provider, event_type=event_type)
        stored[name] = events.count()
        distinct[name] = events.values("event_id").distinct().count()
    stored_total = WebhookEvent.objects.count()
    with db.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {BENCH_TABLE}")
        stored_insert = cursor.fetchone()[0]
        cursor.execute(f"DROP TABLE {BENCH_TABLE}")
    stored_ids = set(WebhookEvent.objects.values_list("id", flat=True))
    # gunicorn is stopped: each worker published what its batcher held as it exited.
    queued = _queued_event_ids(celery_app)
    servers.queue_purge(delete=True)
    shutil.rmtree(work, ignore_errors=True)

    from django.conf import settings

    from bench.report import Check, Row, Section, Target, compare

    workers = servers.gunicorn_workers()
    bare, insert = results["bare"], results["insert"]
    labels = {"bare": "baseline: GET /bench/bare", "insert": "baseline: POST /bench/insert",
              **{name: label for name, (label, _, _) in ENDPOINTS.items()}}
    rows = {}
    for name, r in results.items():
        rows[name] = Row(labels[name], {
            "req/s": r["rps"], "p50 ms": r["p50"], "p99 ms": r["p99"], "non-2xx": r["bad"] + r["errors"],
            "x bare": r["rps"] / bare["rps"],
        })
    for name in ENDPOINTS:
        compare(rows[name], rows["insert"], "req/s")
    checks = [Check(
        "warm-up: every request answered 2xx before the measured runs",
        # (all sent were answered: nothing still in flight that the counts below could see)
        not warm_bare["bad"] and all(w["ok"] == w["sent"] > 0 and not w["bad"] for w in warmup.values()),
        f"bare {warm_bare['ok']} ({warm_bare['bad']} non-2xx e.g. {warm_bare['bad_status']}), "
        + ", ".join(f"{name} {w['ok']}/{w['sent']} of {WARMUP} ({w['bad']} non-2xx e.g. {w['bad_status']}, {w['errors']} socket errors)"
                  for name, w in warmup.items()),
    )]
    for name in ENDPOINTS:
        r = results[name]
        checks.append(Check(
            f"{labels[name]}: the time bound ended each round, not its {EVENTS:,} events",
            all(run["sent"] < EVENTS for run in rounds[name]),
            ", ".join(f"{run['sent']:,}" for run in rounds[name]) + f" of {EVENTS:,} sent in {DURATION} s",
        ))
        in_flight = r["sent"] - r["answered"]
        if in_flight == 0:
            # Every request sent was answered: exactly the accepted ones are stored, each once.
            ok = stored[name] == distinct[name] == r["ok"]
            detail = f"{r['ok']} accepted, {stored[name]} stored, {distinct[name]} distinct"
        else:
            # Stopped by the time bound: the requests in flight at the cut-off may be stored too.
            ok = stored[name] == distinct[name] and r["ok"] <= stored[name] <= r["sent"]
            detail = (f"{r['ok']} accepted + {in_flight} in flight at the time bound, {stored[name]} stored, "
                      f"{distinct[name]} distinct")
        checks.append(Check(f"{labels[name]}: every accepted event stored exactly once", ok, detail))
    checks.append(Check("nothing else stored", stored_total == sum(stored.values()),
                        f"{stored_total} webhook events in all"))
    insert_in_flight = insert["sent"] - insert["answered"]
    checks.append(Check("insert baseline rows", insert["ok"] <= stored_insert <= insert["ok"] + insert_in_flight,
                        f"{insert['ok']} answered + {insert_in_flight} in flight, {stored_insert} rows"))
    # Ids of warm-up events (deleted before the measured runs) a batcher published after the
    # queue was emptied are not errors: every one of them is older than the measured events.
    stray = {event_id for event_id in queued if event_id not in stored_ids}
    once = all(queued[event_id] == 1 for event_id in stored_ids)
    checks.append(Check(
        "each stored event queued for processing exactly once",
        once and not (stray and stored_ids and max(stray) >= min(stored_ids)),
        f"{sum(queued[i] for i in stored_ids)} ids queued for {len(stored_ids)} stored events, "
        f"{len(stored_ids) - sum(1 for i in stored_ids if queued[i])} missing, "
        f"{sum(1 for i in stored_ids if queued[i] > 1)} twice or more, {len(stray)} of warm-up events",
    ))
    targets = []
    for name in ENDPOINTS:
        r, label = results[name], labels[name]
        checks.append(Check(f"{label}: every answer 2xx", not (r["bad"] or r["errors"]),
                            f"{r['bad']} non-2xx answers (e.g. {r['bad_status']}), {r['errors']} socket errors"))
        targets += [
            Target(f">= {TARGET_RPS:,.0f} verified and persisted webhooks/s", r["rps"] >= TARGET_RPS,
                   f"{r['rps']:,.0f}/s", label),
            Target(f"p99 < {TARGET_P99_MS:.0f} ms", r["p99"] < TARGET_P99_MS, f"{r['p99']:.1f} ms", label),
            Target(f">= {TARGET_RATIO:.0%} of the insert baseline", r["rps"] / insert["rps"] >= TARGET_RATIO,
                   f"{r['rps'] / insert['rps']:.0%}", label),
        ]
    if any(not c.ok for c in checks):
        tail = "\n".join(gunicorn_log.splitlines()[-30:])
        print(f"gunicorn log (tail):\n{tail}", file=sys.stderr)
    notes = [
        f"Each figure is the median of {ROUNDS} rounds (insert, then each endpoint, in turn; ratios to the "
        "medians). Req/s by round: " + "; ".join(
            f"{labels[name]} " + " / ".join(f"{run['rps']:,.0f}" for run in rounds[name]) for name in rounds) + ".",
        f"wrk -t{THREADS} -c{CONNECTIONS} -d{DURATION}s a round, at most {EVENTS:,} unique signed events per endpoint "
        f"and round, each sent once; gunicorn ({workers} sync workers, config/gunicorn.conf.py), PostgreSQL "
        f"(CONN_MAX_AGE={settings.DATABASES['default']['CONN_MAX_AGE']}), Redis broker and cache, "
        "the README's production environment on 127.0.0.1.",
    ]
    return [Section(
        title="Webhook intake under load", columns=["req/s", "p50 ms", "p99 ms", "non-2xx", "x bare"],
        rows=list(rows.values()), ratio_of="req/s / the insert baseline's req/s (same run, same server)",
        targets=targets, checks=checks, notes=notes,
    ), *profiles]


if __name__ == "__main__":
    from bench.report import render_text

    for section in main():
        print(render_text(section))
