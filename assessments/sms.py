"""Text-message backends, chosen by ``settings.SMS_BACKEND`` (a dotted path), like Django's e-mail
backends. A backend raises :class:`SmsPermanentError` when the number itself is refused (retrying
cannot help) and :class:`SmsTemporaryError` when the provider is down or slow."""

import logging
import re

import requests
from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

# Absolute links in a message: shown as their host only.
_LINK = re.compile(r"https?://[^\s<>\"']+")


def mask_links(text: str) -> str:
    """``text`` with every absolute link replaced by ``<scheme://host/…>``."""
    return _LINK.sub(lambda m: "/".join(m.group(0).split("/")[:3]) + "/…", text or "")

# E.164: a plus, then up to 15 digits. Spaces, dots, dashes and brackets are cosmetic.
_PHONE_RE = re.compile(r"^\+?[1-9][0-9]{5,14}$")


class SmsError(Exception):
    pass


class SmsPermanentError(SmsError):
    pass


class SmsTemporaryError(SmsError):
    pass


def phone_normalize(phone: str) -> str:
    """``phone`` in E.164-like form, or raise SmsPermanentError."""
    compact = re.sub(r"[\s().\-/]", "", phone or "")
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if not _PHONE_RE.match(compact):
        raise SmsPermanentError("invalid phone number")
    return compact


class BaseSmsBackend:
    def send(self, *, to: str, body: str) -> None:
        raise NotImplementedError


def _masked_phone(phone: str) -> str:
    return phone[:3] + "*" * max(len(phone) - 5, 0) + phone[-2:] if len(phone) > 5 else "*" * len(phone)


class ConsoleSmsBackend(BaseSmsBackend):
    """Local development only (the deploy check refuses it): writes the message to the log, links
    masked (the candidate's link is a credential) and the number shortened."""

    def send(self, *, to: str, body: str) -> None:
        logger.info("SMS to %s: %s", _masked_phone(to), mask_links(body))


class LocmemSmsBackend(BaseSmsBackend):
    """Keeps messages in :data:`outbox` (tests), as Django's locmem e-mail backend does."""

    def send(self, *, to: str, body: str) -> None:
        outbox.append({"to": to, "body": body, "from": settings.SMS_FROM})


outbox: list[dict] = []


class HttpSmsBackend(BaseSmsBackend):
    """A generic JSON-over-HTTPS SMS gateway: ``POST SMS_HTTP_URL`` with a bearer token and
    ``{"to", "from", "body"}``; any 2xx is accepted."""

    def __init__(self, *, url: str | None = None, token: str | None = None, timeout: float | None = None):
        self.url = url if url is not None else settings.SMS_HTTP_URL
        self.token = token if token is not None else settings.SMS_HTTP_TOKEN
        self.timeout = timeout if timeout is not None else getattr(settings, "SMS_HTTP_TIMEOUT", 10.0)

    def send(self, *, to: str, body: str) -> None:
        if not self.url:
            # A configuration error, not the candidate's fault: retry until someone fixes it.
            raise SmsTemporaryError("SMS_HTTP_URL is not configured")
        try:
            response = requests.post(
                self.url,
                json={"to": to, "from": settings.SMS_FROM, "body": body},
                headers={"Authorization": f"Bearer {self.token}"},
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise SmsTemporaryError(f"SMS gateway unreachable: {type(exc).__name__}") from None
        if 200 <= response.status_code < 300:
            return
        # 401/403 (our credentials), 408/429 and 5xx are the gateway's or our trouble; other 4xx mean
        # the message itself is refused (typically an invalid or unreachable number).
        if response.status_code in (401, 403, 408, 429) or response.status_code >= 500:
            raise SmsTemporaryError(f"SMS gateway answered {response.status_code}")
        raise SmsPermanentError(f"SMS gateway refused the message ({response.status_code})")


def get_sms_backend() -> BaseSmsBackend:
    return import_string(settings.SMS_BACKEND)()
