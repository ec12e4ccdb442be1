"""Stage mappings: resolution (table-driven), trigger mode complete, score rules, versioned saving."""

import pytest

from assessments import services as assessment_services
from assessments.models import Assessment
from integrations import mapping
from integrations.models import (
    Delivery,
    DeliveryChannel,
    RemoteApplication,
    RemoteStage,
    StageMapping,
    StageMappingVersion,
    WebhookStatus,
)
from integrations.providers import JobChanged, provider_register, provider_unregister
from integrations.selectors import stage_mapping_matches
from tests.factories import ConnectionFactory, PackageFactory, StageMappingFactory, UserFactory

from .conftest import PROVIDER, TestAtsProvider
from .test_events import CANDIDATE, process, stored

pytestmark = pytest.mark.django_db



def move(connection, stage_id, *, application="app-1", job="job-1", changed_at="2026-11-01T10:00:00+00:00"):
    data = {"application_id": application, "job_id": job, "stage_id": stage_id, "candidate": CANDIDATE,
            "changed_at": changed_at}
    return process(stored(connection, "stage", data))


# --- resolution, table-driven -------------------------------------------------------------------
# Each case: the rows (job, stage, sub-status, package name or None for "no interview"), then the
# application's (job, stage, sub-status) and the package names expected.
RESOLUTION_CASES = [
    ("default applies to any job", [("", "s1", "", "A")], ("job-9", "s1", ""), ["A"]),
    ("no mapping", [("", "s1", "", "A")], ("job-1", "s2", ""), []),
    ("per-job override beats the default", [("", "s1", "", "A"), ("job-1", "s1", "", "B")], ("job-1", "s1", ""), ["B"]),
    ("other jobs keep the default", [("", "s1", "", "A"), ("job-1", "s1", "", "B")], ("job-2", "s1", ""), ["A"]),
    ("per-job no-interview override", [("", "s1", "", "A"), ("job-1", "s1", "", None)], ("job-1", "s1", ""), []),
    ("sub-status beats its status", [("", "INTERVIEW", "", "A"), ("", "INTERVIEW", "Scheduled", "B")],
     ("job-1", "INTERVIEW", "Scheduled"), ["B"]),
    ("another sub-status falls back to the status", [("", "INTERVIEW", "", "A"), ("", "INTERVIEW", "Scheduled", "B")],
     ("job-1", "INTERVIEW", "Done"), ["A"]),
    ("several packages on one stage", [("", "s1", "", "A"), ("", "s1", "", "B")], ("job-1", "s1", ""), ["A", "B"]),
    ("several packages in a job's override", [("", "s1", "", "A"), ("job-1", "s1", "", "B"), ("job-1", "s1", "", "C")],
     ("job-1", "s1", ""), ["B", "C"]),
    ("job's sub-status beats the job's status and the default's sub-status",
     [("", "INTERVIEW", "Scheduled", "A"), ("job-1", "INTERVIEW", "", "B"), ("job-1", "INTERVIEW", "Scheduled", "C")],
     ("job-1", "INTERVIEW", "Scheduled"), ["C"]),
    ("a job's status row beats the default's sub-status row",
     [("", "INTERVIEW", "Scheduled", "A"), ("job-1", "INTERVIEW", "", "B")], ("job-1", "INTERVIEW", "Scheduled"), ["B"]),
]


@pytest.mark.parametrize("rows, application, expected", [c[1:] for c in RESOLUTION_CASES],
                         ids=[c[0] for c in RESOLUTION_CASES])
def test_mapping_resolution(rows, application, expected):
    connection = ConnectionFactory()
    packages = {name: PackageFactory(tenant=connection.tenant, name=name) for name in "ABC"}
    for job, stage, sub, package in rows:
        StageMapping.objects.create(connection=connection, remote_job_id=job, remote_stage_id=stage,
                                    remote_sub_status=sub, package=packages[package] if package else None)
    job, stage, sub = application
    found = stage_mapping_matches(connection=connection, remote_job_id=job, remote_stage_id=stage, remote_sub_status=sub)
    assert sorted(m.package.name for m in found) == expected


