"""Content-Security-Policy (django-csp): one policy for every page, a stricter one for the pages
candidates and report readers open (``/i/...``, ``/r/...``, which hold a secret in their URL) and
the recruiter's report page (the same report).

The policies live in settings (``CONTENT_SECURITY_POLICY``, ``STAGEHOOK_STRICT_CSP``); this
middleware only picks the strict one by path, so no view has to remember a decorator.

django-csp builds the header from the settings on every response; ours are two fixed strings, so
a response that asks for nothing of its own (no nonce, no ``@csp_*`` decorator, no report-only
policy) gets the header built once. Anything else goes through django-csp as before. (On every
webhook this was about 5 % of the intake's time: bench/README.md.)
"""

import functools
import re

from csp.constants import HEADER
from csp.middleware import CheckableLazyObject, CSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.core.signals import setting_changed

STRICT_PATHS = re.compile(r"^/(?:i|r)/|^/app/assessments/\d+/report$")
# What a view or decorator sets to change the policy of one response (django-csp 4's names).
_PER_RESPONSE = (
    "_csp_config", "_csp_update", "_csp_replace", "_csp_exempt",
    "_csp_config_ro", "_csp_update_ro", "_csp_replace_ro", "_csp_exempt_ro",
)


@functools.cache
def _policy_header(strict: bool) -> str:
    return build_policy(config=settings.STAGEHOOK_STRICT_CSP["DIRECTIVES"] if strict else None)


def _forget_policies(*, setting: str, **_) -> None:
    if "CSP" in setting or "CONTENT_SECURITY_POLICY" in setting:
        _policy_header.cache_clear()


setting_changed.connect(_forget_policies, dispatch_uid="stagehook_csp_forget_policies")


def _policy_of_settings_only(request, response) -> bool:
    """Whether django-csp would build this response's header from the settings alone."""
    if settings.DEBUG or getattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY", None):
        return False  # (django-csp skips DEBUG's error pages; a report-only policy is its own)
    if (getattr(settings, "CONTENT_SECURITY_POLICY", None) or {}).get("EXCLUDE_URL_PREFIXES"):
        return False
    if getattr(request, "_csp_nonce", None) is not None:
        return False  # the page used its nonce: it goes into the header
    return not any(getattr(response, name, None) for name in _PER_RESPONSE)


class StagehookCSPMiddleware(CSPMiddleware):
    def process_response(self, request, response):
        strict = STRICT_PATHS.match(request.path) is not None
        if _policy_of_settings_only(request, response):
            if HEADER not in response:
                response[HEADER] = _policy_header(strict)
            # As django-csp does: a nonce asked for after the header was written is an error.
            request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)
            return response
        if strict and getattr(response, "_csp_config", None) is None:
            response._csp_config = settings.STAGEHOOK_STRICT_CSP["DIRECTIVES"]
        return super().process_response(request, response)
