"""The sync fetches the next page while it stores the current one (integrations.sync._prefetched)."""

from __future__ import annotations

import threading

import pytest

from integrations.errors import RemoteError
from integrations.providers import Page
from integrations.sync import _prefetched


def _page(n: int) -> Page:
    return Page(kind="candidates", items=[], next_cursor=str(n))


def test_pages_come_in_order_and_the_next_is_fetched_while_the_current_is_stored():
    second_fetch_started = threading.Event()

    def pages():
        yield _page(1)
        second_fetch_started.set()
        yield _page(2)
        yield _page(3)

    seen = []
    for page in _prefetched(pages()):
        if page.next_cursor == "1":
            # "Storing" page 1: page 2's fetch runs meanwhile, on the fetch thread.
            assert second_fetch_started.wait(timeout=10), "page 2 was not fetched while page 1 was stored"
        seen.append(page.next_cursor)
    assert seen == ["1", "2", "3"]


def test_a_fetch_error_is_raised_after_the_pages_fetched_before_it():
    def pages():
        yield _page(1)
        raise RemoteError("the ATS answered 503")

    seen = []
    with pytest.raises(RemoteError, match="503"):
        for page in _prefetched(pages()):
            seen.append(page.next_cursor)
    assert seen == ["1"]


def test_stopping_early_stops_the_fetch_thread():
    fetched = []

    def pages():
        for n in range(1, 1000):
            fetched.append(n)
            yield _page(n)

    before = {t.ident for t in threading.enumerate()}
    consumer = _prefetched(pages())
    assert next(consumer).next_cursor == "1"
    consumer.close()  # the run stopped (e.g. SyncAborted) after page 1
    assert len(fetched) <= 3  # at most two pages ahead of the one stored
    assert not [t for t in threading.enumerate() if t.name == "sync-prefetch" and t.ident not in before]