def test_resolution_ignores_inactive_rows_and_packages_and_other_connections():
    connection = ConnectionFactory()
    StageMappingFactory(connection=connection, remote_stage_id="s1", active=False)
    StageMappingFactory(connection=connection, remote_stage_id="s1", package__active=False)
    StageMappingFactory(connection=ConnectionFactory(tenant=connection.tenant), remote_stage_id="s1")
    assert stage_mapping_matches(connection=connection, remote_job_id="j", remote_stage_id="s1") == []


# --- trigger mode -------------------------------------------------------------------------------
def test_several_packages_on_one_stage_order_one_interview_each(connection):
    a, b = PackageFactory(tenant=connection.tenant), PackageFactory(tenant=connection.tenant)
    StageMappingFactory(connection=connection, remote_stage_id="s-2", package=a)
    StageMappingFactory(connection=connection, remote_stage_id="s-2", package=b)
    event = move(connection, "s-2")
    assert event.status == WebhookStatus.PROCESSED
    assert sorted(Assessment.objects.values_list("package_id", flat=True)) == sorted([a.pk, b.pk])
    assert set(Assessment.objects.values_list("mode", "remote_application_id")) == {("trigger", "app-1")}


def test_reentering_a_stage_does_not_reinvite(connection):
    mapping_row = StageMappingFactory(connection=connection, remote_stage_id="s-2")
    move(connection, "s-2", changed_at="2026-11-01T10:00:00+00:00")
    first = Assessment.objects.get()
    assessment_services.assessment_cancel(assessment=first, actor="test")  # closed, not open any more
    move(connection, "s-1", changed_at="2026-11-01T11:00:00+00:00")
    event = move(connection, "s-2", changed_at="2026-11-01T12:00:00+00:00")
    assert event.status == WebhookStatus.PROCESSED
    assert Assessment.objects.count() == 1

    # ... unless the mapping says so.
    StageMapping.objects.filter(pk=mapping_row.pk).update(reinvite_on_reentry=True)
    move(connection, "s-1", changed_at="2026-11-01T13:00:00+00:00")
    move(connection, "s-2", changed_at="2026-11-01T14:00:00+00:00")
    assert Assessment.objects.count() == 2
    # An open one is still never doubled.
    move(connection, "s-1", changed_at="2026-11-01T15:00:00+00:00")
    move(connection, "s-2", changed_at="2026-11-01T16:00:00+00:00")
    assert Assessment.objects.count() == 2


def test_rejected_or_withdrawn_stage_is_not_invited(connection):
    StageMappingFactory(connection=connection, remote_stage_id="WITHDRAWN")
    RemoteStage.objects.create(connection=connection, remote_id="WITHDRAWN", name="Withdrawn", stage_type="withdrawn")
    event = move(connection, "WITHDRAWN")
    assert event.status == WebhookStatus.IGNORED and "withdrawn" in event.error
    assert not Assessment.objects.exists()


def test_a_candidate_who_left_the_stage_before_the_order_is_not_invited(connection, fake_ats):
    """The job is read from the ATS first; meanwhile a newer move (another webhook, a sync) took
    the application elsewhere: the mirror's current stage decides."""

    class MovingProvider(TestAtsProvider):
        __test__ = False

        def job_fetch(self, connection, *, remote_job_id):
            RemoteApplication.objects.filter(connection=connection, remote_id="app-1").update(remote_stage_id="s-3")
            return JobChanged(remote_job_id=remote_job_id, title="Engineer")

    provider_unregister(PROVIDER)
    provider_register(MovingProvider())
    StageMappingFactory(connection=connection, remote_stage_id="s-2")
    data = {"application_id": "app-1", "job_id": "job-1", "stage_id": "s-2",
            "candidate": {"id": "cand-9"}, "changed_at": "2026-11-01T10:00:00+00:00"}
    event = process(stored(connection, "stage", data))
    assert event.status == WebhookStatus.IGNORED and "left the stage" in event.error
    assert not Assessment.objects.exists()


