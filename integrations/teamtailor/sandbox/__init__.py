"""A fake Teamtailor (the subset Stagehook uses) for the demo, the benchmarks and the tests.

``Sandbox(config)`` is a WSGI app: the public API (``/v1``), the partner API (``/partner/v1``)
and ``/_sandbox/`` control endpoints (fire a partner trigger, move an application, activate,
click a result card's action button, inspect results and notes, inject faults).
Built on the shared sandbox kit (integrations/sandbox/): rate window, faults, outbox, generic
control endpoints. ``SANDBOX`` registers it: ``python manage.py run_sandbox teamtailor`` serves it,
``manage.py sandbox teamtailor <verb>`` drives it (verbs.py), and the ``teamtailor_sandbox`` pytest
fixture (tests/sandbox_fixtures.py) runs it in-process.
"""

from integrations.sandbox import SandboxSpec

from .app import Sandbox, create_app
from .config import SANDBOX_DEFAULTS, SandboxConfig
from .outbound import activation_jws, company_signature_v1, company_signature_v2, partner_signature
from .verbs import VERBS

SANDBOX = SandboxSpec(
    name="teamtailor",
    defaults=SANDBOX_DEFAULTS,
    factory=Sandbox,
    verbs=VERBS,
    description="a fake Teamtailor: public API /v1, partner API /partner/v1",
)

__all__ = [
    "SANDBOX",
    "SANDBOX_DEFAULTS",
    "Sandbox",
    "SandboxConfig",
    "activation_jws",
    "company_signature_v1",
    "company_signature_v2",
    "create_app",
    "partner_signature",
]
