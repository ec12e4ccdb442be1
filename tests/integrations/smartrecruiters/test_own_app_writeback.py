"""Trigger-mode results of an own-app (authorization-code) connection through the outbox: a note
on the candidate, the PDF report on the application and the score in the chosen candidate
property, each once, even when SmartRecruiters fails the first tries (``stub.CandidateRecords``). The
connection is made through the authorization-code flow on the stub (``own_connection``)."""

from __future__ import annotations

import contextlib
import datetime as dt

import pytest

from assessments.models import Mode, Status
from assessments.services import CandidateSnapshot, assessment_order, assessment_start, assessment_submit_answers
from integrations.deliveries import MAX_ATTEMPTS, delivery_resend, delivery_send_by_id
from integrations.models import Connection, ConnectionStatus, Delivery, DeliveryChannel, DeliveryStatus
from integrations.smartrecruiters import auth, writeback
from integrations.smartrecruiters.constants import CRED_GRANT, GRANT_AUTHORIZATION_CODE, PROVIDER_NAME
from integrations.smartrecruiters.models import ConnectionSettings
from tests.factories import TenantFactory, UserFactory

from .conftest import own_app_connect
from .stub import Answer, CandidateRecords

CANDIDATE, JOB = "c-1", "j-1"
NOTE, ATTACHMENTS, PROPERTY_VALUE = CandidateRecords.NOTE, CandidateRecords.ATTACHMENTS, CandidateRecords.PROPERTY_VALUE


@pytest.fixture
def records(fake_sr):
    return CandidateRecords(fake_sr, applications={(CANDIDATE, JOB)})


def choose(connection, property_id="stagehook-score", label="Interview score", kind="NUMBER"):
    return ConnectionSettings.objects.update_or_create(connection=connection, defaults={
        "score_property_id": property_id, "score_property_label": label, "score_property_type": kind})[0]


def complete(connection, package, capture, *, candidate=CANDIDATE, job=JOB, send=True):
    """A trigger-mode assessment of ``candidate`` for ``job``, ordered, taken and completed. With
    ``send=False`` the completion's write-back is left queued, not sent (its on-commit send never
    runs in the test's transaction)."""
    with capture(execute=True):
        assessment, _ = assessment_order(
            tenant=connection.tenant, package=package, mode=Mode.TRIGGER, actor="test", source=connection.source_key,
            remote_application_id=f"{candidate}:{job}", remote_candidate_id=candidate, remote_job_id=job,
            candidate=CandidateSnapshot(first_name="Ada", email="ada@example.com"),
        )
    with capture(execute=True):
        assessment_start(assessment=assessment)
    with capture(execute=True) if send else contextlib.nullcontext():
        assessment_submit_answers(
            assessment=assessment,
            answers={q.pk: "I listen, apologise and solve it. Context and outcome." for q in package.questions.all()},
        )
    assessment.refresh_from_db()
    assert assessment.status == Status.COMPLETED
    return assessment


def note_delivery(assessment) -> Delivery:
    return Delivery.objects.get(assessment=assessment, channel=DeliveryChannel.NOTE)


def retry_until_settled(delivery: Delivery, capture, *, limit: int = MAX_ATTEMPTS) -> Delivery:
    """Each due retry of the outbox, as its task would run it when the backoff is over."""
    for _ in range(limit):
        delivery.refresh_from_db()
        if delivery.status not in (DeliveryStatus.FAILED, DeliveryStatus.PENDING):
            return delivery
        with capture(execute=True):
            delivery_send_by_id(delivery_id=delivery.pk, now=(delivery.next_attempt_at or dt.datetime.now(dt.timezone.utc))
                                + dt.timedelta(seconds=2))
    delivery.refresh_from_db()
    return delivery


