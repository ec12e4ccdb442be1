"""Tell SmartRecruiters each of our URLs (PUT /partner/configuration), or show what it holds."""

from __future__ import annotations

import json
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from integrations.errors import ClientError, RemoteError, RemoteTimeout
from integrations.smartrecruiters.constants import PARTNER_FIELDS, SUPPORTED_ASSESSMENT_TYPES
from integrations.smartrecruiters.services import master_client

DISPLAY_MODES = ("REDIRECT", "POPUP")


def partner_configuration() -> dict:
    """The ``PartnerConfigurationRequest``: every URL absolute, from ``SITE_URL``."""
    mode = str(getattr(settings, "SMARTRECRUITERS_CONSENT_DISPLAY_MODE", "REDIRECT")).upper()
    if mode not in DISPLAY_MODES:
        raise CommandError(f"SMARTRECRUITERS_CONSENT_DISPLAY_MODE must be REDIRECT or POPUP, not {mode!r}")

    def url(name: str, **kwargs) -> str:
        return settings.SITE_URL + reverse(f"smartrecruiters:{name}", kwargs=kwargs or None)

    package_url = url("package", package_id="PLACEHOLDER").replace("/PLACEHOLDER", "")
    disable_url = url("disconnect", company_id="PLACEHOLDER").replace("/PLACEHOLDER", "")
    return {
        "consentUrl": url("integration"),
        "consentDisplayMode": mode,
        "assessmentPackageListUrl": url("packages"),
        "singleAssessmentPackageUrl": package_url,
        "packageOrderUrl": url("orders"),
        "inlineAssessmentPackageOrderUrl": url("inline-orders"),
        "oauthTokenUrl": url("token"),
        "integrationDisableUrl": disable_url,
        "fields": [dict(field) for field in PARTNER_FIELDS],
        "supportedAssessmentTypes": list(SUPPORTED_ASSESSMENT_TYPES),
    }


class Command(BaseCommand):
    help = "Register Stagehook's URLs with SmartRecruiters (partner configuration); --show prints the current one."

    def add_arguments(self, parser):
        parser.add_argument("--show", action="store_true", help="GET the configuration SmartRecruiters holds")
        parser.add_argument("--dry-run", action="store_true", help="print the body without sending it")
        parser.add_argument(
            "--wait", type=float, default=0, metavar="SECONDS",
            help="keep trying this long while SmartRecruiters cannot be reached (e.g. a sandbox still starting)",
        )

    def handle(self, *args, show: bool = False, dry_run: bool = False, wait: float = 0, **options):
        body = None if show else partner_configuration()
        if dry_run and body is not None:
            self.stdout.write(json.dumps(body, indent=2))
            return
        deadline = time.monotonic() + max(wait, 0)
        while True:
            try:
                client = master_client()
                answer = client.partner_configuration_get() if show else client.partner_configuration_put(body)
                break
            except (RemoteError, RemoteTimeout) as exc:
                # Unreachable or 5xx: worth another try until the deadline (then the same error).
                if time.monotonic() + 1 > deadline:
                    raise CommandError(f"SmartRecruiters answered: {exc.message}") from None
                time.sleep(1)  # the next attempt of a retry loop bounded by the deadline above
            except ClientError as exc:
                raise CommandError(f"SmartRecruiters answered: {exc.message}") from None
        if not show:
            self.stdout.write(self.style.SUCCESS("SmartRecruiters accepted the partner configuration:"))
        self.stdout.write(json.dumps(answer, indent=2, sort_keys=True))
