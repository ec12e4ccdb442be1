"""The brief in-process cache of inbound connection lookups: answered from memory within the TTL,
each caller its own copy, and forgotten on every change (disconnect, rotated secret, tenant)."""

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext

from integrations import inbound_cache
from integrations.models import secret_hash
from integrations.services import connection_credentials_update, connection_disconnect
from integrations.teamtailor import auth
from tests.factories import ConnectionFactory

pytestmark = pytest.mark.django_db

KEY = "cache-test-provider-key"


@pytest.fixture
def cache_on(settings):
    settings.INBOUND_CONNECTION_CACHE_SECONDS = 5
    inbound_cache._entries.clear()
    yield
    inbound_cache._entries.clear()


@pytest.fixture
def live():
    return ConnectionFactory(provider_key_hash=secret_hash(KEY), credentials={"webhook_secret": "old"})


def _lookup_queries() -> tuple[object, int]:
    with CaptureQueriesContext(db) as queries:
        found = auth.connection_for_provider_key(KEY)
    return found, len(queries)


def test_a_found_connection_is_answered_from_memory_as_a_copy(cache_on, live):
    first, first_queries = _lookup_queries()
    second, second_queries = _lookup_queries()
    assert first.pk == second.pk == live.pk and first_queries == 1 and second_queries == 0
    second.credentials["webhook_secret"] = "changed by a request"
    second.tenant.name = "changed too"
    third, _ = _lookup_queries()
    assert third is not second and third.credentials["webhook_secret"] == "old" and third.tenant.name != "changed too"


def test_the_ttl_bounds_how_long_a_lookup_is_kept(cache_on, live, monkeypatch):
    _lookup_queries()
    now = inbound_cache.time.monotonic()
    monkeypatch.setattr(inbound_cache.time, "monotonic", lambda: now + 5.1)
    _, queries = _lookup_queries()
    assert queries == 1


def test_a_disconnect_takes_effect_at_once(cache_on, live):
    assert _lookup_queries()[0] is not None
    connection_disconnect(connection=live, reason="test")  # an update(), not a save()
    found, queries = _lookup_queries()
    assert found is None and queries == 1


def test_a_rotated_secret_and_a_deactivated_tenant_take_effect_at_once(cache_on, live):
    _lookup_queries()
    connection_credentials_update(connection=live, changes={"webhook_secret": "new"})
    found, queries = _lookup_queries()
    assert queries == 1 and found.credentials["webhook_secret"] == "new"
    live.tenant.active = False
    live.tenant.save()
    assert _lookup_queries() == (None, 1)


def test_an_unknown_key_is_not_cached(cache_on):
    assert _lookup_queries() == (None, 1)
    assert inbound_cache._entries == {}  # random keys cannot fill the memory; a new connection works at once
    assert _lookup_queries() == (None, 1)


def test_off_when_the_ttl_is_zero(settings, live):
    settings.INBOUND_CONNECTION_CACHE_SECONDS = 0
    assert _lookup_queries()[1] == 1 and _lookup_queries()[1] == 1


def test_a_package_change_empties_the_cache(cache_on):
    from tests.factories import PackageFactory

    package = PackageFactory()
    assert inbound_cache.cached("package", "k", lambda: True) is True
    assert inbound_cache.cached("package", "k", lambda: pytest.fail("asked again within the TTL")) is True
    package.active = False
    package.save()
    assert inbound_cache.cached("package", "k", lambda: None) is None


def test_a_stale_copy_that_takes_the_row_lock_for_nothing_is_forgotten(cache_on, live):
    """Another process recorded the API host this process's cached copy lacks: the first call that
    finds the row already up to date empties the cache, so the next call neither sees a change nor
    takes the connection's row lock again."""
    from integrations.teamtailor.services import teamtailor_partner_headers_record

    stale, _ = _lookup_queries()
    type(live).objects.filter(pk=live.pk).update(api_base_url="https://api.teamtailor.com", region="eu")
    cached, queries = _lookup_queries()
    assert (cached.api_base_url, queries) == ("", 0)  # the stale copy, from memory
    headers = auth.partner_headers_check(connection=cached, teamtailor_host="api.teamtailor.com", api_token="")
    assert headers.changes
    with CaptureQueriesContext(db) as locked:
        assert teamtailor_partner_headers_record(connection=cached, headers=headers) is False
    assert any("FOR UPDATE" in query["sql"] for query in locked.captured_queries)
    fresh, queries = _lookup_queries()
    assert (fresh.api_base_url, queries) == ("https://api.teamtailor.com", 1)
    assert not auth.partner_headers_check(connection=fresh, teamtailor_host="api.teamtailor.com", api_token="").changes