def test_a_completed_interview_leaves_a_note_the_pdf_and_the_score_property(
    own_connection, records, fake_sr, package, django_capture_on_commit_callbacks
):
    choose(own_connection)
    assessment = complete(own_connection, package, django_capture_on_commit_callbacks)
    delivery = note_delivery(assessment)
    assert delivery.status == DeliveryStatus.SENT, delivery.last_error

    [note] = records.notes
    assert note["shareWith"] == {"hiringTeamOf": [JOB]} and note["candidates"] == [CANDIDATE]
    assert note["correlationId"] == writeback.note_reference(delivery)
    lines = note["content"].split("\n")
    assert lines[0] == f"#[CANDIDATE:{CANDIDATE}] completed the Stagehook interview {package.name}."
    assert "Status: Completed" in lines
    raw = writeback.score(assessment)["raw"]
    assert any(line.startswith(f"Score: {raw}/100") for line in lines)
    assert f"Summary: {' '.join(assessment.summary.split())}" in lines
    assert lines[-2].startswith("Report: ") and "/r/" in lines[-2]
    assert lines[-1] == f"Stagehook reference: {writeback.note_reference(delivery)}"

    [upload] = fake_sr.calls("POST", ATTACHMENTS)
    assert upload.path == f"/candidates/{CANDIDATE}/jobs/{JOB}/attachments"
    assert upload.headers["Content-Type"].startswith("multipart/form-data")
    assert upload.form == {"attachmentType": "GENERIC_FILE"}
    filename, content, mimetype = upload.files["file"]
    assert content.startswith(b"%PDF-") and mimetype == "application/pdf" and filename == f"stagehook-report-{assessment.pk}.pdf"
    [attachment] = records.attachments[(CANDIDATE, JOB)]

    [put] = fake_sr.calls("PUT", PROPERTY_VALUE)
    assert put.path == f"/candidates/{CANDIDATE}/jobs/{JOB}/properties/stagehook-score" and put.json() == {"value": raw}
    assert records.values[(CANDIDATE, JOB)] == {"stagehook-score": raw}
    assert delivery.remote_refs == {
        writeback.REF_NOTE: note["id"], writeback.REF_ATTACHMENT: attachment["id"],
        writeback.REF_SCORE_PROPERTY: f"stagehook-score={raw}",
    }


def test_without_a_chosen_property_only_the_note_and_the_pdf_go(
    own_connection, records, fake_sr, package, django_capture_on_commit_callbacks
):
    assessment = complete(own_connection, package, django_capture_on_commit_callbacks)
    assert note_delivery(assessment).status == DeliveryStatus.SENT
    assert len(records.notes) == 1 and len(records.attachments[(CANDIDATE, JOB)]) == 1
    assert not fake_sr.calls("PUT", PROPERTY_VALUE)


@pytest.mark.parametrize("kind,expected", [("PERCENT", "percent"), ("TEXT", "text")])
def test_the_score_fits_the_property_type(own_connection, records, fake_sr, package, django_capture_on_commit_callbacks,
                                          kind, expected):
    choose(own_connection, {"PERCENT": "score-percent", "TEXT": "notes-text"}[kind], kind=kind)
    assessment = complete(own_connection, package, django_capture_on_commit_callbacks)
    assert note_delivery(assessment).status == DeliveryStatus.SENT
    raw = writeback.score(assessment)["raw"]
    [value] = records.values[(CANDIDATE, JOB)].values()
    assert value == (raw if expected == "percent" else f"{raw}/100")


def test_every_step_goes_once_although_smartrecruiters_fails_the_first_tries(
    own_connection, records, fake_sr, package, django_capture_on_commit_callbacks
):
    choose(own_connection)
    fake_sr.queue("POST", NOTE, Answer(503, {"message": "down"}))
    fake_sr.queue("POST", ATTACHMENTS, Answer(503, {"message": "down"}), Answer(503, {"message": "down"}))
    fake_sr.queue("PUT", PROPERTY_VALUE, Answer(503, {"message": "down"}))
    assessment = complete(own_connection, package, django_capture_on_commit_callbacks)
    delivery = note_delivery(assessment)
    assert delivery.status == DeliveryStatus.FAILED and delivery.last_status_code == 503
    assert set(delivery.remote_refs) == {writeback.REF_NOTE_UNCONFIRMED}  # a 503 may come after storing

    delivery = retry_until_settled(delivery, django_capture_on_commit_callbacks)
    assert delivery.status == DeliveryStatus.SENT, delivery.last_error
    # note: 503, 201; attachment: 503, 503, 201; property: 503, 204 -> five failed attempts and one success
    assert delivery.attempts == 5
    assert [a.status_code for a in delivery.attempt_rows.all()] == [503, 503, 503, 503, 201]
    assert len(fake_sr.calls("POST", NOTE)) == 2 and len(records.notes) == 1
    assert len(fake_sr.calls("GET", CandidateRecords.MESSAGES)) == 1  # after the 503: was it stored? (no)
    assert len(fake_sr.calls("POST", ATTACHMENTS)) == 3 and len(records.attachments[(CANDIDATE, JOB)]) == 1
    assert len(fake_sr.calls("PUT", PROPERTY_VALUE)) == 2 and records.values[(CANDIDATE, JOB)]
    assert set(delivery.remote_refs) == {writeback.REF_NOTE_UNCONFIRMED, writeback.REF_NOTE, writeback.REF_ATTACHMENT,
                                         writeback.REF_SCORE_PROPERTY}
    # One correlationId on every try of the note.
    ids = {s.json()["correlationId"] for s in fake_sr.calls("POST", NOTE)}
    assert ids == {writeback.note_reference(delivery)}


