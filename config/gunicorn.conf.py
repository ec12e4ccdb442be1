"""gunicorn settings of the ``web`` process (Procfile): access log on stdout, secrets redacted."""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# gunicorn's guidance, 2 x cores + 1 sync workers: a worker waiting on PostgreSQL or Redis leaves
# its core to another (bench/RESULTS.md: 2 workers on 2 cores left the intake CPU idle).
workers = int(os.environ.get("WEB_CONCURRENCY", str(2 * multiprocessing.cpu_count() + 1)))
accesslog = "-"
errorlog = "-"
# Candidate links, report links, query strings and Basic user names never reach the log.
logger_class = "config.gunicorn_logging.RedactingGunicornLogger"


def worker_exit(server, worker):
    """A stopping worker publishes the webhook ids its batcher still holds (tenants/queueing.py;
    ``atexit`` does it too, this runs first and also on a worker's abnormal exit)."""
    from tenants.queueing import flush_batches

    flush_batches()
