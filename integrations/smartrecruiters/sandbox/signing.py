"""How SmartRecruiters signs a webhook delivery (SMARTRECRUITERS.md, webhooks-and-enums.json):
``smartrecruiters-signature: v1=<hex>[;v1=<hex>...]`` where each v1 is
HMAC-SHA256(secretKey, ``timestamp.body.event-id.event-name.event-version.link``), a missing header
counting as empty; one v1 per signing key still valid (a rotated key signs for 24 h more)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable


def signed_payload(*, timestamp: str, body: bytes, event_id: str, event_name: str, event_version: str, link: str) -> bytes:
    return b".".join(
        [timestamp.encode(), body, event_id.encode(), event_name.encode(), event_version.encode(), link.encode()]
    )


def signature_v1(secret_key: str, **parts) -> str:
    return hmac.new(secret_key.encode(), signed_payload(**parts), hashlib.sha256).hexdigest()


def signature_header(secret_keys: Iterable[str], **parts) -> str:
    """The header value: newest key first, ``;``-separated."""
    return ";".join(f"v1={signature_v1(key, **parts)}" for key in secret_keys)
