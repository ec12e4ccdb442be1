"""An own-app connection's tokens through ``_customer_client``: refreshed before expiry (once, the
stored tokens re-read under the lock), rotated refresh tokens saved; a refused refresh, three
consecutive 401s and a 403 for a missing permission -> needs attention, the admins e-mailed once."""

import os
import sys
import threading
import time

import pytest
from django.core import mail
from django.db import connection as db

from integrations.errors import AuthFailed
from integrations.models import Connection, ConnectionStatus
from integrations.providers import provider_get
from integrations.smartrecruiters import own_app as own_app_module
from integrations.smartrecruiters.constants import CRED_ACCESS_TOKEN, CRED_EXPIRES_AT, CRED_REFRESH_TOKEN
from integrations.smartrecruiters.provider import _customer_client

from .conftest import Answer, own_app_connect

TOKEN = r"/identity/oauth/token"
CANDIDATE = r"/candidates/[^/]+"
ROLE_CAUSE = "check that the SmartRecruiters user who authorizes the app has a system role that allows this"


def refreshes(fake):
    return [s for s in fake.calls("POST", TOKEN) if s.form.get("grant_type") == "refresh_token"]


def expire(connection):
    connection.refresh_from_db()
    Connection.objects.filter(pk=connection.pk).update(
        credentials={**connection.credentials, CRED_EXPIRES_AT: int(time.time()) + 5})
    connection.refresh_from_db()
    return connection


@pytest.fixture
def candidate_route(own_app):
    own_app.route("GET", CANDIDATE, Answer(200, {"id": "c1", "firstName": "Ada"}))
    return own_app


def test_a_valid_token_is_used_as_stored(own_connection, candidate_route):
    assert _customer_client(own_connection).candidate("c1")["id"] == "c1"
    [call] = candidate_route.calls("GET", CANDIDATE)
    assert call.headers["Authorization"] == f"Bearer {own_connection.credentials[CRED_ACCESS_TOKEN]}"
    assert not refreshes(candidate_route)
    assert provider_get("smartrecruiters").sync_unavailable(own_connection) == ""


def _in_lock_wait(thread: threading.Thread) -> bool:
    """Whether ``thread`` is waiting to take a Redis lock (redis-py's ``Lock.acquire`` polls)."""
    frame = sys._current_frames().get(thread.ident)
    while frame is not None:
        if frame.f_code.co_name == "acquire" and frame.f_code.co_filename.endswith(os.path.join("redis", "lock.py")):
            return True
        frame = frame.f_back
    return False


@pytest.mark.django_db(transaction=True)
def test_two_workers_needing_a_token_at_once_send_one_refresh_grant(own_connection, candidate_route):
    """Two workers (threads, each with its own PostgreSQL connection) hold the same stale copy and
    ask for a token at the same moment: one takes the lock and refreshes; the other waits on the
    lock while the refresh is under way (the stub holds its answer until then), re-reads the
    stored tokens after taking it and uses the new ones. One refresh grant reaches SmartRecruiters."""
    stale = expire(own_connection)
    old_refresh = stale.credentials[CRED_REFRESH_TOKEN]
    sources = [own_app_module.AuthorizationCodeTokenSource(stale) for _ in range(2)]  # two workers, one stale copy
    start, results = threading.Barrier(2), {}
    candidate_route.refresh_gate = threading.Event()

    def worker(n: int) -> None:
        try:
            start.wait(10)
            results[n] = sources[n].token()
        except Exception as exc:  # surfaced by the assertions below
            results[n] = exc
        finally:
            db.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    try:
        assert candidate_route.refresh_arrived.wait(10), "no refresh reached SmartRecruiters"
        # The refresh is held at SmartRecruiters; the other worker must be waiting for the lock now.
        waiting, deadline, poll = [], time.monotonic() + 10, threading.Event()
        while not waiting and time.monotonic() < deadline:
            waiting = [t for t in threads if _in_lock_wait(t)]
            poll.wait(0.01)  # the poll's interval, against the deadline above
        assert len(waiting) == 1, "the second worker never waited for the refresher's lock"
    finally:
        candidate_route.refresh_gate.set()
        for thread in threads:
            thread.join(20)
    assert not any(t.is_alive() for t in threads)
    assert not [r for r in results.values() if isinstance(r, Exception)], results
    [refresh] = refreshes(candidate_route)
    assert refresh.form["refresh_token"] == old_refresh
    saved = Connection.objects.get(pk=own_connection.pk).credentials
    assert results[0] == results[1] == saved[CRED_ACCESS_TOKEN] != stale.credentials[CRED_ACCESS_TOKEN]
    assert saved[CRED_REFRESH_TOKEN] in candidate_route.refresh_tokens and old_refresh not in candidate_route.refresh_tokens


