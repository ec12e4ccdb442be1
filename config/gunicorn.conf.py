"""gunicorn settings of the ``web`` process (Procfile): access log on stdout, secrets redacted."""

import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
accesslog = "-"
errorlog = "-"
# Candidate links, report links, query strings and Basic user names never reach the log.
logger_class = "config.gunicorn_logging.RedactingGunicornLogger"