def test_an_order_without_a_mirrored_application_and_a_later_trigger_make_one_interview(connection):
    package = PackageFactory(tenant=connection.tenant)
    StageMappingFactory(connection=connection, remote_stage_id="s-2", package=package)
    order = process(stored(connection, "order", {
        "order_id": "o-1", "package_id": package.pk, "candidate": CANDIDATE, "job_id": "job-1",
    }))
    assert order.status == WebhookStatus.PROCESSED
    assert Assessment.objects.get().remote_application_id == ""
    event = move(connection, "s-2", application="app-1", job="job-1")
    assert event.status == WebhookStatus.PROCESSED
    assert Assessment.objects.count() == 1


# --- score rules ----------------------------------------------------------------------------------
def _complete(assessment, score):
    assessment_services.assessment_record_result(
        assessment=assessment, score_value=score, score_min="0", score_max="100", score_label="", summary="",
        transcript=[], details={}, actor="test",
    )


class StageMovingProvider(TestAtsProvider):
    __test__ = False
    supports_stage_move = True


@pytest.fixture
def moving_provider(test_provider):
    provider_unregister(PROVIDER)
    provider = provider_register(StageMovingProvider())
    yield provider


@pytest.mark.parametrize("score, expected", [
    ("80", {"rule": "pass", "to_stage_id": "s-pass", "threshold": 70}),
    ("70", {"rule": "pass", "to_stage_id": "s-pass", "threshold": 70}),
    ("39", {"rule": "fail", "to_stage_id": "", "threshold": 40}),
    ("55", None),
])
def test_score_rules_queue_a_stage_move_after_the_result(connection, moving_provider, fake_ats, score, expected,
                                                        django_capture_on_commit_callbacks):
    StageMappingFactory(connection=connection, remote_stage_id="s-2", advance_threshold=70,
                        advance_to_stage_id="s-pass", fail_threshold=40, fail_to_stage_id="")
    move(connection, "s-2")
    assessment = Assessment.objects.get()
    assert assessment.options[mapping.SCORE_RULES_OPTION]["pass_threshold"] == 70
    with django_capture_on_commit_callbacks(execute=False):
        assessment_services.assessment_set_status(assessment=assessment, to_status="invited", actor="test")
        _complete(Assessment.objects.get(pk=assessment.pk), score)
    moves = list(Delivery.objects.filter(assessment=assessment, channel=DeliveryChannel.STAGE_MOVE))
    if expected is None:
        assert moves == []
        return
    [delivery] = moves
    assert {k: delivery.payload[k] for k in expected} == expected
    assert delivery.payload["score"] == int(score)
    result = Delivery.objects.filter(assessment=assessment, assessment_status="completed").exclude(pk=delivery.pk).get()
    assert result.pk < delivery.pk  # the result goes first, the move after it


def test_a_provider_without_stage_moves_gets_no_stage_move(connection, django_capture_on_commit_callbacks):
    StageMappingFactory(connection=connection, remote_stage_id="s-2", advance_threshold=50, advance_to_stage_id="x")
    move(connection, "s-2")
    assessment = Assessment.objects.get()
    with django_capture_on_commit_callbacks(execute=False):
        assessment_services.assessment_set_status(assessment=assessment, to_status="invited", actor="test")
        _complete(Assessment.objects.get(pk=assessment.pk), "90")
    assert not Delivery.objects.filter(channel=DeliveryChannel.STAGE_MOVE).exists()


def test_sub_stage_target_names_status_and_sub_status(connection):
    RemoteStage.objects.create(connection=connection, remote_id="OFFERED/Pending", name="Pending",
                               parent_remote_id="OFFERED", sub_status="Pending")
    package = PackageFactory(tenant=connection.tenant)
    assessment = Assessment.objects.create(
        tenant=connection.tenant, package=package, source=connection.source_key, remote_application_id="a",
        score_value=90, score_min=0, score_max=100,
        options={mapping.SCORE_RULES_OPTION: {"pass_threshold": 80, "pass_stage": "OFFERED/Pending"}},
    )
    spec = mapping.score_rule_delivery_spec(connection=connection, assessment=assessment)
    assert (spec.payload["to_stage_id"], spec.payload["to_sub_status"]) == ("OFFERED", "Pending")


