"""How deep a JSON document nests, measured on the raw bytes before anything parses them.

Python's ``json`` raises ``RecursionError`` (not ``ValueError``) at about a thousand levels, which
every caller would have to remember; a 2 KB body of brackets then became a 500. Every JSON entry
point (the ATS intake's ``inbound_json_body``, the API's parser) refuses a body deeper than
``MAX_JSON_DEPTH`` with a 400 first. No real payload of ours nests beyond a dozen levels.
"""

from __future__ import annotations

import re
from itertools import accumulate

MAX_JSON_DEPTH = 64

# A JSON string (escapes included): brackets inside strings do not nest anything.
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def json_depth(raw: bytes) -> int:
    """The deepest nesting of arrays and objects in ``raw`` (0 for a scalar). Malformed input gets
    a number too; parsing it still fails as it would have."""
    brackets = _STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    if not brackets:
        return 0
    return max(0, max(accumulate(_STEP[b] for b in brackets)))


def json_too_deep(raw: bytes, *, limit: int = MAX_JSON_DEPTH) -> bool:
    # A document cannot nest deeper than it has opening brackets: two C-speed counts settle nearly
    # every real payload before the full measure (a webhook intake's hot path).
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    return json_depth(raw) > limit
