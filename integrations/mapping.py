"""Stage mappings as the recruiter edits them: rows, validation, versioned saving and restore, the
package-side "Use in ATS", the review table and orphan flags; plus what trigger mode needs from
them (who is already invited, score rules on completion).

A mapping *row* is a plain dict (JSON-serializable: it is kept in the wizard's session draft and in
``StageMappingVersion.rows``)::

    {"job": "", "stage": "7", "sub": "", "package": 3, "active": True, "reinvite": False,
     "pass_threshold": 70, "pass_stage": "8", "fail_threshold": 40, "fail_stage": "",
     "stage_name": "Interview"}

``job`` blank = all jobs; ``package`` None = "no interview here" (a job's override of the default).
Stages are matched by id, never by name; ``stage_name`` only records what the recruiter saw.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import transaction
from django.db.models import Count, Max, Q

from assessments.models import Assessment, OPEN_STATUSES, Package

from .models import (
    Connection,
    DeliveryChannel,
    RemoteApplication,
    RemoteJob,
    RemoteStage,
    StageMapping,
    StageMappingVersion,
)
from .providers import DeliverySpec

# Stage types (``RemoteStage.stage_type``, compared case-insensitively) that close an application:
# a candidate moved there is never invited. Providers mirror their rejected / withdrawn stages
# with these types.
CLOSED_STAGE_TYPES = frozenset({"rejected", "withdrawn"})
SCORE_RULES_OPTION = "score_rules"
ROW_FIELDS = (
    "job", "stage", "sub", "package", "active", "reinvite", "pass_threshold", "pass_stage",
    "fail_threshold", "fail_stage", "stage_name",
)


class MappingInvalid(Exception):
    """The rows cannot be saved; ``errors`` says why, one readable sentence each."""

    def __init__(self, errors: list[str]):
        super().__init__("; ".join(errors))
        self.errors = errors


# --- rows ----------------------------------------------------------------------------------------
def _threshold(value: Any) -> int | None:
    if value in (None, ""):
        return None
    return int(value)


def row_clean(raw: dict[str, Any]) -> dict[str, Any]:
    """A row with every field present and typed (raises ValueError for a non-numeric threshold)."""
    package = raw.get("package")
    return {
        "job": str(raw.get("job") or "").strip(),
        "stage": str(raw.get("stage") or "").strip(),
        "sub": str(raw.get("sub") or "").strip(),
        "package": int(package) if package not in (None, "") else None,
        "active": bool(raw.get("active", True)),
        "reinvite": bool(raw.get("reinvite", False)),
        "pass_threshold": _threshold(raw.get("pass_threshold")),
        "pass_stage": str(raw.get("pass_stage") or "").strip(),
        "fail_threshold": _threshold(raw.get("fail_threshold")),
        "fail_stage": str(raw.get("fail_stage") or "").strip(),
        "stage_name": str(raw.get("stage_name") or "")[:200],
    }


def row_key(row: dict[str, Any]) -> tuple[str, str, str, int | None]:
    return (row["job"], row["stage"], row["sub"], row["package"])


def row_key_text(row: dict[str, Any]) -> str:
    """A stable string key of a row (form field names, diffs)."""
    job, stage, sub, package = row_key(row)
    return f"{job}|{stage}|{sub}|{'' if package is None else package}"


def _row_of(mapping: StageMapping) -> dict[str, Any]:
    return row_clean({
        "job": mapping.remote_job_id, "stage": mapping.remote_stage_id, "sub": mapping.remote_sub_status,
        "package": mapping.package_id, "active": mapping.active, "reinvite": mapping.reinvite_on_reentry,
        "pass_threshold": mapping.advance_threshold, "pass_stage": mapping.advance_to_stage_id,
        "fail_threshold": mapping.fail_threshold, "fail_stage": mapping.fail_to_stage_id,
        "stage_name": mapping.remote_stage_name,
    })


def rows_sorted(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda r: (r["job"] != "", r["job"], r["stage"], r["sub"], r["package"] or 0))


def mapping_rows(*, connection: Connection) -> list[dict[str, Any]]:
    """The connection's saved mappings as rows."""
    return rows_sorted([_row_of(m) for m in StageMapping.objects.filter(connection=connection)])


