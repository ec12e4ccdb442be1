"""Every registered provider's routes, mounted where its ``Provider`` declares them, so that
config/urls.py names no ATS: an ATS folder with ``urls`` / ``app_urls`` on its provider is
reachable as soon as its app is installed."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, include, path

from .providers import provider_all


def ats_urlpatterns() -> list[URLPattern | URLResolver]:
    """The routes ATS servers call: ``/<mount>/...`` (e.g. ``/teamtailor/webhook``)."""
    return [path(f"{p.mount}/", include(p.urls)) for p in provider_all() if p.urls]


def ats_app_urlpatterns() -> list[URLPattern | URLResolver]:
    """The tenant admins' pages of each ATS: ``/app/integrations/<mount>/``."""
    return [path(f"app/integrations/{p.mount}/", include(p.app_urls)) for p in provider_all() if p.app_urls]


def ats_connection_urlpatterns() -> list[URLPattern | URLResolver]:
    """Each ATS's pages of one connection: ``/app/connections/<connection_id>/<mount>/``."""
    return [path(f"app/connections/<int:connection_id>/{p.mount}/", include(p.connection_urls))
            for p in provider_all() if p.connection_urls]