def test_a_token_about_to_expire_is_refreshed_once_and_the_rotated_pair_saved(own_connection, candidate_route):
    stale = expire(own_connection)
    old_refresh = stale.credentials[CRED_REFRESH_TOKEN]
    first = own_app_module.AuthorizationCodeTokenSource(stale)
    second = own_app_module.AuthorizationCodeTokenSource(stale)  # another worker later, same stale copy
    token = first.token()
    assert second.token() == token  # re-read under the lock: no second refresh
    [refresh] = refreshes(candidate_route)
    assert refresh.form["refresh_token"] == old_refresh and refresh.form["client_id"] and refresh.form["client_secret"]
    saved = Connection.objects.get(pk=own_connection.pk).credentials
    assert saved[CRED_ACCESS_TOKEN] == token and saved[CRED_REFRESH_TOKEN] != old_refresh
    assert saved[CRED_REFRESH_TOKEN] in candidate_route.refresh_tokens and old_refresh not in candidate_route.refresh_tokens
    assert saved[CRED_EXPIRES_AT] > time.time() + 3000
    assert _customer_client(Connection.objects.get(pk=own_connection.pk)).candidate("c1")["id"] == "c1"
    assert len(refreshes(candidate_route)) == 1


def test_a_rotation_survives_the_callers_rollback(own_connection, candidate_route):
    from django.db import transaction

    stale = expire(own_connection)

    class Undo(Exception):
        pass

    with pytest.raises(Undo):
        with transaction.atomic():  # as a write-back's savepoint that fails after the refresh
            own_app_module.AuthorizationCodeTokenSource(stale).token()
            raise Undo
    assert Connection.objects.get(pk=own_connection.pk).credentials[CRED_REFRESH_TOKEN] == stale.credentials[CRED_REFRESH_TOKEN]
    # The old refresh token is dead at SmartRecruiters; the rotated pair is still known to us.
    token = own_app_module.AuthorizationCodeTokenSource(stale).token()
    assert token in candidate_route.tokens and len(refreshes(candidate_route)) == 1


def test_a_401_refreshes_and_retries_once(own_connection, candidate_route):
    candidate_route.expire_all()
    assert _customer_client(own_connection).candidate("c1")["id"] == "c1"
    assert len(refreshes(candidate_route)) == 1 and len(candidate_route.calls("GET", CANDIDATE)) == 2


def test_a_refused_refresh_needs_attention_and_mails_the_admins_once(
    own_connection, candidate_route, admin_user, django_capture_on_commit_callbacks
):
    candidate_route.refuse_refresh = True
    stale = expire(own_connection)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(AuthFailed) as raised:
            _customer_client(stale).candidate("c1")
    assert "Re-authorize" in raised.value.message
    connection = Connection.objects.get(pk=own_connection.pk)
    assert connection.status == ConnectionStatus.NEEDS_ATTENTION and "refused to renew" in connection.status_reason
    assert CRED_REFRESH_TOKEN not in connection.credentials and CRED_ACCESS_TOKEN not in connection.credentials
    assert [m.to for m in mail.outbox] == [[admin_user.email]] and "needs attention" in mail.outbox[0].subject
    # Never retried: later calls fail at once, without asking SmartRecruiters, and mail nobody again.
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(3):
            with pytest.raises(AuthFailed):
                _customer_client(connection).candidate("c1")
    assert len(refreshes(candidate_route)) == 1 and len(mail.outbox) == 1
    assert provider_get("smartrecruiters").sync_unavailable(connection)


def test_reauthorizing_after_a_refused_refresh_makes_it_work_again(
    client, tenant, own_connection, candidate_route, django_capture_on_commit_callbacks
):
    candidate_route.refuse_refresh = True
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(AuthFailed):
        _customer_client(expire(own_connection)).candidate("c1")
    candidate_route.refuse_refresh = False
    assert own_app_connect(client, tenant).status_code == 200
    connection = Connection.objects.get(pk=own_connection.pk)
    assert connection.status == ConnectionStatus.ACTIVE
    assert _customer_client(connection).candidate("c1")["id"] == "c1"


