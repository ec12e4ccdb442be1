"""Invitation tokens: random, stored only hashed, rotated on every send, dead once expired.
Report links: signed, tamper-proof, expiring."""

import hashlib
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from assessments.models import Status
from assessments.selectors import assessment_candidate_access, assessment_get_by_token
from assessments.services import CandidateSnapshot, assessment_order, assessment_resend_invitation
from assessments.tokens import (
    ReportLinkExpired,
    ReportLinkInvalid,
    report_sign,
    report_unsign,
    token_digest,
    token_new,
)
from tests.factories import AssessmentFactory, PackageFactory

LINK_RE = re.compile(r"http://testserver/i/([A-Za-z0-9_-]+)/")


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = "http://testserver"


def _invite(capture):
    package = PackageFactory()
    with capture(execute=True):
        assessment, _ = assessment_order(
            tenant=package.tenant, package=package, mode="manual", actor="t",
            candidate=CandidateSnapshot(first_name="Ada", email="ada@example.com"),
        )
    assessment.refresh_from_db()
    token = LINK_RE.search(mail.outbox[-1].body).group(1)
    return assessment, token


def test_token_is_long_random_and_digest_is_sha256():
    tokens = {token_new()[0] for _ in range(50)}
    assert len(tokens) == 50
    token, digest = token_new()
    assert len(token) >= 43  # 32 random bytes, url-safe base64
    assert re.fullmatch(r"[A-Za-z0-9_-]+", token)
    assert digest == hashlib.sha256(token.encode()).hexdigest() == token_digest(token)


@pytest.mark.django_db
def test_only_the_hash_is_stored(django_capture_on_commit_callbacks):
    assessment, token = _invite(django_capture_on_commit_callbacks)
    assert assessment.token_hash == hashlib.sha256(token.encode()).hexdigest()
    row = type(assessment).objects.filter(pk=assessment.pk).values().get()
    assert all(token not in str(value) for value in row.values())
    assert all(token not in e.note for e in assessment.events.all())
    assert assessment_get_by_token(token=token).pk == assessment.pk


@pytest.mark.django_db
def test_garbage_tokens_never_reach_the_database(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert assessment_get_by_token(token="short") is None
        assert assessment_get_by_token(token="x" * 40 + "/../") is None
    assert assessment_get_by_token(token=token_new()[0]) is None


@pytest.mark.django_db
def test_resend_rotates_the_token(django_capture_on_commit_callbacks):
    assessment, old = _invite(django_capture_on_commit_callbacks)
    assessment_resend_invitation(assessment=assessment, actor="recruiter")
    new = LINK_RE.search(mail.outbox[-1].body).group(1)
    assert new != old
    assert assessment_get_by_token(token=old) is None
    assert assessment_get_by_token(token=new).pk == assessment.pk
    assert assessment_candidate_access(token=new).is_open


@pytest.mark.django_db
def test_token_expires_with_the_assessment():
    token, digest = token_new()
    assessment = AssessmentFactory(status=Status.INVITED, token_hash=digest, expires_at=timezone.now() + timedelta(hours=1))
    assert assessment_candidate_access(token=token).state == "open"
    later = timezone.now() + timedelta(hours=2)
    assert assessment_candidate_access(token=token, now=later).state == "expired"
    type(assessment).objects.filter(pk=assessment.pk).update(status=Status.EXPIRED)
    assert assessment_candidate_access(token=token).state == "expired"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("status", "state"),
    [(Status.COMPLETED, "completed"), (Status.CANCELLED, "cancelled"), (Status.FAILED, "unavailable"),
     (Status.ORDERED, "unavailable"), (Status.IN_PROGRESS, "open")],
)
def test_access_state_per_status(status, state):
    token, digest = token_new()
    AssessmentFactory(status=status, token_hash=digest, expires_at=timezone.now() + timedelta(days=1))
    assert assessment_candidate_access(token=token).state == state


@pytest.mark.django_db
def test_inactive_tenant_closes_the_link():
    token, digest = token_new()
    assessment = AssessmentFactory(status=Status.INVITED, token_hash=digest)
    assessment.tenant.active = False
    assessment.tenant.save()
    assert assessment_candidate_access(token=token).state == "unknown"


def test_report_signature_round_trip_tamper_and_expiry():
    signed = report_sign(assessment_id=42)
    assert report_unsign(signed=signed) == 42
    with pytest.raises(ReportLinkInvalid):
        report_unsign(signed=signed.replace("42", "43", 1))
    with pytest.raises(ReportLinkInvalid):
        report_unsign(signed=signed[:-2] + ("AA" if not signed.endswith("AA") else "BB"))
    with pytest.raises(ReportLinkExpired):
        report_unsign(signed=signed, max_age=-1)
