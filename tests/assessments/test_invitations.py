"""Invitations: e-mail and SMS content, the SMS backends, failures (recorded, retried, or failing
the assessment) and the 24-hour reminder."""

import json
import logging
import re
import smtplib
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.utils import timezone

from assessments import sms
from config.celery import app as celery_app
from assessments.models import Assessment, AssessmentEvent, Status
from assessments.selectors import assessment_get_by_token
from assessments.services import CandidateSnapshot, assessment_order, assessment_remind
from assessments.sms import HttpSmsBackend, SmsPermanentError, SmsTemporaryError, phone_normalize
from assessments.tasks import INVITATION_MAX_RETRIES, send_invitation, send_reminders
from tests.factories import AssessmentFactory, PackageFactory

LINK_RE = re.compile(r"https://jobs\.example/i/([A-Za-z0-9_-]+)/")


# --- e-mail backends standing in for a mail server (the client boundary) -------------------------


class RefusingBackend(LocmemBackend):
    def send_messages(self, messages):
        raise smtplib.SMTPRecipientsRefused({m.to[0]: (550, b"5.1.1 user unknown") for m in messages})


class DownBackend(LocmemBackend):
    def send_messages(self, messages):
        raise smtplib.SMTPServerDisconnected("connection lost")


class FlakyBackend(LocmemBackend):
    """Fails the first ``failures`` sends, then delivers."""

    failures = 2
    calls = 0

    def send_messages(self, messages):
        type(self).calls += 1
        if type(self).calls <= type(self).failures:
            raise ConnectionRefusedError("mail server down")
        return super().send_messages(messages)


@pytest.fixture(autouse=True)
def _setup(settings):
    settings.SITE_URL = "https://jobs.example"
    settings.SMS_BACKEND = "assessments.sms.LocmemSmsBackend"
    sms.outbox.clear()
    FlakyBackend.calls = 0
    yield
    sms.outbox.clear()


@pytest.fixture
def worker_semantics():
    """Eager tasks that retry like a worker instead of raising Retry into the caller."""
    celery_app.conf.task_eager_propagates = False  # restored by the conftest fixture


@pytest.fixture
def order(django_capture_on_commit_callbacks):
    def make(*, email="ada@example.com", phone="", package=None, **kwargs):
        package = package or PackageFactory(tenant__name="Acme Corp", name="Backend interview", duration_minutes=25)
        with django_capture_on_commit_callbacks(execute=True):
            assessment, _ = assessment_order(
                tenant=package.tenant, package=package, mode="order", actor="test",
                candidate=CandidateSnapshot(first_name="Ada", last_name="Lovelace", email=email, phone=phone),
                **kwargs,
            )
        assessment.refresh_from_db()
        return assessment

    return make


# --- content ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_email_invitation_content(order):
    deadline = timezone.now().replace(microsecond=0) + timedelta(days=5)
    assessment = order(expires_at=deadline, remote_job_title="Platform Engineer")
    assert assessment.status == Status.INVITED
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ada@example.com"]
    assert "Acme Corp" in message.subject and "Backend interview" in message.subject
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    token = LINK_RE.search(message.body).group(1)
    link = f"https://jobs.example/i/{token}/"
    deadline_text = deadline.strftime("%-d %B %Y, %H:%M")
    for text in (message.body, html):
        assert link in text
        assert "Acme Corp" in text
        assert "Backend interview" in text
        assert "Platform Engineer" in text
        assert "25 minutes" in text
        assert deadline_text in text
    assert assessment_get_by_token(token=token).pk == assessment.pk
    assert sms.outbox == []


@pytest.mark.django_db
def test_html_is_escaped(order):
    package = PackageFactory(tenant__name="<script>x</script> & Co", name="Interview")
    order(package=package)
    html = mail.outbox[0].alternatives[0][0]
    assert "<script>x</script>" not in html
    assert "&lt;script&gt;" in html
    assert "<script>x</script> & Co" in mail.outbox[0].subject