# --- saving: validation, versions, restore --------------------------------------------------------
@pytest.fixture
def pipeline_connection(db):
    connection = ConnectionFactory()
    RemoteStage.objects.create(connection=connection, remote_id="s1", name="Phone screen", position=1)
    RemoteStage.objects.create(connection=connection, remote_id="s2", name="Interview", position=2)
    RemoteStage.objects.create(connection=connection, remote_id="s2/Sched", name="Scheduled", parent_remote_id="s2",
                               sub_status="Sched")
    return connection


def test_save_is_versioned_with_a_diff_and_restorable(pipeline_connection):
    connection = pipeline_connection
    user = UserFactory()
    a, b = PackageFactory(tenant=connection.tenant), PackageFactory(tenant=connection.tenant)
    v1 = mapping.stage_mappings_save(connection=connection, rows=[{"stage": "s2", "package": a.pk}], user=user)
    assert (v1.number, v1.created_by, [r["stage_name"] for r in v1.diff["added"]]) == (1, user, ["Interview"])
    v2 = mapping.stage_mappings_save(connection=connection, user=user, rows=[
        {"stage": "s2", "package": a.pk, "pass_threshold": 70, "pass_stage": "s1"},
        {"job": "job-1", "stage": "s2", "package": b.pk},
    ])
    assert v2.number == 2 and len(v2.diff["added"]) == 1 and v2.diff["changed"][0]["fields"]["pass_threshold"] == [None, 70]
    assert StageMapping.objects.filter(connection=connection).count() == 2
    assert mapping.stage_mappings_save(connection=connection, rows=v2.rows, user=user) is None  # nothing changed

    v3 = mapping.stage_mapping_version_restore(version=v1, user=user)
    assert v3.number == 3 and v3.note == "restored version 1"
    assert mapping.mapping_rows(connection=connection) == v1.rows
    assert StageMapping.objects.get(connection=connection).advance_threshold is None


def test_the_state_before_the_first_save_becomes_version_one(pipeline_connection):
    connection = pipeline_connection
    StageMappingFactory(connection=connection, remote_stage_id="s1")  # from the YAML or the admin
    version = mapping.stage_mappings_save(connection=connection, rows=[])
    assert version.number == 2
    first = StageMappingVersion.objects.get(connection=connection, number=1)
    assert [r["stage"] for r in first.rows] == ["s1"]
    mapping.stage_mapping_version_restore(version=first)
    assert StageMapping.objects.filter(connection=connection, remote_stage_id="s1").exists()


@pytest.mark.parametrize("row, message", [
    ({"stage": "s2", "package": "other-tenant"}, "not one of this workspace's packages"),
    ({"stage": "elsewhere"}, "no such stage in this connection's pipeline"),
    ({"stage": "s2", "package": "mine", "pass_threshold": 101}, "between 0 and 100"),
    ({"stage": "s2", "package": "mine", "pass_threshold": 30, "fail_threshold": 50}, "fail threshold is above"),
    ({"stage": "s2", "package": "mine", "fail_stage": "s1"}, "needs a fail threshold"),
    ({"stage": "s2", "package": "mine", "pass_threshold": 50, "pass_stage": "nope"}, "target stage 'nope'"),
    ({"stage": "s2", "package": None}, "only for a job's override"),
])
def test_invalid_rows_are_refused_with_a_clear_error_and_nothing_saved(pipeline_connection, row, message):
    connection = pipeline_connection
    mine = PackageFactory(tenant=connection.tenant)
    other_tenant = PackageFactory()
    other_connection = ConnectionFactory(tenant=connection.tenant)
    RemoteStage.objects.create(connection=other_connection, remote_id="elsewhere", name="Other pipeline")
    row = dict(row)
    if "package" in row and row["package"] is not None:
        row["package"] = {"mine": mine.pk, "other-tenant": other_tenant.pk}[row["package"]]
    elif "package" not in row:
        row["package"] = mine.pk
    with pytest.raises(mapping.MappingInvalid) as caught:
        mapping.stage_mappings_save(connection=connection, rows=[{"stage": "s1", "package": mine.pk}, row])
    assert any(message in e for e in caught.value.errors), caught.value.errors
    assert not StageMapping.objects.exists() and not StageMappingVersion.objects.exists()


