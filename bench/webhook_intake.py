"""Webhook intake latency: a Teamtailor partner event (authenticate on the raw body, store the
WebhookEvent, queue processing, answer) against the baseline of the same server answering
/healthz. Target: ATS calls are answered fast — p95 under 100 ms on the 2-core reference machine.

Runs in-process through Django's test client against a throwaway PostgreSQL database
(test_<DATABASE_URL name>) and the configured broker (a queue of its own, deleted afterwards).
"""

from __future__ import annotations

import json
import os
import statistics
import time
import uuid

N = int(os.environ.get("BENCH_REQUESTS", "400"))
TARGET_P95_MS = 100.0


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _figures(name: str, samples: list[float], wall: float) -> dict:
    ms = [s * 1000 for s in samples]
    return {
        "name": name,
        "n": len(ms),
        "p50": statistics.median(ms),
        "p95": _percentile(ms, 0.95),
        "max": max(ms),
        "rps": len(ms) / wall,
    }


def main():
    from bench import run_in_test_database

    return run_in_test_database(_run)


def _run():
    from django.test import Client

    from assessments.models import Package
    from config.celery import app as celery_app
    from integrations.models import Connection, WebhookEvent, secret_hash
    from integrations.teamtailor import auth
    from tenants.models import Tenant

    queue = f"bench-{uuid.uuid4().hex[:8]}"
    celery_app.conf.task_always_eager = False
    celery_app.conf.task_default_queue = queue

    tenant = Tenant.objects.create(name="Bench", slug="bench")
    package = Package.objects.create(tenant=tenant, name="Bench interview")
    provider_key, secret = "bench-provider-key-" + uuid.uuid4().hex, "bench-webhook-secret"
    Connection.objects.create(
        tenant=tenant, provider="teamtailor", remote_account_id="bench-company", status="active",
        provider_key_hash=secret_hash(provider_key),
        credentials={"webhook_secret": secret, "provider_key": provider_key},
    )
    template = json.loads(
        (
            __import__("pathlib").Path(__file__).resolve().parents[1]
            / "integrations/teamtailor/fixtures/partner_webhook_request_body.json"
        ).read_text()
    )
    template["company"]["uuid"] = "bench-company"
    client = Client()

    def partner_call(i: int) -> float:
        event_id = f"bench-{i}-{uuid.uuid4()}"
        body = json.loads(json.dumps(template))
        body["partner-event"]["id"] = event_id
        body["partner-event"]["webhook-data"] = {"package": str(package.pk)}
        body["partner-event"]["partner-result"]["id"] = f"result-{i}"
        raw = json.dumps(body).encode()
        started = time.perf_counter()
        response = client.post(
            "/teamtailor/webhook", data=raw, content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {provider_key}",
            HTTP_TEAMTAILOR_SIGNATURE=auth.partner_signature_header(secret=secret, partner_event_id=event_id),
            HTTP_TEAMTAILOR_HOST="api.teamtailor.com",
        )
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise SystemExit(f"partner webhook answered {response.status_code}: {response.content[:300]!r}")
        return elapsed

    def health_call(i: int) -> float:
        started = time.perf_counter()
        response = client.get("/healthz")
        elapsed = time.perf_counter() - started
        assert response.status_code == 200
        return elapsed

    for warm in range(20):
        partner_call(-warm - 1)
        health_call(warm)

    results = []
    for name, call in (("baseline: GET /healthz", health_call), ("POST /teamtailor/webhook", partner_call)):
        wall = time.perf_counter()
        samples = [call(i) for i in range(N)]
        results.append(_figures(name, samples, time.perf_counter() - wall))

    stored = WebhookEvent.objects.filter(provider="teamtailor").count()
    with celery_app.connection_for_write() as conn:
        conn.default_channel.queue_purge(queue)  # queue_delete alone skips a queue never declared here
        conn.default_channel.queue_delete(queue)

    from bench.report import Check, Row, Section, Target, compare

    base, intake = results
    columns = ["p50 ms", "p95 ms", "max ms", "req/s"]
    rows = [Row(r["name"], {"p50 ms": r["p50"], "p95 ms": r["p95"], "max ms": r["max"], "req/s": r["rps"]})
            for r in results]
    compare(rows[1], rows[0], "req/s")
    broker = celery_app.conf.broker_url.split("://")[0]
    return [Section(
        title=f"One partner event at a time, in process ({N} requests each)",
        columns=columns, rows=rows, ratio_of="req/s / the baseline's req/s (same process, same run)",
        targets=[Target(f"p95 < {TARGET_P95_MS:.0f} ms", met=intake["p95"] < TARGET_P95_MS,
                        measured=f"{intake['p95']:.2f} ms", subject="POST /teamtailor/webhook, one at a time")],
        checks=[Check("every call stored exactly once", ok=stored == N + 20,
                      detail=f"{stored} events stored, {N + 20} expected (incl. 20 warm-up calls)")],
        notes=[f"Django's test client, PostgreSQL, {broker} broker; the intake costs "
               f"{intake['p50'] - base['p50']:.2f} ms over the baseline at p50 ({intake['p50'] / base['p50']:.1f}x). "
               "Says nothing about concurrency: that is intake_load."],
    )]
