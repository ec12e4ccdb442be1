from django.core.management.base import BaseCommand

from config.schedules import PERIODIC_TASKS, install_periodic_tasks


class Command(BaseCommand):
    help = "Install the periodic tasks declared in config/schedules.py (idempotent)."

    def handle(self, *args, **options):
        created = install_periodic_tasks()
        self.stdout.write(f"{len(created)} created, {len(PERIODIC_TASKS) - len(created)} already installed")