def test_three_consecutive_401s_need_attention_with_one_mail(
    own_connection, candidate_route, admin_user, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    client = _customer_client(own_connection)
    with django_capture_on_commit_callbacks(execute=True):
        for attempt in range(2):  # each call: 401, refresh, 401 again
            candidate_route.queue("GET", CANDIDATE, Answer(401, {"message": "no"}), Answer(401, {"message": "no"}))
            with pytest.raises(AuthFailed):
                client.candidate("c1")
        assert Connection.objects.get(pk=own_connection.pk).status == ConnectionStatus.ACTIVE
        assert client.candidate("c1")["id"] == "c1"  # a success resets the count
        for attempt in range(3):
            candidate_route.queue("GET", CANDIDATE, Answer(401, {"message": "no"}), Answer(401, {"message": "no"}))
            with pytest.raises(AuthFailed):
                client.candidate("c1")
            status = Connection.objects.get(pk=own_connection.pk).status
            assert status == (ConnectionStatus.NEEDS_ATTENTION if attempt == 2 else ConnectionStatus.ACTIVE)
        candidate_route.queue("GET", CANDIDATE, Answer(401, {"message": "no"}), Answer(401, {"message": "no"}))
        with pytest.raises(AuthFailed):
            client.candidate("c1")
    connection = Connection.objects.get(pk=own_connection.pk)
    assert "3 calls in a row" in connection.status_reason
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [admin_user.email]


def test_a_403_for_a_missing_permission_needs_attention_naming_it(
    client, admin_user, tenant, own_app, django_capture_on_commit_callbacks
):
    own_app.drop_scope = "candidates_manage"
    own_app.route("POST", r"/messages/shares", Answer(201, {"id": "n1"}))
    client.force_login(admin_user)
    assert own_app_connect(client, tenant).status_code == 200
    connection = Connection.objects.get()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(AuthFailed) as raised:
            _customer_client(connection).message_share(content="#[CANDIDATE:c1] done", job_id="j1")
    assert raised.value.status_code == 403 and "re-authorize with permission candidates_manage" in raised.value.message
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.NEEDS_ATTENTION
    assert "re-authorize with permission candidates_manage" in connection.status_reason
    assert len(mail.outbox) == 1 and "candidates_manage" in mail.outbox[0].body
    # The other cause SmartRecruiters answers alike: the user behind the app has a role that does not allow it.
    assert ROLE_CAUSE in connection.status_reason and ROLE_CAUSE in mail.outbox[0].body


def test_a_403_names_the_scope_from_the_call_when_the_body_does_not(own_connection, candidate_route,
                                                                    django_capture_on_commit_callbacks):
    candidate_route.route("PUT", r"/candidates/[^/]+/jobs/[^/]+/status", Answer(403, {"message": "Forbidden"}))
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(AuthFailed) as raised:
        _customer_client(own_connection).application_status_set("c1", "j1", status="INTERVIEW")
    assert "candidates_manage" in raised.value.message
    reason = Connection.objects.get(pk=own_connection.pk).status_reason
    assert reason.startswith("re-authorize with permission candidates_manage (write notes") and ROLE_CAUSE in reason


@pytest.mark.parametrize("scope", own_app_module.KNOWN_SCOPES)
def test_every_scope_reason_names_the_permission_and_the_users_role_and_fits_the_reason(scope):
    reason = own_app_module.scope_reason(scope)
    assert reason.startswith(f"re-authorize with permission {scope} (") and ROLE_CAUSE in reason
    assert len(reason) <= 300  # Connection.status_reason keeps 300 characters: nothing of it is cut


def test_a_403_on_a_role_only_call_names_the_role_and_flags_nothing(own_connection, candidate_route,
                                                                   django_capture_on_commit_callbacks):
    candidate_route.route("GET", r"/messages", Answer(403, {"message": "Access denied"}))
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(AuthFailed) as raised:
        _customer_client(own_connection).messages(candidate_id="c1", job_id="j1")
    assert raised.value.status_code == 403 and "users with the ADMINISTRATOR role only" in raised.value.message
    assert Connection.objects.get(pk=own_connection.pk).status == ConnectionStatus.ACTIVE
    # ...unless SmartRecruiters names a permission: then it is one.
    candidate_route.route("GET", r"/messages", Answer(403, {"message": "the token lacks the scope candidates_read"}))
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(AuthFailed) as raised:
        _customer_client(own_connection).messages(candidate_id="c1", job_id="j1")
    assert "re-authorize with permission candidates_read" in raised.value.message
    assert Connection.objects.get(pk=own_connection.pk).status == ConnectionStatus.NEEDS_ATTENTION
