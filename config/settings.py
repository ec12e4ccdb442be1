"""Stagehook settings: one module, every deployment choice from the environment.

Local defaults are safe and need no server (SQLite file, a file-system Celery broker, e-mail to
files under ``var/``). Production sets the variables documented in README.md.
"""

import base64
import hashlib
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

VAR_DIR = Path(env("STAGEHOOK_VAR_DIR", default=str(BASE_DIR / "var")))

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env("SECRET_KEY", default="django-insecure-local-only-stagehook-key-change-me")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

# eu / us / au: the data-residency region this deployment serves.
DEPLOYMENT_REGION = env("DEPLOYMENT_REGION", default="eu")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "allauth",
    "allauth.account",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "django_celery_beat",
    "tenants",
    "assessments",
    "integrations",
    "integrations.smartrecruiters",
    "integrations.teamtailor",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "config.csp.StagehookCSPMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'stagehook.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# Persistent connections (checked before reuse): a new PostgreSQL connection per request cut the
# webhook intake's throughput under load by more than half (bench/RESULTS.md).
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=600)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("CONN_HEALTH_CHECKS", default=True)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # The same backend, pinging a reused connection only after it was idle (config/postgresql).
    DATABASES["default"]["ENGINE"] = "config.postgresql"
CONN_HEALTH_CHECK_IDLE_SECONDS = env.float("CONN_HEALTH_CHECK_IDLE_SECONDS", default=1.0)
# The intake's statement prepared per connection (config/postgresql); off behind a pooler that
# does not keep prepared statements.
DATABASE_PREPARED_STATEMENTS = env.bool("DATABASE_PREPARED_STATEMENTS", default=True)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share the file: wait for the writer instead of failing at once.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"timeout": 20, "transaction_mode": "IMMEDIATE"})
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Recruiters sign in with their e-mail; accounts are provisioned by admins or apply_config.
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_ADAPTER = "tenants.adapters.InviteOnlyAccountAdapter"
LOGIN_REDIRECT_URL = "/app/"
LOGIN_URL = "/accounts/login/"

LANGUAGE_CODE = "en-us"
# Candidate pages, invitation e-mails and SMS are translated (locale/); the recruiter UI is English.
LANGUAGES = [("en", "English"), ("de", "Deutsch"), ("sv", "Svenska"), ("fr", "Français")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env.bool("STATIC_MANIFEST", default=not DEBUG)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = env.bool("WHITENOISE_USE_FINDERS", default=True)

# --- E-mail -------------------------------------------------------------------------------------
vars().update(env.email_url("EMAIL_URL", default="filemail://"))
if EMAIL_BACKEND == "django.core.mail.backends.console.EmailBackend":  # noqa: F821 (set above)
    # consolemail:// prints e-mails with their links masked (a terminal is a log too).
    EMAIL_BACKEND = "assessments.mail.MaskedConsoleEmailBackend"
if EMAIL_BACKEND == "django.core.mail.backends.filebased.EmailBackend":  # noqa: F821 (set above)
    EMAIL_FILE_PATH = env("EMAIL_FILE_PATH", default=str(VAR_DIR / "mail"))
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Stagehook <no-reply@stagehook.invalid>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- SMS ----------------------------------------------------------------------------------------
SMS_BACKEND = env("SMS_BACKEND", default="assessments.sms.ConsoleSmsBackend")
SMS_HTTP_URL = env("SMS_HTTP_URL", default="")
SMS_HTTP_TOKEN = env("SMS_HTTP_TOKEN", default="")
SMS_FROM = env("SMS_FROM", default="Stagehook")
SMS_HTTP_TIMEOUT = env.float("SMS_HTTP_TIMEOUT", default=10.0)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)

# --- Assessments --------------------------------------------------------------------------------
ASSESSMENT_ENGINE = env("ASSESSMENT_ENGINE", default="assessments.engine.RubricEngine")
# How long the signed report link sent to the ATS stays valid.
ASSESSMENT_REPORT_LINK_MAX_AGE = env.int("ASSESSMENT_REPORT_LINK_MAX_AGE", default=90 * 24 * 3600)

# --- Secrets at rest ----------------------------------------------------------------------------
# Fernet keys, newest first; older keys still decrypt until `rotate_encryption_keys` has run.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])
FIELD_ENCRYPTION_KEYS_FROM_ENV = bool(FIELD_ENCRYPTION_KEYS)
if not FIELD_ENCRYPTION_KEYS:
    # Local use only: a key derived from SECRET_KEY. The deploy check refuses this in production.
    FIELD_ENCRYPTION_KEYS = [base64.urlsafe_b64encode(hashlib.sha256(SECRET_KEY.encode()).digest()).decode()]

