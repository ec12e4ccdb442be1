import logging
import time
import uuid

import pytest

from integrations import ratelimit
from integrations.http import (
    AtsClient,
    AuthFailed,
    BadRequest,
    HostNotAllowed,
    Rate,
    RateLimited,
    RemoteError,
    RemoteTimeout,
    UnexpectedRedirect,
    credential_fingerprint,
    host_allowed,
    parse_retry_after,
)
from integrations.models import ErrorCode

from .conftest import Reply


def client_for(fake_ats, **kwargs) -> AtsClient:
    kwargs.setdefault("credential", f"secret-{uuid.uuid4()}")
    return AtsClient(provider="testats", base_url=fake_ats.url, timeout=(1.0, 2.0), **kwargs)


# --- allow-list ------------------------------------------------------------------------------------
def test_host_allowed_rules():
    assert host_allowed("https://api.example.com/v1", {"api.example.com"})
    assert host_allowed("https://API.example.com:8443/v1", {"api.example.com"})
    assert not host_allowed("http://api.example.com/v1", {"api.example.com"}), "provider hosts are https only"
    assert not host_allowed("https://api.example.com.evil.test/", {"api.example.com"})
    assert not host_allowed("https://user:pw@api.example.com/", {"api.example.com"})
    assert not host_allowed("https://evil.test/?h=api.example.com", {"api.example.com"})
    assert host_allowed("http://127.0.0.1:8101/x", set(), extra_hosts=["127.0.0.1"])
    assert host_allowed("http://127.0.0.1:8101/x", set(), extra_hosts=["127.0.0.1:8101"])
    assert not host_allowed("http://127.0.0.1:8102/x", set(), extra_hosts=["127.0.0.1:8101"])
    assert not host_allowed("ftp://127.0.0.1/x", set(), extra_hosts=["127.0.0.1"])


def test_blocked_host_is_never_called(fake_ats, settings):
    client = client_for(fake_ats)
    with pytest.raises(HostNotAllowed) as exc:
        client.get(f"http://localhost:{fake_ats.port}/results")  # same server, host not on the list
    assert exc.value.code == ErrorCode.HOST_NOT_ALLOWED
    with pytest.raises(HostNotAllowed):
        client.put("https://attacker.example/update", json={})  # an absolute third-party URL
    assert fake_ats.seen == []


def test_extra_hosts_open_the_sandbox_only_when_configured(fake_ats, settings):
    client = client_for(fake_ats)
    assert client.get("ping").status_code == 200

    settings.ATS_EXTRA_ALLOWED_HOSTS = []
    with pytest.raises(HostNotAllowed):
        client.get("ping")
    settings.ATS_EXTRA_ALLOWED_HOSTS = [f"127.0.0.1:{fake_ats.port}"]
    assert client.get("ping").status_code == 200
    settings.ATS_EXTRA_ALLOWED_HOSTS = ["127.0.0.1:1"]
    with pytest.raises(HostNotAllowed):
        client.get("ping")
    assert len(fake_ats.seen) == 2


def test_redirect_is_not_followed(fake_ats):
    fake_ats.reply(Reply(302, {}, headers={"Location": f"{fake_ats.url}elsewhere"}))
    with pytest.raises(UnexpectedRedirect) as exc:
        client_for(fake_ats).get("start")
    assert exc.value.status_code == 302
    assert [s.path for s in fake_ats.seen] == ["/start"]


# --- timeouts and status codes ---------------------------------------------------------------------
def test_default_timeouts_come_from_settings(settings, fake_ats):
    settings.ATS_HTTP_TIMEOUT = 7.5
    client = AtsClient(provider="testats", base_url=fake_ats.url, credential="x")
    assert client.timeout == (5.0, 7.5)


def test_read_timeout_raises_timeout(fake_ats):
    fake_ats.reply(Reply(200, {}, delay=1.0))
    client = AtsClient(provider="testats", base_url=fake_ats.url, credential="x", timeout=(1.0, 0.2))
    started = time.monotonic()
    with pytest.raises(RemoteTimeout) as exc:
        client.get("slow")
    assert exc.value.code == ErrorCode.TIMEOUT and exc.value.retryable
    assert time.monotonic() - started < 0.9


def test_connection_refused_is_a_retryable_remote_error(settings):
    settings.ATS_EXTRA_ALLOWED_HOSTS = ["127.0.0.1"]
    client = AtsClient(provider="testats", base_url="http://127.0.0.1:9/", credential="x", timeout=(0.5, 0.5))
    with pytest.raises((RemoteError, RemoteTimeout)) as exc:
        client.get("x")
    assert exc.value.retryable


@pytest.mark.parametrize(
    ("status", "error", "code", "retryable"),
    [
        (500, RemoteError, ErrorCode.REMOTE_ERROR, True),
        (503, RemoteError, ErrorCode.REMOTE_ERROR, True),
        (400, BadRequest, ErrorCode.BAD_PAYLOAD, False),
        (422, BadRequest, ErrorCode.BAD_PAYLOAD, False),
        (403, AuthFailed, ErrorCode.AUTH_FAILED, False),
    ],
)
def test_status_codes_map_to_error_codes(fake_ats, status, error, code, retryable):
    fake_ats.reply(Reply(status, {"errors": [{"title": "nope"}]}))
    with pytest.raises(error) as exc:
        client_for(fake_ats).post("things", json={"a": 1})
    assert (exc.value.code, exc.value.status_code, exc.value.retryable) == (code, status, retryable)


