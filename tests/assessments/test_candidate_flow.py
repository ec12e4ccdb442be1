"""The candidate's journey with Django's test client: invitation e-mail -> link -> landing ->
consent -> answers -> completed with a score; and every closed link."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from assessments.models import Assessment, AssessmentEvent, Status
from assessments.services import CandidateSnapshot, assessment_cancel, assessment_order
from assessments.tokens import token_new
from tests.factories import AssessmentFactory, PackageFactory, QuestionFactory

pytestmark = pytest.mark.django_db

LINK_RE = re.compile(r"https://jobs\.example(/i/[A-Za-z0-9_-]+/)")


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = "https://jobs.example"


@pytest.fixture
def invited(django_capture_on_commit_callbacks):
    package = PackageFactory(tenant__name="Acme Corp", name="Backend interview", duration_minutes=20)
    q1 = QuestionFactory(package=package, position=1, text="Tell us about a project you are proud of.",
                         rubric=["names the goal", "explains own contribution", "describes the outcome"])
    q2 = QuestionFactory(package=package, position=2, text="Why do you want to join?",
                         rubric=["mentions the product", "mentions the team"])
    with django_capture_on_commit_callbacks(execute=True):
        assessment, _ = assessment_order(
            tenant=package.tenant, package=package, mode="order", actor="test", source="conn:1",
            remote_order_id="o-1", candidate=CandidateSnapshot(first_name="Ada", email="ada@example.com"),
        )
    path = LINK_RE.search(mail.outbox[-1].body).group(1)
    return Assessment.objects.get(pk=assessment.pk), path, (q1, q2)


def test_end_to_end(invited):
    assessment, path, (q1, q2) = invited
    client = Client(enforce_csrf_checks=True)

    landing = client.get(path)
    assert landing.status_code == 200
    html = landing.content.decode()
    for text in ("Acme Corp", "Backend interview", "20 minutes", "2 questions", "Privacy notice",
                 'name="consent"', 'name="csrfmiddlewaretoken"', 'name="viewport"'):
        assert text in html
    assert assessment.expires_at.strftime("%-d %B %Y") in html
    assert landing["Referrer-Policy"] == "same-origin"  # "no-referrer" breaks CSRF (Origin: null)
    assert "no-cache" in landing["Cache-Control"] or "no-store" in landing["Cache-Control"]
    csrf = client.cookies["csrftoken"].value

    # The questions are not reachable before consent.
    assert client.get(path + "questions/")["Location"] == path

    refused = client.post(path, {"csrfmiddlewaretoken": csrf})
    assert refused.status_code == 400
    assert "Please confirm" in refused.content.decode()
    assert Assessment.objects.get(pk=assessment.pk).status == Status.INVITED

    started = client.post(path, {"csrfmiddlewaretoken": csrf, "consent": "on"})
    assert started.status_code == 302 and started["Location"] == path + "questions/"
    assert Assessment.objects.get(pk=assessment.pk).status == Status.IN_PROGRESS
    assert client.get(path)["Location"] == path + "questions/"  # landing again: straight back in

    questions = client.get(path + "questions/")
    assert questions.status_code == 200
    page = questions.content.decode()
    assert "Question 1 of 2" in page and "Question 2 of 2" in page
    assert q1.text in page and q2.text in page

    incomplete = client.post(path + "questions/", {"csrfmiddlewaretoken": csrf, f"q_{q1.id}": "Only one answer"})
    assert incomplete.status_code == 400
    assert "1 of 2 answered" in incomplete.content.decode()
    assert "Only one answer" in incomplete.content.decode()  # nothing typed is lost

    submitted = client.post(path + "questions/", {
        "csrfmiddlewaretoken": csrf,
        f"q_{q1.id}": "The goal was a faster checkout; my contribution was the payment service; the outcome: +12% sales.",
        f"q_{q2.id}": "I admire the product.",
    })
    assert submitted.status_code == 302 and submitted["Location"] == path + "done/"

    done = client.get(path + "done/")
    assert done.status_code == 200 and "Thank you" in done.content.decode()

    assessment.refresh_from_db()
    assert assessment.status == Status.COMPLETED
    assert assessment.score_value == Decimal("75.00")  # (3/3 + 1/2) / 2
    assert assessment.score_label == "Good"
    assert assessment.transcript[0]["question"] == q1.text
    assert assessment.details["questions"][1]["missed"] == ["mentions the team"]
    assert list(assessment.events.exclude(to_status="").values_list("to_status", flat=True)) == [
        Status.ORDERED, Status.INVITED, Status.IN_PROGRESS, Status.COMPLETED
    ]
    assert AssessmentEvent.objects.filter(assessment=assessment, note__contains="consent").exists()

    # The link is used up.
    again = client.get(path)
    assert again.status_code == 410
    assert "already completed" in again.content.decode()
    assert client.get(path + "questions/")["Location"] == path + "done/"


def test_forms_are_csrf_protected(invited):
    _, path, _ = invited
    client = Client(enforce_csrf_checks=True)
    assert client.post(path, {"consent": "on"}).status_code == 403


def test_unknown_token_shows_a_friendly_404():
    client = Client()
    for token in (token_new()[0], "nonsense", "a" * 200):
        response = client.get(f"/i/{token}/")
        assert response.status_code == 404
        assert "This link does not work" in response.content.decode()


def test_expired_link_is_410_and_cannot_be_submitted(invited):
    assessment, path, (q1, q2) = invited
    client = Client()
    client.post(path, {"consent": "on"})
    Assessment.objects.filter(pk=assessment.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    for url in (path, path + "questions/", path + "done/"):
        response = client.get(url)
        assert response.status_code == 410
        body = response.content.decode()
        assert "expired" in body
        assert "Acme Corp" not in body and "Backend interview" not in body  # no data leak
    response = client.post(path + "questions/", {f"q_{q1.id}": "a", f"q_{q2.id}": "b"})
    assert response.status_code == 410
    assert Assessment.objects.get(pk=assessment.pk).status == Status.IN_PROGRESS


def test_expired_status_is_410():
    token, digest = token_new()
    AssessmentFactory(status=Status.EXPIRED, token_hash=digest)
    assert Client().get(f"/i/{token}/").status_code == 410


def test_cancelled_link_is_410(invited):
    assessment, path, _ = invited
    assessment_cancel(assessment=assessment, actor="recruiter")
    response = Client().get(path)
    assert response.status_code == 410
    assert "cancelled" in response.content.decode()
    assert Client().post(path, {"consent": "on"}).status_code == 410


def test_cancelled_while_answering_is_410_on_submit(invited):
    assessment, path, (q1, q2) = invited
    client = Client()
    client.post(path, {"consent": "on"})
    assessment_cancel(assessment=assessment, actor="recruiter")
    response = client.post(path + "questions/", {f"q_{q1.id}": "a", f"q_{q2.id}": "b"})
    assert response.status_code == 410
    assert Assessment.objects.get(pk=assessment.pk).status == Status.CANCELLED


def test_overlong_answer_is_refused_politely(invited):
    _, path, (q1, q2) = invited
    client = Client()
    client.post(path, {"consent": "on"})
    response = client.post(path + "questions/", {f"q_{q1.id}": "x" * 10_001, f"q_{q2.id}": "b"})
    assert response.status_code == 400
    assert "at most 10000 characters" in response.content.decode()


def test_only_get_and_post(invited):
    _, path, _ = invited
    assert Client().put(path).status_code == 405


def test_a_second_submit_lands_on_the_thank_you_page(invited):
    _, path, (q1, q2) = invited
    client = Client()
    client.post(path, {"consent": "on"})
    answers = {f"q_{q1.id}": "a", f"q_{q2.id}": "b"}
    assert client.post(path + "questions/", answers)["Location"] == path + "done/"
    assert client.post(path + "questions/", answers)["Location"] == path + "done/"
