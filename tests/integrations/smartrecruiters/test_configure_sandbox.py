"""``smartrecruiters_configure`` against the sandbox, as ``make run``'s Procfile line runs it: our
URLs registered, and ``--wait`` bounded when SmartRecruiters cannot be reached."""

import socket
import time

import pytest
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_configure_registers_our_urls_with_the_sandbox(sandbox_server, settings, capsys):
    sandbox = sandbox_server("smartrecruiters")
    settings.ATS_EXTRA_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.SMARTRECRUITERS_API_BASE = sandbox.url
    settings.SMARTRECRUITERS_CLIENT_ID = sandbox.config.master_client_id
    settings.SMARTRECRUITERS_CLIENT_SECRET = sandbox.config.master_client_secret
    call_command("smartrecruiters_configure", "--wait", "5")
    held = sandbox.state.partner_configuration
    assert held["packageOrderUrl"] == f"{settings.SITE_URL}/smartrecruiters/packages/orders"
    assert held["oauthTokenUrl"] == f"{settings.SITE_URL}/smartrecruiters/oauth/token"
    assert "accepted" in capsys.readouterr().out


def test_wait_gives_up_at_its_deadline_with_the_error(settings):
    settings.ATS_EXTRA_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.SMARTRECRUITERS_API_BASE = f"http://127.0.0.1:{_closed_port()}"
    settings.SMARTRECRUITERS_CLIENT_ID, settings.SMARTRECRUITERS_CLIENT_SECRET = "id", "secret"
    started = time.monotonic()
    with pytest.raises(CommandError, match="SmartRecruiters answered"):
        call_command("smartrecruiters_configure", "--wait", "2")
    assert 1 <= time.monotonic() - started < 30