# --- ATS clients --------------------------------------------------------------------------------
# Hosts the ATS clients may call besides each provider's own (the sandboxes on 127.0.0.1 locally).
ATS_EXTRA_ALLOWED_HOSTS = env.list("ATS_EXTRA_ALLOWED_HOSTS", default=[])
ATS_HTTP_TIMEOUT = env.float("ATS_HTTP_TIMEOUT", default=10.0)
# Shared by every worker when it points at Redis; in-process otherwise.
RATE_LIMIT_STORAGE_URL = env("RATE_LIMIT_STORAGE_URL", default=REDIS_URL or "memory://")
TEAMTAILOR_PARTNER_API_KEY = env("TEAMTAILOR_PARTNER_API_KEY", default="")
# Our partner webhook secret (Teamtailor's partner settings): signs every partner call to us
# (Teamtailor-Signature). Required in production (deploy check); a connection may override it.
TEAMTAILOR_PARTNER_WEBHOOK_SECRET = env("TEAMTAILOR_PARTNER_WEBHOOK_SECRET", default="")
# Seconds a web process answers an inbound webhook's connection lookup (provider key, company id)
# from memory: a disconnect or a rotated secret takes effect everywhere within this (0: off).
# integrations/inbound_cache.py; the measurement in bench/RESULTS.md.
INBOUND_CONNECTION_CACHE_SECONDS = env.float("INBOUND_CONNECTION_CACHE_SECONDS", default=5.0)
# Local development only: accept unsigned partner calls when no secret is configured at all
# (also accepted while DEBUG is on). The deploy check refuses it.
TEAMTAILOR_ALLOW_UNSIGNED_PARTNER_CALLS = env.bool("TEAMTAILOR_ALLOW_UNSIGNED_PARTNER_CALLS", default=False)

# --- Polling sync (integrations/sync.py) ----------------------------------------------------------
# A connection's default interval (its own `sync_interval_minutes` overrides it); the beat task
# "ATS polling sync" ticks every 3 hours by default, so a shorter interval also needs a shorter tick.
SYNC_INTERVAL_MINUTES = env.int("SYNC_INTERVAL_MINUTES", default=180)
SYNC_FULL_EVERY_HOURS = env.int("SYNC_FULL_EVERY_HOURS", default=24)  # full reconciliation
SYNC_CURSOR_OVERLAP_SECONDS = env.int("SYNC_CURSOR_OVERLAP_SECONDS", default=300)
SYNC_STALE_AFTER_SECONDS = env.int("SYNC_STALE_AFTER_SECONDS", default=900)  # reaper: no progress this long
SYNC_MAX_RUN_SECONDS = env.int("SYNC_MAX_RUN_SECONDS", default=4 * 3600)
SYNC_FAILURES_BEFORE_ATTENTION = env.int("SYNC_FAILURES_BEFORE_ATTENTION", default=3)

# SmartRecruiters: the vendor's master (partner) credentials, the API host, the consent display mode.
SMARTRECRUITERS_CLIENT_ID = env("SMARTRECRUITERS_CLIENT_ID", default="")
SMARTRECRUITERS_CLIENT_SECRET = env("SMARTRECRUITERS_CLIENT_SECRET", default="")
SMARTRECRUITERS_API_BASE = env("SMARTRECRUITERS_API_BASE", default="https://api.smartrecruiters.com")
SMARTRECRUITERS_CONSENT_DISPLAY_MODE = env("SMARTRECRUITERS_CONSENT_DISPLAY_MODE", default="REDIRECT")
# A customer's own app (authorization code): the authorization host (authorize page and token
# endpoint; the sandbox's base locally) and optional vendor defaults for the app's credentials.
SMARTRECRUITERS_AUTHORIZE_BASE = env("SMARTRECRUITERS_AUTHORIZE_BASE", default="https://www.smartrecruiters.com")
SMARTRECRUITERS_OWN_APP_CLIENT_ID = env("SMARTRECRUITERS_OWN_APP_CLIENT_ID", default="")
SMARTRECRUITERS_OWN_APP_CLIENT_SECRET = env("SMARTRECRUITERS_OWN_APP_CLIENT_SECRET", default="")

