"""The intake's batched publishing (``tenants.queueing.enqueue_batched_after_commit``): the ids a
process commits within the linger go out as one message from a background thread; nothing is
published before its commit, nothing twice, and what is left at exit is published by the flush."""

import logging
import os
import threading

import pytest
from django.db import transaction
from kombu.exceptions import OperationalError

from tenants import queueing

pytestmark = pytest.mark.django_db(transaction=True)


class RecordingTask:
    """A task's publishing side: ``apply_async`` records each message's items."""

    def __init__(self, name: str, *, fail_first: int = 0, eager: bool = False):
        self.name = name
        self.app = type("App", (), {"conf": type("Conf", (), {"task_always_eager": eager})()})()
        self.messages: list[list] = []
        self.threads: list[str] = []
        self.fail_first = fail_first
        self.published = threading.Condition()

    def apply_async(self, args, countdown=None, retries=0):
        with self.published:
            if self.fail_first:
                self.fail_first -= 1
                raise OperationalError("broker down")
            self.messages.append(list(args[0]))
            self.threads.append(threading.current_thread().name)
            self.published.notify_all()

    def wait_for_items(self, count: int, timeout: float = 10) -> list:
        with self.published:
            assert self.published.wait_for(lambda: sum(map(len, self.messages)) >= count, timeout=timeout), self.messages
            return [item for message in self.messages for item in message]


@pytest.fixture
def task(request):
    task = RecordingTask(f"tests.batch.{request.node.name}")
    yield task
    queueing._batchers.pop(task.name, None)


def test_ids_committed_within_the_linger_are_one_message_from_the_background_thread(settings, task):
    settings.QUEUE_BATCH_LINGER_MS = 300
    for item in (1, 2, 3):
        with transaction.atomic():
            queueing.enqueue_batched_after_commit(task, item)
    assert task.wait_for_items(3) == [1, 2, 3]
    assert task.messages == [[1, 2, 3]]
    assert task.threads == [f"batch:{task.name}"]


def test_nothing_is_published_before_the_commit_or_after_a_rollback(settings, task):
    settings.QUEUE_BATCH_LINGER_MS = 1
    with pytest.raises(RuntimeError), transaction.atomic():
        queueing.enqueue_batched_after_commit(task, "rolled back")
        raise RuntimeError
    with transaction.atomic():
        queueing.enqueue_batched_after_commit(task, "committed")
        assert queueing._batchers.get(task.name) is None or not queueing._batchers[task.name].pending
    assert task.wait_for_items(1) == ["committed"]
    assert task.messages == [["committed"]]


def test_a_message_holds_at_most_max_batch_items_and_none_is_sent_twice(settings, task):
    settings.QUEUE_BATCH_LINGER_MS = 2000
    items = list(range(2 * queueing.MAX_BATCH + 50))
    with transaction.atomic():
        for item in items:
            queueing.enqueue_batched_after_commit(task, item)
    # The first two messages leave as soon as they are full, not after the linger.
    with task.published:
        assert task.published.wait_for(lambda: len(task.messages) >= 2, timeout=1.5), task.messages
    assert sorted(task.wait_for_items(len(items))) == items
    assert all(len(message) <= queueing.MAX_BATCH for message in task.messages)
    assert [len(message) for message in task.messages] == [queueing.MAX_BATCH, queueing.MAX_BATCH, 50]


@pytest.mark.parametrize("how", ["linger 0", "eager"])
def test_without_a_linger_or_when_eager_each_id_is_queued_at_its_commit(settings, task, how):
    settings.QUEUE_BATCH_LINGER_MS = 0 if how == "linger 0" else 500
    task.app.conf.task_always_eager = how == "eager"
    with transaction.atomic():
        queueing.enqueue_batched_after_commit(task, 7)
        queueing.enqueue_batched_after_commit(task, 8)
        assert task.messages == []
    assert task.messages == [[7], [8]]  # published in the committing thread, before it goes on
    assert set(task.threads) == {threading.current_thread().name}


def test_flush_publishes_what_waits_at_once_and_the_thread_does_not_repeat_it(settings, task):
    settings.QUEUE_BATCH_LINGER_MS = 600
    with transaction.atomic():
        queueing.enqueue_batched_after_commit(task, "a")
        queueing.enqueue_batched_after_commit(task, "b")
    queueing.flush_batches()
    assert task.messages == [["a", "b"]]
    with transaction.atomic():
        queueing.enqueue_batched_after_commit(task, "c")
    assert task.wait_for_items(3) == ["a", "b", "c"]
    assert task.messages == [["a", "b"], ["c"]]


def test_a_broker_error_is_logged_and_the_thread_goes_on(settings, caplog):
    settings.QUEUE_BATCH_LINGER_MS = 1
    task = RecordingTask("tests.batch.broker_error", fail_first=1)
    try:
        with caplog.at_level(logging.ERROR, logger="tenants.queueing"):
            with transaction.atomic():
                queueing.enqueue_batched_after_commit(task, "lost to the broker")
            with task.published:
                assert task.published.wait_for(lambda: task.fail_first == 0, timeout=5)
            batcher = queueing._batchers[task.name]
            with batcher.condition:
                assert batcher.condition.wait_for(lambda: not batcher.publishing, timeout=5)
            with transaction.atomic():
                queueing.enqueue_batched_after_commit(task, "next")
            assert task.wait_for_items(1) == ["next"]
        assert any("broker unreachable" in r.getMessage() and "sweeper" in r.getMessage() for r in caplog.records)
        assert batcher.thread.is_alive()
    finally:
        queueing._batchers.pop(task.name, None)


def test_a_forked_child_starts_without_the_parents_batchers(settings, task):
    settings.QUEUE_BATCH_LINGER_MS = 5000
    with transaction.atomic():
        queueing.enqueue_batched_after_commit(task, "the parent's")
    assert queueing._batchers[task.name].pending == ["the parent's"]
    pid = os.fork()
    if pid == 0:  # the child: report through the exit code, never return into pytest
        os._exit(0 if not queueing._batchers and not queueing._batchers_lock.locked() else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    queueing.flush_batches()
    assert task.messages == [["the parent's"]]


def test_a_process_that_exits_publishes_what_its_batcher_holds(tmp_path):
    """``atexit``: a web process stopping (gunicorn's worker_exit does the same, earlier) does
    not leave committed ids to the sweeper. The linger is far longer than the process lives."""
    import subprocess
    import sys
    from pathlib import Path

    out = tmp_path / "published.txt"
    script = f"""
import django, os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()
from django.conf import settings
settings.QUEUE_BATCH_LINGER_MS = 60_000
from tenants import queueing

class Task:
    name = "tests.batch.exit"
    app = type("App", (), {{"conf": type("Conf", (), {{"task_always_eager": False}})()}})()
    def apply_async(self, args, countdown=None, retries=0):
        open({str(out)!r}, "a").write(repr(list(args[0])) + "\\n")

batcher = queueing._batcher_for(Task())
batcher.add(41)
batcher.add(42)
"""
    root = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-c", script], cwd=root, check=True, timeout=60, env={**os.environ})
    assert out.read_text().splitlines() == ["[41, 42]"]
