"""The sandbox's in-memory SmartRecruiters: credentials and tokens, the partner configuration,
companies (consent, integration), jobs, hiring processes, candidates and their applications,
assessment orders with their results and attachments, webhook subscriptions and their signing
keys, and the notes (message shares) Stagehook wrote; for a customer's own app (authorization
code): the registered apps, the authorization mode and the role of the user who authorizes,
pending authorization requests, one-time codes,
refresh tokens, the files Stagehook attached to applications and the candidate properties (the
configured ones and the values Stagehook set).

Time comes from ``clock()`` (wall time plus an offset ``/_sandbox/clock`` may advance), so token
expiry and key rotation are tested without waiting."""

from __future__ import annotations

import copy
import datetime as dt
import secrets
import threading
import time
import uuid
from typing import Any

# The hiring process every seeded job uses: the fixed statuses with these sub-statuses.
HIRING_PROCESS_ID = "5f3b1c2a-0d4e-4a7b-9c1d-2e3f4a5b6c7d"
SUB_STATUSES = {
    "IN_REVIEW": ["Screening call", "Hiring manager review"],
    "INTERVIEW": ["AI interview", "Technical interview", "Final interview"],
    "OFFERED": ["Offer sent", "Offer accepted"],
}
SUPPORT_JOB_ID = "3fd6cba7-2ad1-4f8b-a8d5-5a1b1a4c2f11"  # examples.json's job
BACKEND_JOB_ID = "7a1e2b3c-4d5e-4f60-8a9b-0c1d2e3f4a5b"
ADA_ID = "0c9b1e3e-5c52-4b1e-9f3d-6d1f0a7b2c44"  # examples.json's candidate

# The candidate properties the company has configured (GET /configuration/candidate-properties).
SCORE_PROPERTY_ID = "stagehook-score"
SEED_PROPERTIES = [
    {"id": SCORE_PROPERTY_ID, "label": "Interview score", "type": "NUMBER"},
    {"id": "interview-notes", "label": "Interview notes", "type": "TEXT"},
]
PROPERTY_TYPES = ("TEXT", "NUMBER")
# The system roles of SmartRecruiters users. A customer's own app runs with the access of the user
# who authorized it: reading messages (GET /messages) is for ADMINISTRATOR users only.
SYSTEM_ROLES = ("ADMINISTRATOR", "EXTENDED", "STANDARD", "RESTRICTED", "EMPLOYEE")
MESSAGES_ROLE = "ADMINISTRATOR"
APP_ATTACHMENT_TYPES = ("GENERIC_FILE", "RESUME", "COVER_LETTER")

SEED_CANDIDATES = [
    (ADA_ID, "Ada", "Lovelace", "ada.lovelace@example.com", SUPPORT_JOB_ID, "IN_REVIEW", "Screening call"),
    ("1d2e3f4a-5b6c-4d7e-8f90-a1b2c3d4e5f6", "Grace", "Hopper", "grace.hopper@example.com", BACKEND_JOB_ID, "NEW", None),
    ("2e3f4a5b-6c7d-4e8f-9a01-b2c3d4e5f6a7", "Alan", "Turing", "alan.turing@example.com", SUPPORT_JOB_ID, "NEW", None),
    ("3f4a5b6c-7d8e-4f9a-0b12-c3d4e5f6a7b8", "Katherine", "Johnson", "katherine.johnson@example.com", BACKEND_JOB_ID, "INTERVIEW", "Technical interview"),
]


