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
    return errors