def test_a_failed_attempt_keeps_the_steps_it_did(own_connection, records, fake_sr, package, django_capture_on_commit_callbacks):
    fake_sr.queue("POST", ATTACHMENTS, Answer(503, {"message": "down"}))
    assessment = complete(own_connection, package, django_capture_on_commit_callbacks)
    delivery = note_delivery(assessment)
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.remote_refs == {writeback.REF_NOTE: records.notes[0]["id"]}
    retry_until_settled(delivery, django_capture_on_commit_callbacks)
    assert len(fake_sr.calls("POST", NOTE)) == 1
    assert not fake_sr.calls("GET", CandidateRecords.MESSAGES)  # the note's id is known: nothing to look for


def test_a_file_stored_whose_answer_was_lost_is_not_uploaded_again(
    own_connection, records, fake_sr, package, django_capture_on_commit_callbacks
):
    records.lose_answers[ATTACHMENTS] = 1  # stored, answered 503 (a timeout in between)
    assessment = complete(own_connection, package, django_capture_on_commit_callbacks)
    delivery = retry_until_settled(note_delivery(assessment), django_capture_on_commit_callbacks)
    assert delivery.status == DeliveryStatus.SENT
    [attachment] = records.attachments[(CANDIDATE, JOB)]
    assert len(fake_sr.calls("POST", ATTACHMENTS)) == 1 and len(fake_sr.calls("GET", ATTACHMENTS)) == 1
    assert delivery.remote_refs[writeback.REF_ATTACHMENT] == attachment["id"]


# --- a note stored by SmartRecruiters whose answer was lost ------------------------------------------
MESSAGES = CandidateRecords.MESSAGES


def test_a_note_stored_whose_answer_was_lost_is_not_posted_again(
    own_connection, records, fake_sr, package, django_capture_on_commit_callbacks
):
    records.lose_answers[NOTE] = 1  # stored, answered 503 (a timeout in between)
    assessment = complete(own_connection, package, django_capture_on_commit_callbacks)
    first = note_delivery(assessment)
    assert first.status == DeliveryStatus.FAILED and first.last_status_code == 503
    delivery = retry_until_settled(first, django_capture_on_commit_callbacks)
    assert delivery.status == DeliveryStatus.SENT, delivery.last_error
    [note] = records.notes
    assert len(fake_sr.calls("POST", NOTE)) == 1
    [lookup] = fake_sr.calls("GET", MESSAGES)
    assert lookup.query["candidateId"] == CANDIDATE and lookup.query["jobId"] == JOB
    assert delivery.remote_refs[writeback.REF_NOTE] == note["id"]
    # The note carries its delivery's reference, by which the retry found it.
    reference = writeback.note_reference(delivery)
    assert note["content"].split("\n")[-1] == f"Stagehook reference: {reference}" and note["correlationId"] == reference
    assert len(records.attachments[(CANDIDATE, JOB)]) == 1


