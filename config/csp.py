"""Content-Security-Policy (django-csp): one policy for every page, a stricter one for the pages
candidates and report readers open (``/i/...``, ``/r/...``), which hold a secret in their URL.

The policies live in settings (``CONTENT_SECURITY_POLICY``, ``STAGEHOOK_STRICT_CSP``); this
middleware only picks the strict one by path, so no view has to remember a decorator.
"""

from csp.middleware import CSPMiddleware
from django.conf import settings

STRICT_PATH_PREFIXES = ("/i/", "/r/")


class StagehookCSPMiddleware(CSPMiddleware):
    def process_response(self, request, response):
        if request.path.startswith(STRICT_PATH_PREFIXES) and getattr(response, "_csp_config", None) is None:
            response._csp_config = settings.STAGEHOOK_STRICT_CSP["DIRECTIVES"]
        return super().process_response(request, response)
