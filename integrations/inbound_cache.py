"""A brief, per-process cache of the connection an inbound call names (the provider key's hash, a
company id) and of the trigger's package check: the intake's most frequent queries, one each per
webhook, answered from memory for ``INBOUND_CONNECTION_CACHE_SECONDS`` (bench/RESULTS.md: a
quarter of the partner webhook's time, and a fifth for the package check).

Safe against revocation by being short and by invalidation: every save or delete of a connection,
a tenant or a package in this process empties it (at once and again at commit); other processes see the
change within the TTL. So a disconnect, a deactivated tenant or a rotated webhook secret takes
effect everywhere within ``INBOUND_CONNECTION_CACHE_SECONDS`` (5 s by default; 0 turns the cache
off). Only found connections are cached (an unknown key is asked again, so a new connection
works at once and random keys cannot fill the memory); each caller gets its own copy (unpickled
from the stored bytes: a fifth of a ``deepcopy``'s time for a connection and its tenant), so
nothing a request changes on its connection object leaks into the next request.
"""

from __future__ import annotations

import pickle
import time
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete, post_save

T = TypeVar("T")

MAX_ENTRIES = 1024
_entries: dict[tuple[str, str], tuple[float, bytes]] = {}  # (kind, key) -> (expiry, pickled value)


def ttl_seconds() -> float:
    return float(getattr(settings, "INBOUND_CONNECTION_CACHE_SECONDS", 0) or 0)


def cached(kind: str, key: str, load: Callable[[], T | None]) -> T | None:
    """``load()``'s result for (kind, key), from memory when it was found less than the TTL ago."""
    seconds = ttl_seconds()
    if seconds <= 0:
        return load()
    now = time.monotonic()
    entry = _entries.get((kind, key))
    if entry is not None and entry[0] > now:
        return pickle.loads(entry[1])
    found = load()
    if found is None:
        _entries.pop((kind, key), None)
        return None
    if len(_entries) >= MAX_ENTRIES:
        _entries.clear()
    _entries[(kind, key)] = (now + seconds, pickle.dumps(found, pickle.HIGHEST_PROTOCOL))
    return found


def clear(**_) -> None:
    """Forget everything (at once, and once more when the current transaction commits, so that a
    value read before the commit is not kept)."""
    _entries.clear()
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(_entries.clear)


def _connect_signals() -> None:
    from assessments.models import Package
    from integrations.models import Connection
    from tenants.models import Tenant

    for model in (Connection, Tenant, Package):
        post_save.connect(clear, sender=model, dispatch_uid=f"inbound_cache_clear_save_{model.__name__}")
        post_delete.connect(clear, sender=model, dispatch_uid=f"inbound_cache_clear_delete_{model.__name__}")
