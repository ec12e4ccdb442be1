"""Config as code: tenants, users, packages, connections and stage mappings from one YAML/JSON file.

``config_apply`` validates the whole document first (every error names its key path), then applies
it in one transaction. It is idempotent: a second run with the same file writes nothing.
It lives in ``integrations`` because it spans every app (integrations -> assessments -> tenants).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email, validate_slug
from django.db import transaction

from assessments.models import Package, PackageType, Question
from tenants.models import Membership, Region, Role, Tenant

from .models import Connection, ConnectionStatus, StageMapping, secret_hash
from .providers import provider_names
from .services import connection_status_set
from .sync import sync_after_activation


class ConfigError(Exception):
    """The document is invalid; ``errors`` lists every problem with its key path."""

    def __init__(self, errors: list[str]):
        super().__init__("; ".join(errors))
        self.errors = errors


@dataclass
class ApplyReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    # Connections this run made active (their first sync is queued after the run).
    activated: list[Connection] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)


# --- schema ---------------------------------------------------------------------------------------
# Each key maps to (required, kind). Kinds: "str", "int", "bool", "num", "list", "dict", "strlist",
# "strdict", or a dict (nested object schema) / [dict] (list of objects).
QUESTION = {
    "text": (True, "str"),
    "rubric": (False, "strlist"),
    "weight": (False, "num"),
    "max_points": (False, "int"),
}
PACKAGE = {
    "name": (True, "str"),
    "description": (False, "str"),
    "type": (False, "str"),
    "language": (False, "str"),
    "duration_minutes": (False, "int"),
    "expires_after_days": (False, "int"),
    "active": (False, "bool"),
    "questions": (False, [QUESTION]),
}
STAGE_MAPPING = {
    "job": (False, "str"),
    "stage": (True, "str"),
    "sub_status": (False, "str"),
    "package": (True, "str"),
    "active": (False, "bool"),
    "advance_threshold": (False, "int"),
    "advance_to_stage": (False, "str"),
    "fail_threshold": (False, "int"),
    "fail_to_stage": (False, "str"),
    "reinvite_on_reentry": (False, "bool"),
}
CONNECTION = {
    "provider": (True, "str"),
    "name": (False, "str"),
    "remote_account_id": (True, "str"),
    "api_base_url": (False, "str"),
    "region": (False, "str"),
    "status": (False, "str"),
    "sync_enabled": (False, "bool"),
    "credentials": (False, "strdict"),
    "stage_mappings": (False, [STAGE_MAPPING]),
}
TENANT_USER = {
    "email": (True, "str"),
    "password": (False, "str"),
    "role": (False, "str"),
    "name": (False, "str"),
}
TENANT = {
    "slug": (True, "str"),
    "name": (True, "str"),
    "region": (False, "str"),
    "retention_days": (False, "int"),
    "active": (False, "bool"),
    "users": (False, [TENANT_USER]),
    "packages": (False, [PACKAGE]),
    "connections": (False, [CONNECTION]),
}
STAFF_USER = {
    "email": (True, "str"),
    "password": (False, "str"),
    "name": (False, "str"),
    "superuser": (False, "bool"),
}
DOCUMENT = {"users": (False, [STAFF_USER]), "tenants": (False, [TENANT])}

_TYPES = {"str": str, "int": int, "bool": bool, "list": list, "dict": dict}


def _check(value: Any, schema: dict, path: str, errors: list[str]) -> None:
    if not isinstance(value, dict):
        errors.append(f"{path or 'document'}: expected a mapping, got {type(value).__name__}")
        return
    for key in value:
        if key not in schema:
            errors.append(f"{path + '.' if path else ''}{key}: unknown key (allowed: {', '.join(sorted(schema))})")
    for key, (required, kind) in schema.items():
        where = f"{path + '.' if path else ''}{key}"
        if key not in value:
            if required:
                errors.append(f"{where}: required")
            continue
        item = value[key]
        if isinstance(kind, list):
            if not isinstance(item, list):
                errors.append(f"{where}: expected a list")
                continue
            for i, element in enumerate(item):
                _check(element, kind[0], f"{where}[{i}]", errors)
        elif kind == "num":
            if isinstance(item, bool) or not isinstance(item, int | float | str):
                errors.append(f"{where}: expected a number")
            else:
                try:
                    Decimal(str(item))
                except InvalidOperation:
                    errors.append(f"{where}: expected a number")
        elif kind == "strlist":
            if not isinstance(item, list) or not all(isinstance(x, str) for x in item):
                errors.append(f"{where}: expected a list of strings")
        elif kind == "strdict":
            if not isinstance(item, dict) or not all(isinstance(v, str) for v in item.values()):
                errors.append(f"{where}: expected a mapping of strings")
        elif kind == "int" and (isinstance(item, bool) or not isinstance(item, int) or item < 0):
            errors.append(f"{where}: expected a whole number >= 0")
        elif kind != "int" and not isinstance(item, _TYPES[kind]):
            errors.append(f"{where}: expected {kind}, got {type(item).__name__}")
        elif kind == "str" and not item.strip() and required:
            errors.append(f"{where}: must not be empty")


def _choice(value: str | None, choices, where: str, errors: list[str]) -> None:
    allowed = [c for c in choices]
    if value is not None and value not in allowed:
        errors.append(f"{where}: {value!r} is not one of {', '.join(allowed)}")


def _check_values(doc: dict, errors: list[str]) -> None:
    """Checks beyond shape: choices, e-mails, slugs, URLs, cross references, duplicates."""
    url = URLValidator(schemes=["http", "https"])
    seen_accounts: set[tuple[str, str]] = set()
    for i, user in enumerate(doc.get("users", [])):
        _email(user.get("email"), f"users[{i}].email", errors)
    slugs: set[str] = set()
    for t, tenant in enumerate(doc.get("tenants", [])):
        where = f"tenants[{t}]"
        try:
            validate_slug(tenant["slug"])
        except ValidationError:
            errors.append(f"{where}.slug: {tenant['slug']!r} is not a valid slug")
        if tenant["slug"] in slugs:
            errors.append(f"{where}.slug: {tenant['slug']!r} appears twice")
        slugs.add(tenant["slug"])
        _choice(tenant.get("region"), Region.values, f"{where}.region", errors)
        for u, user in enumerate(tenant.get("users", [])):
            _email(user.get("email"), f"{where}.users[{u}].email", errors)
            _choice(user.get("role"), Role.values, f"{where}.users[{u}].role", errors)
        names: set[str] = set()
        for p, package in enumerate(tenant.get("packages", [])):
            _choice(package.get("type"), PackageType.values, f"{where}.packages[{p}].type", errors)
            if package["name"] in names:
                errors.append(f"{where}.packages[{p}].name: {package['name']!r} appears twice")
            names.add(package["name"])
        known_packages = names | set(
            Package.objects.filter(tenant__slug=tenant["slug"]).values_list("name", flat=True)
        )
        for c, conn in enumerate(tenant.get("connections", [])):
            cw = f"{where}.connections[{c}]"
            if conn["provider"] not in provider_names():
                errors.append(f"{cw}.provider: {conn['provider']!r} is not one of {', '.join(provider_names()) or '(none)'}")
            _choice(conn.get("status"), ConnectionStatus.values, f"{cw}.status", errors)
            _choice(conn.get("region"), Region.values, f"{cw}.region", errors)
            if conn.get("api_base_url"):
                try:
                    url(conn["api_base_url"])
                except ValidationError:
                    errors.append(f"{cw}.api_base_url: {conn['api_base_url']!r} is not an http(s) URL")
            account = (conn["provider"], conn["remote_account_id"])
            if account in seen_accounts:
                errors.append(f"{cw}.remote_account_id: {account[1]!r} appears twice for {account[0]}")
            seen_accounts.add(account)
            owner = Connection.objects.filter(provider=account[0], remote_account_id=account[1]).exclude(
                tenant__slug=tenant["slug"]
            )
            if owner.exists():
                errors.append(f"{cw}.remote_account_id: {account[1]!r} is already connected to another tenant")
            for m, mapping in enumerate(conn.get("stage_mappings", [])):
                if mapping["package"] not in known_packages:
                    errors.append(f"{cw}.stage_mappings[{m}].package: no package named {mapping['package']!r}")
                for name in ("advance_threshold", "fail_threshold"):
                    threshold = mapping.get(name)
                    if threshold is not None and not 0 <= threshold <= 100:
                        errors.append(f"{cw}.stage_mappings[{m}].{name}: must be 0-100")


def _email(value, where: str, errors: list[str]) -> None:
    try:
        validate_email(value)
    except ValidationError:
        errors.append(f"{where}: {value!r} is not an e-mail address")


def config_load(path: Path) -> dict:
    text = path.read_text()
    try:
        doc = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ConfigError([f"{path.name}: not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {exc}"]) from exc
    return doc if doc is not None else {}


def config_validate(doc: Any) -> None:
    errors: list[str] = []
    _check(doc, DOCUMENT, "", errors)
    if not errors:
        _check_values(doc, errors)
    if errors:
        raise ConfigError(errors)


# --- apply ----------------------------------------------------------------------------------------
def _sync(obj, values: dict, report: ApplyReport, label: str) -> None:
    """Save ``obj`` only when a value differs, so a second run writes nothing."""
    if obj.pk is None:
        for key, value in values.items():
            setattr(obj, key, value)
        obj.save()
        report.created.append(label)
        return
    changed = [key for key, value in values.items() if getattr(obj, key) != value]
    if changed:
        for key in changed:
            setattr(obj, key, values[key])
        obj.save(update_fields=changed + (["updated_at"] if hasattr(obj, "updated_at") else []))
        report.updated.append(f"{label} ({', '.join(changed)})")
    else:
        report.unchanged += 1


def _user(spec: dict, report: ApplyReport, *, staff: bool, superuser: bool):
    User = get_user_model()
    email = spec["email"].lower()
    user = User.objects.filter(email__iexact=email).first() or User(username=email, email=email)
    first, _, last = spec.get("name", "").partition(" ")
    values = {"email": email, "first_name": first, "last_name": last, "is_active": True}
    if staff:
        values["is_staff"] = True
    if superuser:
        values["is_superuser"] = True
    password = spec.get("password")
    if user.pk is None:
        # A new user gets its password before its first save: one "created", never also "updated".
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        _sync(user, values, report, f"user {email}")
        return user
    _sync(user, values, report, f"user {email}")
    if password and not user.check_password(password):
        user.set_password(password)
        user.save(update_fields=["password"])
        report.updated.append(f"user {email} (password)")
    return user


def _package(tenant: Tenant, spec: dict, report: ApplyReport) -> Package:
    package = Package.objects.filter(tenant=tenant, name=spec["name"]).first() or Package(tenant=tenant)
    defaults = {
        "name": spec["name"],
        "description": spec.get("description", ""),
        "type": spec.get("type", PackageType.INTERVIEW),
        "language": spec.get("language", "en"),
        "duration_minutes": spec.get("duration_minutes", 30),
        "expires_after_days": spec.get("expires_after_days", 7),
        "active": spec.get("active", True),
    }
    _sync(package, defaults, report, f"package {tenant.slug}/{spec['name']}")
    if "questions" in spec:
        for position, q in enumerate(spec["questions"]):
            question = Question.objects.filter(package=package, position=position).first() or Question(
                package=package, position=position
            )
            values = {
                "text": q["text"],
                "rubric": q.get("rubric", []),
                "weight": Decimal(str(q.get("weight", 1))).quantize(Decimal("0.01")),
                "max_points": q.get("max_points", 10),
            }
            _sync(question, values, report, f"question {position + 1} of {package.name}")
        extra = Question.objects.filter(package=package, position__gte=len(spec["questions"]))
        removed = extra.count()
        if removed:
            extra.delete()
            report.updated.append(f"package {package.name} ({removed} questions removed)")
    return package


def _connection(tenant: Tenant, spec: dict, report: ApplyReport) -> Connection:
    conn = Connection.objects.filter(
        tenant=tenant, provider=spec["provider"], remote_account_id=spec["remote_account_id"]
    ).first() or Connection(tenant=tenant)
    credentials = dict(spec.get("credentials", {}))
    connection_token = credentials.pop("connection_token", None)
    values = {
        "provider": spec["provider"],
        "remote_account_id": spec["remote_account_id"],
        "name": spec.get("name", ""),
        "api_base_url": spec.get("api_base_url", ""),
        "region": spec.get("region", tenant.region),
        "sync_enabled": spec.get("sync_enabled", True),
        "credentials": credentials,
        "provider_key_hash": secret_hash(credentials["provider_key"]) if credentials.get("provider_key") else None,
    }
    if connection_token:
        values["connection_token_hash"] = secret_hash(connection_token)
    label = f"connection {tenant.slug}/{spec['provider']}/{spec['remote_account_id']}"
    created = conn.pk is None
    _sync(conn, values, report, label)
    # Status changes go through the one function that records them (who/what/why).
    status = spec.get("status", ConnectionStatus.ACTIVE)
    if conn.status != status:
        connection_status_set(connection=conn, status=status, actor="config:apply_config", reason="set by apply_config")
        if not created:
            report.updated.append(f"{label} (status)")
        if status == ConnectionStatus.ACTIVE:
            report.activated.append(conn)
    return conn


def _stage_mapping(conn: Connection, spec: dict, packages: dict[str, Package], report: ApplyReport) -> None:
    # Several packages may share a stage: a row is one (job, stage, sub-status, package).
    key = {
        "connection": conn,
        "remote_job_id": spec.get("job", ""),
        "remote_stage_id": spec["stage"],
        "remote_sub_status": spec.get("sub_status", ""),
        "package": packages[spec["package"]],
    }
    mapping = StageMapping.objects.filter(**key).first() or StageMapping(**key)
    values = {
        "active": spec.get("active", True),
        "advance_threshold": spec.get("advance_threshold"),
        "advance_to_stage_id": spec.get("advance_to_stage", ""),
        "fail_threshold": spec.get("fail_threshold"),
        "fail_to_stage_id": spec.get("fail_to_stage", ""),
        "reinvite_on_reentry": spec.get("reinvite_on_reentry", False),
    }
    _sync(mapping, values, report, f"stage mapping {conn.provider}/{key['remote_job_id'] or '*'}/{spec['stage']}")


def config_apply(*, doc: Any) -> ApplyReport:
    """Validate ``doc`` and apply it in one transaction; raises ``ConfigError`` with nothing applied."""
    config_validate(doc)
    report = ApplyReport()
    with transaction.atomic():
        for spec in doc.get("users", []):
            superuser = spec.get("superuser", False)
            _user(spec, report, staff=True, superuser=superuser)
        for spec in doc.get("tenants", []):
            tenant = Tenant.objects.filter(slug=spec["slug"]).first() or Tenant(slug=spec["slug"])
            _sync(
                tenant,
                {
                    "name": spec["name"],
                    "region": spec.get("region", Region.EU),
                    "retention_days": spec.get("retention_days", 90),
                    "active": spec.get("active", True),
                },
                report,
                f"tenant {spec['slug']}",
            )
            for user_spec in spec.get("users", []):
                user = _user(user_spec, report, staff=False, superuser=False)
                membership = Membership.objects.filter(user=user, tenant=tenant).first() or Membership(
                    user=user, tenant=tenant
                )
                _sync(membership, {"role": user_spec.get("role", Role.RECRUITER)}, report, f"membership {user.email}")
            packages = {p.name: p for p in Package.objects.filter(tenant=tenant)}
            for package_spec in spec.get("packages", []):
                packages[package_spec["name"]] = _package(tenant, package_spec, report)
            for conn_spec in spec.get("connections", []):
                conn = _connection(tenant, conn_spec, report)
                for mapping_spec in conn_spec.get("stage_mappings", []):
                    _stage_mapping(conn, mapping_spec, packages, report)
    # Connections this run made active get their first full sync (queued once the run committed),
    # as an activation in the ATS does: their jobs and pipeline show without waiting for the schedule.
    for conn in report.activated:
        sync_after_activation(connection=conn)
    return report
