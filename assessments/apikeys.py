"""Per-tenant API keys for machine callers: created once (raw key shown once), stored as a hash.

A raw key looks like ``shk_<8 chars>.<43 chars>``: ``shk_<8 chars>`` is the public prefix used to find
the row (and as the HTTP Basic username of the package list), the rest is 256 random bits. Only the
SHA-256 of the whole raw key is stored.
"""

import hashlib
import hmac
import re
import secrets
import time
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from tenants.models import Tenant

from .models import TenantApiKey

KEY_SCHEME = "shk_"
PREFIX_LENGTH = len(KEY_SCHEME) + 8
_PREFIX_RE = re.compile(r"shk_[0-9a-f]{8}")
# Writing last_used_at on every call would turn each read into a write; once a minute is enough to
# tell an admin whether a key is still in use.
LAST_USED_RESOLUTION = timedelta(minutes=1)
# Compared against when the prefix is unknown, so a miss costs the same as a wrong secret.
_DUMMY_HASH = hashlib.sha256(b"stagehook-no-such-key").hexdigest()


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def tenant_api_key_create(*, tenant: Tenant, name: str) -> tuple[TenantApiKey, str]:
    """Create a key for ``tenant``; returns the row and the raw key, which is not stored anywhere."""
    for _ in range(5):
        prefix = KEY_SCHEME + secrets.token_hex(4)
        raw = f"{prefix}.{secrets.token_urlsafe(32)}"
        try:
            with transaction.atomic():
                api_key = TenantApiKey.objects.create(tenant=tenant, name=name, prefix=prefix, key_hash=_hash(raw))
        except IntegrityError:
            continue  # a prefix collision (32 bits): draw again
        return api_key, raw
    raise RuntimeError("could not draw a unique API key prefix")


def tenant_api_key_revoke(*, api_key: TenantApiKey) -> TenantApiKey:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    return api_key


def tenant_api_key_authenticate(raw: str) -> TenantApiKey | None:
    """The active key whose raw value is ``raw`` (of an active tenant), or None.

    Unknown, wrong, revoked and malformed keys all answer None after the same constant-time
    comparison, so a caller learns nothing about which prefixes exist."""
    raw = (raw or "").strip()
    prefix = raw[:PREFIX_LENGTH]
    candidate = None
    # Shape first: garbage (even a NUL byte from a decoded Basic header) never reaches the database.
    if _PREFIX_RE.fullmatch(prefix) and raw[PREFIX_LENGTH : PREFIX_LENGTH + 1] == ".":
        candidate = TenantApiKey.objects.select_related("tenant").filter(prefix=prefix).first()
    expected = candidate.key_hash if candidate else _DUMMY_HASH
    matches = hmac.compare_digest(expected, _hash(raw))
    if not (candidate and matches and candidate.revoked_at is None and candidate.tenant.active):
        return None
    now = timezone.now()
    if candidate.last_used_at is None or now - candidate.last_used_at > LAST_USED_RESOLUTION:
        # update() rather than save(): no race with an admin renaming or revoking the key.
        TenantApiKey.objects.filter(pk=candidate.pk).update(last_used_at=now)
        candidate.last_used_at = now
    return candidate


# The timestamped signature: valid this long either side of our clock, and accepted once.
SIGNATURE_TOLERANCE_SECONDS = 300
_REPLAY_CACHE_PREFIX = "stagehook:api-signature:"


def api_key_sign(*, raw_key: str, body: bytes, timestamp: int | str | None = None) -> str:
    """The ``X-Stagehook-Signature`` value of ``body``: ``sha256=<hex HMAC-SHA256(raw key, msg)>``
    where ``msg`` is ``"<timestamp>." + body`` when the request carries ``X-Stagehook-Timestamp``
    (the time-bound scheme), else the body alone (the original, untimed scheme)."""
    message = body if timestamp is None else f"{timestamp}.".encode() + body
    return "sha256=" + hmac.new(raw_key.encode("utf-8"), message, hashlib.sha256).hexdigest()


def api_key_signature_valid(*, raw_key: str, body: bytes, signature: str, timestamp: str | None = None) -> bool:
    """True when ``signature`` signs the raw bytes of ``body`` (and ``timestamp`` when given, as
    sent); compared in constant time. Says nothing about age or replay: see ``api_key_signature_check``."""
    expected = api_key_sign(raw_key=raw_key, body=body, timestamp=timestamp)
    return hmac.compare_digest(expected.encode(), (signature or "").strip().encode())


def api_key_signature_check(
    *, api_key: TenantApiKey, raw_key: str, body: bytes, signature: str, timestamp: str | None,
    now: float | None = None,
) -> str | None:
    """Why a signed request is refused, or None when it is accepted.

    With ``X-Stagehook-Timestamp`` (whole Unix seconds) the signature covers timestamp and body,
    the timestamp must be within ``SIGNATURE_TOLERANCE_SECONDS`` of ``now``, and each signature is
    accepted once (remembered in the cache for the window's length): a captured request cannot be
    replayed. Without it (the untimed scheme) a replay cannot be told from a repeat, unless the
    deployment refuses untimed signatures (``API_SIGNATURE_REQUIRE_TIMESTAMP``)."""
    if timestamp is None:
        if settings.API_SIGNATURE_REQUIRE_TIMESTAMP:
            return "X-Stagehook-Timestamp is required with a signature."
        return None if api_key_signature_valid(raw_key=raw_key, body=body, signature=signature) else "Invalid signature."
    timestamp = timestamp.strip()
    if not re.fullmatch(r"[0-9]{1,12}", timestamp):
        return "Invalid X-Stagehook-Timestamp: send whole Unix seconds."
    if not api_key_signature_valid(raw_key=raw_key, body=body, signature=signature, timestamp=timestamp):
        return "Invalid signature."
    now = time.time() if now is None else now
    if abs(now - int(timestamp)) > SIGNATURE_TOLERANCE_SECONDS:
        return f"X-Stagehook-Timestamp is more than {SIGNATURE_TOLERANCE_SECONDS} seconds from our clock."
    digest = hashlib.sha256(signature.strip().lower().encode()).hexdigest()
    if not cache.add(_REPLAY_CACHE_PREFIX + f"{api_key.pk}:{digest}", 1, timeout=2 * SIGNATURE_TOLERANCE_SECONDS + 5):
        return "Replayed request: this signature was already used."
    return None