# --- the mirror's pipeline -----------------------------------------------------------------------
@dataclass(frozen=True)
class StageOption:
    """A stage (or sub-stage) of the ATS pipeline as the wizard shows it."""

    remote_id: str  # the RemoteStage id (a target of score rules)
    stage: str  # what applications carry as their stage id
    sub: str  # and as their sub-status ("" for a stage)
    name: str
    job: str  # the job whose pipeline it belongs to ("" = every job's)
    job_title: str = ""
    parent_name: str = ""

    @property
    def key(self) -> str:
        return f"{self.stage}|{self.sub}"

    @property
    def label(self) -> str:
        name = f"{self.parent_name} › {self.name}" if self.sub else self.name
        return f"{name} ({self.job_title or self.job})" if self.job else name


def pipeline(*, connection: Connection, include_sub: bool = True) -> list[StageOption]:
    """The mirrored stages: shared ones first, then each job's in pipeline order; sub-stages after
    their stage."""
    stages = list(RemoteStage.objects.filter(connection=connection).order_by("remote_job_id", "position", "id"))
    titles = dict(RemoteJob.objects.filter(connection=connection).values_list("remote_id", "title"))
    names = {s.remote_id: s.name for s in stages}
    top = [s for s in stages if not s.parent_remote_id]
    subs: dict[str, list[RemoteStage]] = {}
    for s in stages:
        if s.parent_remote_id:
            subs.setdefault(s.parent_remote_id, []).append(s)
    options: list[StageOption] = []
    for s in sorted(top, key=lambda s: (s.remote_job_id != "", s.remote_job_id, s.position, s.id)):
        job_title = titles.get(s.remote_job_id, "")
        options.append(StageOption(s.remote_id, s.remote_id, "", s.name, s.remote_job_id, job_title))
        if include_sub:
            for sub in subs.get(s.remote_id, []):
                options.append(StageOption(
                    sub.remote_id, s.remote_id, sub.sub_status or sub.remote_id, sub.name, s.remote_job_id,
                    job_title, parent_name=s.name,
                ))
    return options


def jobs_search(*, connection: Connection, query: str = "", limit: int = 50) -> list[RemoteJob]:
    jobs = RemoteJob.objects.filter(connection=connection)
    if query:
        jobs = jobs.filter(Q(title__icontains=query) | Q(remote_id=query))
    return list(jobs.order_by("title", "remote_id")[:limit])


def job_get(*, connection: Connection, remote_job_id: str) -> RemoteJob | None:
    return RemoteJob.objects.filter(connection=connection, remote_id=remote_job_id).first()


def _stage_lookup(connection: Connection) -> dict[tuple[str, str], RemoteStage]:
    """(stage id, sub-status) -> mirror row, for stages and sub-stages."""
    lookup: dict[tuple[str, str], RemoteStage] = {}
    for s in RemoteStage.objects.filter(connection=connection):
        if s.parent_remote_id:
            lookup[(s.parent_remote_id, s.sub_status or s.remote_id)] = s
        else:
            lookup[(s.remote_id, "")] = s
    return lookup


