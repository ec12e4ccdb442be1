"""The recruiter's connection pages, mounted at /app/connections/: the connections list, the
stage-mapping wizard and the package-side "Use in ATS". Server-rendered, every step a plain form
(no JavaScript needed). Every connection and package is looked up through the user's memberships:
another tenant's id is a 404.

The wizard keeps its draft in the session until "Save" writes it, atomically, as a new version.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from . import mapping
from .sync import sync_start
from .models import Connection, StageMappingVersion
from .selectors_app import (
    connect_links,
    connection_get_for_user,
    connection_health,
    connection_list_for_user,
    package_get_for_user,
    packages_of,
    sync_run_latest,
)

STEPS = ("stages", "jobs", "rules", "review")
STEP_TITLES = {"stages": "Stages for all jobs", "jobs": "Per-job overrides", "rules": "Score rules", "review": "Review and save"}
NONE_CHOICE = "none"


# --- the draft -----------------------------------------------------------------------------------
def _draft_key(connection: Connection) -> str:
    return f"stage_mapping_draft:{connection.pk}"


def _draft(request: HttpRequest, connection: Connection) -> list[dict]:
    stored = request.session.get(_draft_key(connection))
    if stored is None:
        return mapping.mapping_rows(connection=connection)
    rows = stored["rows"] if isinstance(stored, dict) else stored
    return [mapping.row_clean(r) for r in rows]


def _draft_base(request: HttpRequest, connection: Connection) -> int | None:
    """The saved version the draft started from (None: no draft, or one without a base)."""
    stored = request.session.get(_draft_key(connection))
    return stored.get("base") if isinstance(stored, dict) else None


def _draft_store(request: HttpRequest, connection: Connection, rows: list[dict], *, base: int | None = None) -> None:
    if base is None:
        base = _draft_base(request, connection)
    if base is None:
        base = mapping.mapping_version_number(connection=connection)
    request.session[_draft_key(connection)] = {"rows": mapping.rows_sorted(rows), "base": base}


def _draft_clear(request: HttpRequest, connection: Connection) -> None:
    request.session.pop(_draft_key(connection), None)


def _saved(request: HttpRequest, connection: Connection, version: StageMappingVersion | None, *,
           unchanged: str, saved: str) -> None:
    """After a save: the draft goes, and the recruiter learns the version (or that nothing changed)."""
    _draft_clear(request, connection)
    if version is None:
        messages.info(request, unchanged)
    else:
        messages.success(request, saved.format(number=version.number))


def _wizard_url(connection: Connection, step: str, **params) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items() if v not in (None, ""))
    return f"{reverse('integrations_app:mapping', args=[connection.pk])}?step={step}" + (f"&{query}" if query else "")


def _package_ids(request: HttpRequest, name: str, allowed: set[int]) -> tuple[list[int], list[str]]:
    """The package ids posted under ``name`` that are this workspace's; the rest are errors."""
    ids, errors = [], []
    for raw in request.POST.getlist(name):
        if raw in ("", NONE_CHOICE):
            continue
        if not raw.isdigit() or int(raw) not in allowed:
            errors.append(f"Package {raw[:20]!r} is not one of this workspace's packages.")
            continue
        ids.append(int(raw))
    return ids, errors


def _merge(existing: list[dict], level_rows: list[dict], *, job: str, keys: set[tuple[str, str]],
           choosable: set[int]) -> list[dict]:
    """Replace the rows of ``job`` for the stages ``keys`` with ``level_rows``; rules of rows that
    stay are kept. Rows of packages the form could not offer (deactivated ones) stay as they are."""
    kept_rules = {mapping.row_key(r): r for r in existing if r["job"] == job}
    result = [
        r for r in existing
        if not (r["job"] == job and (r["stage"], r["sub"]) in keys and (r["package"] is None or r["package"] in choosable))
    ]
    for row in level_rows:
        previous = kept_rules.get(mapping.row_key(row))
        result.append(previous if previous is not None else row)
    return result