def test_a_lost_note_found_on_a_later_page_of_newer_messages(
    own_connection, records, fake_sr, package, django_capture_on_commit_callbacks
):
    records.lose_answers[NOTE] = 1
    assessment = complete(own_connection, package, django_capture_on_commit_callbacks)
    for n in range(120):  # the hiring team wrote on since: our note is on the second page (newest first)
        records.notes.append({"id": f"later-{n}", "content": f"#[CANDIDATE:{CANDIDATE}] comment {n}",
                              "shareWith": {"hiringTeamOf": [JOB]}, "createdOn": "2099-01-01T00:00:00Z",
                              "candidates": [CANDIDATE]})
    delivery = retry_until_settled(note_delivery(assessment), django_capture_on_commit_callbacks)
    assert delivery.status == DeliveryStatus.SENT, delivery.last_error
    assert len(fake_sr.calls("POST", NOTE)) == 1 and len(fake_sr.calls("GET", MESSAGES)) == 2
    assert delivery.remote_refs[writeback.REF_NOTE] == records.notes[0]["id"]


def test_a_note_that_did_not_arrive_is_posted_on_the_retry(
    own_connection, records, fake_sr, package, django_capture_on_commit_callbacks
):
    fake_sr.queue("POST", NOTE, Answer(503, {"message": "down"}))  # refused before storing: nothing to find
    assessment = complete(own_connection, package, django_capture_on_commit_callbacks)
    delivery = retry_until_settled(note_delivery(assessment), django_capture_on_commit_callbacks)
    assert delivery.status == DeliveryStatus.SENT
    assert len(fake_sr.calls("GET", MESSAGES)) == 1 and len(fake_sr.calls("POST", NOTE)) == 2
    [note] = records.notes
    assert delivery.remote_refs[writeback.REF_NOTE] == note["id"]


def test_a_worker_killed_during_the_note_leaves_a_mark_the_rerun_checks(
    own_connection, records, fake_sr, package, django_capture_on_commit_callbacks
):
    """A worker killed while its POST was out records no attempt (its transaction is gone) but the
    mark it left in the shared cache before the call: the task's re-run looks for the note."""
    from django.core.cache import cache

    from integrations.smartrecruiters.provider import note_posting_key

    assessment = complete(own_connection, package, django_capture_on_commit_callbacks, send=False)
    delivery = note_delivery(assessment)
    assert delivery.attempts == 0 and not delivery.attempt_rows.exists()
    # What the killed worker left: its note stored by SmartRecruiters, its mark in the cache.
    reference = writeback.note_reference(delivery)
    records.notes.append({"id": "stored-by-the-dead-worker", "content": f"#[CANDIDATE:{CANDIDATE}] x\nStagehook "
                          f"reference: {reference}", "shareWith": {"hiringTeamOf": [JOB]},
                          "createdOn": "2099-01-01T00:00:00Z", "candidates": [CANDIDATE]})
    cache.set(note_posting_key(delivery.pk), "1", timeout=600)
    delivery = retry_until_settled(delivery, django_capture_on_commit_callbacks)
    assert delivery.status == DeliveryStatus.SENT, delivery.last_error
    assert not fake_sr.calls("POST", NOTE) and delivery.remote_refs[writeback.REF_NOTE] == "stored-by-the-dead-worker"


def test_a_first_note_is_posted_without_a_lookup(own_connection, records, fake_sr, package, django_capture_on_commit_callbacks):
    records.messages_refused = True  # a non-administrator's app: the first try never needs the check
    assessment = complete(own_connection, package, django_capture_on_commit_callbacks)
    assert note_delivery(assessment).status == DeliveryStatus.SENT
    assert not fake_sr.calls("GET", MESSAGES) and len(records.notes) == 1


