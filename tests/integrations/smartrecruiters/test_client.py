"""The customer API client and the tokens we get: paging, limits across threads, 429 backoff,
401 refresh, one token refresh at a time; and smartrecruiters_configure."""

import datetime as dt
import json
import threading

import pytest
from django.core.management import call_command

from integrations.providers import SyncedApplication, SyncedJob
from integrations.smartrecruiters import auth
from integrations.smartrecruiters.provider import provider
from integrations.smartrecruiters.services import customer_client, master_client

from .conftest import Answer


def token_calls(fake_sr):
    return fake_sr.calls("POST", r"/identity/oauth/token")


def test_candidates_page_with_next_page_id_and_limit_100(connection, fake_sr):
    fake_sr.route("GET", r"/candidates", lambda seen: Answer(200, {
        "totalFound": 3, "nextPageId": "" if seen.query.get("pageId") == "p2" else "p2",
        "content": [{"id": f"c-{seen.query.get('pageId', 'p1')}", "updatedOn": f"2026-11-0{1 if 'pageId' not in seen.query else 2}T00:00:00Z"}],
    }))
    pages = list(provider.pages(connection, kind="candidates", cursor="2026-10-01T00:00:00Z"))
    assert [p.items[0].remote_id for p in pages] == ["c-p1", "c-p2"]
    assert pages[-1].next_cursor == "2026-11-02T00:00:00Z"
    first, second = fake_sr.calls("GET", r"/candidates")
    assert first.query == {"limit": "100", "updatedAfter": "2026-10-01T00:00:00Z"}
    assert second.query["pageId"] == "p2"


def test_jobs_and_stages_pages(connection, fake_sr):
    fake_sr.route("GET", r"/jobs", Answer(200, {"content": [{"id": "j-1", "title": "Engineer"}], "nextPageId": None}))
    fake_sr.route("GET", r"/configuration/hiring-processes", Answer(200, {"content": [
        {"id": "hp-1", "subStatuses": {"INTERVIEW": ["AI screen", "Onsite"], "IN_REVIEW": [], "OFFERED": []}}]}))
    [jobs] = list(provider.pages(connection, kind="jobs", cursor=None))
    assert jobs.items == [SyncedJob(remote_id="j-1", title="Engineer", status="", remote_updated_at=None)]
    [stages] = list(provider.pages(connection, kind="stages", cursor=None))
    ids = [s.remote_id for s in stages.items]
    assert ids[:9] == ["LEAD", "NEW", "IN_REVIEW", "INTERVIEW", "OFFERED", "HIRED", "REJECTED", "WITHDRAWN", "TRANSFERRED"]
    assert "INTERVIEW/AI screen" in ids and "INTERVIEW/Onsite" in ids


def test_application_status_move_and_a_note(connection, fake_sr):
    fake_sr.route("PUT", r"/candidates/c-1/jobs/j-1/status", Answer(204, ""))
    fake_sr.route("POST", r"/messages/shares", Answer(201, {"id": "m-1"}))
    client = customer_client(connection)
    client.application_status_set("c-1", "j-1", status="INTERVIEW", sub_status="AI screen")
    client.message_share(content="#[CANDIDATE:c-1] done", job_id="j-1")
    assert fake_sr.calls("PUT", r"/candidates/c-1/jobs/j-1/status")[0].json() == {"status": "INTERVIEW", "subStatus": "AI screen"}
    assert fake_sr.calls("POST", r"/messages/shares")[0].json() == {"content": "#[CANDIDATE:c-1] done",
                                                                      "shareWith": {"hiringTeamOf": ["j-1"]}}


def test_429_is_retried_with_backoff_and_401_refreshes_the_token_once(connection, fake_sr):
    fake_sr.route("GET", r"/jobs/j-1", Answer(200, {"id": "j-1", "title": "Engineer"}))
    fake_sr.queue("GET", r"/jobs/j-1", Answer(429, {}), Answer(429, {}))
    assert customer_client(connection).job("j-1")["title"] == "Engineer"
    assert len(fake_sr.calls("GET", r"/jobs/j-1")) == 3
    fake_sr.tokens.clear()  # SmartRecruiters forgot our token: the next call gets a 401
    assert customer_client(connection).job("j-1")["title"] == "Engineer"
    assert len(token_calls(fake_sr)) == 2


def test_the_token_is_cached_encrypted_and_fetched_once_by_concurrent_workers(connection, fake_sr):
    fake_sr.delay = 0.2
    tokens, errors = [], []

    def fetch():
        try:
            tokens.append(auth.customer_token_source(connection).token())
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=fetch) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert not errors and len(set(tokens)) == 1
    assert len(token_calls(fake_sr)) == 1
    from django.core.cache import cache

    stored = cache.get(auth.customer_token_source(connection).cache_key)
    assert tokens[0] not in json.dumps(stored)


def test_a_token_near_expiry_is_refreshed(connection, fake_sr):
    fake_sr.token_lifetime = 30  # inside the 60 s margin: never reused
    source = auth.customer_token_source(connection)
    assert source.token() != source.token()
    assert len(token_calls(fake_sr)) == 2


