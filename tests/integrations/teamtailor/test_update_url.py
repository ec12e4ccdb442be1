"""An update-url off the allow-list is refused at intake (issue 7.9): a plain-text error Teamtailor
shows on the card, nobody invited, the event kept as failed with why."""

import json

import pytest
from django.core import mail

from assessments.models import Assessment
from integrations.http import host_allowed
from integrations.models import WebhookEvent
from integrations.webhooks import webhook_event_process

from .conftest import SIGNED_EVENT_ID, partner_body, partner_headers, post_json

pytestmark = pytest.mark.django_db

PATH = "/partner/v1/partner-results/1a6d5a41-f0dd-4226-9d3b-186392bea484"
# Every spelling of "not Teamtailor's EU API host" we know of.
OFF_LIST = {
    "another region": f"https://api.na.teamtailor.com{PATH}",
    "another ip": f"https://10.0.0.5{PATH}",
    "decimal ip": f"https://2130706433{PATH}",
    "hex ip": f"https://0x7f000001{PATH}",
    "octal ip": f"https://0177.0.0.1{PATH}",
    "ipv6 mapped": f"https://[::ffff:127.0.0.1]{PATH}",
    "userinfo": f"https://api.teamtailor.com@evil.example{PATH}",
    "userinfo with port": f"https://api.teamtailor.com:443@evil.example{PATH}",
    "userinfo and password": f"https://user:pw@api.teamtailor.com{PATH}",
    "backslash userinfo": f"https://evil.example\\@api.teamtailor.com{PATH}",
    "fragment trick": f"https://evil.example#@api.teamtailor.com{PATH}",
    "suffix domain": f"https://api.teamtailor.com.evil.example{PATH}",
    "tab inside host": f"https://api.teamtailor.com\t.evil.example{PATH}",
    "percent-encoded dot": f"https://api%2eteamtailor.com{PATH}",
    "fullwidth dot": f"https://api\uff0eteamtailor.com{PATH}",
    "trailing dot": f"https://api.teamtailor.com.{PATH}",
    "plain http": f"http://api.teamtailor.com{PATH}",
    "scheme-relative": f"//api.teamtailor.com{PATH}",
    "javascript": "javascript:alert(1)",
    "no host": "https:///partner/v1/partner-results/1",
}


def _post(client, update_url):
    body = partner_body(_post.reference_fixtures, package_id=_post.package.pk, event_id=SIGNED_EVENT_ID,
                        update_url=update_url)
    return post_json(client, "/teamtailor/webhook", json.dumps(body).encode(), **partner_headers(event_id=SIGNED_EVENT_ID))


@pytest.fixture(autouse=True)
def _context(reference_fixtures, package, connection, settings):
    settings.ATS_EXTRA_ALLOWED_HOSTS = ["127.0.0.1"]
    _post.reference_fixtures, _post.package = reference_fixtures, package


@pytest.mark.parametrize("name", OFF_LIST, ids=list(OFF_LIST))
def test_host_allowed_refuses_every_spelling(name, settings):
    assert not host_allowed(OFF_LIST[name], ["api.teamtailor.com"], extra_hosts=settings.ATS_EXTRA_ALLOWED_HOSTS)


def test_the_regions_host_in_any_case_and_the_dev_host_are_allowed(settings):
    assert host_allowed(f"https://API.Teamtailor.com{PATH}", ["api.teamtailor.com"])
    assert host_allowed(f"http://127.0.0.1:8101{PATH}", [], extra_hosts=["127.0.0.1"])
    assert not host_allowed(f"http://2130706433:8101{PATH}", [], extra_hosts=["127.0.0.1"])


@pytest.mark.parametrize("name", OFF_LIST, ids=list(OFF_LIST))
def test_an_off_list_update_url_is_refused_at_intake_and_recorded(client, name, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(client, OFF_LIST[name])
    assert response.status_code == 422
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    assert "no interview was sent" in text and "{" not in text
    assert Assessment.objects.count() == 0 and len(mail.outbox) == 0
    event = WebhookEvent.objects.get()
    assert (event.status, event.error_code) == ("failed", "HOST_NOT_ALLOWED")
    assert 'update-url host "' in event.error and "is not a Teamtailor API host" in event.error
    assert "\t" not in event.error and "\n" not in event.error

    # Teamtailor (or an attacker) sending it again: the same answer, still nothing ordered.
    again = _post(client, OFF_LIST[name])
    assert again.status_code == 422 and WebhookEvent.objects.count() == 1
    # And an admin's "reprocess" cannot order it either.
    WebhookEvent.objects.filter(pk=event.pk).update(status="received")
    webhook_event_process(webhook_event_id=event.pk)
    event.refresh_from_db()
    assert (event.status, event.error_code) == ("failed", "HOST_NOT_ALLOWED")
    assert Assessment.objects.count() == 0


def test_the_regions_update_url_is_accepted(client):
    response = _post(client, f"https://api.teamtailor.com{PATH}")
    assert response.status_code == 200
    assert WebhookEvent.objects.get().status == "received"
