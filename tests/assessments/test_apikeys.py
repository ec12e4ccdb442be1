"""Tenant API keys: shown once, stored as a hash, checked in constant time."""

import hashlib

import pytest
from django.db import connection
from django.utils import timezone

from assessments.apikeys import (
    api_key_sign,
    api_key_signature_valid,
    tenant_api_key_authenticate,
    tenant_api_key_create,
    tenant_api_key_revoke,
)
from assessments.models import TenantApiKey
from tests.factories import TenantFactory

pytestmark = pytest.mark.django_db


def test_create_stores_only_a_hash_of_a_long_random_key():
    tenant = TenantFactory()
    api_key, raw = tenant_api_key_create(tenant=tenant, name="AI engine")

    assert raw.startswith(api_key.prefix + ".")
    secret = raw.split(".", 1)[1]
    assert len(secret) >= 43  # 32 random bytes, url-safe base64
    assert api_key.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM assessments_tenantapikey t WHERE row_to_json(t)::text LIKE %s", [f"%{secret}%"]
        )
        assert cursor.fetchone()[0] == 0


def test_two_keys_differ():
    tenant = TenantFactory()
    _, raw1 = tenant_api_key_create(tenant=tenant, name="one")
    _, raw2 = tenant_api_key_create(tenant=tenant, name="two")
    assert raw1 != raw2


def test_authenticate_accepts_the_raw_key_and_records_use():
    tenant = TenantFactory()
    api_key, raw = tenant_api_key_create(tenant=tenant, name="AI engine")

    found = tenant_api_key_authenticate(raw)

    assert found is not None and found.pk == api_key.pk and found.tenant == tenant
    assert TenantApiKey.objects.get(pk=api_key.pk).last_used_at is not None


@pytest.mark.parametrize(
    "mangle",
    [
        lambda raw: raw[:-1] + ("A" if raw[-1] != "A" else "B"),  # right prefix, wrong secret
        lambda raw: "shk_00000000." + raw.split(".", 1)[1],  # unknown prefix
        lambda raw: raw.split(".", 1)[1],  # secret alone
        lambda raw: "",
        lambda raw: "garbage",
        lambda raw: raw + "x",
    ],
)
def test_authenticate_rejects_wrong_keys(mangle):
    tenant = TenantFactory()
    _, raw = tenant_api_key_create(tenant=tenant, name="AI engine")
    assert tenant_api_key_authenticate(mangle(raw)) is None


def test_authenticate_rejects_revoked_keys_and_inactive_tenants():
    tenant = TenantFactory()
    api_key, raw = tenant_api_key_create(tenant=tenant, name="AI engine")
    other_key, other_raw = tenant_api_key_create(tenant=TenantFactory(active=False), name="x")

    tenant_api_key_revoke(api_key=api_key)

    assert TenantApiKey.objects.get(pk=api_key.pk).revoked_at <= timezone.now()
    assert tenant_api_key_authenticate(raw) is None
    assert tenant_api_key_authenticate(other_raw) is None


def test_signature_covers_the_raw_bytes():
    body = b'{"job_id": "1"}'
    signature = api_key_sign(raw_key="k", body=body)
    assert signature.startswith("sha256=") and len(signature) == 7 + 64
    assert api_key_signature_valid(raw_key="k", body=body, signature=signature)
    assert not api_key_signature_valid(raw_key="k", body=b'{"job_id":"1"}', signature=signature)
    assert not api_key_signature_valid(raw_key="other", body=body, signature=signature)
    assert not api_key_signature_valid(raw_key="k", body=body, signature="")
    assert not api_key_signature_valid(raw_key="k", body=body, signature="sha256=é")


def test_admin_shows_the_raw_key_once(client):
    import re

    from tests.factories import UserFactory

    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    tenant = TenantFactory()

    response = client.post(
        "/admin/assessments/tenantapikey/add/", {"tenant": tenant.pk, "name": "AI engine"}, follow=True
    )

    assert response.status_code == 200
    shown = re.findall(r"shk_[0-9a-f]{8}\.[A-Za-z0-9_-]{43}", response.content.decode())
    assert len(set(shown)) == 1
    raw = shown[0]
    api_key = TenantApiKey.objects.get()
    assert api_key.tenant == tenant and api_key.name == "AI engine"
    assert tenant_api_key_authenticate(raw).pk == api_key.pk
    # Never again: not on the change page, not in the list.
    assert raw not in client.get(f"/admin/assessments/tenantapikey/{api_key.pk}/change/").content.decode()
    assert raw.split(".")[1] not in client.get("/admin/assessments/tenantapikey/").content.decode()

    client.post("/admin/assessments/tenantapikey/", {"action": "revoke", "_selected_action": [api_key.pk]})
    assert tenant_api_key_authenticate(raw) is None