def test_when_smartrecruiters_refuses_the_check_the_note_is_held_and_the_rest_goes(
    client, own_connection, records, fake_sr, package, django_capture_on_commit_callbacks
):
    """A non-administrator's credential may not read messages (403): the note is not posted again
    blind (never a second note), the PDF and the score still go, and the delivery stops dead with
    what to look for and what to do; the connection is flagged, not as a missing permission."""
    choose(own_connection)
    records.lose_answers[NOTE] = 1
    records.messages_refused = True
    assessment = complete(own_connection, package, django_capture_on_commit_callbacks)
    delivery = retry_until_settled(note_delivery(assessment), django_capture_on_commit_callbacks)
    assert delivery.status == DeliveryStatus.DEAD and delivery.last_status_code == 403
    assert delivery.error_code == "AUTH_FAILED" and delivery.attempts == 2
    reference = writeback.note_reference(delivery)
    assert delivery.last_error.startswith(f"Note held (Stagehook reference: {reference}): an earlier try may "
                                          "already be in SmartRecruiters, and Stagehook could not check; give the "
                                          "app's SmartRecruiters user the ADMINISTRATOR role and re-authorize, then "
                                          "re-send")
    assert "GET /messages answered 403" in delivery.last_error and CANDIDATE in delivery.last_error
    [note] = records.notes
    assert len(fake_sr.calls("POST", NOTE)) == 1 and len(fake_sr.calls("GET", MESSAGES)) == 1
    assert set(delivery.remote_refs) == {writeback.REF_NOTE_UNCONFIRMED, writeback.REF_ATTACHMENT,
                                         writeback.REF_SCORE_PROPERTY}
    assert len(records.attachments[(CANDIDATE, JOB)]) == 1 and records.values[(CANDIDATE, JOB)]
    connection = Connection.objects.get(pk=own_connection.pk)
    assert connection.status == ConnectionStatus.NEEDS_ATTENTION and reference in connection.status_reason
    assert "ADMINISTRATOR role and re-authorize, then re-send" in connection.status_reason
    assert "re-authorize with permission" not in connection.status_reason

    # The user gets the ADMINISTRATOR role and re-authorizes; the re-send finds the note and posts nothing.
    records.messages_refused = False
    assert own_app_connect(client, own_connection.tenant).status_code == 200
    assert Connection.objects.get(pk=own_connection.pk).status == ConnectionStatus.ACTIVE
    with django_capture_on_commit_callbacks(execute=True):
        assert delivery_resend(delivery=delivery)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT, delivery.last_error
    assert delivery.remote_refs[writeback.REF_NOTE] == note["id"] and len(records.notes) == 1
    assert len(fake_sr.calls("POST", NOTE)) == 1 and len(fake_sr.calls("POST", ATTACHMENTS)) == 1


def test_a_lookup_reads_a_bounded_number_of_pages(own_connection, records, fake_sr, package,
                                                 django_capture_on_commit_callbacks):
    from integrations.smartrecruiters.provider import NOTE_LOOKUP_PAGES

    records.lose_answers[NOTE] = 1
    assessment = complete(own_connection, package, django_capture_on_commit_callbacks)
    for n in range(NOTE_LOOKUP_PAGES * 100):  # as many newer messages as the lookup reads: ours is beyond them
        records.notes.append({"id": f"later-{n}", "content": f"#[CANDIDATE:{CANDIDATE}] comment {n}",
                              "shareWith": {"hiringTeamOf": [JOB]}, "createdOn": "2099-01-01T00:00:00Z",
                              "candidates": [CANDIDATE]})
    delivery = retry_until_settled(note_delivery(assessment), django_capture_on_commit_callbacks)
    assert delivery.status == DeliveryStatus.DEAD and len(fake_sr.calls("GET", MESSAGES)) == NOTE_LOOKUP_PAGES
    assert delivery.last_error.startswith("Note held") and "look for it on the candidate" in delivery.last_error
    assert len(fake_sr.calls("POST", NOTE)) == 1


def test_a_marketplace_trigger_note_is_held_alike_when_the_check_is_refused(
    connection, records, fake_sr, package, django_capture_on_commit_callbacks
):
    records.lose_answers[NOTE] = 1
    records.messages_refused = True
    assessment = complete(connection, package, django_capture_on_commit_callbacks)
    delivery = retry_until_settled(note_delivery(assessment), django_capture_on_commit_callbacks)
    assert delivery.status == DeliveryStatus.DEAD and delivery.last_error.startswith("Note held")
    assert "PDF" not in delivery.last_error and len(records.notes) == 1 and len(fake_sr.calls("POST", NOTE)) == 1


