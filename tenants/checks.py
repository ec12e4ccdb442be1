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
    if settings.SMS_BACKEND in _LOCAL_SMS_BACKENDS:
        errors.append(
            Error(
                f"SMS_BACKEND is {settings.SMS_BACKEND}: text messages would not reach candidates.",
                hint="Set SMS_BACKEND=assessments.sms.HttpSmsBackend with SMS_HTTP_URL and SMS_HTTP_TOKEN.",
                id="stagehook.E007",
            )
        )
    elif settings.SMS_BACKEND == "assessments.sms.HttpSmsBackend" and not settings.SMS_HTTP_URL:
        errors.append(Error("SMS_HTTP_URL is empty: the HTTP SMS backend has nowhere to send.", id="stagehook.E008"))
    if settings.EMAIL_BACKEND in _LOCAL_EMAIL_BACKENDS:
        errors.append(
            Error(
                f"EMAIL_BACKEND is {settings.EMAIL_BACKEND}: invitations would not reach candidates.",
                hint="Set EMAIL_URL to your SMTP server (smtp+tls://user:pass@host:587).",
                id="stagehook.E009",
            )
        )
    return errors


# Backends that print, keep in memory or write files: for a developer's machine only.
_LOCAL_SMS_BACKENDS = {"assessments.sms.ConsoleSmsBackend", "assessments.sms.LocmemSmsBackend"}
_LOCAL_EMAIL_BACKENDS = {
    "assessments.mail.MaskedConsoleEmailBackend",
    "django.core.mail.backends.console.EmailBackend",
    "django.core.mail.backends.filebased.EmailBackend",
    "django.core.mail.backends.locmem.EmailBackend",
    "django.core.mail.backends.dummy.EmailBackend",
}
