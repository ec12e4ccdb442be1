"""How Teamtailor signs what it sends to Stagehook: the partner-event signature, the company
webhooks' v2 and deprecated v1 signatures, and the activation JWS."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import jwt


def partner_signature(secret: str, partner_event_id: str, timestamp: int) -> str:
    """``Teamtailor-Signature``: covers the timestamp and the partner-event id, not the body."""
    digest = hmac.new(secret.encode(), f"{timestamp}.{partner_event_id}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def company_signature_v2(secret: str, raw_body: bytes, timestamp: int) -> str:
    """``TT-Signature`` v2: base64 of ``t=<ts>,v2=<hex HMAC(secret, "<ts>." + raw body)>``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + raw_body, hashlib.sha256).hexdigest()
    return base64.b64encode(f"t={timestamp},v2={digest}".encode()).decode()


def company_signature_v1(secret: str, data_id: str) -> str:
    """The deprecated v1 signature Teamtailor still puts in the body's ``signature`` field."""
    digest = hmac.new(secret.encode(), str(data_id).encode(), hashlib.sha256).hexdigest()
    return base64.b64encode(digest.encode()).decode()


def activation_jws(form: dict[str, Any], partner_api_key: str) -> str:
    """The provider key Teamtailor issues for an activation with fields: a JWT of the filled form."""
    return jwt.encode(form, partner_api_key, algorithm="HS256")


# The outbox that sends these (through the webhook faults, logged) is the sandbox kit's:
# integrations.sandbox.Outbox, reached as ``Sandbox.kit.outbox``.
