"""Model fields shared by every app: values encrypted at rest with rotatable Fernet keys.

Keys come from ``settings.FIELD_ENCRYPTION_KEYS`` (newest first). Values are always encrypted with the
newest key and decrypted with any; ``manage.py rotate_encryption_keys`` re-encrypts every stored value.
"""

import json
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


@lru_cache(maxsize=8)
def _multifernet(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key.encode() if isinstance(key, str) else key) for key in keys])
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS holds a value that is not a Fernet key") from exc


def get_fernet() -> MultiFernet:
    keys = tuple(settings.FIELD_ENCRYPTION_KEYS)
    if not keys:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS is empty")
    return _multifernet(keys)


def encrypt_str(value: str) -> str:
    return get_fernet().encrypt(value.encode()).decode()


def decrypt_str(token: str) -> str:
    try:
        return get_fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured(
            "An encrypted value cannot be decrypted with any key in FIELD_ENCRYPTION_KEYS"
        ) from exc


class EncryptedTextField(models.TextField):
    """A string stored as a Fernet token. Not searchable: store a hash beside it for lookups."""

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return self._decode(decrypt_str(value))

    def get_prep_value(self, value):
        if value is None:
            return None
        return encrypt_str(self._encode(value))

    def to_python(self, value):
        return value

    def _encode(self, value) -> str:
        return str(value)

    def _decode(self, text: str):
        return text


class EncryptedJSONField(EncryptedTextField):
    """A JSON object stored encrypted as a whole (credentials: client secrets, keys, tokens)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("default", dict)
        super().__init__(*args, **kwargs)

    def _encode(self, value) -> str:
        return json.dumps(value, sort_keys=True)

    def _decode(self, text: str):
        return json.loads(text)

    def value_to_string(self, obj):
        return "<encrypted>"


def encrypted_fields(model) -> list[str]:
    return [f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
