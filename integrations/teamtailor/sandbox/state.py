"""The sandbox's in-memory Teamtailor: records seeded from the copied reference fixtures and the
partner results and notes Stagehook leaves behind. (Rate windows, faults, counters and the webhook
log are the sandbox kit's: integrations/sandbox/.)

Every read and write goes through one re-entrant lock, because the server is threaded and a test
inspects the state while requests are in flight. Records are plain dicts: attributes exactly as
the API renders them, relationship ids beside them.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import json
import threading
import uuid
from pathlib import Path
from typing import Any

FIXTURES_DIR = Path(__file__).resolve().parent.parent / "fixtures"

PARTNER_RESULT_STATUSES = ("sending", "sent", "pending", "completed", "failed")


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def isoformat(moment: dt.datetime) -> str:
    # Teamtailor renders timestamps with milliseconds and an explicit offset.
    return moment.isoformat(timespec="milliseconds")


@functools.lru_cache(maxsize=262_144)
def parse_time(value: str) -> dt.datetime:
    """Teamtailor timestamps and filter values (RFC 3339, "Z" allowed); naive means UTC. Cached:
    every list request parses every record's timestamp (a datetime is immutable)."""
    moment = dt.datetime.fromisoformat(value.strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment


@functools.lru_cache(maxsize=None)
def _fixture_text(name: str) -> str:
    return (FIXTURES_DIR / name).read_text(encoding="utf-8")


def fixture(name: str) -> dict[str, Any]:
    """A fresh copy of one of the copied reference fixtures (callers may mutate it)."""
    return json.loads(_fixture_text(name))


class SandboxState:
    """All mutable sandbox data. Public methods take the lock; ``_``-methods expect it held."""

    def __init__(self, *, lock: threading.RLock | None = None):
        # The sandbox kit's lock when the sandbox has one: counters, faults and the outbox share it.
        self.lock = lock or threading.RLock()
        self.reset()

    # --- lifecycle ---------------------------------------------------------------------------
    def reset(self) -> None:
        with self.lock:
            self.jobs: dict[str, dict[str, Any]] = {}
            self.stages: dict[str, dict[str, Any]] = {}
            self.candidates: dict[str, dict[str, Any]] = {}
            self.applications: dict[str, dict[str, Any]] = {}
            self.users: dict[str, dict[str, Any]] = {}
            self.notes: dict[str, dict[str, Any]] = {}
            self.partner_results: dict[str, dict[str, Any]] = {}
            self.activations: list[dict[str, Any]] = []
            self.provider_key_override: str | None = None
            self.generated = 0  # candidates added by generate()
            self._next_id = {"candidates": 60000, "job-applications": 700, "notes": 1, "triggers": 1}
            self._seed()

    def next_id(self, kind: str) -> str:
        with self.lock:
            value = self._next_id[kind]
            self._next_id[kind] = value + 1
            return str(value)

    # --- seeding -----------------------------------------------------------------------------
    def _seed(self) -> None:
        """The reference fixtures' records, wired together, plus a demo job with candidates."""
        seeded_at = now()
        users = fixture("users.json")["data"]
        for user in users:
            self.users[user["id"]] = {"id": user["id"], "attributes": copy.deepcopy(user["attributes"])}
        # User 34 has no name or e-mail in the fixture; a recruiter who triggers needs both.
        self.users["34"]["attributes"].update({"name": "Sandbox Recruiter", "email": "recruiter@example.com"})

        job_attrs = {job["id"]: job["attributes"] for job in fixture("jobs.json")["data"]}
        for job_id, attributes in job_attrs.items():
            self._add_job(job_id, copy.deepcopy(attributes), seeded_at)
        demo_job = copy.deepcopy(job_attrs["26"])
        demo_job.update(
            {
                "title": "Full-stack web developer",
                "body": "<p>Build the product end to end with us.</p>",
                "created-at": "2026-01-12T09:30:00.000+01:00",
                "tags": ["ruby", "javascript"],
                "mailbox": "job-0d8e2a7c-1b8e-4c1e-9a55-12345sandbox@inbound.teamtailor.localhost",
            }
        )
        self._add_job("12345", demo_job, seeded_at)

        # Teamtailor's stages belong to one job; the fixture's three become job 26's pipeline.
        for stage in fixture("stages.json")["data"]:
            self._add_stage(stage["id"], "26", copy.deepcopy(stage["attributes"]))
        template = fixture("stages.json")["data"][1]["attributes"]
        pipelines = {
            "27": [("6", "Inbox", "Inbox"), ("7", "Interview", "In process"), ("8", "Hired", "Hired")],
            "12345": [
                ("11", "Inbox", "Inbox"),
                ("12", "Phone screen", "In process"),
                ("13", "Stagehook interview", "In process"),
                ("14", "Offer", "In process"),
                ("15", "Hired", "Hired"),
            ],
        }
        for job_id, stages in pipelines.items():
            for order, (stage_id, name, stage_type) in enumerate(stages):
                attributes = copy.deepcopy(template)
                attributes.update(
                    {
                        "created-at": isoformat(seeded_at),
                        "updated-at": isoformat(seeded_at),
                        "name": name,
                        "stage-type": stage_type,
                        "row-order": order * 268435456,
                    }
                )
                self._add_stage(stage_id, job_id, attributes)

        candidate_template = fixture("candidates.json")["data"][0]["attributes"]
        self._add_candidate("1", copy.deepcopy(candidate_template), seeded_at)
        included = fixture("job_application_included_candidate_job.json")
        jonas = next(item for item in included["included"] if item["type"] == "candidates")
        jonas_attrs = copy.deepcopy(jonas["attributes"])
        # Every seeded e-mail is @example.com so the demo can never mail a real domain.
        jonas_attrs["email"] = "jonas.wennergren@example.com"
        self._add_candidate(jonas["id"], jonas_attrs, seeded_at)
        event_candidate = fixture("partner_webhook_request_body.json")["partner-event"]["candidate"]
        self.add_candidate(
            candidate_id=str(event_candidate["id"]),
            first_name=event_candidate["first-name"],
            last_name=event_candidate["last-name"],
            email=event_candidate["email"],
            phone=event_candidate["phone"],
            tags=list(event_candidate["tags"]),
            uuid_=event_candidate["uuid"],
        )
        for candidate_id, first, last in [
            ("54322", "Ada", "Lovelace"),
            ("54323", "Grace", "Hopper"),
            ("54324", "Alan", "Turing"),
        ]:
            self.add_candidate(
                candidate_id=candidate_id,
                first_name=first,
                last_name=last,
                email=f"{first.lower()}.{last.lower()}@example.com",
            )

        application_template = fixture("job_applications.json")["data"]
        for application, (candidate_id, job_id, stage_id) in zip(
            application_template, [("410", "26", "1"), ("1", "26", "2")], strict=True
        ):
            self._add_application(
                application["id"], copy.deepcopy(application["attributes"]), candidate_id, job_id, stage_id
            )
        for application_id, candidate_id, job_id, stage_id in [
            ("636", "54321", "12345", "12"),
            ("637", "54322", "12345", "11"),
            ("638", "54323", "12345", "11"),
            ("639", "54324", "27", "6"),
        ]:
            self.add_application(
                application_id=application_id, candidate_id=candidate_id, job_id=job_id, stage_id=stage_id
            )

    def _add_job(self, job_id: str, attributes: dict[str, Any], updated: dt.datetime) -> None:
        self.jobs[job_id] = {"id": job_id, "attributes": attributes, "updated": updated}

    def _add_stage(self, stage_id: str, job_id: str, attributes: dict[str, Any]) -> None:
        self.stages[stage_id] = {"id": stage_id, "job_id": job_id, "attributes": attributes}

    def _add_candidate(self, candidate_id: str, attributes: dict[str, Any], updated: dt.datetime) -> None:
        self.candidates[candidate_id] = {
            "id": candidate_id,
            "attributes": attributes,
            "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"teamtailor-sandbox/candidates/{candidate_id}")),
            "updated": updated,
        }

    def _add_application(
        self, application_id: str, attributes: dict[str, Any], candidate_id: str, job_id: str, stage_id: str
    ) -> None:
        self.applications[application_id] = {
            "id": application_id,
            "attributes": attributes,
            "candidate_id": candidate_id,
            "job_id": job_id,
            "stage_id": stage_id,
        }

    # --- seeding helpers a test (or the fixture's user) calls -------------------------------
    def add_candidate(
        self,
        *,
        candidate_id: str | None = None,
        first_name: str = "Test",
        last_name: str = "Candidate",
        email: str | None = None,
        phone: str | None = None,
        tags: list[str] | None = None,
        uuid_: str | None = None,
        updated_at: dt.datetime | None = None,
    ) -> str:
        with self.lock:
            candidate_id = candidate_id or self.next_id("candidates")
            moment = updated_at or now()
            attributes = copy.deepcopy(fixture("candidates.json")["data"][0]["attributes"])
            attributes.update(
                {
                    "created-at": isoformat(moment),
                    "updated-at": isoformat(moment),
                    "email": email or f"candidate{candidate_id}@example.com",
                    "first-name": first_name,
                    "last-name": last_name,
                    "phone": phone,
                    "sourced": False,
                    "tags": tags or [],
                }
            )
            self._add_candidate(candidate_id, attributes, moment)
            if uuid_:
                self.candidates[candidate_id]["uuid"] = uuid_
            return candidate_id

    def add_application(
        self,
        *,
        candidate_id: str,
        job_id: str,
        stage_id: str | None = None,
        application_id: str | None = None,
        changed_stage_at: dt.datetime | None = None,
    ) -> str:
        with self.lock:
            if candidate_id not in self.candidates or job_id not in self.jobs:
                raise KeyError(f"unknown candidate {candidate_id} or job {job_id}")
            stage_id = stage_id or self.job_stage_ids(job_id)[0]
            application_id = application_id or self.next_id("job-applications")
            moment = changed_stage_at or now()
            attributes = copy.deepcopy(fixture("job_applications.json")["data"][0]["attributes"])
            attributes.update(
                {
                    "created-at": isoformat(moment),
                    "updated-at": isoformat(moment),
                    "changed-stage-at": isoformat(moment),
                    "sourced": False,
                }
            )
            self._add_application(application_id, attributes, candidate_id, job_id, stage_id)
            return application_id

    def generate(self, count: int, *, job_id: str = "12345") -> int:
        """Add ``count`` candidates (ids from 1000000 up), each with one application to ``job_id``
        in its first stage, updated one minute apart and ending a minute before now (benchmarks:
        ``manage.py sandbox teamtailor seed --candidates 10000``). Returns how many candidates
        there are."""
        with self.lock:
            start = self.generated
            first_stage = self.job_stage_ids(job_id)[0]
            latest = now() - dt.timedelta(minutes=1)
            application_template = fixture("job_applications.json")["data"][0]["attributes"]
            candidate_template = fixture("candidates.json")["data"][0]["attributes"]
            for n in range(start, start + count):
                moment = latest - dt.timedelta(minutes=start + count - 1 - n)
                stamp = isoformat(moment)
                candidate_id, application_id = str(1_000_000 + n), str(2_000_000 + n)
                attributes = copy.deepcopy(candidate_template)
                attributes.update({
                    "created-at": stamp, "updated-at": stamp, "email": f"candidate{n}@example.com",
                    "first-name": "Generated", "last-name": f"Candidate {n}", "phone": None, "sourced": False,
                    "tags": [],
                })
                self._add_candidate(candidate_id, attributes, moment)
                attributes = copy.deepcopy(application_template)
                attributes.update({"created-at": stamp, "updated-at": stamp, "changed-stage-at": stamp, "sourced": False})
                self._add_application(application_id, attributes, candidate_id, job_id, first_stage)
            self.generated += count
            return len(self.candidates)

    # --- reads -------------------------------------------------------------------------------
    def job_stage_ids(self, job_id: str) -> list[str]:
        with self.lock:
            stages = [s for s in self.stages.values() if s["job_id"] == job_id]
            stages.sort(key=lambda s: s["attributes"]["row-order"])
            return [s["id"] for s in stages]

    def stage_counts(self, stage_id: str) -> tuple[int, int]:
        with self.lock:
            active = rejected = 0
            for application in self.applications.values():
                if application["stage_id"] == stage_id:
                    if application["attributes"].get("rejected-at"):
                        rejected += 1
                    else:
                        active += 1
            return active, rejected

    def application_for(self, candidate_id: str, job_id: str) -> dict[str, Any] | None:
        with self.lock:
            for application in self.applications.values():
                if application["candidate_id"] == candidate_id and application["job_id"] == job_id:
                    return application
            return None

    def snapshot(self, name: str) -> Any:
        """A deep copy of one collection, safe to inspect while the server runs."""
        with self.lock:
            return copy.deepcopy(getattr(self, name))

    # --- writes ------------------------------------------------------------------------------
    def application_move(self, application_id: str, stage_id: str) -> dict[str, Any]:
        with self.lock:
            application = self.applications[application_id]
            moment = isoformat(now())
            application["stage_id"] = stage_id
            application["attributes"]["changed-stage-at"] = moment
            application["attributes"]["updated-at"] = moment
            return copy.deepcopy(application)

    def partner_result_create(
        self,
        *,
        candidate_id: str,
        job_id: str | None,
        created_via: str,
        status: str = "sending",
    ) -> dict[str, Any]:
        with self.lock:
            result_id = str(uuid.uuid4())
            moment = isoformat(now())
            self.partner_results[result_id] = {
                "id": result_id,
                "candidate_id": candidate_id,
                "job_id": job_id,
                "created_via": created_via,
                "created_at": moment,
                "updated_at": moment,
                "partner_event_id": None,
                # The partner event as sent: Teamtailor sends it again when an action is clicked.
                "partner_event": None,
                "webhook_answers": [],
                "action_clicks": [],
                "history": [],
                "attributes": {
                    "assessment": {"score": None, "grade": None, "duration": None},
                    "details": {},
                    "status": status,
                    "summary": None,
                    "url": None,
                    "attachments": None,
                    "actions": None,
                    "assessment-criteria": None,
                },
            }
            return self.partner_results[result_id]

    def partner_result_apply(
        self, result_id: str, attributes: dict[str, Any], *, source: str, request_body: Any
    ) -> dict[str, Any]:
        """Apply already-validated attributes and record the update in the result's history."""
        with self.lock:
            result = self.partner_results[result_id]
            before = result["attributes"]["status"]
            current = result["attributes"]
            for key, value in attributes.items():
                if key in ("candidate-id", "job-id"):
                    continue
                if key == "assessment" and isinstance(value, dict):
                    current["assessment"] = {**current["assessment"], **value}
                else:
                    current[key] = copy.deepcopy(value)
            result["updated_at"] = isoformat(now())
            result["history"].append(
                {
                    "at": result["updated_at"],
                    "source": source,
                    "accepted": True,
                    "status_before": before,
                    "status_after": current["status"],
                    "request": copy.deepcopy(request_body),
                }
            )
            return result

    def partner_result_reject(self, result_id: str, *, source: str, request_body: Any, errors: list) -> None:
        """Refused updates are history too: they are exactly what a Stagehook bug looks like."""
        with self.lock:
            result = self.partner_results.get(result_id)
            if result is not None:
                result["history"].append(
                    {
                        "at": isoformat(now()),
                        "source": source,
                        "accepted": False,
                        "errors": copy.deepcopy(errors),
                        "request": copy.deepcopy(request_body),
                    }
                )

    def note_create(self, *, note: str, candidate_id: str, user_id: str, request_body: Any) -> dict[str, Any]:
        with self.lock:
            note_id = self.next_id("notes")
            moment = isoformat(now())
            self.notes[note_id] = {
                "id": note_id,
                "note": note,
                "candidate_id": candidate_id,
                "user_id": user_id,
                "created_at": moment,
                "request": copy.deepcopy(request_body),
            }
            return self.notes[note_id]
