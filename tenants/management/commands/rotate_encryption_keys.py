from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from tenants.fields import encrypted_fields


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted field under the newest key of FIELD_ENCRYPTION_KEYS. Run it after "
        "putting a new key first; then the old keys can be removed."
    )

    def handle(self, *args, **options):
        total = 0
        for model in apps.get_models():
            fields = encrypted_fields(model)
            if not fields:
                continue
            count = 0
            with transaction.atomic():
                for obj in model._default_manager.select_for_update().only("pk", *fields).iterator():
                    # Loading decrypts with any key; saving encrypts with the newest.
                    obj.save(update_fields=fields)
                    count += 1
            self.stdout.write(f"{model._meta.label}: {count} row(s) re-encrypted")
            total += count
        self.stdout.write(self.style.SUCCESS(f"{total} row(s) re-encrypted under the newest key"))
