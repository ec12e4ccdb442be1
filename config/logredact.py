"""Secrets out of every log line we configure: Django's and our loggers (a handler filter), the
Celery worker's handlers, and gunicorn's access and error logs (``config/gunicorn.conf.py``).

What is redacted, wherever it appears in a message or a traceback:
- candidate links ``/i/<token>/`` and signed report links ``/r/<signed>/`` (the path stays, the
  secret part goes);
- query strings (one-time tokens such as Teamtailor's connection token arrive there);
- credentials in ``Authorization``-style text (``Basic ...``, ``Bearer ...``) and user:password@ in URLs.
HTTP Basic user names appear only in gunicorn's ``%(u)s`` atom, which ``RedactingGunicornLogger``
blanks.
"""

from __future__ import annotations

import logging
import re

from tenants.logsafe import log_safe

REDACTED = "[redacted]"

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # /i/<token>/ and /r/<signed>/ (signed values contain ':' and '.'), with or without the slash.
    (re.compile(r"(/[ir]/)[^/\s?#\"'<>]+"), r"\1" + REDACTED),
    # A query string: everything from '?' to the end of the URL.
    (re.compile(r"\?[^\s\"'<>]*"), "?" + REDACTED),
    # Authorization header values.
    (re.compile(r"\b(Basic|Bearer|Token)\s+[A-Za-z0-9._~+/=-]+", re.I), r"\1 " + REDACTED),
    # user:password@host in URLs.
    (re.compile(r"(://)[^/\s:@]+:[^/\s@]+@"), r"\1" + REDACTED + "@"),
]


# Any of the patterns, for a line that holds none of them (most of them): one search instead of a
# substitution per pattern (gunicorn's access log redacts each of its atoms on every request).
_ANY = re.compile("|".join(f"(?{'i' if pattern.flags & re.I else ''}:{pattern.pattern})" for pattern, _ in _PATTERNS))


def redact(text: str) -> str:
    """``text`` without the secrets listed in the module docstring."""
    if not text or not _ANY.search(text):
        return text
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactSecretsFilter(logging.Filter):
    """A handler filter: rewrites the record's message (and its formatted traceback) redacted.
    Never drops a record."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            # String arguments are values (often a request's): one line each, control chars escaped.
            record.args = tuple(log_safe(a, limit=2000) if isinstance(a, str) else a for a in record.args)
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: leave it to the handler to report
            return True
        redacted = redact(message)
        if redacted != message or record.args:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def install_on(logger: logging.Logger) -> None:
    """Add the filter to every handler of ``logger`` (Celery's and gunicorn's own handlers)."""
    for handler in logger.handlers:
        if not any(isinstance(f, RedactSecretsFilter) for f in handler.filters):
            handler.addFilter(RedactSecretsFilter())
