"""Finding one candidate in stored ATS payloads by more than the e-mail address: the ATS's own
candidate ids and the phone numbers. Shared by every ATS (no provider named): it reads the shapes
ATS payloads share (a ``candidate`` object or ``candidate_id``-like key, JSON:API resources and
relationships of a ``candidates`` type), so an erasure reaches every stored payload at once — the
event that carried the address, and the later ones that carry only the id or the phone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

_PHONE_LIKE = re.compile(r"\+?[0-9][0-9 ().\-/]{5,24}[0-9]")
_ID_KEYS = ("id", "uuid")


def phone_digits(phone: str) -> str:
    """The digits of ``phone`` without an international ``00`` prefix; '' when too short to match
    anything safely (under 7 digits)."""
    digits = re.sub(r"[^0-9]", "", phone or "")
    if digits.startswith("00"):
        digits = digits[2:]
    return digits if len(digits) >= 7 else ""


def phones_match(a: str, b: str) -> bool:
    """Same number, written internationally or nationally (``+46 70 432 121`` = ``070432121``)."""
    if not a or not b:
        return False
    if a == b:
        return True
    short, long = sorted((a.lstrip("0"), b.lstrip("0")), key=len)
    return len(short) >= 7 and long.endswith(short) and len(long) - len(short) <= 3


def text_mentions_phone(text: str, phones: Iterable[str]) -> bool:
    """Whether ``text`` contains a number equal to one of ``phones`` (digit strings)."""
    phones = [p for p in phones if p]
    if not phones or not text:
        return False
    return any(
        phones_match(phone_digits(found.group(0)), phone) for found in _PHONE_LIKE.finditer(text) for phone in phones
    )


def _scalar(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (str, int)):
        text = str(value).strip()
        return text or None
    return None


def _ids_of(resource: dict) -> Iterator[str]:
    for key in _ID_KEYS:
        value = _scalar(resource.get(key))
        if value:
            yield value
    data = resource.get("data")  # a JSON:API relationship: {"data": {"type": "candidates", "id": ...}}
    if isinstance(data, dict):
        yield from _ids_of(data)


def candidate_ids_in(payload: Any) -> set[str]:
    """Every candidate id the payload names: the ids of a ``candidate``-keyed object, the value of
    a ``candidate_id``-like key, and the id of a resource whose ``type`` is a candidate."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            kind = node.get("type")
            if isinstance(kind, str) and "candidate" in kind.lower():
                found.update(_ids_of(node))
            for key, value in node.items():
                if isinstance(key, str) and "candidate" in key.lower():
                    if isinstance(value, dict):
                        found.update(_ids_of(value))
                    elif (scalar := _scalar(value)) is not None:
                        found.add(scalar)
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(payload)
    return found


def _own_fields(node: dict) -> Iterator[dict]:
    """``node`` and its JSON:API ``attributes``: the fields of one resource."""
    yield node
    if isinstance(node.get("attributes"), dict):
        yield node["attributes"]


def _mentions_email(node: dict, email: str) -> bool:
    return any(
        isinstance(value, str) and value.strip().lower() == email for fields in _own_fields(node) for value in fields.values()
    )


def _phones_of(node: dict) -> Iterator[str]:
    for container in _own_fields(node):
        for key, value in container.items():
            if isinstance(key, str) and "phone" in key.lower() and isinstance(value, str):
                digits = phone_digits(value)
                if digits:
                    yield digits


def identifiers_beside_email(payload: Any, email: str) -> tuple[set[str], set[str]]:
    """(candidate ids, phone digits) of the objects in ``payload`` that hold ``email``: the
    candidate object itself, e.g. ``{"id", "email", "phone"}`` or a JSON:API resource with its
    ``attributes``."""
    ids: set[str] = set()
    phones: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if _mentions_email(node, email):
                ids.update(_ids_of(node))
                phones.update(_phones_of(node))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(payload)
    return ids, phones
