"""Deploy checks: refuse settings that are only safe on a developer's machine."""

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def check_production_secrets(app_configs, **kwargs):
    errors = []
    if not settings.FIELD_ENCRYPTION_KEYS_FROM_ENV:
        errors.append(
            Error(
                "FIELD_ENCRYPTION_KEYS is not set: secrets at rest would use a key derived from SECRET_KEY.",
                hint="Set FIELD_ENCRYPTION_KEYS to one or more Fernet keys, newest first.",
                id="stagehook.E001",
            )
        )
    if settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        errors.append(
            Error("DATABASE_URL points at SQLite.", hint="Use PostgreSQL in production.", id="stagehook.E002")
        )
    if settings.CELERY_BROKER_URL.startswith(("filesystem://", "memory://")):
        errors.append(
            Error(
                "CELERY_BROKER_URL needs no server: workers on other machines cannot see its queue.",
                hint="Use Redis or RabbitMQ in production.",
                id="stagehook.E003",
            )
        )
    if settings.CELERY_TASK_ALWAYS_EAGER:
        errors.append(Error("CELERY_TASK_ALWAYS_EAGER is on.", id="stagehook.E004"))
    if settings.DEPLOYMENT_REGION not in {"eu", "us", "au"}:
        errors.append(Error("DEPLOYMENT_REGION must be eu, us or au.", id="stagehook.E005"))
    if getattr(settings, "BEHIND_TLS_PROXY", False) and not (
        settings.ALLAUTH_TRUSTED_PROXY_COUNT > 0 or settings.ALLAUTH_TRUSTED_CLIENT_IP_HEADER
    ):
        errors.append(
            Error(
                "BEHIND_TLS_PROXY is on but allauth trusts no proxy: every client has the proxy's IP, so "
                "failed logins by anyone lock out everyone.",
                hint="Set ALLAUTH_TRUSTED_PROXY_COUNT to the number of proxies in front of Stagehook "
                "(or ALLAUTH_TRUSTED_CLIENT_IP_HEADER to the header the proxy sets).",
                id="stagehook.E006",
            )
        )
    return errors