def test_a_job_override_must_use_a_stage_of_that_job(db):
    connection = ConnectionFactory()
    RemoteStage.objects.create(connection=connection, remote_id="7", remote_job_id="27", name="Interview")
    package = PackageFactory(tenant=connection.tenant)
    with pytest.raises(mapping.MappingInvalid, match="another job's pipeline"):
        mapping.stage_mappings_save(connection=connection, rows=[{"job": "12345", "stage": "7", "package": package.pk}])
    assert mapping.stage_mappings_save(connection=connection, rows=[{"job": "27", "stage": "7", "package": package.pk}])


def test_orphans_are_flagged_by_stage_id(pipeline_connection):
    connection = pipeline_connection
    package = PackageFactory(tenant=connection.tenant)
    mapping.stage_mappings_save(connection=connection, rows=[
        {"stage": "s1", "package": package.pk}, {"stage": "s2", "package": package.pk},
        {"stage": "s2", "sub": "Sched", "package": package.pk},
    ])
    assert mapping.mapping_orphans(connection=connection) == []
    RemoteStage.objects.filter(connection=connection, remote_id="s1").delete()
    RemoteStage.objects.filter(connection=connection, remote_id="s2").update(name="Technical interview")
    found = {(r["stage"], r["sub"]): problem for r, problem in mapping.mapping_orphans(connection=connection)}
    assert found == {
        ("s1", ""): "the stage no longer exists in the ATS",
        ("s2", ""): "the stage was renamed in the ATS (was “Interview”, now “Technical interview”)",
    }


def test_use_package_adds_rows_through_the_same_versioning(pipeline_connection):
    connection = pipeline_connection
    a, b = PackageFactory(tenant=connection.tenant), PackageFactory(tenant=connection.tenant)
    mapping.stage_mappings_save(connection=connection, rows=[
        {"stage": "s2", "package": a.pk}, {"job": "job-1", "stage": "s2", "package": None},
    ])
    version = mapping.stage_mappings_use_package(
        connection=connection, package=b, stages_by_job={"job-1": "s2|", "job-2": "s2|Sched"},
    )
    assert version.number == 2 and "Use in ATS" in version.note
    rows = {(r["job"], r["stage"], r["sub"], r["package"]) for r in mapping.mapping_rows(connection=connection)}
    assert rows == {("", "s2", "", a.pk), ("job-1", "s2", "", b.pk), ("job-2", "s2", "Sched", b.pk)}
    assert mapping.stage_mappings_use_package(connection=connection, package=b, stages_by_job={"job-1": "s2|"}) is None


def test_review_counts_candidates_in_each_mapped_stage(pipeline_connection):
    connection = pipeline_connection
    package = PackageFactory(tenant=connection.tenant)
    for i, (job, stage) in enumerate([("j1", "s2"), ("j2", "s2"), ("j2", "s2"), ("j3", "s1")]):
        RemoteApplication.objects.create(connection=connection, remote_id=f"a{i}", remote_job_id=job, remote_stage_id=stage)
    rows = [mapping.row_clean(r) for r in [{"stage": "s2", "package": package.pk}, {"job": "j2", "stage": "s2", "package": None}]]
    lines = {(line.job_label, line.stage_label): (line.package_name, line.candidates_now)
             for line in mapping.mapping_review(connection=connection, rows=rows)}
    assert lines == {("All jobs", "Interview"): (package.name, 1), ("j2", "Interview"): ("No interview", 2)}
