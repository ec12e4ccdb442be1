"""Retention purge and on-request erasure leave no candidate personal data behind."""

import hashlib
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from assessments.models import Assessment, AssessmentEvent, AuditLog, Status
from assessments.retention import candidate_erase, personal_data_purge
from assessments.signals import candidate_erasure_requested
from assessments.tasks import purge_personal_data
from tests.factories import AssessmentFactory, TenantFactory, UserFactory

pytestmark = pytest.mark.django_db

def _rows_containing(table: str, needle: str) -> int:
    """How many rows of ``table`` mention ``needle`` anywhere, in any column (case-insensitive)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table} t WHERE row_to_json(t)::text ILIKE %s", [f"%{needle}%"])
        return cursor.fetchone()[0]


def _personal(email: str) -> dict:
    """Distinct personal values per candidate, so a search for one row's data never hits another's."""
    tag = email.split("@")[0].replace(".", "").lower()
    return {
        "last_name": f"Hopperton{tag}",
        "phone": f"+44 7700 {int(hashlib.sha256(tag.encode()).hexdigest(), 16) % 1000000:06d}",
        "answer": f"At Initech{tag} I rebuilt the billing pipeline with my colleague Bob",
        "recording": f"https://engine.example.com/rec/{tag}.mp4",
    }


def _completed(tenant, *, email: str, days_old: int, **kwargs) -> Assessment:
    p = _personal(email)
    assessment = AssessmentFactory(
        tenant=tenant,
        status=Status.COMPLETED,
        candidate_first_name="Grace",
        candidate_last_name=p["last_name"],
        candidate_email=email,
        candidate_phone=p["phone"],
        score_value=Decimal("81.00"),
        score_min=Decimal("0"),
        score_max=Decimal("100"),
        score_label="Strong",
        summary=f'Strong. Grace said: "{p["answer"]}".',
        transcript=[{"question_id": 1, "question": "Tell us about a project.", "answer": p["answer"]}],
        details={"engine": "x", "questions": [{"question_id": 1, "points": "8", "evidence": p["answer"]}]},
        attachments=[{"url": p["recording"], "content_type": "video/mp4"}],
        options={"candidate": {"email": email, "name": f"Grace {p['last_name']}"}},
        status_reason=f"scored 81 for {email}",
        remote_job_title="Backend engineer",
        completed_at=timezone.now() - timedelta(days=days_old),
        **kwargs,
    )
    Assessment.objects.filter(pk=assessment.pk).update(created_at=timezone.now() - timedelta(days=days_old))
    AssessmentEvent.objects.create(
        assessment=assessment, from_status="in_progress", to_status="completed", actor="candidate",
        note=f"invitation sent to {email} / {p['phone']}",
    )
    return Assessment.objects.get(pk=assessment.pk)


def _assert_no_personal_data(assessment: Assessment, email: str) -> None:
    p = _personal(email)
    for needle in (email, p["last_name"], p["phone"], p["answer"], p["recording"]):
        assert _rows_containing("assessments_assessment", needle) == 0, needle
        assert _rows_containing("assessments_assessmentevent", needle) == 0, needle
        assert _rows_containing("assessments_auditlog", needle) == 0, needle
    row = Assessment.objects.get(pk=assessment.pk)
    assert (row.candidate_first_name, row.candidate_last_name, row.candidate_email, row.candidate_phone) == ("",) * 4
    assert row.summary == "" and row.attachments == []
    assert row.transcript == [{"question_id": 1, "question": "Tell us about a project.", "answer": ""}]
    assert row.personal_data_purged_at is not None
    # What is kept: scores, job, status, timestamps.
    assert (row.score_value, row.score_label, row.remote_job_title) == (Decimal("81.00"), "Strong", "Backend engineer")
    assert row.created_at == assessment.created_at and row.completed_at == assessment.completed_at


def test_purge_removes_personal_data_past_retention_only():
    tenant = TenantFactory(retention_days=30)
    old = _completed(tenant, email="grace.old@example.com", days_old=31)
    recent = _completed(tenant, email="grace.recent@example.com", days_old=29)
    old_but_open = _completed(tenant, email="grace.open@example.com", days_old=40)
    Assessment.objects.filter(pk=old_but_open.pk).update(status=Status.IN_PROGRESS)
    patient = _completed(TenantFactory(retention_days=365), email="grace.patient@example.com", days_old=200)

    assert personal_data_purge() == 1

    _assert_no_personal_data(old, "grace.old@example.com")
    for kept, email in ((recent, "grace.recent@example.com"), (old_but_open, "grace.open@example.com"),
                        (patient, "grace.patient@example.com")):
        row = Assessment.objects.get(pk=kept.pk)
        assert row.candidate_email == email and row.personal_data_purged_at is None and row.transcript[0]["answer"]
    audit = AuditLog.objects.get(action="personal_data_purge")
    assert audit.tenant == tenant and audit.detail["assessment_ids"] == [old.pk]


def test_purge_is_idempotent_and_runs_from_the_task():
    tenant = TenantFactory(retention_days=10)
    old = _completed(tenant, email="grace.task@example.com", days_old=11)

    purge_personal_data.delay()

    _assert_no_personal_data(old, "grace.task@example.com")
    purged_at = Assessment.objects.get(pk=old.pk).personal_data_purged_at
    assert personal_data_purge() == 0
    assert Assessment.objects.get(pk=old.pk).personal_data_purged_at == purged_at
    assert AuditLog.objects.filter(action="personal_data_purge").count() == 1


def test_purge_respects_now():
    tenant = TenantFactory(retention_days=30)
    _completed(tenant, email="grace.now@example.com", days_old=5)
    assert personal_data_purge(now=timezone.now() + timedelta(days=20)) == 0
    assert personal_data_purge(now=timezone.now() + timedelta(days=26)) == 1


@pytest.fixture
def erasure_listener():
    calls = []

    def receiver(sender, **kwargs):
        calls.append(kwargs)
        return 2  # "rows changed" in the listener's own tables

    candidate_erasure_requested.connect(receiver)
    yield calls
    candidate_erasure_requested.disconnect(receiver)


def test_erase_removes_the_candidate_everywhere(erasure_listener):
    email = "Grace.Erase@Example.com"
    tenant_a, tenant_b = TenantFactory(), TenantFactory()
    done_a = _completed(tenant_a, email=email.lower(), days_old=1)
    open_a = AssessmentFactory(tenant=tenant_a, status=Status.INVITED, candidate_email=email,
                               candidate_last_name=_personal(email)["last_name"], candidate_phone=_personal(email)["phone"])
    done_b = _completed(tenant_b, email=email.upper(), days_old=2)
    bystander = _completed(tenant_a, email="someone.else@example.com", days_old=1)

    assert candidate_erase(email=email, actor="admin:dpo") == 3

    _assert_no_personal_data(done_a, email)
    _assert_no_personal_data(done_b, email)
    open_row = Assessment.objects.get(pk=open_a.pk)
    # An interview cannot go on without its candidate: cancelled through the status machine.
    assert open_row.status == Status.CANCELLED and open_row.candidate_email == ""
    assert open_row.events.filter(to_status=Status.CANCELLED, actor="admin:dpo").exists()
    assert Assessment.objects.get(pk=bystander.pk).candidate_email == "someone.else@example.com"

    digest = hashlib.sha256(email.lower().encode()).hexdigest()
    assert erasure_listener == [
        {"signal": candidate_erasure_requested, "email": email.lower(), "email_sha256": digest, "tenant": None,
         "actor": "admin:dpo", "assessment_ids": sorted([done_a.pk, open_a.pk, done_b.pk]),
         "phones": sorted({a.candidate_phone for a in (done_a, open_a, done_b) if a.candidate_phone})}
    ]
    assert erasure_listener[0]["phones"]  # read before the scrub
    audit = AuditLog.objects.get(action="candidate_erase")
    assert audit.subject == f"email-sha256:{digest}" and audit.actor == "admin:dpo"
    assert audit.detail["assessments"] == 3 and audit.detail["other_rows"] == 2


def test_erase_within_one_tenant(erasure_listener):
    email = "grace.scoped@example.com"
    tenant_a, tenant_b = TenantFactory(), TenantFactory()
    in_a = _completed(tenant_a, email=email, days_old=1)
    in_b = _completed(tenant_b, email=email, days_old=1)

    assert candidate_erase(email=email, actor="x", tenant=tenant_a) == 1

    assert Assessment.objects.get(pk=in_a.pk).candidate_email == ""
    assert Assessment.objects.get(pk=in_b.pk).candidate_email == email
    assert erasure_listener[0]["tenant"] == tenant_a
    assert AuditLog.objects.get(action="candidate_erase").tenant == tenant_a


def test_a_failing_listener_rolls_the_erasure_back():
    email = "grace.rollback@example.com"
    assessment = _completed(TenantFactory(), email=email, days_old=1)

    def broken(sender, **kwargs):
        raise RuntimeError("mirror unavailable")

    candidate_erasure_requested.connect(broken)
    try:
        with pytest.raises(RuntimeError):
            candidate_erase(email=email, actor="x")
    finally:
        candidate_erasure_requested.disconnect(broken)
    assert Assessment.objects.get(pk=assessment.pk).candidate_email == email
    assert not AuditLog.objects.exists()


def test_erase_candidate_command(erasure_listener):
    email = "grace.cli@example.com"
    tenant = TenantFactory(slug="acme-cli")
    assessment = _completed(tenant, email=email, days_old=1)
    other = _completed(TenantFactory(), email=email, days_old=1)

    call_command("erase_candidate", email, "--tenant", "acme-cli")

    assert Assessment.objects.get(pk=assessment.pk).candidate_email == ""
    assert Assessment.objects.get(pk=other.pk).candidate_email == email
    with pytest.raises(CommandError):
        call_command("erase_candidate", email, "--tenant", "no-such-tenant")
    with pytest.raises(CommandError):
        call_command("erase_candidate", "  ")
    call_command("erase_candidate", email)
    _assert_no_personal_data(other, email)
    assert AuditLog.objects.filter(action="candidate_erase").count() == 2


def test_admin_action_erases_the_selected_candidates(client, erasure_listener):
    admin = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin)
    email = "grace.admin@example.com"
    tenant = TenantFactory()
    first = _completed(tenant, email=email, days_old=3)
    second = _completed(tenant, email=email, days_old=1)  # same candidate, not selected
    elsewhere = _completed(TenantFactory(), email=email, days_old=1)

    response = client.post(
        "/admin/assessments/assessment/",
        {"action": "erase_candidate_data", "_selected_action": [first.pk]},
        follow=True,
    )

    assert response.status_code == 200
    assert "from 2 assessment(s)" in response.content.decode()
    assert Assessment.objects.get(pk=first.pk).candidate_email == ""
    assert Assessment.objects.get(pk=second.pk).candidate_email == ""
    assert Assessment.objects.get(pk=elsewhere.pk).candidate_email == email
    audit = AuditLog.objects.get(action="candidate_erase")
    assert audit.actor == f"admin:{admin.username}" and audit.tenant == tenant


def test_erasure_reaches_the_integrations_mirror():
    """The integrations app listens to candidate_erasure_requested (assessments never imports it)."""
    from integrations.models import RemoteApplication, RemoteCandidate
    from tests.factories import ConnectionFactory

    email = "grace.mirror@example.com"
    connection_a = ConnectionFactory()
    assessment = _completed(connection_a.tenant, email=email, days_old=1)
    RemoteCandidate.objects.create(
        connection=connection_a, remote_id="c-1", first_name="Grace", last_name=_personal(email)["last_name"],
        email=email, phone=_personal(email)["phone"], data={"email": email},
    )
    RemoteApplication.objects.create(
        connection=connection_a, remote_id="a-1", remote_candidate_id="c-1", data={"candidate": {"email": email}}
    )

    call_command("erase_candidate", email.upper())

    _assert_no_personal_data(assessment, email)
    assert _rows_containing("integrations_remotecandidate", email) == 0
    assert _rows_containing("integrations_remoteapplication", email) == 0
    assert AuditLog.objects.get(action="candidate_erase").detail["other_rows"] >= 1


def test_identifiers_are_erased_as_whole_words_in_free_text():
    assessment = AssessmentFactory(
        status=Status.COMPLETED, candidate_first_name="Al", candidate_last_name="Stone", candidate_email="al@example.com"
    )
    event = AssessmentEvent.objects.create(assessment=assessment, actor="x", note="Also reminded AL Stone (al@example.com)")

    candidate_erase(email="al@example.com", actor="x")

    event.refresh_from_db()
    assert event.note == "Also reminded [erased] ([erased])"


def test_purge_works_in_batches(monkeypatch):
    monkeypatch.setattr("assessments.retention.PURGE_BATCH_SIZE", 2)
    tenant = TenantFactory(retention_days=1)
    old = [_completed(tenant, email=f"grace.batch{i}@example.com", days_old=2) for i in range(5)]

    assert personal_data_purge() == 5

    for assessment in old:
        _assert_no_personal_data(assessment, assessment.candidate_email)
    audits = AuditLog.objects.filter(action="personal_data_purge")
    assert sorted(a.detail["count"] for a in audits) == [1, 2, 2]
    assert sorted(pk for a in audits for pk in a.detail["assessment_ids"]) == sorted(a.pk for a in old)
