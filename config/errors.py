"""Answers of the machine entry points when no view answers: JSON, not Django's HTML pages.

``/api/...`` (DRF's ``{"detail": ...}``) and each registered ATS's ``/<provider>/...`` (the
``{"error": ...}`` of ``integrations.webhooks.json_error``) get JSON 404s and 500s; every other path
keeps Django's pages. ``get_only`` makes a GET endpoint answer other methods with a JSON 405.
"""

from __future__ import annotations

from functools import wraps

from django.http import HttpRequest, JsonResponse
from django.views import defaults

API_PREFIX = "/api/"


def _ats_prefixes() -> tuple[str, ...]:
    from integrations.providers import provider_names

    return tuple(f"/{name}/" for name in provider_names())


def _json_error(request: HttpRequest, status: int, message: str) -> JsonResponse | None:
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"detail": message}, status=status)
    if request.path.startswith(_ats_prefixes()):
        return JsonResponse({"error": message}, status=status)
    return None


def not_found(request: HttpRequest, exception=None):
    return _json_error(request, 404, "Not found.") or defaults.page_not_found(request, exception)


def server_error(request: HttpRequest):
    return _json_error(request, 500, "Server error.") or defaults.server_error(request)


def get_only(view):
    """GET (and HEAD) only; anything else is a JSON 405 naming the allowed methods."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs):
        if request.method not in ("GET", "HEAD"):
            response = JsonResponse({"detail": f'Method "{request.method}" not allowed.'}, status=405)
            response["Allow"] = "GET, HEAD"
            return response
        return view(request, *args, **kwargs)

    return wrapped
