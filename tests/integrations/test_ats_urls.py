"""ATS routes are mounted from the provider registry: config/urls.py names no ATS."""

from __future__ import annotations

from pathlib import Path

from django.urls import URLResolver, reverse

from integrations.ats_urls import ats_app_urlpatterns, ats_urlpatterns
from integrations.providers import Provider, provider_all, provider_register, provider_unregister


def test_every_provider_with_urls_is_mounted_under_its_name():
    mounted = {p.pattern._route for p in ats_urlpatterns()}
    for provider in provider_all():
        if provider.urls:
            assert f"{provider.mount}/" in mounted


def test_teamtailor_routes_keep_their_paths():
    assert reverse("teamtailor:webhook") == "/teamtailor/webhook"
    assert reverse("teamtailor:action", args=["resend"]) == "/teamtailor/actions/resend"
    assert reverse("teamtailor_app:settings") == "/app/integrations/teamtailor/"


def test_a_new_provider_declares_its_mount_and_gets_it():
    class Another(Provider):
        name = "anotherats"
        urls = "tests.integrations.urls"
        app_urls = "tests.integrations.urls"
        url_prefix = "another"

    provider_register(Another())
    try:
        ats = {p.pattern._route: p for p in ats_urlpatterns()}
        app = {p.pattern._route for p in ats_app_urlpatterns()}
        assert isinstance(ats["another/"], URLResolver)
        assert ats["another/"].urlconf_name.__name__ == "tests.integrations.urls"
        assert "app/integrations/another/" in app
    finally:
        provider_unregister("anotherats")


def test_config_urls_names_no_ats():
    source = (Path(__file__).resolve().parents[2] / "config" / "urls.py").read_text()
    for provider in provider_all():
        assert provider.name not in source
