from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from integrations.config_as_code import ConfigError, config_apply, config_load


class Command(BaseCommand):
    help = "Apply a YAML or JSON config file (tenants, users, packages, connections, stage mappings). Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)

    def handle(self, *args, file: Path, **options):
        if not file.is_file():
            raise CommandError(f"{file}: no such file")
        try:
            report = config_apply(doc=config_load(file))
        except ConfigError as exc:
            raise CommandError(
                f"{file}: nothing applied, {len(exc.errors)} problem(s):\n  " + "\n  ".join(exc.errors)
            ) from exc
        for line in report.created:
            self.stdout.write(f"created {line}")
        for line in report.updated:
            self.stdout.write(f"updated {line}")
        self.stdout.write(
            self.style.SUCCESS(
                f"{file}: {len(report.created)} created, {len(report.updated)} updated, {report.unchanged} unchanged"
            )
        )
