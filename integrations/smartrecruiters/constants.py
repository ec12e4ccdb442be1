"""SmartRecruiters' fixed names: hosts, paths, scopes, events, statuses (SMARTRECRUITERS.md).
No imports from this folder: every other module may import this one."""

from __future__ import annotations

from assessments.models import PackageType, Status

PROVIDER_NAME = "smartrecruiters"

DEFAULT_API_BASE = "https://api.smartrecruiters.com"
# The authorization host of an own app (authorize page and the authorization-code/refresh grants).
DEFAULT_AUTHORIZE_BASE = "https://www.smartrecruiters.com"
AUTHORIZE_HOSTS = ("www.smartrecruiters.com",)
AUTHORIZE_PATH = "/identity/oauth/allow"
# SmartRecruiters' API hosts (https only); the sandbox on 127.0.0.1 comes from ATS_EXTRA_ALLOWED_HOSTS.
API_HOSTS = ("api.smartrecruiters.com", "api.sandbox.smartrecruiters.com")
# Where a browser may be sent back to (consent ``redirect``, inline ``completedAssessmentCallbackUrl``).
BROWSER_HOST_SUFFIX = ".smartrecruiters.com"
BROWSER_HOSTS = ("smartrecruiters.com",)

TOKEN_PATH = "/identity/oauth/token"
ASSESSMENT_API = "/assessment-api/v202010"
PARTNER_CONFIGURATION_PATH = f"{ASSESSMENT_API}/partner/configuration"
INTEGRATION_PATH = ASSESSMENT_API + "/integration/company/{company_id}"
WEBHOOKS_API = "/webhooks-api/v201907"

# Per credential (SMARTRECRUITERS.md "Rate limits"): 10 requests/s, 8 concurrent, 1 concurrent
# ``GET /candidates``.
RATE_PER_SECOND = 10
CONCURRENT_CALLS = 8
CANDIDATES_PAGE_LIMIT = 100
# A master or customer token is used until this many seconds before ``expires_in`` runs out.
TOKEN_REFRESH_MARGIN = 60

# Our token endpoint: tokens SmartRecruiters gets from us.
OUR_TOKEN_LIFETIME = 3600
OUR_SCOPES = ("packages_view", "orders_manage", "orders_modify", "jobs_read", "candidates_read",
              "assessment_result_manage")

# One subscription per company with every event we use.
WEBHOOK_EVENTS = (
    "application.created",
    "application.status.updated",
    "candidate.updated",
    "candidate.deleted",
    "job.created",
    "job.updated",
    "job.status.updated",
)
SIGNATURE_TOLERANCE_SECONDS = 300

APPLICATION_STATUSES = ("LEAD", "NEW", "IN_REVIEW", "INTERVIEW", "OFFERED", "HIRED", "REJECTED", "WITHDRAWN",
                        "TRANSFERRED")
SUB_STATUS_STATUSES = ("IN_REVIEW", "INTERVIEW", "OFFERED")
CLOSED_APPLICATION_STATUSES = ("REJECTED", "WITHDRAWN")

# Stagehook status -> PackageResult status ("Mapping our statuses").
RESULT_STATUS = {
    Status.ORDERED: "PENDING",
    Status.INVITED: "PENDING",
    Status.IN_PROGRESS: "IN_PROGRESS",
    Status.COMPLETED: "COMPLETED",
    Status.FAILED: "REJECTED",
    Status.EXPIRED: "EXPIRED",
    Status.CANCELLED: "REJECTED",
}

ASSESSMENT_TYPES = ("VIDEO_INTERVIEW", "BEHAVIORAL_ASSESSMENT", "BACKGROUND_CHECK", "REFERENCE_CHECK",
                    "SKILL_TEST", "INLINE_ASSESSMENT")
PACKAGE_TYPE = {
    PackageType.INTERVIEW: "VIDEO_INTERVIEW",
    PackageType.VIDEO: "VIDEO_INTERVIEW",
    PackageType.SKILLS_TEST: "SKILL_TEST",
    PackageType.PERSONALITY: "BEHAVIORAL_ASSESSMENT",
}
SUPPORTED_ASSESSMENT_TYPES = ("VIDEO_INTERVIEW", "SKILL_TEST", "BEHAVIORAL_ASSESSMENT", "INLINE_ASSESSMENT")

# Partner fields (at most 5): each id becomes a query parameter of ``GET packages``.
PARTNER_FIELDS = (
    {"id": "language", "name": "Interview language",
     "description": "Only offer packages in this language (an ISO code such as en or de)."},
)

# Keys in Connection.credentials.
CRED_CLIENT_ID = "client_id"  # SmartRecruiters' customer-level credentials for us
CRED_CLIENT_SECRET = "client_secret"
CRED_WEBHOOK_KEYS = "webhook_secret_keys"  # newest first
SUBSCRIPTION_REF = "webhooks"
# Own-app connections (a customer's app, authorization code grant; OWNAPP.md "Connection record").
CRED_GRANT = "grant"
GRANT_AUTHORIZATION_CODE = "authorization_code"
CRED_APP_CLIENT_ID = "app_client_id"
CRED_APP_CLIENT_SECRET = "app_client_secret"
CRED_ACCESS_TOKEN = "access_token"
CRED_REFRESH_TOKEN = "refresh_token"
CRED_EXPIRES_AT = "expires_at"  # epoch seconds
CRED_SCOPES = "scopes"  # the granted scopes, space separated
CRED_WEBHOOK_SECRET_KEYS = CRED_WEBHOOK_KEYS

# The scopes an own app asks for, and which scope a call needs (a 403 names the missing one).
OWN_APP_SCOPES = "candidates_read candidates_manage jobs_read webhooks_manage users_read"
SCOPE_CANDIDATES_READ = "candidates_read"
SCOPE_CANDIDATES_MANAGE = "candidates_manage"
SCOPE_JOBS_READ = "jobs_read"
SCOPE_WEBHOOKS_MANAGE = "webhooks_manage"
SCOPE_USERS_READ = "users_read"
# The connection's callback path (our side; the app must list it as a redirect URI).
OWN_APP_CALLBACK_PATH = "/smartrecruiters/oauth/callback"

# Keys in Assessment.options.
OPTION_INLINE = "smartrecruiters_inline"
OPTION_RETURN_URL = "return_url"  # generic: the candidate pages offer it when done
OPTION_PACKAGE_ASSESSMENTS = "smartrecruiters_package"
