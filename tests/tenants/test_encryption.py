import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection as db
from django.test import override_settings

from integrations.models import Connection
from tests.factories import ConnectionFactory

pytestmark = pytest.mark.django_db

SECRET = "client-secret-that-must-not-leak"


def _raw_credentials(pk: int) -> str:
    with db.cursor() as cursor:
        cursor.execute("SELECT credentials FROM integrations_connection WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def test_credentials_are_not_stored_in_clear_text():
    conn = ConnectionFactory(credentials={"client_secret": SECRET})
    raw = _raw_credentials(conn.pk)
    assert SECRET not in raw
    assert "client_secret" not in raw
    assert Connection.objects.get(pk=conn.pk).credentials == {"client_secret": SECRET}


def test_values_survive_a_key_rotation():
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    with override_settings(FIELD_ENCRYPTION_KEYS=[old]):
        conn = ConnectionFactory(credentials={"client_secret": SECRET})
        before = _raw_credentials(conn.pk)
    with override_settings(FIELD_ENCRYPTION_KEYS=[new, old]):
        # Readable with the old key still listed, before re-encryption.
        assert Connection.objects.get(pk=conn.pk).credentials["client_secret"] == SECRET
        call_command("rotate_encryption_keys", stdout=open("/dev/null", "w"))
        after = _raw_credentials(conn.pk)
    assert after != before
    assert Fernet(new.encode()).decrypt(after.encode())  # now under the newest key
    with override_settings(FIELD_ENCRYPTION_KEYS=[new]):
        assert Connection.objects.get(pk=conn.pk).credentials["client_secret"] == SECRET
