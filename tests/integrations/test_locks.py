"""The periodic-task lock is released only by its holder (issue 7 #15)."""

import pytest
from django.core.cache import cache
from django.test import override_settings

from integrations.locks import periodic_lock

KEY = "stagehook:lock:test-lock"
LOCMEM = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "locks-test"}}


@pytest.fixture(params=["redis", "locmem"])
def backend(request, settings):
    if request.param == "redis":
        from django.core.cache import caches
        from django.core.cache.backends.redis import RedisCache

        if not isinstance(caches["default"], RedisCache):
            pytest.fail("the suite runs with REDIS_URL: the default cache must be Redis")
        cache.delete(KEY)
        yield request.param
        cache.delete(KEY)
    else:
        with override_settings(CACHES=LOCMEM):
            yield request.param


def test_a_second_worker_is_refused_while_the_first_holds_the_lock(backend):
    with periodic_lock("test-lock", ttl=60) as first:
        with periodic_lock("test-lock", ttl=60) as second:
            assert (first, second) == (True, False)
    with periodic_lock("test-lock", ttl=60) as again:
        assert again is True  # the holder released it on exit


def test_an_expired_lock_taken_by_another_worker_is_not_released_by_the_first(backend):
    first = periodic_lock("test-lock", ttl=60)
    assert first.__enter__() is True
    cache.delete(KEY)  # the first worker's lock expires mid-run, as its TTL would make it
    second = periodic_lock("test-lock", ttl=60)
    assert second.__enter__() is True  # another worker takes it
    first.__exit__(None, None, None)  # the first worker's run ends late
    assert cache.has_key(KEY), "the first worker released the second worker's lock"
    with periodic_lock("test-lock", ttl=60) as third:
        assert third is False  # still the second worker's
    second.__exit__(None, None, None)
    assert not cache.has_key(KEY)


def test_the_broker_redelivers_a_killed_workers_message_soon_after_the_longest_task():
    from config.celery import app

    visibility = app.conf.broker_transport_options["visibility_timeout"]
    hard_limit = app.conf.task_time_limit
    # Longer than any task may run (no re-delivery of a slow one), not hours more.
    assert hard_limit < visibility <= hard_limit + 10 * 60
