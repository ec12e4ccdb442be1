"""Load-balancer probes: /healthz says the process is up, /readyz that its dependencies answer."""

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from kombu import Connection as BrokerConnection


def healthz(request):
    return JsonResponse({"status": "ok"})


def _database_ok() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means "not ready"
        return type(exc).__name__
    return None


def _broker_ok() -> str | None:
    options = dict(settings.CELERY_BROKER_TRANSPORT_OPTIONS)
    options.setdefault("max_retries", 0)
    try:
        with BrokerConnection(settings.CELERY_BROKER_URL, connect_timeout=2, transport_options=options) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:  # kombu raises transport-specific errors
        return type(exc).__name__
    return None


def readyz(request):
    checks = {"database": _database_ok(), "broker": _broker_ok()}
    down = sorted(name for name, error in checks.items() if error)
    body = {
        "status": "ok" if not down else "unavailable",
        "down": down,
        "checks": {name: ("ok" if not error else f"down: {error}") for name, error in checks.items()},
    }
    return JsonResponse(body, status=200 if not down else 503)
