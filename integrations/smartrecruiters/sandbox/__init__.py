"""A fake SmartRecruiters (the subset Stagehook uses) for the demo, the benchmarks and the tests.

``Sandbox(config)`` is a WSGI app: the identity token endpoint, the Assessment Partner API
(partner configuration, setUpIntegration, results, attachments, assessment orders), the Webhooks
API (subscriptions, the X-Hook-Secret activation handshake, signing keys, signed deliveries with
retries), the Customer API subset (candidates, applications, jobs, hiring processes, message
shares), each validated against the contract's schemas and rate limited per credential; for a
customer's own app the authorization page, the authorization-code and refresh-token grants, scoped
tokens, the company, files on applications, candidate properties and notes (authorization.py); and
``/_sandbox/`` control endpoints (consent, order, move, results, deliveries, clock, seed, apps,
authorize, tokens, notes, application attachments, properties).
Built on the shared sandbox kit (integrations/sandbox/). ``SANDBOX`` registers it:
``python manage.py run_sandbox smartrecruiters`` serves it, ``manage.py sandbox smartrecruiters
<verb>`` drives it (verbs.py), and ``sandbox_server("smartrecruiters")`` (tests/sandbox_fixtures.py)
runs it in tests.
"""

from integrations.sandbox import SandboxSpec

from .app import Sandbox, create_app
from .config import SANDBOX_DEFAULTS, SandboxConfig
from .signing import signature_header, signature_v1, signed_payload
from .verbs import VERBS

SANDBOX = SandboxSpec(
    name="smartrecruiters",
    defaults=SANDBOX_DEFAULTS,
    factory=Sandbox,
    verbs=VERBS,
    description="a fake SmartRecruiters: identity (with a customer's own app), Assessment Partner API, Webhooks API, Customer API",
)

__all__ = [
    "SANDBOX",
    "SANDBOX_DEFAULTS",
    "Sandbox",
    "SandboxConfig",
    "create_app",
    "signature_header",
    "signature_v1",
    "signed_payload",
]
