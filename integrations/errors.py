"""Errors of the integration layer, each carrying an ``ErrorCode`` that is stored on the failed row.

``ClientError`` and its subclasses come from talking to an ATS (raised by ``integrations.http``);
``EventFailed`` is a domain error while processing an inbound event: stored, never retried.
``InboundRejected`` is the one refusal of a call an ATS (or its admin) makes to us: a status and a
message, answered as JSON, nothing stored.
"""

from __future__ import annotations

from .models import ErrorCode


class ClientError(Exception):
    """A call to an ATS failed. ``retryable`` says whether trying again later can help."""

    code: str = ErrorCode.INTERNAL
    retryable: bool = False

    def __init__(self, message: str, *, status_code: int | None = None, retry_after: float | None = None):
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.retry_after = retry_after
        # Set by a write-back of several calls on the error that stopped it: the refs of the calls
        # done before (``Provider.deliver``; the outbox stores them for the retry).
        self.remote_refs: dict[str, str] = {}


class HostNotAllowed(ClientError):
    """The URL's host is not on the provider's allow-list (or the URL is not one we may call)."""

    code = ErrorCode.HOST_NOT_ALLOWED


class RateLimited(ClientError):
    """429 from the ATS, or our own limiter could not get a slot in time. ``retry_after`` in seconds."""

    code = ErrorCode.RATE_LIMITED
    retryable = True


class RemoteError(ClientError):
    """5xx or a broken connection."""

    code = ErrorCode.REMOTE_ERROR
    retryable = True


class UnexpectedRedirect(ClientError):
    """A 3xx: never followed (the new location could be anywhere)."""

    code = ErrorCode.REMOTE_ERROR


class RemoteTimeout(ClientError):
    code = ErrorCode.TIMEOUT
    retryable = True


class AuthFailed(ClientError):
    """401 (after one refresh) or 403."""

    code = ErrorCode.AUTH_FAILED


class BadRequest(ClientError):
    """Any other 4xx: the ATS refused what we sent; sending it again will not help."""

    code = ErrorCode.BAD_PAYLOAD


class EventFailed(Exception):
    """An inbound event cannot be processed as it is (bad payload, unknown package or connection).
    The event is marked failed with ``code`` and not retried."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class PayloadError(EventFailed):
    """What ``Provider.parse`` raises for a payload it cannot turn into normalized events."""

    def __init__(self, message: str):
        super().__init__(ErrorCode.BAD_PAYLOAD, message)


class InboundRejected(Exception):
    """A call to one of our ATS entry points that we refuse (authentication, a bad body, an
    activation or a result-card action that cannot be done): answered with ``status`` and a JSON
    error carrying ``message`` (``plain_text``: the message as text/plain, for an ATS that shows
    the answer's body to its user as is; ``retry_after``: seconds, for a 429); nothing is stored."""

    def __init__(self, status: int, message: str, *, plain_text: bool = False, retry_after: int | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.plain_text = plain_text
        self.retry_after = retry_after  # seconds, sent as Retry-After (a 429)