# --- connections page ----------------------------------------------------------------------------
@login_required
def connection_list_view(request: HttpRequest) -> HttpResponse:
    health = [connection_health(connection=c) for c in connection_list_for_user(user=request.user)]
    response = render(request, "integrations/connection_list.html", {"rows": health, "connect_links": connect_links()})
    # A provider's connect flow may run in a pop-up that passes through the ATS's origin.
    response["Cross-Origin-Opener-Policy"] = "same-origin-allow-popups"
    return response


# --- the wizard ----------------------------------------------------------------------------------
@login_required
def mapping_wizard_view(request: HttpRequest, connection_id: int) -> HttpResponse:
    connection = connection_get_for_user(user=request.user, connection_id=connection_id)
    step = request.GET.get("step") or request.POST.get("step") or "stages"
    if step not in STEPS:
        step = "stages"
    show_sub = request.GET.get("sub") == "1" or request.POST.get("sub") == "1"
    packages = packages_of(connection=connection)
    allowed = {p.pk for p in packages}
    rows = _draft(request, connection)
    stages = mapping.pipeline(connection=connection, include_sub=show_sub)
    errors: list[str] = []
    job_id = (request.GET.get("job") or request.POST.get("job") or "").strip()
    job = None
    if job_id:
        job = mapping.job_get(connection=connection, remote_job_id=job_id)

    if request.method == "POST":
        action = request.POST.get("action", "next")
        if action == "discard":
            _draft_clear(request, connection)
            messages.info(request, "Your unsaved changes were discarded.")
            return redirect(_wizard_url(connection, "stages"))
        if step == "stages":
            level, keys = [], set()
            for option in stages:
                keys.add((option.stage, option.sub))
                ids, bad = _package_ids(request, f"default::{option.key}", allowed)
                errors += bad
                level += [mapping.row_clean({"stage": option.stage, "sub": option.sub, "package": pk,
                                             "stage_name": option.name}) for pk in ids]
            if not errors:
                _draft_store(request, connection, _merge(rows, level, job="", keys=keys, choosable=allowed))
                return redirect(_wizard_url(connection, "jobs" if action == "next" else "stages", sub="1" if show_sub else ""))
        elif step == "jobs" and job is not None:
            level, keys = [], set()
            for option in stages:
                if option.job and option.job != job.remote_id:
                    continue
                keys.add((option.stage, option.sub))
                values = request.POST.getlist(f"override::{option.key}")
                if NONE_CHOICE in values:
                    level.append(mapping.row_clean({"job": job.remote_id, "stage": option.stage, "sub": option.sub,
                                                    "package": None, "stage_name": option.name}))
                    continue
                ids, bad = _package_ids(request, f"override::{option.key}", allowed)
                errors += bad
                level += [mapping.row_clean({"job": job.remote_id, "stage": option.stage, "sub": option.sub,
                                             "package": pk, "stage_name": option.name}) for pk in ids]
            if not errors:
                _draft_store(request, connection, _merge(rows, level, job=job.remote_id, keys=keys, choosable=allowed))
                messages.success(request, f"Overrides for {job.title or job.remote_id} are in your draft.")
                return redirect(_wizard_url(connection, "jobs", sub="1" if show_sub else ""))
        elif step == "jobs":
            return redirect(_wizard_url(connection, "rules", sub="1" if show_sub else ""))
        elif step == "rules":
            updated = []
            for row in rows:
                if row["package"] is None:
                    updated.append(row)
                    continue
                prefix = f"rule::{mapping.row_key_text(row)}::"
                raw = {**row, **{name: request.POST.get(prefix + name, "") for name in
                                 ("pass_threshold", "pass_stage", "fail_threshold", "fail_stage")},
                       "reinvite": request.POST.get(prefix + "reinvite") == "on"}
                try:
                    updated.append(mapping.row_clean(raw))
                except ValueError:
                    errors.append(f"Stage {row['stage_name'] or row['stage']}: thresholds are whole numbers from 0 to 100.")
                    updated.append(row)
            if not errors:
                errors = mapping.mapping_errors(connection=connection, rows=updated, require_known_stages=False)
            if not errors:
                _draft_store(request, connection, updated)
                return redirect(_wizard_url(connection, "review", sub="1" if show_sub else ""))
            rows = updated
        elif step == "review":
            errors = _save_draft(request, connection, rows)
            if not errors:
                return redirect(_wizard_url(connection, "review"))

    saved = mapping.mapping_rows(connection=connection)
    context = {
        "connection": connection,
        "step": step,
        "steps": [(s, STEP_TITLES[s]) for s in STEPS],
        "show_sub": show_sub,
        "packages": packages,
        "stages": stages,
        "target_stages": mapping.pipeline(connection=connection, include_sub=True),
        "errors": errors,
        "unsaved": rows != saved,
        "latest_sync_run": sync_run_latest(connection=connection),
    }
    defaults = {}
    for row in rows:
        if not row["job"] and row["package"] is not None:
            defaults.setdefault(f"{row['stage']}|{row['sub']}", set()).add(row["package"])
    problems = {}
    for row, problem in mapping.mapping_orphans(connection=connection, rows=rows):
        problems.setdefault(f"{row['stage']}|{row['sub']}", problem)
    context["stage_rows"] = [
        {"option": o, "selected": defaults.get(o.key, set()), "problem": problems.pop(o.key, "")} for o in stages
    ]
    context["orphans"] = mapping.mapping_orphans(connection=connection, rows=rows)
    if step == "jobs":
        query = request.GET.get("q", "").strip()
        context["query"] = query
        context["jobs"] = mapping.jobs_search(connection=connection, query=query)
        context["overridden_jobs"] = sorted({r["job"] for r in rows if r["job"]})
        context["job"] = job
        if job is not None:
            mine = {}
            for row in rows:
                if row["job"] == job.remote_id:
                    mine.setdefault(f"{row['stage']}|{row['sub']}", set()).add(
                        NONE_CHOICE if row["package"] is None else row["package"])
            names = {p.pk: p.name for p in packages}
            context["job_rows"] = [
                {"option": o, "selected": mine.get(o.key, set()),
                 "inherited": ", ".join(names.get(pk, "?") for pk in sorted(defaults.get(o.key, set()))) or "nothing"}
                for o in stages if not o.job or o.job == job.remote_id
            ]
    if step == "rules":
        names = {p.pk: p.name for p in packages}
        context["rule_rows"] = [
            {"row": r, "key": mapping.row_key_text(r), "package_name": names.get(r["package"], str(r["package"]))}
            for r in rows if r["package"] is not None
        ]
    if step == "review":
        context["review"] = mapping.mapping_review(connection=connection, rows=rows)
        context["versions"] = mapping.mapping_versions(connection=connection)
    return render(request, "integrations/mapping_wizard.html", context, status=400 if errors else 200)