# --- Celery -------------------------------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://")
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
# The webhook intake's processing tasks: the event ids one web process commits within this many
# milliseconds go out as one message, published by a background thread of the process instead of
# a publish per request (tenants/queueing.py; bench/RESULTS.md). 0: one message per event at commit.
QUEUE_BATCH_LINGER_MS = env.float("QUEUE_BATCH_LINGER_MS", default=50.0)
CELERY_TASK_SOFT_TIME_LIMIT = 30 * 60
CELERY_TASK_TIME_LIMIT = 35 * 60
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # Redis re-delivers a message its worker never acknowledged (killed mid-task) after this long:
    # just over the longest task (the hard time limit), not the transport's default hours. A task
    # queued with a longer countdown may be delivered twice; every task is idempotent.
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=CELERY_TASK_TIME_LIMIT + 5 * 60),
    # A worker consuming both queues asks the trigger queue first (see CELERY_BACKGROUND_QUEUE).
    "queue_order_strategy": "sorted",
}
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    # The folders must exist before any process (web, worker, beat) touches the queue.
    for _folder in ("queue", "processed", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS.update(
        {
            "data_folder_in": str(_broker_dir / "queue"),
            "data_folder_out": str(_broker_dir / "queue"),
            "processed_folder": str(_broker_dir / "processed"),
            "control_folder": str(_broker_dir / "control"),
            "store_processed": False,
        }
    )
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
# Two queues (docs/ARCHITECTURE.md, "Celery queues"): the default one carries the trigger path
# (webhook events, invitations: a candidate waits for them) and every task not routed; the
# background queue carries the work paced by an ATS's rate limit or long by nature (write-backs,
# syncs, purges). A worker started without -Q consumes both (CELERY_TASK_QUEUES), the trigger queue
# first (Redis: "sorted" queue order, and the background queue's name sorts after it).
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_TASK_DEFAULT_QUEUE", default="celery")
CELERY_BACKGROUND_QUEUE = env("CELERY_BACKGROUND_QUEUE", default=f"{CELERY_TASK_DEFAULT_QUEUE}.background")
CELERY_TASK_QUEUES = {CELERY_TASK_DEFAULT_QUEUE: {}, CELERY_BACKGROUND_QUEUE: {}}
CELERY_TASK_ROUTES = ("config.celery.route_task",)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = TIME_ZONE

# --- Security -----------------------------------------------------------------------------------
# HTTPS_ONLY=on in production turns on every HTTPS-only protection at once.
HTTPS_ONLY = env.bool("HTTPS_ONLY", default=False)
SECURE_SSL_REDIRECT = HTTPS_ONLY
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SESSION_COOKIE_SECURE = HTTPS_ONLY
CSRF_COOKIE_SECURE = HTTPS_ONLY
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if HTTPS_ONLY else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS_ONLY
SECURE_HSTS_PRELOAD = HTTPS_ONLY
BEHIND_TLS_PROXY = env.bool("BEHIND_TLS_PROXY", default=False)
if BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# allauth's rate limits count per client IP: behind proxies, the number of them that append to
# X-Forwarded-For (else every client is the proxy's one IP). The deploy check requires it with
# BEHIND_TLS_PROXY; or name the header the proxy sets to the client's IP.
ALLAUTH_TRUSTED_PROXY_COUNT = env.int("ALLAUTH_TRUSTED_PROXY_COUNT", default=0)
ALLAUTH_TRUSTED_CLIENT_IP_HEADER = env("ALLAUTH_TRUSTED_CLIENT_IP_HEADER", default="") or None
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp, config/csp.py): our own origin only, no inline code.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
# Candidate and signed report pages (a token in the URL): no script at all, nothing but our
# stylesheet and images, forms only back to us.
STAGEHOOK_STRICT_CSP = {
    "DIRECTIVES": {
        "default-src": ["'none'"],
        "script-src": ["'none'"],
        "style-src": ["'self'"],
        "img-src": ["'self'"],
        "font-src": ["'self'"],
        "connect-src": ["'none'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024

# --- API ----------------------------------------------------------------------------------------
# on: a package-list signature must be the time-bound one (X-Stagehook-Timestamp); off also accepts
# the original body-only signature, which cannot stop a replay.
API_SIGNATURE_REQUIRE_TIMESTAMP = env.bool("API_SIGNATURE_REQUIRE_TIMESTAMP", default=False)
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PARSER_CLASSES": ["assessments.parsers.DepthLimitedJSONParser"],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Stagehook API",
    "DESCRIPTION": "Results and package APIs of the Stagehook integration hub.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

LOG_LEVEL = env("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # Candidate/report links, query strings and credentials redacted in every line (config/logredact.py).
    "filters": {"redact": {"()": "config.logredact.RedactSecretsFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact"]}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Django's request and server warnings through our handler, not Django's default ones.
        "django": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.db.backends": {"level": "WARNING"},
        # urllib3 logs full URLs (query strings may carry tokens) at DEBUG: keep it quiet even then.
        "urllib3": {"level": "INFO"},
        # requests-oauthlib and oauthlib log token request bodies (client secrets, codes) at DEBUG.
        "requests_oauthlib": {"level": "INFO"},
        "oauthlib": {"level": "INFO"},
    },
}
