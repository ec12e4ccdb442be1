"""Not collected (no test_ prefix): ``pytest tests/integrations/teamtailor/profile_trigger.py -s``
profiles the worker's share of one stage move: processing its webhook event, the invitation and the
invitation's write-back, with cProfile and the queries counted per step."""

import cProfile
import io
import pstats

import pytest
from django.db import connection as db
from django.db import transaction
from django.test.utils import CaptureQueriesContext

from assessments import services as assessment_services
from assessments.models import Assessment
from integrations import deliveries, mapping, webhooks
from integrations.models import Delivery, RemoteStage, WebhookEvent
from tests.factories import ConnectionFactory

pytestmark = pytest.mark.django_db
URL = "/teamtailor/company-webhooks"
N = 20


def test_profile(client, sandbox_server, webhook_receiver, settings, tenant, package, monkeypatch):
    settings.ATS_EXTRA_ALLOWED_HOSTS = ["127.0.0.1"]
    sandbox = sandbox_server("teamtailor", stagehook_url=webhook_receiver.url)
    config = sandbox.config
    connection = ConnectionFactory(
        tenant=tenant, remote_account_id=config.company_uuid, region="eu", api_base_url=sandbox.url,
        credentials={"partner_api_key": config.partner_api_key, "api_key": config.api_key,
                     "company_webhook_secret": config.company_webhook_secret},
    )
    for position, (stage_id, name) in enumerate([("12", "Phone screen"), ("13", "Stagehook interview")]):
        RemoteStage.objects.create(connection=connection, remote_id=stage_id, remote_job_id="12345", name=name,
                                   position=position)
    mapping.stage_mappings_save(connection=connection, rows=[{"stage": "13", "package": package.pk}])
    apps = []
    for n in range(N + 1):
        cand = sandbox.app.state.add_candidate(first_name="P", last_name=f"n{n}", email=f"p{n}@example.com")
        apps.append(sandbox.app.state.add_application(candidate_id=cand, job_id="12345", stage_id="12"))
    # Nothing runs on its own: each step is run and measured below.
    queued = []
    monkeypatch.setattr("tenants.queueing.enqueue_now",
                        lambda task, *a, countdown=None, retries=0: queued.append((task.name, a)) or True)
    steps = {"event": cProfile.Profile(), "invite": cProfile.Profile(), "deliver": cProfile.Profile()}
    queries = {k: [] for k in steps}
    for n, app_id in enumerate(apps):
        sandbox.move(app_id, "13")
        received = webhook_receiver.wait_for(n + 1)[-1]
        queued.clear()
        response = client.post(URL, data=received.body, content_type="application/json",
                               HTTP_TT_SIGNATURE=received.headers["Tt-Signature"])
        assert response.status_code == 200
        event = WebhookEvent.objects.latest("id")
        for name, call in (
            ("event", lambda: webhooks.webhook_event_process(webhook_event_id=event.pk)),
            ("invite", lambda: assessment_services.assessment_invite(assessment_id=Assessment.objects.latest("id").pk)),
            ("deliver", lambda: deliveries.delivery_send_by_id(delivery_id=Delivery.objects.latest("id").pk)),
        ):
            with CaptureQueriesContext(db) as ctx:
                if n:  # the first move warms caches and imports
                    steps[name].enable()
                with transaction.atomic():
                    call()
                if n:
                    steps[name].disable()
            if n:
                queries[name].append(len(ctx.captured_queries))
            if n == N:
                print(f"\n==== {name}: {len(ctx.captured_queries)} queries")
                for q in ctx.captured_queries:
                    print("   ", q["sql"][:160])
    assert Assessment.objects.filter(status="invited").count() == N + 1
    for name, prof in steps.items():
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(45)
        print(f"\n==== {name}: queries per move {queries[name]}\n{out.getvalue()}")
