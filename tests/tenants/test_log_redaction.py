"""Secrets in logs (issue 7 #5): candidate links, signed report links, query strings and HTTP Basic
user names never reach a log line we configure: Django's request warnings and our loggers (the
configured handler), the Celery worker's handlers, gunicorn's access and error logs, and the
console SMS / e-mail backends. Each test scans every captured line for the secrets it sent."""

import io
import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db import connection as db

from assessments.mail import MaskedConsoleEmailBackend
from assessments.sms import ConsoleSmsBackend

ROOT = Path(__file__).resolve().parents[2]
CANDIDATE_TOKEN = "Cand1dateT0ken-SECRET_abcdefghijklmnop"
REPORT_SIGNED = signing.dumps({"assessment": 1}, salt="x") + "SECRETreport"
QUERY_TOKEN = "one-time-connection-token-SECRET-9f8e7d"
BASIC_USER = "acme-slug-SECRETuser"
SECRETS = [CANDIDATE_TOKEN, REPORT_SIGNED, REPORT_SIGNED.split(":")[0], QUERY_TOKEN, BASIC_USER]

# Counted over the whole module and printed at the end: the figure for the report.
SCANNED = {"lines": 0}


def _scan(text: str) -> list[str]:
    lines = [line for line in text.splitlines() if line.strip()]
    SCANNED["lines"] += len(lines)
    return [line for line in lines if any(secret in line for secret in SECRETS)]




@pytest.mark.django_db
def test_django_request_warnings_and_our_loggers_carry_no_secret(client, configured_log):
    assert client.get(f"/i/{CANDIDATE_TOKEN}/").status_code == 404
    assert client.get(f"/r/{REPORT_SIGNED}/").status_code in (403, 404, 410)
    client.get(f"/teamtailor/activation/validate?connection_token={QUERY_TOKEN}")
    client.get(f"/no-such-page?token={QUERY_TOKEN}")
    ours = logging.getLogger("integrations.teamtailor.views")
    ours.warning("link http://127.0.0.1:8000/i/%s/questions/ from %s", CANDIDATE_TOKEN, f"/x?token={QUERY_TOKEN}")
    ours.info("report https://stagehook.example.com/r/%s/", REPORT_SIGNED)
    ours.info("Authorization: Basic %s", "YWNtZS1zbHVnLVNFQ1JFVHVzZXI6c2hrX3g=")
    try:
        raise ValueError(f"cannot open /i/{CANDIDATE_TOKEN}/")
    except ValueError:
        ours.exception("a traceback with the link")
    ConsoleSmsBackend().send(to="+46701234567", body=f"Your interview: https://jobs.example/i/{CANDIDATE_TOKEN}/")

    written = configured_log.getvalue()
    assert _scan(written) == []
    assert "Not Found: /i/[redacted]/" in written  # Django's warning is there, redacted
    assert "?[redacted]" in written and "Basic [redacted]" in written
    assert "ValueError: cannot open /i/[redacted]/" in written
    assert "SMS to +46*******67: Your interview: https://jobs.example/…" in written


def test_the_console_email_backend_masks_links():
    stream = io.StringIO()
    message = EmailMultiAlternatives(
        "Your interview", f"Open https://jobs.example/i/{CANDIDATE_TOKEN}/ to start." + " long line" * 20,
        "from@example.com", ["ada@example.com"],
    )
    message.attach_alternative(f'<a href="https://jobs.example/i/{CANDIDATE_TOKEN}/">Start</a>', "text/html")
    MaskedConsoleEmailBackend(stream=stream).send_messages([message])
    assert _scan(stream.getvalue()) == []
    assert "https://jobs.example/…" in stream.getvalue()


def test_the_celery_worker_handlers_redact(tmp_path):
    code = (
        "import logging; from config.celery import app; "
        "app.log.setup_logging_subsystem(loglevel='INFO', colorize=False); "
        f"logging.getLogger('assessments.tasks').info('sent http://h/i/{CANDIDATE_TOKEN}/ ?t={QUERY_TOKEN}'); "
        f"app.log.get_default_logger().info('worker /r/{REPORT_SIGNED}/')"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "STAGEHOOK_VAR_DIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    assert "sent http://h/i/[redacted]/" in output and "worker /r/[redacted]/" in output
    assert _scan(output) == []


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.django_db
def test_gunicorn_access_and_error_logs_carry_no_secret(tmp_path):
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ, "DATABASE_URL": _test_database_url(), "STAGEHOOK_VAR_DIR": str(tmp_path),
        "GUNICORN_BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "1", "STATIC_MANIFEST": "off",
    }
    log = (tmp_path / "gunicorn.log").open("w+")
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "-c", "config/gunicorn.conf.py"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(base + "/healthz", timeout=5).status_code == 200:
                    break
            except (requests.ConnectionError, requests.Timeout):
                pass
            assert time.monotonic() < deadline and server.poll() is None, "gunicorn did not start"
            time.sleep(0.1)
        sent = [
            requests.get(f"{base}/i/{CANDIDATE_TOKEN}/", timeout=10),
            requests.get(f"{base}/r/{REPORT_SIGNED}/", timeout=10),
            requests.get(f"{base}/teamtailor/activation/validate?connection_token={QUERY_TOKEN}", timeout=10),
            requests.post(f"{base}/api/v1/packages/list", auth=(BASIC_USER, "shk_x.y"), json={}, timeout=10),
            requests.get(f"{base}/healthz", headers={"Referer": f"{base}/i/{CANDIDATE_TOKEN}/?t={QUERY_TOKEN}"}, timeout=10),
        ]
        assert [r.status_code for r in sent][3] == 401
    finally:
        server.terminate()
        server.wait(timeout=30)
    log.seek(0)
    written = log.read()
    access_lines = [line for line in written.splitlines() if '" ' in line and "HTTP/1.1" in line]
    assert len(access_lines) >= 1 + len(sent), written
    assert _scan(written) == [], written
    assert f'"GET /i/[redacted]/ HTTP/1.1"' in written
    assert "/teamtailor/activation/validate?[redacted]" in written


def _test_database_url() -> str:
    s = db.settings_dict
    return f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def test_zz_report_lines_scanned():
    print(f"\nlog lines scanned for secrets: {SCANNED['lines']}")
    assert SCANNED["lines"] > 0


@pytest.mark.parametrize("text", [
    "127.0.0.1", "-", "[01/Dec/2026:23:18:51 +0000]", "POST /teamtailor/webhook HTTP/1.1", "200", "python-requests/2.32",
    "GET /i/Cand1dateT0ken/ HTTP/1.1", "GET /r/abc:def.ghi HTTP/1.1", "/i/", "GET /app/?next=/x HTTP/1.1", "?",
    "Authorization: Bearer abc.def", "basic   dXNlcjpwdw==", "TOKEN x", "Baſic dXNlcjpwdw==", "to\u212aen secret",
    "https://user:pw@example.com/", "https://example.com/path", "a /ir/ b", "mail me at a@b.c", "",
])
def test_redacting_with_the_quick_check_changes_exactly_what_every_pattern_changes(text):
    """``redact`` skips a line none of its patterns matches (one search instead of one substitution
    per pattern): the result is always the patterns' own, case-folded spellings included."""
    from config import logredact

    expected = text
    for pattern, replacement in logredact._PATTERNS:
        expected = pattern.sub(replacement, expected)
    assert logredact.redact(text) == expected
