"""Content-Security-Policy (django-csp): one policy for every page, a stricter one for the pages
candidates and report readers open (``/i/...``, ``/r/...``, which hold a secret in their URL) and
the recruiter's report page (the same report).

The policies live in settings (``CONTENT_SECURITY_POLICY``, ``STAGEHOOK_STRICT_CSP``); this
middleware only picks the strict one by path, so no view has to remember a decorator.
"""

import re

from csp.middleware import CSPMiddleware
from django.conf import settings

STRICT_PATHS = re.compile(r"^/(?:i|r)/|^/app/assessments/\d+/report$")


class StagehookCSPMiddleware(CSPMiddleware):
    def process_response(self, request, response):
        if STRICT_PATHS.match(request.path) and getattr(response, "_csp_config", None) is None:
            response._csp_config = settings.STAGEHOOK_STRICT_CSP["DIRECTIVES"]
        return super().process_response(request, response)