# --- validation and saving ---------------------------------------------------------------------
def mapping_errors(
    *, connection: Connection, rows: list[dict[str, Any]], require_known_stages: bool = True
) -> list[str]:
    """Why ``rows`` cannot be saved for ``connection`` (empty when they can)."""
    errors: list[str] = []
    package_ids = {r["package"] for r in rows if r["package"] is not None}
    packages = {p.pk: p for p in Package.objects.filter(pk__in=package_ids, tenant_id=connection.tenant_id)}
    stages = _stage_lookup(connection)
    by_remote_id = {s.remote_id: s for s in stages.values()}
    seen: set[tuple] = set()
    for row in rows:
        where = f"stage {row['stage_name'] or row['stage']!r}" + (f" of job {row['job']!r}" if row["job"] else "")
        if not row["stage"]:
            errors.append("A mapping names no stage.")
            continue
        key = row_key(row)
        if key in seen:
            errors.append(f"{where}: the same package is mapped twice.")
        seen.add(key)
        if row["package"] is not None and row["package"] not in packages:
            errors.append(f"{where}: package {row['package']} is not one of this workspace's packages.")
        if row["package"] is None and not row["job"]:
            errors.append(f"{where}: “no interview” is only for a job's override; leave the stage unmapped instead.")
        for name in ("pass_threshold", "fail_threshold"):
            value = row[name]
            if value is not None and not 0 <= value <= 100:
                errors.append(f"{where}: the {name.split('_')[0]} threshold must be between 0 and 100.")
        if row["pass_threshold"] is not None and row["fail_threshold"] is not None and row["fail_threshold"] > row["pass_threshold"]:
            errors.append(f"{where}: the fail threshold is above the pass threshold.")
        if row["pass_stage"] and row["pass_threshold"] is None:
            errors.append(f"{where}: a stage to move passing candidates to needs a pass threshold.")
        if row["fail_stage"] and row["fail_threshold"] is None:
            errors.append(f"{where}: a stage to move failing candidates to needs a fail threshold.")
        if not require_known_stages:
            continue
        stage = stages.get((row["stage"], row["sub"]))
        if stage is None:
            errors.append(f"{where}: no such stage in this connection's pipeline (refresh from the ATS?).")
        elif row["job"] and stage.remote_job_id and stage.remote_job_id != row["job"]:
            errors.append(f"{where}: the stage belongs to another job's pipeline.")
        for name in ("pass_stage", "fail_stage"):
            target = row[name]
            if target and target not in by_remote_id:
                errors.append(f"{where}: the {name.split('_')[0]} rule's target stage {target!r} is not in this connection's pipeline.")
    return errors