def _save_draft(request: HttpRequest, connection: Connection, rows: list[dict]) -> list[str]:
    """The review step's Save: the draft as a new version, or why not."""
    base, latest = _draft_base(request, connection), mapping.mapping_version_number(connection=connection)
    if base is not None and base != latest:
        # Someone saved while this draft was being edited: say so once; saving again replaces
        # their version with this draft (theirs stays restorable).
        _draft_store(request, connection, rows, base=latest)
        return [f"Version {latest} was saved while you were editing. Check it in the version history below, "
                "then save again to replace it with your draft, or discard your changes."]
    try:
        version = mapping.stage_mappings_save(connection=connection, rows=rows, user=request.user,
                                              note="saved in the wizard")
    except mapping.MappingInvalid as exc:
        return exc.errors
    _saved(request, connection, version, unchanged="Nothing changed: the saved mapping is the same.",
           saved="Saved as version {number}.")
    return []


@login_required
def mapping_refresh_view(request: HttpRequest, connection_id: int) -> HttpResponse:
    connection = connection_get_for_user(user=request.user, connection_id=connection_id)
    if request.method != "POST":  # after the lookup: another tenant's id is a 404 whatever the method
        return HttpResponseNotAllowed(["POST"])
    run = sync_start(connection=connection, full=False, kinds=("jobs", "stages"), reason="wizard: refresh from ATS")
    if run is None:
        messages.warning(request, "This connection cannot be synced right now; see its status on the connections page.")
    else:
        messages.info(request, "Refreshing the pipeline from the ATS…")
    return redirect(request.POST.get("next") or _wizard_url(connection, "stages"))