def test_a_removed_property_is_dead_with_its_fix_and_the_resend_repeats_only_it(
    own_connection, records, fake_sr, package, django_capture_on_commit_callbacks
):
    choose(own_connection, "gone-property", label="Old score")
    assessment = complete(own_connection, package, django_capture_on_commit_callbacks)
    delivery = note_delivery(assessment)
    assert delivery.status == DeliveryStatus.DEAD and delivery.last_status_code == 404
    assert "Old score" in delivery.last_error and "connection's settings" in delivery.last_error
    assert set(delivery.remote_refs) == {writeback.REF_NOTE, writeback.REF_ATTACHMENT}

    choose(own_connection)
    with django_capture_on_commit_callbacks(execute=True):
        assert delivery_resend(delivery=delivery)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT
    assert len(fake_sr.calls("POST", NOTE)) == 1 and len(fake_sr.calls("POST", ATTACHMENTS)) == 1
    assert records.values[(CANDIDATE, JOB)] == {"stagehook-score": writeback.score(assessment)["raw"]}


def test_another_tenants_choice_does_not_apply(own_connection, records, fake_sr, package, django_capture_on_commit_callbacks):
    other = Connection.objects.create(tenant=TenantFactory(), provider=PROVIDER_NAME, remote_account_id="Other",
                                      credentials={CRED_GRANT: GRANT_AUTHORIZATION_CODE})
    choose(other)
    complete(own_connection, package, django_capture_on_commit_callbacks)
    assert not fake_sr.calls("PUT", PROPERTY_VALUE)


def test_a_marketplace_trigger_note_is_the_same_note_and_nothing_else(
    connection, records, fake_sr, package, django_capture_on_commit_callbacks
):
    assert not auth.is_own_app(connection)
    choose(connection)  # ignored: a marketplace connection writes the note only
    assessment = complete(connection, package, django_capture_on_commit_callbacks)
    delivery = note_delivery(assessment)
    assert delivery.status == DeliveryStatus.SENT
    [note] = records.notes
    report_line = note["content"].split("\n")[-2]
    assert note["content"] == writeback.note_content(assessment, report_url=report_line.removeprefix("Report: "),
                                                     reference=writeback.note_reference(delivery))
    assert note["correlationId"] == writeback.note_reference(delivery)
    assert not fake_sr.calls("POST", ATTACHMENTS) and not fake_sr.calls("PUT", PROPERTY_VALUE)


# --- the pure parts -------------------------------------------------------------------------------
def test_note_content_without_a_score_or_summary(package):
    from assessments.models import Assessment

    assessment = Assessment(package=package, tenant=package.tenant, status=Status.COMPLETED, remote_candidate_id="c-9",
                            remote_job_id="j-9")
    content = writeback.note_content(assessment, report_url="https://stagehook.example/r/x/")
    assert content.split("\n") == [f"#[CANDIDATE:c-9] completed the Stagehook interview {package.name}.",
                                   "Status: Completed", "Report: https://stagehook.example/r/x/"]
    assert writeback.property_value(assessment, "NUMBER") is None


def test_a_long_summary_is_shortened(package):
    from assessments.models import Assessment

    assessment = Assessment(package=package, tenant=package.tenant, status=Status.COMPLETED, summary="word " * 2000,
                            score_value=71.5, score_label="Strong")
    content = writeback.note_content(assessment, report_url="https://r/")
    summary = next(line for line in content.split("\n") if line.startswith("Summary: "))
    assert len(summary) == len("Summary: ") + writeback.NOTE_SUMMARY_MAX and summary.endswith("\u2026")
    assert "Score: 72/100 (Strong)" in content


@pytest.mark.parametrize("kind,value", [("NUMBER", 40), ("number", 40), ("PERCENT", 25), ("TEXT", "40/160"),
                                        ("SINGLE_SELECT", None), ("", None)])
def test_property_value(package, kind, value):
    from assessments.models import Assessment

    assessment = Assessment(package=package, tenant=package.tenant, score_value=40, score_min=0, score_max=160)
    assert writeback.property_value(assessment, kind) == value


