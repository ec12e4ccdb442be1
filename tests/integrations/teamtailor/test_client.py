"""The public API and partner API clients against the sandbox served over HTTP (paging, filters,
headers, 429, allow-list), and the admin's "test connection"."""

import datetime as dt
import math
import time
import uuid

import pytest

from integrations.errors import AuthFailed, HostNotAllowed
from integrations.services import connection_test
from integrations.teamtailor.client import PartnerApiClient, PublicApiClient, allowed_hosts_for


@pytest.fixture(autouse=True)
def _loopback_allowed(settings):
    settings.ATS_EXTRA_ALLOWED_HOSTS = ["127.0.0.1"]


@pytest.fixture
def public(teamtailor_sandbox):
    return PublicApiClient(api_key=teamtailor_sandbox.config.api_key, api_base_url=teamtailor_sandbox.url, region="eu")


@pytest.fixture
def partner(teamtailor_sandbox):
    return PartnerApiClient(
        partner_api_key=teamtailor_sandbox.config.partner_api_key, api_base_url=teamtailor_sandbox.url, region="eu"
    )


def _all(pages):
    return [item for page in pages for item in page["data"]]


def test_paging_uses_30_per_page_and_follows_next(public, teamtailor_sandbox):
    for n in range(70):
        teamtailor_sandbox.state.add_candidate(first_name=f"Bulk{n}")
    total = len(teamtailor_sandbox.state.candidates)
    before = teamtailor_sandbox.stats()["requests"]
    candidates = _all(public.candidates())
    requests_made = teamtailor_sandbox.stats()["requests"] - before
    assert len(candidates) == total and len({c["id"] for c in candidates}) == total
    assert requests_made == math.ceil(total / 30)


def test_page_size_is_capped_at_30(public):
    pages = list(public.paginate("candidates", page_size=500))
    assert pages and len(pages[0]["data"]) <= 30


def test_updated_at_filter(public, teamtailor_sandbox):
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)
    new_id = teamtailor_sandbox.state.add_candidate(first_name="Fresh", updated_at=later + dt.timedelta(hours=1))
    ids = [c["id"] for c in _all(public.candidates(updated_from=later.isoformat()))]
    assert ids == [new_id]


def test_job_applications_filters_and_include(public, teamtailor_sandbox):
    apps = _all(public.job_applications(job_id="12345"))
    expected = {a["id"] for a in teamtailor_sandbox.state.applications.values() if a["job_id"] == "12345"}
    assert apps and {a["id"] for a in apps} == expected
    moved = teamtailor_sandbox.state.application_move("637", "13")
    since = moved["attributes"]["changed-stage-at"]
    pages = list(public.job_applications(changed_stage_from=since, include="stage"))
    changed = _all(pages)
    assert [a["id"] for a in changed] == ["637"]
    assert any(item["type"] == "stages" and item["id"] == "13" for item in pages[0].get("included", []))


def test_job_stages_and_candidate_include(public):
    stages = _all(public.job_stages("12345"))
    assert [s["attributes"]["name"] for s in stages] == ["Inbox", "Phone screen", "Stagehook interview", "Offer", "Hired"]
    candidate = public.candidate("54321")
    assert candidate["data"]["attributes"]["first-name"] == "Juston"
    assert any(item["type"] == "job-applications" for item in candidate["included"])


def test_note_create(public, teamtailor_sandbox):
    public.note_create(candidate_id="54321", user_id="34", text="Stagehook interview completed: 83/100")
    notes = teamtailor_sandbox.notes()
    assert [n["note"] for n in notes] == ["Stagehook interview completed: 83/100"]
    assert notes[0]["candidate_id"] == "54321"


def test_validate_credentials(public, teamtailor_sandbox):
    public.validate_credentials()
    wrong = PublicApiClient(api_key="not-the-key", api_base_url=teamtailor_sandbox.url, region="eu")
    with pytest.raises(AuthFailed):
        wrong.validate_credentials()


def test_429_waits_for_the_reset_and_continues(sandbox_server):
    key = f"rate-limit-test-{uuid.uuid4()}"
    sandbox = sandbox_server("teamtailor", api_key=key, rate_limit=3, rate_window=2.0)
    client = PublicApiClient(api_key=key, api_base_url=sandbox.url, region="eu")
    started = time.monotonic()
    candidates = _all(client.paginate("candidates", page_size=1))
    assert len(candidates) == len(sandbox.state.candidates)
    stats = sandbox.stats()
    assert stats["rate_limited"] >= 1
    assert time.monotonic() - started >= 1.0


def test_next_link_to_a_foreign_host_is_refused(webhook_receiver):
    webhook_receiver.respond(200, {"data": [{"id": "1"}], "links": {"next": "https://evil.example.com/v1/jobs?page=2"}})
    client = PublicApiClient(api_key="k", api_base_url=webhook_receiver.url.rstrip("/"), region="eu")
    pages = client.jobs()
    assert next(pages)["data"] == [{"id": "1"}]
    with pytest.raises(HostNotAllowed):
        next(pages)
    assert len(webhook_receiver.requests) == 1


