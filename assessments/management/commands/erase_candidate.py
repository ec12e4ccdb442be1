"""Erase one candidate's personal data on request: ``manage.py erase_candidate EMAIL [--tenant SLUG]``."""

import getpass

from django.core.management.base import BaseCommand, CommandError

from assessments.retention import candidate_erase
from tenants.models import Tenant


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # containers without a passwd entry
        return "unknown"


class Command(BaseCommand):
    help = (
        "Erase a candidate's personal data (by e-mail) from assessments and, through the "
        "candidate_erasure_requested signal, from the integrations mirror. Writes an audit row."
    )

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--tenant", metavar="SLUG", help="Only this tenant's data (default: every tenant).")

    def handle(self, *args, email, tenant=None, **options):
        tenant_obj = None
        if tenant:
            tenant_obj = Tenant.objects.filter(slug=tenant).first()
            if tenant_obj is None:
                raise CommandError(f"No tenant with slug {tenant!r}.")
        try:
            count = candidate_erase(email=email, actor=f"cli:{_os_user()}", tenant=tenant_obj)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        # The address is not echoed: terminal scrollback and CI logs are not an erasure-safe place.
        self.stdout.write(self.style.SUCCESS(f"Erased personal data from {count} assessment(s)."))