@pytest.mark.django_db
def test_sms_only_candidate_gets_a_text(order):
    assessment = order(email="", phone="+46 (70) 123-45-67")
    assert assessment.status == Status.INVITED
    assert mail.outbox == []
    assert len(sms.outbox) == 1
    assert sms.outbox[0]["to"] == "+46701234567"
    token = LINK_RE.search(sms.outbox[0]["body"]).group(1)
    assert assessment_get_by_token(token=token).pk == assessment.pk
    assert "Acme Corp" in sms.outbox[0]["body"]


@pytest.mark.django_db
def test_both_channels_carry_the_same_link(order):
    order(phone="+14155550100")
    assert LINK_RE.search(mail.outbox[0].body).group(1) == LINK_RE.search(sms.outbox[0]["body"]).group(1)


def test_phone_normalize():
    assert phone_normalize("0046 70 123 45 67") == "+46701234567"
    for bad in ("", "12", "call me", "+0 123 456"):
        with pytest.raises(SmsPermanentError):
            phone_normalize(bad)


# --- failures -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_refused_address_fails_the_assessment_with_the_reason(order, settings):
    settings.EMAIL_BACKEND = "tests.assessments.test_invitations.RefusingBackend"
    assessment = order()
    assert assessment.status == Status.FAILED
    assert "refused" in assessment.status_reason
    assert "ada@example.com" not in assessment.status_reason
    assert assessment.token_hash is None  # the rotation was rolled back with the failed send
    assert assessment.events.filter(to_status=Status.FAILED).exists()


@pytest.mark.django_db
def test_invalid_email_fails_without_sending(order):
    assessment = order(email="not-an-address")
    assert assessment.status == Status.FAILED
    assert "invalid e-mail address" in assessment.status_reason
    assert mail.outbox == []


@pytest.mark.django_db
def test_temporary_failures_are_recorded_and_retried(order, settings, worker_semantics):
    settings.EMAIL_BACKEND = "tests.assessments.test_invitations.FlakyBackend"
    assessment = order()
    assert assessment.status == Status.INVITED
    assert FlakyBackend.calls == 3
    notes = list(AssessmentEvent.objects.filter(assessment=assessment, note__contains="will retry").values_list("note", flat=True))
    assert len(notes) == 2
    assert all("mail server unreachable" in n for n in notes)
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_retries_run_out_then_the_assessment_fails(order, settings, worker_semantics):
    settings.EMAIL_BACKEND = "tests.assessments.test_invitations.DownBackend"
    assessment = order()
    assert assessment.status == Status.FAILED
    assert f"after {INVITATION_MAX_RETRIES + 1} attempts" in assessment.status_reason
    assert AssessmentEvent.objects.filter(assessment=assessment, note__contains="will retry").count() == INVITATION_MAX_RETRIES + 1


@pytest.mark.django_db
def test_one_channel_reaching_the_candidate_is_enough(order):
    assessment = order(email="ada@example.com", phone="nonsense")
    assert assessment.status == Status.INVITED
    assert len(mail.outbox) == 1
    assert assessment.events.filter(note__contains="sms: invalid phone number").exists()


@pytest.mark.django_db
def test_a_redelivered_task_sends_nothing_twice(order):
    assessment = order()
    send_invitation.delay(assessment.pk)
    send_invitation.delay(assessment.pk)
    assert len(mail.outbox) == 1
    assert assessment.events.filter(to_status=Status.INVITED).count() == 1


@pytest.mark.django_db
def test_task_for_a_deleted_assessment_is_harmless(caplog):
    caplog.set_level(logging.INFO, logger="assessments.tasks")
    texts_before = len(sms.outbox)
    result = send_invitation.delay(987654321)
    assert result.successful()  # no exception, no retry
    assert mail.outbox == [] and len(sms.outbox) == texts_before
    assert not Assessment.objects.exists()
    assert "send_invitation: assessment 987654321 no longer exists" in caplog.text


# --- the HTTP SMS backend against a real local HTTP server ----------------------------------------


class _Gateway(BaseHTTPRequestHandler):
    status = 202
    delay = 0.0
    requests: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).requests.append({"headers": dict(self.headers), "json": json.loads(body), "path": self.path})
        time.sleep(type(self).delay)
        try:
            self.send_response(type(self).status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b"{}")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client timed out first, as the timeout test intends

    def log_message(self, *args):
        pass