def test_only_properties_that_can_hold_a_score_are_offered():
    listing = {"totalFound": 4, "content": [
        {"id": "b", "label": "beta", "type": "TEXT"}, {"id": "s", "label": "Source", "type": "SINGLE_SELECT"},
        {"id": "a", "label": "Alpha", "type": "number"}, {"label": "no id", "type": "NUMBER"}]}
    assert writeback.candidate_properties_for_score(listing) == [
        {"id": "a", "label": "Alpha", "type": "NUMBER"}, {"id": "b", "label": "beta", "type": "TEXT"}]


def test_a_note_is_found_by_its_own_reference_only():
    page = {"content": [
        {"id": "m1", "content": "Stagehook reference: stagehook-delivery-12-aaaa0000"},
        {"id": "m2", "content": "see stagehook-delivery-1-abcd12345 (a longer one)"},
        {"id": "m3", "content": "x\nStagehook reference: stagehook-delivery-1-abcd1234"},
        {"id": "m4", "content": "y", "correlationId": "stagehook-delivery-7-0000ffff"},
        {"content": "no id: stagehook-delivery-1-abcd1234"}, "not a message"]}
    assert writeback.note_id_with_reference(page, "stagehook-delivery-1-abcd1234") == "m3"
    assert writeback.note_id_with_reference(page, "stagehook-delivery-7-0000ffff") == "m4"
    assert writeback.note_id_with_reference(page, "stagehook-delivery-1-aaaa0000") == ""
    assert writeback.note_id_with_reference({"content": None}, "stagehook-delivery-1-abcd1234") == ""


def test_the_reference_is_stable_per_delivery_and_differs_between_databases(own_connection, package):
    import datetime as dt

    from assessments.models import Assessment

    assessment = Assessment.objects.create(tenant=own_connection.tenant, package=package, status=Status.COMPLETED)
    delivery = Delivery.objects.create(connection=own_connection, assessment=assessment, channel=DeliveryChannel.NOTE)
    reference = writeback.note_reference(delivery)
    assert reference.startswith(f"stagehook-delivery-{delivery.pk}-")
    assert writeback.note_reference(Delivery.objects.get(pk=delivery.pk)) == reference  # as read back, on every retry
    elsewhere = Delivery(pk=delivery.pk, assessment_id=assessment.pk,
                         created_at=delivery.created_at - dt.timedelta(days=3))  # the same id in another database
    assert writeback.note_reference(elsewhere) != reference


def test_messages_reach_back_to_a_moment():
    import datetime as dt

    moment = dt.datetime(2026, 6, 1, tzinfo=dt.timezone.utc)
    assert writeback.messages_reach_back_to({"content": [{"createdOn": "2026-07-01T00:00:00Z"},
                                                         {"createdOn": "2026-05-31T23:59:59Z"}]}, moment)
    assert not writeback.messages_reach_back_to({"content": [{"createdOn": "2026-07-01T00:00:00Z"}, {"id": "x"},
                                                             {"createdOn": "garbage"}]}, moment)


@pytest.mark.parametrize("connection_kind", ["own app", "marketplace"])
def test_a_score_rules_note_stored_whose_answer_was_lost_is_not_posted_again(
    connection_kind, request, records, fake_sr, package, django_capture_on_commit_callbacks
):
    """A fail rule with no stage to move to leaves its note; when SmartRecruiters stored it but the
    answer was lost, the retry finds it by the delivery's reference instead of posting a second."""
    target = request.getfixturevalue("own_connection" if connection_kind == "own app" else "connection")
    capture = django_capture_on_commit_callbacks
    post_note, lost = records._note, []

    def lose_the_rules_note_once(seen):
        if "fail threshold" in seen.json().get("content", "") and not lost:
            lost.append(seen)
            records.lose_answers[NOTE] = 1  # stored, then answered 503
        return post_note(seen)

    fake_sr.route("POST", NOTE, lose_the_rules_note_once)
    with capture(execute=True):
        assessment, _ = assessment_order(
            tenant=target.tenant, package=package, mode=Mode.TRIGGER, actor="test", source=target.source_key,
            remote_application_id=f"{CANDIDATE}:{JOB}", remote_candidate_id=CANDIDATE, remote_job_id=JOB,
            candidate=CandidateSnapshot(first_name="Ada", email="ada@example.com"),
            options={"score_rules": {"fail_threshold": 101}},  # every score fails; no fail stage: a note only
        )
    with capture(execute=True):
        assessment_start(assessment=assessment)
    with capture(execute=True):
        assessment_submit_answers(assessment=assessment, answers={q.pk: "I listen." for q in package.questions.all()})
    assert note_delivery(assessment).status == DeliveryStatus.SENT
    rule = Delivery.objects.get(assessment=assessment, channel=DeliveryChannel.STAGE_MOVE)
    assert lost and rule.status == DeliveryStatus.FAILED and writeback.REF_NOTE_UNCONFIRMED in rule.remote_refs
    rule = retry_until_settled(rule, capture)
    assert rule.status == DeliveryStatus.SENT, rule.last_error
    posted = [note for note in records.notes if "fail threshold" in note["content"]]
    assert len(posted) == 1 and len(fake_sr.calls("POST", NOTE)) == 2  # the result's note and the rule's, once each
    reference = writeback.note_reference(rule)
    assert posted[0]["content"].startswith(f"#[CANDIDATE:{CANDIDATE}] Stagehook: ")
    assert posted[0]["content"].split("\n")[-1] == f"Stagehook reference: {reference}"
    assert posted[0]["correlationId"] == reference and rule.remote_refs[writeback.REF_NOTE] == posted[0]["id"]


