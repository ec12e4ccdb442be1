"""Queueing Celery tasks after a commit, for every app (both may import ``tenants``).

Once a request's rows are committed the work is safe: each kind of queued work has a sweeper that
finds what was never processed (the inbox, the outbox and the invitation sweepers). So a broker
that cannot be reached while queueing is logged, never raised: the caller answers its success,
instead of a 500 for data it has stored.
"""

from __future__ import annotations

import logging

from django.db import transaction
from kombu.exceptions import OperationalError

logger = logging.getLogger(__name__)

# What publishing raises when the broker is down or refuses us (kombu wraps the transport's errors).
BROKER_ERRORS = (OperationalError, ConnectionError, TimeoutError, OSError)


def enqueue_now(task, *args, countdown: float | None = None) -> bool:
    """Queue ``task(*args)``; False (logged) when the broker cannot be reached."""
    try:
        task.apply_async(args, countdown=countdown)
    except BROKER_ERRORS as exc:
        logger.error(
            "could not queue %s%r: broker unreachable (%s: %s); a sweeper queues it again",
            task.name, tuple(args), type(exc).__name__, exc,
        )
        return False
    return True


def enqueue_after_commit(task, *args, countdown: float | None = None) -> None:
    """Queue ``task(*args)`` once the current transaction commits (at once outside of one). Task
    arguments are ids. A broker error is logged, never raised (see the module docstring)."""
    transaction.on_commit(lambda: enqueue_now(task, *args, countdown=countdown))
