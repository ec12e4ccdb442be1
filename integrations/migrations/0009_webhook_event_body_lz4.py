"""Webhook bodies compressed with lz4 instead of pglz (PostgreSQL 14+, when built with lz4, as
Debian's and the official images are). A body over about 2 KB (a Teamtailor partner event is 3.8
KB) is compressed as it is stored; pglz cost PostgreSQL about 20 us per partner webhook more than
lz4 under load (bench/README.md, intake_load). Values stored before keep their compression."""

from django.db import migrations

FORWARDS = """
DO $$
BEGIN
    ALTER TABLE {table} ALTER COLUMN raw_body SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'PostgreSQL was built without lz4: webhook bodies stay compressed with pglz';
END $$;
"""


def _table(apps, schema_editor) -> str:
    return schema_editor.quote_name(apps.get_model("integrations", "WebhookEvent")._meta.db_table)


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARDS.format(table=_table(apps, schema_editor)))


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE {_table(apps, schema_editor)} ALTER COLUMN raw_body SET COMPRESSION DEFAULT")


class Migration(migrations.Migration):
    dependencies = [("integrations", "0008_webhook_event_db_defaults")]
    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
