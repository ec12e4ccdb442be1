"""The SmartRecruiters sandbox's scenarios as ``manage.py sandbox smartrecruiters <verb>`` runs them
(consent, order, move, results, deliveries, seed), and ``run_sandbox smartrecruiters``."""

import io
import subprocess
import sys
import time

import pytest
import requests
from django.core.management import call_command

from .fake_stagehook import integrated, sr, stagehook  # noqa: F401  (fixtures)
from .sandbox_handle import PARTNER

ADA = "0c9b1e3e-5c52-4b1e-9f3d-6d1f0a7b2c44"
JOB = "3fd6cba7-2ad1-4f8b-a8d5-5a1b1a4c2f11"


def _cli(sandbox, *args) -> str:
    out = io.StringIO()
    call_command("sandbox", "smartrecruiters", "--url", sandbox.url, *args, stdout=out)
    return out.getvalue()


def test_consent_prints_the_consent_url(sr, stagehook):
    sr.partner_configuration(stagehook.url)
    output = _cli(sr, "consent")
    assert f"{stagehook.url}integration?companyId=SmartCompany123&redirect=" in output
    assert sr.app.state.companies["SmartCompany123"]["consented"]


def test_consent_in_popup_mode_has_no_redirect(sr, stagehook):
    sr.partner_configuration(stagehook.url, display_mode="POPUP")
    assert sr.consent()["consent_url"] == f"{stagehook.url}integration?companyId=SmartCompany123"


def test_consent_with_a_session_drives_the_page_to_the_end(sr, stagehook):
    stagehook.sandbox_url = sr.url
    sr.partner_configuration(stagehook.url)
    output = _cli(sr, "consent", "--session", "sessionid=admin-session")
    assert "integrated: True  back at SmartRecruiters: True" in output
    posted = stagehook.seen("integration", "POST")[0]
    form = dict(pair.split("=", 1) for pair in posted.body.decode().split("&"))
    assert form == {"csrfmiddlewaretoken": "csrf-123", "tenant": "t2", "approve": "yes"}
    assert sr.app.state.companies["SmartCompany123"]["integrated"]


def test_consent_without_a_signed_in_session_stops_at_the_login(sr, stagehook):
    sr.partner_configuration(stagehook.url)
    response = sr.control("POST", "consent", {"session": {"sessionid": "stranger"}})
    assert response.status_code == 403 and "sign in" in response.json()["error"]
    assert not sr.app.state.companies["SmartCompany123"]["integrated"]


def test_consent_signs_in_on_the_way_then_approves(sr, stagehook):
    stagehook.sandbox_url = sr.url
    sr.partner_configuration(stagehook.url)
    output = _cli(sr, "consent", "--login", "admin@example.com", "--password", "right-password")
    assert "integrated: True  back at SmartRecruiters: True" in output
    login = stagehook.seen("/accounts/login/", "POST")[0]
    assert b"login=admin%40example.com" in login.body and b"csrfmiddlewaretoken=csrf-login" in login.body
    assert sr.app.state.companies["SmartCompany123"]["integrated"]


def test_a_refused_sign_in_is_reported(sr, stagehook):
    sr.partner_configuration(stagehook.url)
    response = sr.control("POST", "consent", {"login": {"login": "admin@example.com", "password": "wrong"}})
    assert response.status_code == 403 and "refused" in response.json()["error"]
    assert not sr.app.state.companies["SmartCompany123"]["integrated"]


def test_order_move_results_through_the_cli(integrated, stagehook):
    output = _cli(integrated, "order", "--candidate", ADA, "--job", JOB, "--package", "Customer Support Interview")
    assert "Ada Lovelace" in output and "accepted" in output and "packages/orders -> 202" in output
    order_id = integrated.orders()[0]["orderId"]
    integrated.api(
        "PATCH", f"{PARTNER}/orders/{order_id}/results", token=integrated.customer_token(),
        payload={"status": "COMPLETED", "score": {"raw": 82, "min": 0, "max": 100}, "scoreLabel": "Strong",
                 "assessmentResults": [{"assessmentId": "q-1", "assessmentName": "Unhappy customer", "status": "COMPLETED", "score": {"raw": 8, "min": 0, "max": 10}}]},
    )
    integrated.api(
        "POST", f"{PARTNER}/orders/{order_id}/results/attachment", token=integrated.customer_token(),
        files={"attachment": ("report.pdf", b"%PDF-1.4 x", "application/pdf")},
    )
    assert integrated.wait_for_result("COMPLETED", order_id=order_id)["result"]["score"]["raw"] == 82
    results = _cli(integrated, "results", "--wait", "COMPLETED", "--timeout", "5")
    assert "COMPLETED" in results and "score 82 (0-100)" in results and "part q-1" in results and "8/10" in results
    assert "report.pdf" in results and "PDF" in results and "NOT A PDF" not in results
    moved = _cli(integrated, "move", "--candidate", ADA, "--job", JOB, "--status", "INTERVIEW", "--sub-status", "AI interview")
    assert "now INTERVIEW/AI interview" in moved


def test_inline_order_prints_the_url(integrated, stagehook):
    output = _cli(integrated, "order", "--mode", "inline")
    assert "the candidate opens: http://127.0.0.1:" in output


def test_auto_trigger_needs_the_step(integrated):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--status"):
        _cli(integrated, "order", "--mode", "auto-trigger")


def test_results_wait_gives_up_with_a_clear_error(integrated):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="COMPLETED"):
        _cli(integrated, "results", "--wait", "COMPLETED", "--timeout", "0")


def test_seed_and_deliveries_verbs(integrated, stagehook):
    assert "1004 candidates" in _cli(integrated, "seed", "--candidates", "1000")
    integrated.subscribe(f"{stagehook.url}webhooks")
    integrated.move(ADA, JOB, "INTERVIEW")
    assert "application.status.updated" in _cli(integrated, "deliveries") and "delivered" in _cli(integrated, "deliveries")


def test_run_sandbox_serves_smartrecruiters():
    process = subprocess.Popen(
        [sys.executable, "manage.py", "run_sandbox", "smartrecruiters", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        line = process.stdout.readline()
        assert "smartrecruiters sandbox on http://127.0.0.1:" in line, line
        url = line.split(" on ", 1)[1].split(" ", 1)[0]
        session = requests.Session()
        session.trust_env = False
        deadline = time.monotonic() + 10
        while True:
            try:
                answer = session.get(f"{url}/_sandbox/", timeout=2)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline
                time.sleep(0.05)  # polling the server coming up
        assert answer.status_code == 200 and "/_sandbox/orders" in answer.json()["control"]
        assert session.get(f"{url}/candidates", timeout=2).status_code == 401
    finally:
        process.terminate()
        process.wait(10)


def test_uninstall_calls_the_disable_url_and_ends_the_customer_credentials(integrated, stagehook):
    token = integrated.customer_token()
    output = _cli(integrated, "uninstall")
    assert "integrations/companies/SmartCompany123 -> 204" in output
    (deleted,) = stagehook.seen("integrations/companies/SmartCompany123", "DELETE")
    assert deleted.headers["Authorization"] == f"Bearer {stagehook.token}"
    assert integrated.api("GET", "/jobs", token=token).status_code == 401
    assert integrated.token(integrated.customer["clientId"], integrated.customer["clientSecret"]).status_code == 401
    # Installing again is a fresh consent and setUpIntegration.
    assert integrated.set_up_integration().status_code == 403
    integrated.consent()
    assert integrated.set_up_integration().status_code == 200