@pytest.fixture
def gateway(settings):
    _Gateway.status, _Gateway.delay, _Gateway.requests = 202, 0.0, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.SMS_BACKEND = "assessments.sms.HttpSmsBackend"
    settings.SMS_HTTP_URL = f"http://127.0.0.1:{server.server_port}/v1/messages"
    settings.SMS_HTTP_TOKEN = "sms-secret"
    settings.SMS_FROM = "Acme"
    yield _Gateway
    server.shutdown()
    server.server_close()


@pytest.mark.django_db
def test_http_backend_posts_json_with_bearer(gateway, order):
    assessment = order(email="", phone="+14155550100")
    assert assessment.status == Status.INVITED
    (request,) = gateway.requests
    assert request["path"] == "/v1/messages"
    assert request["headers"]["Authorization"] == "Bearer sms-secret"
    assert request["json"]["to"] == "+14155550100"
    assert request["json"]["from"] == "Acme"
    assert LINK_RE.search(request["json"]["body"])


@pytest.mark.django_db
def test_http_backend_refused_number_fails_the_assessment(gateway, order):
    gateway.status = 422
    assessment = order(email="", phone="+14155550100")
    assert assessment.status == Status.FAILED
    assert "422" in assessment.status_reason


def test_http_backend_errors_are_classified(gateway):
    backend = HttpSmsBackend(timeout=0.5)
    for status in (500, 503, 429, 401):
        gateway.status = status
        with pytest.raises(SmsTemporaryError):
            backend.send(to="+14155550100", body="hi")
    gateway.status, gateway.delay = 200, 2.0
    with pytest.raises(SmsTemporaryError, match="unreachable"):
        backend.send(to="+14155550100", body="hi")
    with pytest.raises(SmsTemporaryError):
        HttpSmsBackend(url="").send(to="+1", body="x")


# --- reminders ----------------------------------------------------------------------------------


def _invited_days_ago(assessment, days=3):
    Assessment.objects.filter(pk=assessment.pk).update(invited_at=timezone.now() - timedelta(days=days))


@pytest.mark.django_db
def test_reminder_24_hours_before_expiry_once(order):
    assessment = order(expires_at=timezone.now() + timedelta(hours=20))
    _invited_days_ago(assessment)
    first_token = LINK_RE.search(mail.outbox[0].body).group(1)
    assert send_reminders.delay().get() == 1
    assert len(mail.outbox) == 2
    reminder = mail.outbox[1]
    assert reminder.subject.startswith("Reminder:")
    new_token = LINK_RE.search(reminder.body).group(1)
    assert assessment_get_by_token(token=new_token).pk == assessment.pk
    assert assessment_get_by_token(token=first_token) is None
    assessment.refresh_from_db()
    assert assessment.reminded_at is not None
    assert send_reminders.delay().get() == 0
    assert len(mail.outbox) == 2


@pytest.mark.django_db
def test_no_reminder_when_not_due_started_or_expired(order):
    _invited_days_ago(order(expires_at=timezone.now() + timedelta(hours=30)))  # not yet within 24 h
    order(expires_at=timezone.now() + timedelta(hours=20))  # invited just now: the invitation is fresh
    long_ago = timezone.now() - timedelta(days=5)
    started = AssessmentFactory(status=Status.IN_PROGRESS, invited_at=long_ago, expires_at=timezone.now() + timedelta(hours=2))
    past = AssessmentFactory(status=Status.INVITED, invited_at=long_ago, expires_at=timezone.now() - timedelta(hours=1))
    mail.outbox.clear()
    assert send_reminders.delay().get() == 0
    assert mail.outbox == []
    assert assessment_remind(assessment_id=started.pk) is None
    assert assessment_remind(assessment_id=past.pk) is None


@pytest.mark.django_db
def test_reminder_temporary_failure_is_retried_by_the_next_sweep(order, settings):
    assessment = order(expires_at=timezone.now() + timedelta(hours=10))
    _invited_days_ago(assessment)
    settings.EMAIL_BACKEND = "tests.assessments.test_invitations.DownBackend"
    assert send_reminders.delay().get() == 0
    assessment.refresh_from_db()
    assert assessment.reminded_at is None and assessment.status == Status.INVITED
    assert assessment.events.filter(note__contains="reminder not delivered").exists()
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert send_reminders.delay().get() == 1