def isoformat(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(value: str) -> dt.datetime:
    """ISO 8601 (``Z`` or an offset); ValueError otherwise."""
    parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396: objects merge recursively, null removes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


class SandboxState:
    def __init__(self, *, lock: threading.RLock, company_id: str, company_name: str, generated: int = 0):
        self.lock = lock
        self.company_id = company_id
        self.company_name = company_name
        self.clock_offset = 0.0
        self.reset(generated=generated)

    # --- time --------------------------------------------------------------------------------
    def clock(self) -> float:
        return time.time() + self.clock_offset

    def now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.clock(), dt.timezone.utc)

    # --- seed --------------------------------------------------------------------------------
    def reset(self, *, generated: int = 0) -> None:
        with self.lock:
            self.clock_offset = 0.0
            self.tokens: dict[str, dict[str, Any]] = {}
            self.credentials: dict[str, dict[str, Any]] = {}  # client_id -> {secret, kind, company_id}
            self.partner_configuration: dict[str, Any] | None = None
            self.companies: dict[str, dict[str, Any]] = {}
            self.jobs: dict[str, dict[str, Any]] = {}
            self.candidates: dict[str, dict[str, Any]] = {}
            self.applications: dict[tuple[str, str], dict[str, Any]] = {}
            self.applications_of: dict[str, list[dict[str, Any]]] = {}  # candidate id -> in applying order
            self.orders: dict[str, dict[str, Any]] = {}
            self.attachments: dict[str, dict[str, Any]] = {}
            self.subscriptions: dict[str, dict[str, Any]] = {}
            self.deliveries: list[dict[str, Any]] = []
            self.shares: list[dict[str, Any]] = []
            # A customer's own app (authorization code).
            self.apps: dict[str, dict[str, Any]] = {}  # client_id -> app
            self.authorize_mode = {"mode": "page", "drop_scope": None}  # page | approve | deny
            # The system role of the user who authorizes the app (one user in the sandbox); as in
            # SmartRecruiters, a change applies at once to the tokens already issued.
            self.app_user_role = MESSAGES_ROLE
            self.authorize_requests: dict[str, dict[str, Any]] = {}  # consent page id -> the GET's params
            self.codes: dict[str, dict[str, Any]] = {}  # one-time authorization codes
            self.refresh_tokens: dict[str, dict[str, Any]] = {}
            self.app_attachments: dict[str, dict[str, Any]] = {}  # id -> file on an application
            self.properties = {p["id"]: dict(p) for p in SEED_PROPERTIES}
            self.property_values: dict[tuple[str, str], dict[str, Any]] = {}  # (cid, job) -> {property id: value}
            self.auto_triggers: list[dict[str, Any]] = []
            self.hiring_processes = {
                HIRING_PROCESS_ID: {
                    "id": HIRING_PROCESS_ID,
                    "name": "Standard hiring process",
                    "subStatuses": copy.deepcopy(SUB_STATUSES),
                }
            }
            self.company_add(self.company_id, name=self.company_name)
            base = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.timezone.utc)
            self.job_add(SUPPORT_JOB_ID, "Support Specialist", "REF-42", base, department="Customer Success")
            self.job_add(BACKEND_JOB_ID, "Backend Engineer", "REF-77", base, department="Engineering")
            for index, (cid, first, last, email, job_id, status, sub) in enumerate(SEED_CANDIDATES):
                moment = base + dt.timedelta(hours=index + 1)
                self.candidate_add(cid, first, last, email, moment)
                self.application_add(cid, job_id, status=status, sub_status=sub, at=moment)
            if generated:
                self.generate(generated)

    def company_add(self, company_id: str, *, name: str) -> dict[str, Any]:
        with self.lock:
            company = self.companies.get(company_id)
            if company is None:
                company = self.companies[company_id] = {
                    "id": company_id,
                    "name": name,
                    "consented": False,
                    "integrated": False,
                    "customer_client_id": None,
                    # What Stagehook gave SmartRecruiters in setUpIntegration (the sandbox uses it
                    # at Stagehook's token endpoint, as SmartRecruiters does).
                    "partner_credentials": None,
                    "integrated_at": None,
                }
            return company

    def job_add(self, job_id: str, title: str, ref: str, at: dt.datetime, *, department: str) -> dict[str, Any]:
        job = {
            "id": job_id,
            "title": title,
            "refNumber": ref,
            "createdOn": isoformat(at),
            "updatedOn": isoformat(at),
            "lastActivityOn": isoformat(at),
            "department": {"id": department.lower().replace(" ", "-"), "label": department, "description": department},
            "location": {
                "country": "Germany", "countryCode": "de", "regionCode": "BE", "region": "Berlin", "city": "Berlin",
                "address": "Alexanderplatz 1", "postalCode": "10178", "longitude": "13.41", "latitude": "52.52",
                "manual": False, "remote": True,
            },
            "status": "SOURCING",
            "postingStatus": "PUBLIC",
            "language": {"code": "en", "label": "English", "labelNative": "English (US)"},
            "targetHiringDate": isoformat(at + dt.timedelta(days=60)),
            "industry": {"id": "computer_software", "label": "Computer Software"},
            "function": {"id": "customer_service", "label": "Customer Service"},
            "typeOfEmployment": {"id": "permanent", "label": "Full-time"},
            "experienceLevel": {"id": "associate", "label": "Associate"},
            "eeoCategory": {"id": "", "label": ""},
            "template": False,
            "creator": {"id": "5d5f0b7ae4b0a1c2d3e4f567", "firstName": "Hiring", "lastName": "Manager"},
            "compensation": {"min": 40000, "max": 55000, "currency": "EUR"},
            "jobAd": {
                "sections": {
                    "companyDescription": {"title": "Company Description", "text": "A sandbox company."},
                    "jobDescription": {"title": "Job Description", "text": title},
                    "qualifications": {"title": "Qualifications", "text": ""},
                    "additionalInformation": {"title": "Additional Information", "text": ""},
                    "videos": {"urls": []},
                },
                "language": {"code": "en", "label": "English", "labelNative": "English (US)"},
            },
            "properties": [],
            "hiringProcessId": HIRING_PROCESS_ID,
            "company_id": self.company_id,
        }
        self.jobs[job_id] = job
        return job

    def candidate_add(self, cid: str, first: str, last: str, email: str, at: dt.datetime) -> dict[str, Any]:
        candidate = {
            "id": cid,
            "internal": False,
            "firstName": first,
            "lastName": last,
            "email": email,
            "phoneNumber": "+49 30 1234567",
            "location": {"country": "Germany", "countryCode": "de", "regionCode": "BE", "region": "Berlin", "city": "Berlin", "lat": 52.52, "lng": 13.41},
            "web": {"skype": "", "linkedin": "", "facebook": "", "twitter": "", "website": ""},
            "createdOn": isoformat(at),
            "updatedOn": isoformat(at),
            "tags": [],
            "averageRating": 0,
            "education": [],
            "experience": [],
            "consent": {"status": "ACQUIRED"},
            "company_id": self.company_id,
        }
        self.candidates[cid] = candidate
        return candidate

    def application_add(self, cid: str, job_id: str, *, status: str, sub_status: str | None, at: dt.datetime) -> dict:
        application = {
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"application/{cid}/{job_id}")),
            "candidate_id": cid,
            "job_id": job_id,
            "status": status,
            "subStatus": sub_status,
            "startsOn": None,
            "source": "Career site",
            "updatedOn": isoformat(at),
            "history": [{"status": status, "subStatus": sub_status, "at": isoformat(at), "by": "seed"}],
        }
        self.applications[(cid, job_id)] = application
        self.applications_of.setdefault(cid, []).append(application)
        return application

    def generate(self, count: int, *, job_id: str = SUPPORT_JOB_ID) -> int:
        """Add ``count`` deterministic candidates (c-<n>) applied to ``job_id``; their updatedOn
        spread one minute apart after the seed. Returns how many candidates there are."""
        with self.lock:
            start = sum(1 for cid in self.candidates if cid.startswith("gen-"))
            base = dt.datetime(2026, 11, 2, 0, 0, tzinfo=dt.timezone.utc)
            for n in range(start, start + count):
                cid = f"gen-{n:06d}"
                moment = base + dt.timedelta(minutes=n)
                self.candidate_add(cid, "Generated", f"Candidate {n}", f"candidate{n}@example.com", moment)
                self.application_add(cid, job_id, status="NEW", sub_status=None, at=moment)
            return len(self.candidates)

    # --- credentials and tokens --------------------------------------------------------------
    def credentials_add(self, *, client_id: str, secret: str, kind: str, company_id: str | None) -> None:
        with self.lock:
            self.credentials[client_id] = {"secret": secret, "kind": kind, "company_id": company_id}

    def token_issue(self, client_id: str, *, scopes: tuple[str, ...], ttl: int) -> dict[str, Any]:
        with self.lock:
            credential = self.credentials[client_id]
            token = "sr-" + secrets.token_urlsafe(24)
            self.tokens[token] = {
                "kind": credential["kind"],
                "company_id": credential["company_id"],
                "client_id": client_id,
                "scopes": tuple(scopes),
                "expires_at": self.clock() + ttl,
            }
            return {"access_token": token, "token_type": "Bearer", "expires_in": ttl, "scope": " ".join(scopes)}

    def token_lookup(self, token: str) -> tuple[dict[str, Any] | None, str]:
        """(token record, "") or (None, why not)."""
        with self.lock:
            record = self.tokens.get(token)
            if record is None:
                return None, "invalid access token"
            if record.get("revoked"):
                return None, "access token revoked"
            if self.clock() >= record["expires_at"]:
                return None, "access token expired"
            return record, ""

    def token_revoke(self, token: str) -> None:
        with self.lock:
            if token in self.tokens:
                self.tokens[token]["revoked"] = True

    def tokens_expire(self) -> int:
        with self.lock:
            for record in self.tokens.values():
                record["expires_at"] = min(record["expires_at"], self.clock())
            return len(self.tokens)

    # --- applications ------------------------------------------------------------------------
    def application_move(self, cid: str, job_id: str, *, status: str, sub_status: str | None, by: str) -> dict:
        with self.lock:
            application = self.applications[(cid, job_id)]
            stamp = isoformat(self.now())
            application.update(status=status, subStatus=sub_status, updatedOn=stamp)
            application["history"].append({"status": status, "subStatus": sub_status, "at": stamp, "by": by})
            self.candidates[cid]["updatedOn"] = stamp
            return application

    def application_by_id(self, application_id: str) -> dict | None:
        with self.lock:
            return next((a for a in self.applications.values() if a["id"] == application_id), None)

    def sub_status_problem(self, job_id: str, status: str, sub_status: str | None) -> str | None:
        process = self.hiring_processes[self.jobs[job_id]["hiringProcessId"]]
        allowed = process["subStatuses"].get(status)
        if sub_status in (None, ""):
            return None
        if not allowed:
            return f"status {status} has no sub-statuses in hiring process {process['id']}"
        if sub_status not in allowed:
            return f"subStatus {sub_status!r} is not one of {status}'s: {', '.join(allowed)}"
        return None

    # --- orders ------------------------------------------------------------------------------
    def order_create(self, *, company_id: str, cid: str, job_id: str, mode: str, trigger: str) -> dict[str, Any]:
        with self.lock:
            order_id = str(uuid.uuid4())
            application = self.applications[(cid, job_id)]
            order = {
                "orderId": order_id,
                "company_id": company_id,
                "candidate_id": cid,
                "job_id": job_id,
                "applicationId": application["id"],
                "mode": mode,  # ad-hoc | auto-trigger | inline
                "trigger": trigger,
                "created_at": isoformat(self.now()),
                "package": None,
                "request": None,
                "stagehook": [],  # what Stagehook answered to each call of the order flow
                "state": "ordering",  # ordering | accepted | refused
                "inline_url": None,
                "completed_callback_hits": 0,
                "result": {},
                "history": [],
                "attachments": [],
            }
            self.orders[order_id] = order
            return order

    # --- a customer's own app (authorization code) -------------------------------------------
    def app_add(
        self, *, client_id: str, secret: str, company_id: str, name: str, redirect_uris: list[str], loopback_callbacks: bool
    ) -> dict[str, Any]:
        with self.lock:
            app = {
                "client_id": client_id,
                "client_secret": secret,
                "company_id": company_id,
                "name": name,
                "redirect_uris": list(dict.fromkeys(redirect_uris)),
                "loopback_callbacks": loopback_callbacks,
                "created": isoformat(self.now()),
            }
            self.apps[client_id] = app
            return app

    def code_issue(self, *, app: dict, redirect_uri: str, scopes: tuple[str, ...], ttl: int) -> str:
        with self.lock:
            code = secrets.token_urlsafe(24)
            self.codes[code] = {
                "client_id": app["client_id"],
                "company_id": app["company_id"],
                "redirect_uri": redirect_uri,
                "scopes": tuple(scopes),
                "expires_at": self.clock() + ttl,
                "used": False,
                "issued": [],  # access and refresh tokens issued for it (and their rotations)
            }
            return code

    def app_tokens_issue(self, *, client_id: str, company_id: str, scopes: tuple[str, ...], ttl: int, code: str) -> dict:
        """An access token (kind ``app``) and a refresh token for ``code``'s grant."""
        with self.lock:
            access = "sr-" + secrets.token_urlsafe(24)
            refresh = "srr-" + secrets.token_urlsafe(32)
            self.tokens[access] = {
                "kind": "app",
                "company_id": company_id,
                "client_id": client_id,
                "scopes": tuple(scopes),
                "expires_at": self.clock() + ttl,
                "code": code,
            }
            self.refresh_tokens[refresh] = {
                "client_id": client_id,
                "company_id": company_id,
                "scopes": tuple(scopes),
                "code": code,
                "state": "active",  # active | rotated | revoked
            }
            grant = self.codes.get(code)
            if grant is not None:
                grant["issued"] += [access, refresh]
            return {
                "access_token": access,
                "refresh_token": refresh,
                "token_type": "Bearer",
                "expires_in": ttl,
                "scope": " ".join(scopes),
            }

    def code_grant_revoke(self, code: str) -> int:
        """Revoke every token issued for ``code`` (a replayed code, RFC 6749 §4.1.2)."""
        with self.lock:
            grant = self.codes.get(code)
            issued = grant["issued"] if grant else []
            for token in issued:
                if token in self.tokens:
                    self.tokens[token]["revoked"] = True
                if token in self.refresh_tokens:
                    self.refresh_tokens[token]["state"] = "revoked"
            return len(issued)

    def refresh_tokens_revoke(self) -> int:
        with self.lock:
            active = [r for r in self.refresh_tokens.values() if r["state"] == "active"]
            for record in active:
                record["state"] = "revoked"
            return len(active)

    def application_attachments(self, cid: str, job_id: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return [
                a for a in self.app_attachments.values() if a["candidate_id"] == cid and job_id in (None, a["job_id"])
            ]