def test_never_more_than_eight_in_flight_and_one_candidates_call(connection, fake_sr, settings):
    fake_sr.delay = 0.15
    fake_sr.route("GET", r"/jobs/j-\d+", Answer(200, {"id": "j"}))
    fake_sr.route("GET", r"/candidates", Answer(200, {"content": [], "nextPageId": None}))
    client = customer_client(connection, rate=None)
    threads = [threading.Thread(target=client.job, args=(f"j-{n}",)) for n in range(12)]
    threads += [threading.Thread(target=lambda: list(customer_client(connection, rate=None).candidates())) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert fake_sr.max_in_flight <= 8
    assert fake_sr.max_in_flight_by_path["/candidates"] == 1
    assert len(fake_sr.calls("GET", r"/candidates")) == 3


def test_configure_puts_every_url_and_show_gets_it(fake_sr, settings, capsys):
    settings.SITE_URL = "https://stagehook.example.com"
    settings.SMARTRECRUITERS_CONSENT_DISPLAY_MODE = "POPUP"
    fake_sr.route("PUT", r"/assessment-api/v202010/partner/configuration", lambda seen: Answer(200, seen.json()))
    fake_sr.route("GET", r"/assessment-api/v202010/partner/configuration", Answer(200, {"consentDisplayMode": "POPUP"}))
    call_command("smartrecruiters_configure")
    [put] = fake_sr.calls("PUT", r"/assessment-api/v202010/partner/configuration")
    body = put.json()
    assert body["consentDisplayMode"] == "POPUP"
    assert body["oauthTokenUrl"] == "https://stagehook.example.com/smartrecruiters/oauth/token"
    assert body["packageOrderUrl"].endswith("/smartrecruiters/packages/orders")
    assert body["integrationDisableUrl"].endswith("/smartrecruiters/integrations/companies")
    assert body["fields"][0]["id"] == "language" and 1 <= len(body["supportedAssessmentTypes"]) <= 6
    assert "accepted" in capsys.readouterr().out
    call_command("smartrecruiters_configure", "--show")
    assert '"consentDisplayMode": "POPUP"' in capsys.readouterr().out


def test_master_client_without_credentials_is_a_clear_error(fake_sr, settings):
    from integrations.errors import AuthFailed

    settings.SMARTRECRUITERS_CLIENT_SECRET = ""
    with pytest.raises(AuthFailed, match="SMARTRECRUITERS_CLIENT_ID"):
        master_client()


def test_never_more_than_ten_requests_in_any_second_across_threads(connection, fake_sr):
    fake_sr.route("GET", r"/jobs/j-\d+", Answer(200, {"id": "j"}))
    client_count, per_client = 4, 6
    threads = [threading.Thread(target=lambda: [customer_client(connection).job(f"j-{n}") for n in range(per_client)])
               for _ in range(client_count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    arrivals = sorted(s.at for s in fake_sr.calls("GET", r"/jobs/j-\d+"))
    assert len(arrivals) == client_count * per_client
    # Our limiter counts departures; arrivals on loopback follow within milliseconds.
    assert max(sum(1 for t in arrivals if start <= t < start + 0.95) for start in arrivals) <= 10
    assert arrivals[-1] - arrivals[0] >= 1.0


def test_application_pages_come_from_the_candidates_primary_assignments(connection, fake_sr, reference_fixtures):
    listed = json.loads((reference_fixtures / "smartrecruiters/candidates/list.json").read_text())
    listed["nextPageId"] = None
    listed["content"].append({"id": "c-none", "updatedOn": "2026-11-01T00:00:00Z"})  # no assignment: skipped
    fake_sr.route("GET", r"/candidates", Answer(200, listed))
    [page] = list(provider.pages(connection, kind="applications", cursor=None))
    assert page.items == [SyncedApplication(
        remote_id="string:string", remote_candidate_id="string", remote_job_id="string", remote_stage_id="LEAD",
        remote_sub_status="string", remote_updated_at=dt.datetime(2021, 10, 16, 21, 13, 9, 300000, tzinfo=dt.timezone.utc),
    )]
    assert page.next_cursor == "2021-10-16T21:13:09.300Z"


def test_an_order_and_a_stage_change_meet_on_one_application(connection, fake_sr, package, client, bearer,
                                                             reference_fixtures, django_capture_on_commit_callbacks):
    """The order names candidate and job; the webhook's application is keyed by the same two."""
    from assessments.models import Assessment
    from integrations.models import StageMapping
    from .conftest import order_body
    from .test_webhooks import sign

    StageMapping.objects.create(connection=connection, remote_stage_id="INTERVIEW", package=package)
    body = order_body(reference_fixtures, package_id=package.pk, fake_sr=fake_sr)
    cid, jid = body["candidate"]["id"], body["job"]["id"]
    fake_sr.route("GET", rf"/candidates/{cid}/jobs/{jid}", Answer(200, {"status": "INTERVIEW"}))
    raw = json.dumps({"job_id": jid, "candidate_id": cid, "application_id": "a-9"}).encode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/smartrecruiters/webhooks?companyId=SmartCompany123", data=raw, content_type="application/json",
                    **sign(raw, name="application.status.updated"))
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post("/smartrecruiters/packages/orders", data=json.dumps(body), content_type="application/json",
                           HTTP_AUTHORIZATION=bearer).status_code == 202
    assert Assessment.objects.count() == 1


def test_configure_refuses_an_unknown_display_mode(fake_sr, settings):
    from django.core.management.base import CommandError

    settings.SMARTRECRUITERS_CONSENT_DISPLAY_MODE = "IFRAME"
    with pytest.raises(CommandError, match="REDIRECT or POPUP"):
        call_command("smartrecruiters_configure")
    assert not fake_sr.calls("PUT", r"/assessment-api/v202010/partner/configuration")