@login_required
def mapping_restore_view(request: HttpRequest, connection_id: int, version_id: int) -> HttpResponse:
    connection = connection_get_for_user(user=request.user, connection_id=connection_id)
    version = get_object_or_404(StageMappingVersion, connection=connection, pk=version_id)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        restored = mapping.stage_mapping_version_restore(version=version, user=request.user)
    except mapping.MappingInvalid as exc:
        messages.error(request, "Version %s cannot be restored: %s" % (version.number, " ".join(exc.errors)))
    else:
        _saved(request, connection, restored, unchanged=f"Version {version.number} is already the saved mapping.",
               saved=f"Version {version.number} restored as version {{number}}.")
    return redirect(_wizard_url(connection, "review"))


# --- "Use in ATS" from a package -------------------------------------------------------------------
@login_required
def use_package_view(request: HttpRequest, package_id: int) -> HttpResponse:
    package = package_get_for_user(user=request.user, package_id=package_id)
    connections = list(connection_list_for_user(user=request.user).filter(tenant=package.tenant))
    raw = request.POST.get("connection") or request.GET.get("connection") or (str(connections[0].pk) if len(connections) == 1 else "")
    connection = next((c for c in connections if str(c.pk) == raw), None)
    errors: list[str] = []
    context = {"package": package, "connections": connections, "connection": connection, "errors": errors,
               "step": "jobs"}
    if connection is None:
        if raw:
            errors.append("Choose one of this workspace's connections.")
        return render(request, "integrations/use_package.html", context, status=400 if errors else 200)

    jobs = mapping.jobs_search(connection=connection, limit=500)
    stages = mapping.pipeline(connection=connection, include_sub=True)
    job_titles = {j.remote_id: j.title or j.remote_id for j in jobs}
    context.update({"jobs": jobs, "current": [
        line for line in mapping.mapping_review(connection=connection, rows=mapping.mapping_rows(connection=connection))
        if line.row["package"] == package.pk
    ]})
    if request.method == "POST":
        chosen = request.POST.getlist("jobs")
        all_jobs = "__all__" in chosen
        chosen = [j for j in chosen if j != "__all__"]
        unknown = [j for j in chosen if j not in job_titles]
        if unknown:
            errors.append("Some of the chosen jobs are not in this connection.")
        elif not chosen and not all_jobs:
            errors.append("Choose one or more jobs, or “All jobs”.")
        targets = [""] if all_jobs else chosen
        if not errors:
            per_job = [
                {"job": job, "title": "All jobs" if not job else job_titles[job],
                 "field": f"stage::{job or '__all__'}",
                 "options": [o for o in stages if not job or not o.job or o.job == job]}
                for job in targets
            ]
            if request.POST.get("step") == "apply":
                stages_by_job = {}
                for item in per_job:
                    value = request.POST.get(item["field"], "")
                    if value not in {o.key for o in item["options"]}:
                        errors.append(f"{item['title']}: choose the trigger stage.")
                    stages_by_job[item["job"]] = value
                if not errors:
                    try:
                        version = mapping.stage_mappings_use_package(
                            connection=connection, package=package, stages_by_job=stages_by_job, user=request.user,
                            reinvite=request.POST.get("reinvite") == "on",
                        )
                    except mapping.MappingInvalid as exc:
                        errors += exc.errors
                    else:
                        _saved(request, connection, version,
                               unchanged=f"{package.name} was already used there: nothing changed.",
                               saved=f"{package.name} is now used in {connection}: saved as version {{number}}.")
                        return redirect(_wizard_url(connection, "review"))
            context.update({"step": "stages", "per_job": per_job, "chosen": targets, "all_jobs": all_jobs})
    return render(request, "integrations/use_package.html", context, status=400 if errors else 200)