def test_429_is_rate_limited_with_retry_after(fake_ats):
    fake_ats.reply(Reply(429, {}, headers={"Retry-After": "7"}))
    with pytest.raises(RateLimited) as exc:
        client_for(fake_ats).get("busy")
    assert exc.value.code == ErrorCode.RATE_LIMITED and exc.value.retry_after == 7.0 and exc.value.retryable

    fake_ats.reply(Reply(429, {}, headers={"X-Rate-Limit-Reset": "3"}))
    with pytest.raises(RateLimited) as exc:
        client_for(fake_ats).get("busy")
    assert exc.value.retry_after == 3.0


def test_429_holds_back_the_credential_for_everyone(fake_ats):
    credential = f"secret-{uuid.uuid4()}"
    fake_ats.reply(Reply(429, {}, headers={"X-Rate-Limit-Reset": "2"}))
    with pytest.raises(RateLimited):
        client_for(fake_ats, credential=credential).get("busy")
    # Another client (another worker) with the same credential waits for the reset instead of calling.
    other = client_for(fake_ats, credential=credential, rate=Rate(50, 10), rate_max_wait=0.5)
    with pytest.raises(RateLimited) as exc:
        other.get("busy")
    assert exc.value.retry_after > 0.5
    assert len(fake_ats.seen) == 1


def test_parse_retry_after_forms():
    now = 1_700_000_000.0
    assert parse_retry_after({"Retry-After": "12"}, now=now) == 12.0
    assert parse_retry_after({"X-Rate-Limit-Reset": str(int(now) + 30)}, now=now) == 30.0
    assert parse_retry_after({"Retry-After": "Tue, 14 Nov 2023 22:14:20 GMT"}, now=now) == 60.0
    assert parse_retry_after({"Retry-After": "99999"}, now=now) == 3600.0
    assert parse_retry_after({"Retry-After": "soon"}, now=now) is None
    assert parse_retry_after({}, now=now) is None


# --- 401 and refresh -------------------------------------------------------------------------------
def test_401_refreshes_once_and_retries_once(fake_ats):
    fake_ats.reply(Reply(401, {}), Reply(200, {"me": "ok"}))
    calls = []

    def refresh():
        calls.append(1)
        return {"Authorization": "Bearer fresh"}

    client = client_for(fake_ats, headers={"Authorization": "Bearer stale"}, refresh=refresh)
    assert client.get("me").json() == {"me": "ok"}
    assert calls == [1]
    assert [s.headers["Authorization"] for s in fake_ats.seen] == ["Bearer stale", "Bearer fresh"]


def test_second_401_is_auth_failed(fake_ats):
    fake_ats.reply(Reply(401, {}), Reply(401, {}), Reply(200, {}))
    calls = []
    client = client_for(fake_ats, refresh=lambda: calls.append(1) or {"Authorization": "Bearer fresh"})
    with pytest.raises(AuthFailed) as exc:
        client.get("me")
    assert exc.value.code == ErrorCode.AUTH_FAILED and exc.value.status_code == 401
    assert calls == [1] and len(fake_ats.seen) == 2


def test_401_without_refresh_hook_is_auth_failed(fake_ats):
    fake_ats.reply(Reply(401, {}))
    with pytest.raises(AuthFailed):
        client_for(fake_ats).get("me")
    assert len(fake_ats.seen) == 1


# --- rate limit and logs ---------------------------------------------------------------------------
def test_requests_wait_for_the_rate_limiter(fake_ats):
    client = client_for(fake_ats, rate=Rate(2, 1))
    started = time.monotonic()
    for _ in range(3):
        client.get("ping")
    assert time.monotonic() - started >= 0.9
    assert len(fake_ats.seen) == 3


def test_rate_key_is_a_fingerprint_not_the_secret(fake_ats):
    client = AtsClient(provider="testats", base_url=fake_ats.url, credential="super-secret-value")
    assert "super-secret-value" not in client.rate_key
    assert client.rate_key == f"testats:{credential_fingerprint('super-secret-value')}"


def test_logs_carry_no_secrets(fake_ats, caplog):
    caplog.set_level(logging.DEBUG)
    client = client_for(fake_ats, credential="s3cr3t-credential", headers={"Authorization": "Bearer s3cr3t-token"})
    client.get("candidates/42", params={"api_token": "s3cr3t-query"})
    fake_ats.reply(Reply(401, {"detail": "bad"}))
    with pytest.raises(AuthFailed):
        client.get("candidates/42", params={"api_token": "s3cr3t-query"})
    # werkzeug's lines are the fake ATS's own access log, not ours.
    text = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("werkzeug"))
    assert "/candidates/42" in text and "127.0.0.1" in text and "200" in text and "401" in text
    assert "s3cr3t" not in text


def test_max_wait_exceeded_is_rate_limited(settings):
    key = f"test:{uuid.uuid4()}"
    rate = Rate(1, 5)
    ratelimit.acquire(key, rate)
    with pytest.raises(RateLimited) as exc:
        ratelimit.acquire(key, rate, max_wait=0.2)
    assert 0.2 < exc.value.retry_after <= 5.0