def test_headers_are_exactly_teamtailors(webhook_receiver):
    webhook_receiver.respond(200, {"data": {"id": "1", "type": "notes"}})
    client = PublicApiClient(api_key="company-key", api_base_url=webhook_receiver.url.rstrip("/"), region="eu")
    client.note_create(candidate_id="5", text="hello")
    partner_client = PartnerApiClient(partner_api_key="partner-key", api_base_url=webhook_receiver.url.rstrip("/"))
    partner_client.partner_result_update(result_id="r1", attributes={"status": "sent"})
    note, update = webhook_receiver.wait_for(2)
    assert note.path == "/v1/notes" and note.method == "POST"
    assert note.headers["Authorization"] == "Token token=company-key"
    assert note.headers["X-Api-Version"] == "20240904"
    assert note.headers["Content-Type"] == "application/vnd.api+json"
    assert note.json()["data"]["relationships"]["candidate"]["data"] == {"type": "candidates", "id": "5"}
    assert update.path == "/partner/v1/partner-results/r1" and update.method == "PUT"
    assert update.headers["Authorization"] == "Bearer partner-key"
    assert update.headers["X-Api-Version"] == "20180828"
    assert update.headers["Content-Type"] == "application/vnd.api+json"
    assert update.json() == {"data": {"type": "partner-results", "id": "r1", "attributes": {"status": "sent"}}}


def test_partner_results_create_get_update(partner):
    created = partner.partner_result_create(candidate_id="54322", job_id="12345", attributes={"status": "sent"})
    result_id = created["data"]["id"]
    assert partner.partner_result_get(result_id)["data"]["attributes"]["status"] == "sent"
    partner.partner_result_update(result_id=result_id, attributes={"status": "pending"})
    assert partner.partner_result_get(result_id)["data"]["attributes"]["status"] == "pending"
    listed = [r["id"] for page in partner.partner_results() for r in page["data"]]
    assert result_id in listed


def test_wrong_partner_key_is_auth_failed(teamtailor_sandbox):
    client = PartnerApiClient(partner_api_key="wrong", api_base_url=teamtailor_sandbox.url)
    with pytest.raises(AuthFailed):
        client.partner_result_get("x")


@pytest.mark.parametrize(
    "region,base,expected",
    [
        ("eu", "https://api.teamtailor.com", ["api.teamtailor.com"]),
        ("us", "https://api.na.teamtailor.com", ["api.na.teamtailor.com"]),
        ("eu", "https://api.na.teamtailor.com", ["api.teamtailor.com"]),
        ("", "http://127.0.0.1:8101", []),
    ],
)
def test_allow_list_is_the_regions_host_only(region, base, expected):
    assert allowed_hosts_for(region=region, api_base_url=base) == expected


@pytest.mark.django_db
def test_admin_test_connection(sandbox_connection):
    assert connection_test(connection=sandbox_connection).ok is True
    sandbox_connection.credentials = {**sandbox_connection.credentials, "api_key": "revoked"}
    result = connection_test(connection=sandbox_connection)
    assert result.ok is False and "AUTH_FAILED" in result.message
    sandbox_connection.credentials = {k: v for k, v in sandbox_connection.credentials.items() if k != "api_key"}
    assert connection_test(connection=sandbox_connection).ok is False


@pytest.mark.django_db
def test_provider_pages_with_a_changed_stage_cursor(sandbox_connection, teamtailor_sandbox):
    from integrations.providers import provider_get

    moved = teamtailor_sandbox.state.application_move("638", "13")
    cursor = moved["attributes"]["changed-stage-at"]
    pages = list(provider_get("teamtailor").pages(sandbox_connection, kind="applications", cursor=cursor))
    items = [item for page in pages for item in page.items]
    assert [(a.remote_id, a.remote_candidate_id, a.remote_job_id, a.remote_stage_id) for a in items] == [
        ("638", "54323", "12345", "13")
    ]
    assert dt.datetime.fromisoformat(pages[-1].next_cursor) == dt.datetime.fromisoformat(cursor)
    assert pages[-1].kind == "applications"
    stage_pages = list(provider_get("teamtailor").pages(sandbox_connection, kind="stages", cursor=None))
    stages = {(s.remote_job_id, s.remote_id) for page in stage_pages for s in page.items}
    assert ("12345", "13") in stages and ("27", "6") in stages


def test_paginate_changed_pages_by_keyset_and_never_yields_a_record_twice(teamtailor_sandbox, settings):
    """``sort=updated-at`` + ``filter[updated-at][from]`` moved to the newest seen: every changed
    candidate once, oldest first, even with several sharing one timestamp across a page boundary."""
    from integrations.teamtailor.client import PublicApiClient

    settings.ATS_EXTRA_ALLOWED_HOSTS = ["127.0.0.1"]
    state = teamtailor_sandbox.state
    moment = dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc)
    for i in range(40):  # 40 at one instant: more than a page
        state.add_candidate(candidate_id=str(80000 + i), updated_at=moment)
    for i in range(25):
        state.add_candidate(candidate_id=str(81000 + i), updated_at=moment + dt.timedelta(minutes=i + 1))
    client = PublicApiClient(api_key=teamtailor_sandbox.config.api_key, api_base_url=teamtailor_sandbox.url)
    seen = [item["id"] for page in client.paginate_changed("candidates", since=moment.isoformat()) for item in page["data"]]
    expected = {str(80000 + i) for i in range(40)} | {str(81000 + i) for i in range(25)}
    assert len(seen) == len(set(seen))
    assert expected <= set(seen)
    stamps = [state.candidates[i]["attributes"]["updated-at"] for i in seen]
    assert [dt.datetime.fromisoformat(s) for s in stamps] == sorted(dt.datetime.fromisoformat(s) for s in stamps)
