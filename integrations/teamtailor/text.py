"""Request values in messages and log lines: never raw (a newline in an id would forge a log line),
never as a Python repr. A local helper until a shared one exists."""

from __future__ import annotations

MAX_SHOWN = 80


def printable(value: object, *, limit: int = MAX_SHOWN) -> str:
    """``value`` as text safe for one log line or error message: control and other non-printable
    characters escaped (``\\n``, ``\\x1b``, ``\\u2028``), cut to ``limit`` characters with an ellipsis."""
    text = "" if value is None else str(value)
    cut = len(text) > limit
    text = text[:limit]
    escaped = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)
    return escaped + ("…" if cut else "")
