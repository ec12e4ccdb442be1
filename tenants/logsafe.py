"""Values from a request, safe to put in a log line: control characters escaped (a newline in a
``job_id`` cannot start a forged line), long values cut. Shared by every app (all import tenants).

Use ``log_safe(value)`` for each request value passed to a logger; the logging filter of
``settings.LOGGING`` (``config.logredact``) escapes string arguments too, as a second line of
defence for call sites that forget.
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
DEFAULT_LIMIT = 200


def _escape(match: re.Match) -> str:
    char = match.group(0)
    return {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(char, f"\\x{ord(char):02x}" if ord(char) < 256 else f"\\u{ord(char):04x}")


def log_safe(value: object, *, limit: int = DEFAULT_LIMIT) -> str:
    """``value`` as one printable line: control characters as escapes, at most ``limit`` characters
    (then ``…``). ``None`` stays ``None``'s text, so a missing value is visible as such."""
    text = value if isinstance(value, str) else str(value)
    text = _CONTROL.sub(_escape, text)
    return text if len(text) <= limit else text[:limit] + "…"
