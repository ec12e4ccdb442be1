"""Queueing Celery tasks after a commit, for every app (both may import ``tenants``).

Once a request's rows are committed the work is safe: each kind of queued work has a sweeper that
finds what was never processed (the inbox, the outbox and the invitation sweepers). So a broker
that cannot be reached while queueing is logged, never raised: the caller answers its success,
instead of a 500 for data it has stored.

``enqueue_batched_after_commit`` is for the hottest path, the webhook intake: a Celery publish
costs a third of an accepted webhook's CPU (bench/RESULTS.md), so the ids that one web process
commits within ``QUEUE_BATCH_LINGER_MS`` go out as one message of a task that takes a list,
published by a background thread of that process instead of by each request. An id waiting there
is already committed: a process that dies before publishing it loses a message, never an event
(the sweeper queues what stayed unprocessed).
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time

from django.conf import settings
from django.db import transaction
from kombu.exceptions import OperationalError

logger = logging.getLogger(__name__)

# What publishing raises when the broker is down or refuses us (kombu wraps the transport's errors).
BROKER_ERRORS = (OperationalError, ConnectionError, TimeoutError, OSError)


def enqueue_now(task, *args, countdown: float | None = None, retries: int = 0) -> bool:
    """Queue ``task(*args)``; False (logged) when the broker cannot be reached. ``retries``: the
    tries already made elsewhere, counted against the task's ``max_retries`` (Celery's own count)."""
    try:
        task.apply_async(args, countdown=countdown, retries=retries)
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


# --- batched publishing ----------------------------------------------------------------------------
MAX_BATCH = 100  # items per message at most
_FLUSH_WAIT_SECONDS = 5.0  # at exit: how long to wait for a batch being published


def enqueue_batched_after_commit(task, item) -> None:
    """Queue ``item`` for ``task(items)`` (a task taking a list) once the current transaction
    commits, in one message with the items this process commits within ``QUEUE_BATCH_LINGER_MS``
    (at most ``MAX_BATCH``), published by a background thread. With a linger of 0, or tasks run
    eagerly (tests), ``task([item])`` is queued at commit like ``enqueue_after_commit``."""
    transaction.on_commit(lambda: _batcher_for(task).add(item))


def flush_batches() -> None:
    """Publish what every batcher of this process holds, now (at exit: gunicorn's ``worker_exit``
    and ``atexit``)."""
    for batcher in list(_batchers.values()):
        batcher.flush()


def _linger_seconds() -> float:
    return max(0.0, float(getattr(settings, "QUEUE_BATCH_LINGER_MS", 0) or 0) / 1000)


class _Batcher:
    """The items waiting for one task in this process, and the thread that publishes them."""

    def __init__(self, task):
        self.task = task
        self.condition = threading.Condition()
        self.pending: list = []
        self.publishing = False
        self.thread: threading.Thread | None = None

    def add(self, item) -> None:
        linger = _linger_seconds()
        if linger <= 0 or self.task.app.conf.task_always_eager:
            enqueue_now(self.task, [item])
            return
        with self.condition:
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name=f"batch:{self.task.name}", daemon=True)
                self.thread.start()
            self.pending.append(item)
            if len(self.pending) == 1 or len(self.pending) >= MAX_BATCH:
                self.condition.notify_all()

    def _take(self) -> list:
        """The next batch: wait for a first item, then up to the linger for others to join it."""
        with self.condition:
            while True:
                while not self.pending:
                    self.condition.wait()
                deadline = time.monotonic() + _linger_seconds()
                while len(self.pending) < MAX_BATCH and (left := deadline - time.monotonic()) > 0:
                    self.condition.wait(left)
                if self.pending:  # else a flush took them meanwhile
                    break
            self.publishing = True
            return self._pop_batch()

    def _pop_batch(self) -> list:
        """The first ``MAX_BATCH`` pending items, taken out (the caller holds the condition)."""
        batch, self.pending = self.pending[:MAX_BATCH], self.pending[MAX_BATCH:]
        return batch

    def _published(self) -> None:
        with self.condition:
            self.publishing = False
            self.condition.notify_all()

    def _run(self) -> None:
        while True:
            batch = self._take()
            try:
                enqueue_now(self.task, batch)
            except Exception:  # never let the thread die: the sweeper queues what this loses
                logger.exception("could not queue %s for %d items; a sweeper queues them again", self.task.name, len(batch))
            finally:
                self._published()

    def flush(self) -> None:
        with self.condition:
            self.condition.wait_for(lambda: not self.publishing, timeout=_FLUSH_WAIT_SECONDS)
            while self.pending:
                enqueue_now(self.task, self._pop_batch())


_batchers: dict[str, _Batcher] = {}
_batchers_lock = threading.Lock()


def _batcher_for(task) -> _Batcher:
    batcher = _batchers.get(task.name)
    if batcher is None:
        with _batchers_lock:
            batcher = _batchers.setdefault(task.name, _Batcher(task))
    return batcher


def _forget_batchers_in_child() -> None:
    # A forked child starts with no batcher: the parent's thread does not exist in it, its lock may
    # be held by that thread, and the parent's pending items are the parent's to publish.
    global _batchers_lock
    _batchers.clear()
    _batchers_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_batchers_in_child)
atexit.register(flush_batches)