def _diff(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> dict[str, list]:
    old = {row_key_text(r): r for r in before}
    new = {row_key_text(r): r for r in after}
    changed = []
    for key in sorted(old.keys() & new.keys()):
        fields = {f: [old[key][f], new[key][f]] for f in ROW_FIELDS if f != "stage_name" and old[key][f] != new[key][f]}
        if fields:
            changed.append({"row": new[key], "fields": fields})
    return {
        "added": [new[k] for k in sorted(new.keys() - old.keys())],
        "removed": [old[k] for k in sorted(old.keys() - new.keys())],
        "changed": changed,
    }


def _version_create(*, connection: Connection, rows, diff, user, actor: str, note: str) -> StageMappingVersion:
    number = mapping_version_number(connection=connection) + 1
    return StageMappingVersion.objects.create(
        connection=connection, number=number, created_by=user if getattr(user, "pk", None) else None,
        actor=(actor or getattr(user, "email", "") or "")[:150], note=note[:300], rows=rows, diff=diff,
    )


def stage_mappings_save(
    *,
    connection: Connection,
    rows: list[dict[str, Any]],
    user=None,
    actor: str = "",
    note: str = "",
    require_known_stages: bool = True,
) -> StageMappingVersion | None:
    """Replace the connection's mappings with ``rows``, atomically, as a new version. Returns the
    version, or None when nothing changed. Raises ``MappingInvalid`` (nothing saved) for rows that
    name another workspace's package, a stage not in this connection's pipeline, and the like."""
    rows = rows_sorted([row_clean(r) for r in rows])
    with transaction.atomic():
        # One save at a time per connection: versions are numbered and diffed against the state
        # this save replaces.
        Connection.objects.select_for_update().filter(pk=connection.pk).first()
        errors = mapping_errors(connection=connection, rows=rows, require_known_stages=require_known_stages)
        if errors:
            raise MappingInvalid(errors)
        stages = _stage_lookup(connection)
        for row in rows:
            mirrored = stages.get((row["stage"], row["sub"]))
            if mirrored is not None:
                row["stage_name"] = mirrored.name
        before = mapping_rows(connection=connection)
        diff = _diff(before, rows)
        if not any(diff.values()):
            return None
        if before and not StageMappingVersion.objects.filter(connection=connection).exists():
            # The state before the first recorded save (from configuration or the admin) becomes
            # version 1, so it can be restored.
            _version_create(connection=connection, rows=before, diff={}, user=None, actor="system",
                            note="mappings before the first versioned save")
        existing = {row_key(_row_of(m)): m for m in StageMapping.objects.filter(connection=connection)}
        wanted = {row_key(r): r for r in rows}
        StageMapping.objects.filter(pk__in=[m.pk for k, m in existing.items() if k not in wanted]).delete()
        for key, row in wanted.items():
            mapping = existing.get(key) or StageMapping(
                connection=connection, remote_job_id=row["job"], remote_stage_id=row["stage"],
                remote_sub_status=row["sub"], package_id=row["package"],
            )
            mapping.active = row["active"]
            mapping.reinvite_on_reentry = row["reinvite"]
            mapping.advance_threshold = row["pass_threshold"]
            mapping.advance_to_stage_id = row["pass_stage"]
            mapping.fail_threshold = row["fail_threshold"]
            mapping.fail_to_stage_id = row["fail_stage"]
            mapping.remote_stage_name = row["stage_name"]
            mapping.save()
        return _version_create(connection=connection, rows=rows, diff=diff, user=user, actor=actor, note=note)


def stage_mapping_version_restore(*, version: StageMappingVersion, user=None) -> StageMappingVersion | None:
    """Save an earlier version's rows as the newest version (None if they are the current ones).
    Stages that have since left the pipeline are restored too, and flagged."""
    return stage_mappings_save(
        connection=version.connection, rows=list(version.rows), user=user,
        note=f"restored version {version.number}", require_known_stages=False,
    )


def stage_mappings_use_package(
    *, connection: Connection, package: Package, stages_by_job: dict[str, str], user=None,
    reinvite: bool = False,
) -> StageMappingVersion | None:
    """The package-side "Use in ATS": for each job (``""`` = all jobs), candidates entering the
    chosen stage (a ``StageOption.key``, "stage|sub") get ``package``. Added to the existing
    mappings, saved as a version like the wizard's."""
    rows = mapping_rows(connection=connection)
    keys = {row_key(r) for r in rows}
    for job, stage_key in stages_by_job.items():
        stage, _, sub = stage_key.partition("|")
        row = row_clean({"job": job, "stage": stage, "sub": sub, "package": package.pk, "reinvite": reinvite})
        if row_key(row) not in keys:
            rows.append(row)
            keys.add(row_key(row))
        # A "no interview" override of this job's stage would hide the new row: it goes.
        rows = [r for r in rows if not (r["package"] is None and (r["job"], r["stage"], r["sub"]) == (job, stage, sub))]
    return stage_mappings_save(
        connection=connection, rows=rows, user=user, note=f"“Use in ATS” for {package.name}"
    )


# --- reads for the wizard and the connections page ----------------------------------------------
@dataclass
class ReviewLine:
    row: dict[str, Any]
    stage_label: str
    job_label: str
    package_name: str
    candidates_now: int
    problem: str = ""
    rules: list[str] = field(default_factory=list)


def orphan_problem(row: dict[str, Any], stages: dict[tuple[str, str], RemoteStage]) -> str:
    """Why a row's stage no longer matches the ATS ("" when it does)."""
    stage = stages.get((row["stage"], row["sub"]))
    if stage is None:
        return "the stage no longer exists in the ATS"
    if row["stage_name"] and stage.name != row["stage_name"]:
        return f"the stage was renamed in the ATS (was “{row['stage_name']}”, now “{stage.name}”)"
    by_id = {s.remote_id for s in stages.values()}
    for name in ("pass_stage", "fail_stage"):
        if row[name] and row[name] not in by_id:
            return f"the {name.split('_')[0]} rule's target stage no longer exists in the ATS"
    return ""


def mapping_orphans(*, connection: Connection, rows: list[dict[str, Any]] | None = None) -> list[tuple[dict, str]]:
    """Mappings whose stage disappeared or was renamed in the ATS. None while the pipeline was
    never mirrored (nothing to compare with)."""
    stages = _stage_lookup(connection)
    if not stages:
        return []
    rows = mapping_rows(connection=connection) if rows is None else rows
    found = []
    for row in rows:
        problem = orphan_problem(row, stages)
        if problem:
            found.append((row, problem))
    return found


def _candidates_in_stages(connection: Connection) -> Counter:
    counts: Counter = Counter()
    rows = (
        RemoteApplication.objects.filter(connection=connection, rejected_at__isnull=True)
        .values("remote_job_id", "remote_stage_id", "remote_sub_status")
        .annotate(n=Count("id"))
    )
    for r in rows:
        counts[(r["remote_job_id"], r["remote_stage_id"], r["remote_sub_status"])] += r["n"]
    return counts


def mapping_review(*, connection: Connection, rows: list[dict[str, Any]]) -> list[ReviewLine]:
    """What will trigger what, and how many candidates sit in each mapped stage now (from the mirror;
    for an all-jobs row, those of jobs without their own override of that stage)."""
    stages = _stage_lookup(connection)
    by_id = {s.remote_id: s for s in stages.values()}
    titles = dict(RemoteJob.objects.filter(connection=connection).values_list("remote_id", "title"))
    packages = dict(Package.objects.filter(tenant_id=connection.tenant_id).values_list("pk", "name"))
    counts = _candidates_in_stages(connection)
    overridden = {(r["job"], r["stage"], r["sub"]) for r in rows if r["job"]}
    lines = []
    for row in rows_sorted(rows):
        stage = stages.get((row["stage"], row["sub"]))
        if row["job"]:
            now = counts[(row["job"], row["stage"], row["sub"])]
        else:
            now = sum(n for (job, st, sub), n in counts.items()
                      if st == row["stage"] and sub == row["sub"] and (job, st, sub) not in overridden)
        rules = []
        if row["pass_threshold"] is not None:
            target = by_id.get(row["pass_stage"])
            rules.append(f"score ≥ {row['pass_threshold']} → " + (f"move to {target.name}" if target else
                         (f"move to {row['pass_stage']}" if row["pass_stage"] else "no move")))
        if row["fail_threshold"] is not None:
            target = by_id.get(row["fail_stage"])
            rules.append(f"score < {row['fail_threshold']} → " + (f"move to {target.name}" if target else
                         (f"move to {row['fail_stage']}" if row["fail_stage"] else "note only")))
        if row["reinvite"]:
            rules.append("invites again on re-entry")
        lines.append(ReviewLine(
            row=row,
            stage_label=(stage.name if stage else row["stage_name"] or row["stage"]) + (f" › {row['sub']}" if row["sub"] and not stage else ""),
            job_label=(titles.get(row["job"]) or row["job"]) if row["job"] else "All jobs",
            package_name=packages.get(row["package"], "—") if row["package"] is not None else "No interview",
            candidates_now=now,
            problem=orphan_problem(row, stages) if stages else "",
            rules=rules,
        ))
    return lines


def mapping_version_number(*, connection: Connection) -> int:
    """The newest version's number (0 before the first save)."""
    return StageMappingVersion.objects.filter(connection=connection).aggregate(n=Max("number"))["n"] or 0


def mapping_versions(*, connection: Connection, limit: int = 20) -> list[StageMappingVersion]:
    return list(StageMappingVersion.objects.filter(connection=connection).select_related("created_by")[:limit])


# --- trigger mode --------------------------------------------------------------------------------
def stage_closes_application(*, connection: Connection, remote_stage_id: str, remote_sub_status: str = "") -> bool:
    """Whether the stage is a rejected / withdrawn one (by the mirror's stage type)."""
    types = RemoteStage.objects.filter(connection=connection).filter(
        Q(remote_id=remote_stage_id, parent_remote_id="")
        | Q(parent_remote_id=remote_stage_id, sub_status=remote_sub_status) & ~Q(sub_status="")
    ).values_list("stage_type", flat=True)
    return any((t or "").strip().lower() in CLOSED_STAGE_TYPES for t in types)


def trigger_existing_assessment(
    *, connection: Connection, package: Package, remote_application_id: str, remote_candidate_id: str,
    remote_job_id: str, reinvite: bool,
) -> Assessment | None:
    """An assessment that makes a new stage trigger for this package unnecessary: one for the same
    application (any status, unless the mapping invites again on re-entry: then only an open one),
    or an order placed for the same candidate and job before the application was mirrored."""
    mine = Assessment.objects.filter(source=connection.source_key, package=package)
    same_application = Q(remote_application_id=remote_application_id) if remote_application_id else Q(pk__in=[])
    same_candidate_job = (
        Q(remote_application_id="", remote_candidate_id=remote_candidate_id, remote_job_id=remote_job_id)
        if remote_candidate_id and remote_job_id else Q(pk__in=[])
    )
    found = mine.filter(same_application | same_candidate_job)
    if reinvite:
        found = found.filter(status__in=OPEN_STATUSES)
    return found.order_by("-created_at", "-id").first()


def score_rules_option(mapping: StageMapping) -> dict[str, Any]:
    """The score rules an ordered assessment carries (a snapshot: editing the mapping later does
    not change the rules a candidate was invited under)."""
    if mapping.advance_threshold is None and mapping.fail_threshold is None:
        return {}
    return {
        "mapping_id": mapping.pk,
        "pass_threshold": mapping.advance_threshold, "pass_stage": mapping.advance_to_stage_id,
        "fail_threshold": mapping.fail_threshold, "fail_stage": mapping.fail_to_stage_id,
    }


def score_percent(assessment: Assessment) -> int | None:
    """The score on a 0-100 scale (thresholds use it)."""
    if assessment.score_value is None:
        return None
    low = assessment.score_min if assessment.score_min is not None else Decimal(0)
    high = assessment.score_max if assessment.score_max is not None else Decimal(100)
    if high <= low:
        return None
    share = (Decimal(assessment.score_value) - low) / (high - low) * 100
    return int(min(max(share, Decimal(0)), Decimal(100)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def score_rule_delivery_spec(*, connection: Connection, assessment: Assessment) -> DeliverySpec | None:
    """The ``stage_move`` write-back a completed assessment's score rules call for, or None. The
    payload names the target as the ATS knows it (stage id and sub-status) and a note to leave."""
    rules = (assessment.options or {}).get(SCORE_RULES_OPTION)
    if not isinstance(rules, dict) or not assessment.remote_application_id:
        return None
    score = score_percent(assessment)
    if score is None:
        return None
    passed, failed = rules.get("pass_threshold"), rules.get("fail_threshold")
    if isinstance(passed, int) and score >= passed:
        rule, threshold, target = "pass", passed, rules.get("pass_stage") or ""
        if not target:
            return None
        note = f"Stagehook: {assessment.package.name} scored {score}/100 (pass threshold {passed})."
    elif isinstance(failed, int) and score < failed:
        rule, threshold, target = "fail", failed, rules.get("fail_stage") or ""
        note = f"Stagehook: {assessment.package.name} scored {score}/100, below the fail threshold {failed}."
    else:
        return None
    stage_id, sub_status = target, ""
    mirrored = RemoteStage.objects.filter(connection=connection, remote_id=target).first() if target else None
    if mirrored is not None and mirrored.parent_remote_id:
        stage_id, sub_status = mirrored.parent_remote_id, mirrored.sub_status
    return DeliverySpec(channel=DeliveryChannel.STAGE_MOVE, payload={
        "rule": rule, "score": score, "threshold": threshold, "to_stage_id": stage_id,
        "to_sub_status": sub_status, "note": note,
    })


def stage_left(*, connection: Connection, remote_application_id: str, remote_stage_id: str,
               remote_sub_status: str = "") -> bool:
    """Whether the mirrored application is no longer in that stage (or was rejected) right now."""
    row = RemoteApplication.objects.filter(connection=connection, remote_id=remote_application_id).first()
    if row is None:
        return False
    return (
        row.rejected_at is not None
        or row.remote_stage_id != remote_stage_id
        or row.remote_sub_status != remote_sub_status
    )

