"""gunicorn settings of the ``web`` process (Procfile): access log on stdout, secrets redacted."""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# 2 sync workers per core: a worker waiting on PostgreSQL or Redis leaves its core to another. Not
# gunicorn's 2 x cores + 1: on the 2-core reference machine the fifth worker only added switching
# (bench/intake_load, 2026-12-01, partner / company / SmartRecruiters webhooks per second: 3 workers
# 1,069 / 1,247 / 1,217; 4 workers 1,001-1,145 / 1,138-1,290 / 1,094-1,205; 5 workers 741-893 /
# 1,038-1,047 / 1,031-1,039). The benchmarks read this value (bench.servers.gunicorn_workers).
workers = int(os.environ.get("WEB_CONCURRENCY") or 2 * multiprocessing.cpu_count())
accesslog = "-"
errorlog = "-"
# Candidate links, report links, query strings and Basic user names never reach the log.
logger_class = "config.gunicorn_logging.RedactingGunicornLogger"


def worker_exit(server, worker):
    """A stopping worker publishes the webhook ids its batcher still holds (tenants/queueing.py;
    ``atexit`` does it too, this runs first and also on a worker's abnormal exit)."""
    from tenants.queueing import flush_batches

    flush_batches()