# --- a held note, released by a person who looked ----------------------------------------------------
def held_note(own_connection, records, fake_sr, package, capture) -> Delivery:
    """A note whose first POST failed in a way that may have come after storing it (here it had not:
    SmartRecruiters answered 503 before), held because this credential may not read messages."""
    fake_sr.queue("POST", NOTE, Answer(503, {"message": "down"}))
    records.messages_refused = True
    delivery = retry_until_settled(note_delivery(complete(own_connection, package, capture)), capture)
    assert delivery.status == DeliveryStatus.DEAD and delivery.last_error.startswith("Note held"), delivery.last_error
    assert "Send a held write-back without its check" in delivery.last_error and not records.notes
    return delivery


def test_a_held_note_released_in_the_admin_is_posted_once_without_looking(
    client, own_connection, records, fake_sr, package, django_capture_on_commit_callbacks
):
    delivery = held_note(own_connection, records, fake_sr, package, django_capture_on_commit_callbacks)
    lookups = len(fake_sr.calls("GET", MESSAGES))
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/admin/integrations/delivery/",
                               {"action": "release_held", "_selected_action": [delivery.pk]}, follow=True)
    assert "1 held write-back(s) queued to send once without the check." in response.content.decode()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT, delivery.last_error
    [note] = records.notes
    assert delivery.remote_refs[writeback.REF_NOTE] == note["id"] and len(fake_sr.calls("GET", MESSAGES)) == lookups
    assert delivery.remote_refs[writeback.REF_NOTE_RELEASED].startswith("posted after ")


def test_a_released_note_whose_post_may_have_arrived_again_is_looked_for_again(
    own_connection, records, fake_sr, package, django_capture_on_commit_callbacks
):
    from integrations.deliveries import delivery_release_held

    capture = django_capture_on_commit_callbacks
    delivery = held_note(own_connection, records, fake_sr, package, capture)
    records.lose_answers[NOTE] = 1  # the released POST is stored, its answer lost
    with capture(execute=True):
        assert delivery_release_held(delivery=delivery, actor="test")
    delivery = retry_until_settled(delivery, capture)
    # Held again, not posted blind a second time: the release was for one POST.
    assert delivery.status == DeliveryStatus.DEAD and delivery.last_error.startswith("Note held"), delivery.last_error
    assert len(records.notes) == 1 and len(fake_sr.calls("POST", NOTE)) == 2  # the 503 before storing, the released one


def test_only_a_held_note_can_be_released(own_connection, records, fake_sr, package, django_capture_on_commit_callbacks):
    from integrations.deliveries import delivery_release_held

    sent = note_delivery(complete(own_connection, package, django_capture_on_commit_callbacks))
    assert sent.status == DeliveryStatus.SENT
    before = dict(sent.remote_refs)
    assert not delivery_release_held(delivery=sent, actor="test")
    sent.refresh_from_db()
    assert sent.remote_refs == before and sent.status == DeliveryStatus.SENT
