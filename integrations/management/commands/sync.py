import time

from django.core.management.base import BaseCommand, CommandError

from integrations.models import Connection, SyncRun
from integrations.providers import SYNC_KINDS
from integrations.sync import sync_run_execute, sync_start, sync_unavailable_reason


class Command(BaseCommand):
    help = (
        "Sync one connection from its ATS now (what the admin's 'Sync now' does). Queues the run for the "
        "worker; with --wait it runs it here when no worker has taken it, and prints the outcome."
    )

    def add_arguments(self, parser):
        parser.add_argument("connection", type=int, help="the connection's id")
        parser.add_argument("--full", action="store_true", help="full reconciliation: ignore the cursors")
        parser.add_argument("--kinds", default="", help=f"comma-separated subset of {','.join(SYNC_KINDS)}")
        parser.add_argument("--wait", action="store_true", help="wait for the run to finish")

    def handle(self, *args, connection: int, full: bool, kinds: str, wait: bool, **options):
        found = Connection.objects.select_related("tenant").filter(pk=connection).first()
        if found is None:
            raise CommandError(f"no connection {connection}")
        selected = tuple(k.strip() for k in kinds.split(",") if k.strip()) or None
        try:
            run = sync_start(connection=found, full=full, kinds=selected, reason="manage.py sync")
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if run is None:
            raise CommandError(f"{found} cannot be synced: {sync_unavailable_reason(connection=found)}")
        self.stdout.write(f"sync run {run.pk} of {found}: {run.get_status_display().lower()}")
        if not wait:
            return
        sync_run_execute(sync_run_id=run.pk)  # does nothing when a worker already runs it
        while True:
            run = SyncRun.objects.get(pk=run.pk)
            if not run.live:
                break
            time.sleep(1)
        summary = (
            f"sync run {run.pk}: {run.status}, {run.pages} pages, {run.records_seen} seen, {run.records_created} created, "
            f"{run.records_updated} updated, {run.records_deleted} removed, {run.invites_triggered} invites"
        )
        if run.status != "succeeded":
            raise CommandError(f"{summary}: {run.error_code} {run.error}")
        self.stdout.write(self.style.SUCCESS(summary))
