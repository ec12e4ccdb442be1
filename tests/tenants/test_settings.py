"""Settings load from a clean environment, and the documented production environment is deploy-clean."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION_ENV = {
    "DATABASE_URL": "postgres://stagehook:secret@db.internal:5432/stagehook",
    "CELERY_BROKER_URL": "redis://redis.internal:6379/1",
    "REDIS_URL": "redis://redis.internal:6379/0",
    "SECRET_KEY": "x7%Lq2!vR9#mZ4@tY8^wK1&pB6*nD3(sF5)hJ0_gQe+uC-oA=iE",
    "ALLOWED_HOSTS": "stagehook.example.com",
    "SITE_URL": "https://stagehook.example.com",
    "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    "DEPLOYMENT_REGION": "eu",
    "EMAIL_URL": "smtp+tls://mailer:secret@smtp.example.com:587",
    "HTTPS_ONLY": "on",
    "BEHIND_TLS_PROXY": "on",
    "ALLAUTH_TRUSTED_PROXY_COUNT": "1",
    "SMS_BACKEND": "assessments.sms.HttpSmsBackend",
    "SMS_HTTP_URL": "https://sms.example.com/v1/messages",
    "SMS_HTTP_TOKEN": "sms-token",
    "TEAMTAILOR_PARTNER_WEBHOOK_SECRET": "x9Vq-partner-webhook-secret-from-teamtailor",
}


def _run(code_or_args: list[str], env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess:
    clean = {"PATH": os.environ["PATH"], "STAGEHOOK_VAR_DIR": str(tmp_path), **env}
    return subprocess.run(
        [sys.executable, *code_or_args], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120
    )


def test_settings_load_from_a_clean_environment_with_safe_local_defaults(tmp_path):
    code = (
        "import django, json; django.setup(); from django.conf import settings as s; "
        "print(json.dumps([s.DEBUG, s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL, s.EMAIL_BACKEND, "
        "s.DEPLOYMENT_REGION, s.ATS_EXTRA_ALLOWED_HOSTS, s.CELERY_TASK_ALWAYS_EAGER, s.CELERY_TASK_ACKS_LATE]))"
    )
    result = _run(["-c", code], {"DJANGO_SETTINGS_MODULE": "config.settings"}, tmp_path)
    assert result.returncode == 0, result.stderr
    debug, engine, broker, email, region, extra_hosts, eager, acks_late = __import__("json").loads(result.stdout)
    assert debug is False
    assert engine == "django.db.backends.sqlite3"
    assert broker == "filesystem://"
    assert email == "django.core.mail.backends.filebased.EmailBackend"
    assert region == "eu"
    assert extra_hosts == []
    assert eager is False
    assert acks_late is True


def test_check_deploy_is_clean_with_the_documented_production_environment(tmp_path):
    result = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], PRODUCTION_ENV, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    "override, error_id",
    [
        ({"FIELD_ENCRYPTION_KEYS": ""}, "stagehook.E001"),
        ({"DATABASE_URL": "sqlite:///x.sqlite3"}, "stagehook.E002"),
        ({"CELERY_BROKER_URL": "filesystem://"}, "stagehook.E003"),
        ({"TEAMTAILOR_PARTNER_WEBHOOK_SECRET": ""}, "stagehook.E020"),
        ({"TEAMTAILOR_ALLOW_UNSIGNED_PARTNER_CALLS": "on"}, "stagehook.E021"),
        ({"HTTPS_ONLY": "off"}, "security.W008"),
        ({"SECRET_KEY": ""}, "security.W009"),
        ({"ALLAUTH_TRUSTED_PROXY_COUNT": ""}, "stagehook.E006"),
        ({"SMS_BACKEND": ""}, "stagehook.E007"),  # the default: the console backend
        ({"SMS_BACKEND": "assessments.sms.ConsoleSmsBackend"}, "stagehook.E007"),
        ({"SMS_HTTP_URL": ""}, "stagehook.E008"),
        ({"EMAIL_URL": "consolemail://"}, "stagehook.E009"),
        ({"EMAIL_URL": ""}, "stagehook.E009"),  # the default: files under var/mail
    ],
)
def test_check_deploy_refuses_local_only_settings(tmp_path, override, error_id):
    env = {**PRODUCTION_ENV, **override}
    env = {key: value for key, value in env.items() if value}
    result = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env, tmp_path)
    assert result.returncode != 0
    assert error_id in result.stdout + result.stderr
