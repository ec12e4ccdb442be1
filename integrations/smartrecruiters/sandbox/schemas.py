"""The bodies SmartRecruiters accepts and sends, as JSON Schemas restated from the Assessment
Partner contract (fixtures/smartrecruiters/assessment-partner/contract.json: field names, types,
required lists, enums) and the Webhooks API notes (webhooks-and-enums.json). Validated with
``jsonschema``; ``integer`` is strict (82.0, "82" and true are not integers: SmartRecruiters' score
fields are int64). tests/contract/test_smartrecruiters_sandbox_contract.py checks these required
lists and enums against contract.json."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlsplit

from jsonschema import Draft7Validator, FormatChecker
from jsonschema.validators import extend

ASSESSMENT_TYPES = [
    "VIDEO_INTERVIEW",
    "BEHAVIORAL_ASSESSMENT",
    "BACKGROUND_CHECK",
    "REFERENCE_CHECK",
    "SKILL_TEST",
    "INLINE_ASSESSMENT",
]
RESULT_STATUSES = ["IN_PROGRESS", "PENDING", "COMPLETED", "REJECTED", "EXPIRED"]
ATTACHMENT_TYPES = ["VIDEO_URL", "PDF_URL", "OTHER_URL"]
DISPLAY_MODES = ["REDIRECT", "POPUP"]
APPLICATION_STATUSES = ["LEAD", "NEW", "IN_REVIEW", "INTERVIEW", "OFFERED", "HIRED", "REJECTED", "WITHDRAWN", "TRANSFERRED"]
SUB_STATUS_KEYS = ["IN_REVIEW", "INTERVIEW", "OFFERED"]
EVENT_NAMES = [
    "job.created", "job.updated", "job.status.updated", "job.hiring-team.updated", "job.ad.created",
    "job.ad.updated", "job.ad.postings.updated", "position.created", "position.updated", "position.deleted",
    "application.created", "application.status.updated", "application.fields.updated",
    "application.onboarding-status.updated", "application.attachment.created", "application.source.updated",
    "application.screening-answers.created", "application.screening-answers.updated", "candidate.created",
    "candidate.updated", "candidate.deleted", "offer.created", "offer.updated", "offer.approval.created",
    "offer.approval.approved", "offer.approval.rejected", "offer.approval.abandoned",
    "offer.approval.step.approved", "offer.approval.step.rejected", "offer.approver.skipped",
    "offer.approver.delegated", "offer.approval.comment.created", "job.approval.created",
    "job.approval.approved", "job.approval.rejected", "job.approval.abandoned", "job.approval.step.approved",
    "job.approval.step.rejected", "job.approver.skipped", "job.approver.delegated",
    "job.approval.comment.created", "review.created", "review.updated", "review.deleted",
    "onboarding.process.started", "onboarding.assignments.high-priority.completed",
    "onboarding.assignments.completed",
]

URI = {"type": "string", "format": "uri", "minLength": 1}
TEXT = {"type": "string"}
DATE_TIME = {"type": "string", "format": "date-time"}

SCORE = {
    "type": "object",
    "required": ["raw", "min", "max"],
    "properties": {"raw": {"type": "integer"}, "min": {"type": "integer"}, "max": {"type": "integer"}},
}
RESULT_ATTACHMENT = {
    "type": "object",
    "properties": {"type": {"enum": ATTACHMENT_TYPES}, "url": URI, "name": TEXT},
}
ASSESSMENT_RESULT = {
    "type": "object",
    "required": ["assessmentId"],
    "properties": {
        "assessmentId": {"type": "string", "minLength": 1},
        "assessmentName": TEXT,
        "name": TEXT,
        "summary": TEXT,
        "assessmentDate": DATE_TIME,
        "submissionDate": DATE_TIME,
        "score": SCORE,
        "scoreLabel": TEXT,
        "attachments": {"type": "array", "items": RESULT_ATTACHMENT},
        "status": {"enum": RESULT_STATUSES},
    },
}
PACKAGE_RESULT_PROPERTIES = {
    "summary": TEXT,
    "description": TEXT,
    "assessmentPackageDate": DATE_TIME,
    "submissionDate": DATE_TIME,
    "name": TEXT,
    "status": {"enum": RESULT_STATUSES},
    "score": SCORE,
    "scoreLabel": TEXT,
    "attachments": {"type": "array", "items": RESULT_ATTACHMENT},
    "assessmentResults": {"type": "array", "items": ASSESSMENT_RESULT},
}

SCHEMAS: dict[str, dict[str, Any]] = {
    "PartnerConfigurationRequest": {
        "type": "object",
        "required": [
            "assessmentPackageListUrl",
            "singleAssessmentPackageUrl",
            "consentUrl",
            "consentDisplayMode",
            "oauthTokenUrl",
            "supportedAssessmentTypes",
        ],
        "properties": {
            "consentUrl": URI,
            "consentDisplayMode": {"enum": DISPLAY_MODES},
            "assessmentPackageListUrl": URI,
            "singleAssessmentPackageUrl": URI,
            "packageOrderUrl": URI,
            "inlineAssessmentPackageOrderUrl": URI,
            "oauthTokenUrl": URI,
            "integrationDisableUrl": URI,
            "fields": {"type": "array", "maxItems": 5, "items": {"$ref": "#/definitions/Field"}},
            "supportedAssessmentTypes": {
                "type": "array", "minItems": 1, "maxItems": 6, "uniqueItems": True,
                "items": {"enum": ASSESSMENT_TYPES},
            },
        },
        "definitions": {
            "Field": {
                "type": "object",
                "required": ["description", "id", "name"],
                "properties": {"id": {"type": "string", "minLength": 1}, "name": TEXT, "description": TEXT},
            }
        },
    },
    "Field": {
        "type": "object",
        "required": ["description", "id", "name"],
        "properties": {"id": {"type": "string", "minLength": 1}, "name": TEXT, "description": TEXT},
    },
    "ClientCredentials": {
        "type": "object",
        "required": ["clientId", "clientSecret"],
        "properties": {"clientId": {"type": "string", "minLength": 1}, "clientSecret": {"type": "string", "minLength": 1}},
    },
    "AccessToken": {
        "type": "object",
        "required": ["access_token", "expires_in"],
        "properties": {"access_token": {"type": "string", "minLength": 1}, "expires_in": {"type": "integer"}},
    },
    "TokenInput": {
        "type": "object",
        "required": ["grant_type", "client_id", "client_secret"],
        "properties": {"grant_type": {"enum": ["client_credentials"]}, "client_id": TEXT, "client_secret": TEXT},
    },
    # A customer's own app (authorization code): the grants of POST /identity/oauth/token.
    "AuthorizationCodeTokenInput": {
        "type": "object",
        "required": ["grant_type", "code", "client_id", "client_secret", "redirect_uri"],
        "properties": {
            "grant_type": {"enum": ["authorization_code"]}, "code": TEXT, "client_id": TEXT, "client_secret": TEXT,
            "redirect_uri": URI,
        },
    },
    "RefreshTokenInput": {
        "type": "object",
        "required": ["grant_type", "refresh_token", "client_id", "client_secret"],
        "properties": {
            "grant_type": {"enum": ["refresh_token"]}, "refresh_token": TEXT, "client_id": TEXT, "client_secret": TEXT,
        },
    },
    "TokenErrorResponse": {
        "type": "object", "required": ["error"], "properties": {"error": TEXT, "error_description": TEXT},
    },
    "AssessmentPackage": {
        "type": "object",
        "required": ["assessments", "description", "id", "name", "type"],
        "properties": {
            "id": TEXT, "name": TEXT, "description": TEXT, "type": {"enum": ASSESSMENT_TYPES},
            "assessments": {"type": "array", "items": {"$ref": "#/definitions/Assessment"}},
        },
        "definitions": {
            "Assessment": {
                "type": "object",
                "required": ["description", "id", "type"],
                "properties": {"id": TEXT, "name": TEXT, "description": TEXT, "type": {"enum": ASSESSMENT_TYPES}},
            }
        },
    },
    "Assessment": {
        "type": "object",
        "required": ["description", "id", "type"],
        "properties": {"id": TEXT, "name": TEXT, "description": TEXT, "type": {"enum": ASSESSMENT_TYPES}},
    },
    "AssessmentPackageOrderRequest": {
        "type": "object",
        "required": ["assessmentPackageId", "candidate", "companyId", "jobId", "resultCallbackURL", "job"],
        "properties": {
            "assessmentPackageId": TEXT,
            "candidate": {"type": "object"},
            "companyId": TEXT,
            "jobId": TEXT,
            "resultCallbackURL": URI,
            "job": {"type": "object"},
            "requester": {
                "type": "object", "required": ["userId", "email"], "properties": {"userId": TEXT, "email": TEXT},
            },
            "fields": {"type": "object", "additionalProperties": {"type": "string"}},
        },
    },
    "InlineAssessmentPackageOrderRequest": {
        "type": "object",
        "required": [
            "assessmentPackageId", "candidate", "companyId", "completedAssessmentCallbackUrl", "jobId",
            "resultCallbackURL", "job",
        ],
        "properties": {
            "assessmentPackageId": TEXT,
            "candidate": {"$ref": "#/definitions/InlineCandidate"},
            "companyId": TEXT,
            "completedAssessmentCallbackUrl": URI,
            "jobId": TEXT,
            "resultCallbackURL": URI,
            "job": {"$ref": "#/definitions/InlineJob"},
        },
        "definitions": {
            "InlineCandidate": {
                "type": "object", "required": ["applicationLanguage", "email", "firstName", "lastName"],
            },
            "InlineJob": {"type": "object", "required": ["id"], "properties": {"id": TEXT}},
        },
    },
    "InlineCandidate": {"type": "object", "required": ["applicationLanguage", "email", "firstName", "lastName"]},
    "InlineJob": {"type": "object", "required": ["id"], "properties": {"id": TEXT}},
    "InlineAssessmentPackageResponse": {
        "type": "object", "required": ["assessmentPackageURL"], "properties": {"url": URI, "assessmentPackageURL": URI},
    },
    "Requester": {"type": "object", "required": ["email"], "properties": {"email": TEXT}},
    # A stored result (and the merge of a partial update into it).
    "PackageResult": {"type": "object", "properties": PACKAGE_RESULT_PROPERTIES},
    "AssessmentResult": ASSESSMENT_RESULT,
    "Score": SCORE,
    "AttachmentResult": {"type": "object", "required": ["url"], "properties": {"url": URI}},
    # Webhooks API
    "SubscriptionRequest": {
        "type": "object",
        "required": ["callbackUrl", "events"],
        "properties": {
            "callbackUrl": URI,
            "events": {"type": "array", "minItems": 1, "items": {"enum": EVENT_NAMES}},
            "alertingEmailAddress": TEXT,
            "callbackAuthentication": {"type": "object", "required": ["type"]},
        },
    },
    "CandidateStatusUpdate": {
        "type": "object",
        "required": ["status"],
        "properties": {"status": {"enum": APPLICATION_STATUSES}, "subStatus": TEXT, "startsOn": DATE_TIME, "reason": TEXT},
    },
    # PUT /candidates/{id}/jobs/{jobId}/properties/{propertyId}; the value's type is checked
    # against the property's (NUMBER: a JSON number, TEXT: a string).
    "CandidatePropertyValue": {
        "type": "object",
        "required": ["value"],
        "properties": {"value": {"type": ["string", "number"]}},
        "additionalProperties": False,
    },
    # webhooks-and-enums.json messages_shares_body.
    "MessageShare": {
        "type": "object",
        "required": ["content", "shareWith"],
        "properties": {
            "content": {"type": "string", "minLength": 1},
            "correlationId": TEXT,
            "shareWith": {
                "type": "object",
                "properties": {
                    "users": {"type": "array", "items": TEXT},
                    "hiringTeamOf": {"type": "array", "items": TEXT},
                    "everyone": {"type": "boolean"},
                    "openNote": {"type": "boolean"},
                },
                "additionalProperties": False,
            },
        },
    },
}


def _strict_integer(checker, instance) -> bool:
    return isinstance(instance, int) and not isinstance(instance, bool)


_Validator = extend(
    Draft7Validator, type_checker=Draft7Validator.TYPE_CHECKER.redefine("integer", _strict_integer)
)
def _uri_ok(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _date_time_ok(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return "T" in value


_FORMATS = FormatChecker(formats=())
_FORMATS.checks("uri")(_uri_ok)
_FORMATS.checks("date-time")(_date_time_ok)


def problems(schema_name: str, instance: Any) -> list[str]:
    """Every way ``instance`` breaks ``schema_name``, as ``path: message`` lines (empty: valid)."""
    validator = _Validator(SCHEMAS[schema_name], format_checker=_FORMATS)
    found = []
    for error in sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path)):
        where = "/".join(str(p) for p in error.absolute_path) or "(body)"
        found.append(f"{where}: {error.message}")
    return found
