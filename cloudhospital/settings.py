"""Settings for the cloud hospital backend.

Everything that differs between a newcomer's laptop and production comes from the
environment, and only here. With nothing set you get the embedded default: SQLite,
an in-memory channel layer and eager Celery, so no server is needed. With
DATABASE_URL and REDIS_URL set you get PostgreSQL, channels-redis and a Redis broker.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from corsheaders.defaults import default_headers as cors_default_headers
from django.core.exceptions import ImproperlyConfigured
from pythonjsonlogger.core import RESERVED_ATTRS

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# Off unless asked for: a server started with no environment is a production server.
# `make run`, `make test` and the test suite set DEBUG=1 for a developer's machine.
DEBUG = env_bool("DEBUG", False)

_DEV_SECRET = "dev-only-insecure-secret-key-do-not-use-in-production-0123456789"
SECRET_KEY = os.environ.get("SECRET_KEY") or (_DEV_SECRET if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

# Front ends served from other origins (django-cors-headers), for /api/ only: empty means no
# cross-origin access. No credentials: the API is called with `Authorization: Token`, never
# with cookies, so a foreign page cannot ride on a logged-in person's session.
CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS", "")
CORS_URLS_REGEX = r"^/api/.*$"
CORS_ALLOW_CREDENTIALS = False
CORS_ALLOW_HEADERS = (*cors_default_headers, "accept-language", "idempotency-key", "x-request-id")
CORS_EXPOSE_HEADERS = ["Content-Language", "Idempotent-Replayed", "Retry-After", "X-Request-ID"]

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "corsheaders",
    "django_prometheus",
    "django_guid",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "drf_standardized_errors",
    "simple_history",
    "axes",
    "channels",
    "django_htmx",
    "django_otp",  # the doctor's second factor (cloudhospital.step_up)
    "django_otp.plugins.otp_totp",
    "cloudhospital",
    "consult",
    "prescriptions",
    "pharmacy",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",  # first: times the whole request
    "django_guid.middleware.guid_middleware",  # the request id, before anything logs
    "cloudhospital.logs.RequestLogMiddleware",  # one log line per request, with its id
    "django.middleware.security.SecurityMiddleware",
    # Before WhiteNoise and CommonMiddleware, which answer some requests themselves.
    "corsheaders.middleware.CorsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "cloudhospital.languages.UserLanguageMiddleware",  # a signed-in user's saved language wins
    "cloudhospital.audit.AccessContextMiddleware",  # the client's address, for the access log
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",  # request.htmx: pages answer htmx requests with a fragment
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",  # status and latency by view
    # Axes turns a locked-out login into a 429; it must come last.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "cloudhospital.urls"
WSGI_APPLICATION = "cloudhospital.wsgi.application"
ASGI_APPLICATION = "cloudhospital.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "cloudhospital.web.page_context",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", "")
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=0 if env_bool("DB_POOL", False) else int(os.environ.get("CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE transactions take SQLite's write lock at BEGIN, so two writers queue
    # instead of one failing with "database is locked" half way through a booking.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
elif env_bool("DB_POOL", False):
    # psycopg 3 connection pool (Django 5.1+); sized per worker process.
    # With CONN_HEALTH_CHECKS (below) Django has the pool check a connection before lending
    # it: one that died with a PostgreSQL restart is replaced instead of failing a request.
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": int(os.environ.get("DB_POOL_MIN", "2")),
        "max_size": int(os.environ.get("DB_POOL_MAX", "10")),
    }
# A pooled or persistent connection that died (PostgreSQL restarted) is replaced before a
# request gets it, instead of failing that request.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache, channel layer, Celery ---------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    # The Pub/Sub layer: signalling messages are ephemeral and latency-bound. The default
    # list-based layer costs four Redis round trips per message and shares one bounded
    # inbox per process, so an ICE burst across many rooms overflows it and messages are
    # dropped silently (bench/signalling.py). Pub/Sub delivers at most once; a client that
    # reconnects gets the room state and the doctor re-offers, so nothing depends on replay.
    # socket_timeout=None: redis-py 8 defaults to 5 s, which would cut idle subscriptions.
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": None}]},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_EAGER", not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True  # a task killed mid-run is delivered again; tasks are idempotent
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_HIJACK_ROOT_LOGGER = False  # workers log through LOGGING below: JSON lines too
CELERY_TIMEZONE = "Asia/Shanghai"
# A task whose worker died unacknowledged is handed out again after this many seconds (the
# Redis transport's default is an hour). Five minutes: longer than any task runs (the relay
# stops taking rows after OUTBOX_RELAY_BUDGET_SECONDS, webhooks time out after 5 s, slot
# generation for the whole network takes ~15 s), so a healthy task is never run twice, and
# a reassignment killed with its worker resumes within minutes, not an hour. No task is
# queued with a countdown longer than this (retries wait in the outbox, not the broker).
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "300"))}
CELERY_BEAT_SCHEDULE: dict = {}

# --- Outbox: side effects leave after commit, retried until done (cloudhospital.outbox) --
OUTBOX_RELAY_SECONDS = float(os.environ.get("OUTBOX_RELAY_SECONDS", "5"))
OUTBOX_RELAY_BATCH = 200
OUTBOX_RELAY_BUDGET_SECONDS = 60
OUTBOX_MAX_ATTEMPTS = int(os.environ.get("OUTBOX_MAX_ATTEMPTS", "10"))
OUTBOX_BACKOFF_SECONDS = 10  # 10 s, 20 s, 40 s ... capped below: ten attempts span about 2.5 hours
OUTBOX_BACKOFF_MAX_SECONDS = 3600
CELERY_BEAT_SCHEDULE["cloudhospital-outbox-relay"] = {
    "task": "cloudhospital.tasks.outbox_relay", "schedule": OUTBOX_RELAY_SECONDS,
}

# --- Auth -----------------------------------------------------------------------------
AUTH_USER_MODEL = "cloudhospital.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
SESSION_ENGINE = "cloudhospital.sessions"  # database sessions that refuse malformed keys up front
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/home/"

# Login throttling: after AXES_FAILURE_LIMIT failures for one phone from one address the
# login answers 429 until the cool-off passes.
AXES_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("LOGIN_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_CALLABLE = "cloudhospital.accounts.login_identifier"
AXES_RESET_ON_SUCCESS = True
AXES_HTTP_RESPONSE_CODE = 429
AXES_LOCKOUT_CALLABLE = "cloudhospital.accounts.lockout_response"
# How many reverse proxies of ours stand in front of the app and append to X-Forwarded-For
# (1 behind the nginx of docs/deployment.md). 0: the header is ignored and REMOTE_ADDR is the client. A
# client-sent header is never trusted beyond that count (cloudhospital.accounts.client_ip).
TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "0"))
AXES_CLIENT_IP_CALLABLE = "cloudhospital.accounts.client_ip"

# API tokens (django-rest-knox, cloudhospital.tokens): one per login/device, hashed at rest,
# valid API_TOKEN_TTL_HOURS (30 days: a family's phone stays logged in for a month) from the
# login, or from the last use with API_TOKEN_AUTO_REFRESH (written at most once a minute).
API_TOKEN_TTL_HOURS = int(os.environ.get("API_TOKEN_TTL_HOURS", "720"))
API_TOKENS_PER_USER = 20  # devices; a login beyond this revokes the oldest token
REST_KNOX = {
    "TOKEN_TTL": timedelta(hours=API_TOKEN_TTL_HOURS),
    "AUTO_REFRESH": env_bool("API_TOKEN_AUTO_REFRESH", False),
    "AUTH_HEADER_PREFIX": "Token",
}

# --- REST API -------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "cloudhospital.api.authentication.ExpiringTokenAuthentication",  # knox: per device, expiring
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "cloudhospital.api.pagination.Pagination",
    # JSON within the body limit and nesting depth, or a 400/413 (never a 500).
    "DEFAULT_PARSER_CLASSES": [
        "cloudhospital.api.parsers.SafeJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "cloudhospital.api.schema.AutoSchema",
    # Negotiates the language with the media type: a token user's saved language, once known.
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "cloudhospital.languages.LanguageNegotiation",
    # One error shape for every refusal (cloudhospital.api.errors): drf-standardized-errors'
    # {"type", "errors": [{"code", "detail", "attr"}]}, with domain errors mapped into it.
    "EXCEPTION_HANDLER": "drf_standardized_errors.handler.exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        "register": os.environ.get("REGISTER_RATE", "30/hour"),
        "dependant_add": os.environ.get("DEPENDANT_ADD_RATE", "20/day"),  # per account
    },
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
DRF_STANDARDIZED_ERRORS = {
    "EXCEPTION_HANDLER_CLASS": "cloudhospital.api.errors.ExceptionHandler",
    # A crash answers 500 in the error shape in production; with DEBUG the traceback shows.
    "ENABLE_IN_DEBUG_FOR_UNHANDLED_EXCEPTIONS": False,
    "ALLOWED_ERROR_STATUS_CODES": ["400", "401", "403", "404", "405", "406", "409", "415", "422", "429"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Cloud Hospital API",
    "DESCRIPTION": "Patients, health records, cloud clinics, video consults, e-prescriptions "
    "and pharmacy dispatch for an internet hospital group. The video consult's signalling socket "
    "(`ws://…/ws/consultations/{id}/`) is described by an AsyncAPI document at "
    "[/api/schema/asyncapi/](/api/schema/asyncapi/) (`?format=yaml` for YAML).\n\n"
    "**Errors** have one shape: `{\"type\": \"validation_error\" | \"client_error\" | \"server_error\", "
    "\"errors\": [{\"code\", \"detail\", \"attr\"}]}`. `code` is stable, `detail` is in the request's "
    "language, `attr` names the field (null for the whole request). Each operation lists the codes "
    "it can answer with per status, with an example each: 400 malformed input, 401 no valid "
    "credentials, 403 not allowed for you, 404 not among what you may see, 409 the object's state "
    "does not allow it, 422 a rule says no, 429 slow down.\n\n"
    "**Language**: Chinese by default; `Accept-Language: en` or the account's saved `language` "
    "(`PATCH /api/auth/me/`) for English. **Lists** are paginated `{count, next, previous, results}` "
    "(`page_size` up to 100). Objects with a state carry `allowed_actions` for the caller.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # spectacular's enum hook, except for the per-operation error code enums.
    "POSTPROCESSING_HOOKS": ["drf_standardized_errors.openapi_hooks.postprocess_schema_enums"],
    "ENUM_NAME_OVERRIDES": {
        "BookingStatusEnum": "consult.models.visits.BookingStatus",
        # The error shape's `type` (cloudhospital.api.schema).
        "ClientErrorTypeEnum": ["client_error"],
        "ServerErrorTypeEnum": ["server_error"],
        "BadRequestTypeEnum": ["validation_error", "client_error"],
        # `allowed_actions` of each object type (cloudhospital.api.actions).
        "BookingActionEnum": "consult.booking.BOOKING_ACTIONS",
        "ConsultationActionEnum": "consult.consultation.CONSULTATION_ACTIONS",
        "PrescriptionActionEnum": "prescriptions.lifecycle.PRESCRIPTION_ACTIONS",
        "OrderActionEnum": "pharmacy.orders.actions.FAMILY_ORDER_ACTIONS",
        "PharmacyOrderActionEnum": "pharmacy.orders.actions.PHARMACY_ORDER_ACTIONS",
    },
}

# --- I18N, time -----------------------------------------------------------------------
# Chinese unless the user's saved language (User.language) or the browser's Accept-Language
# says otherwise; messages live in locale/<lang>/LC_MESSAGES/django.po (docs/api.md, Languages).
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
WHITENOISE_USE_FINDERS = DEBUG
# Uploaded files (the family's diagnosis evidence) through Django's storage API.
MEDIA_ROOT = BASE_DIR / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- Security (production) ------------------------------------------------------------
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    # The load balancer probes over plain HTTP; the probes answer no data and set no cookie.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# --- Request limits -------------------------------------------------------------------
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024

# Prometheus scrapes /metrics with `Authorization: Bearer <METRICS_TOKEN>`; unset, only a
# DEBUG server answers it (cloudhospital.probes).
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")

# --- Logs: one JSON object per line in production, text with DEBUG (docs/operations.md) --
# Every line carries the request id (django-guid: a well-formed incoming X-Request-ID is
# reused, else a new uuid; echoed in the response). The request object Django attaches to
# some records is left out: its repr carries the query string.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "") or ("text" if DEBUG else "json")
if LOG_FORMAT not in {"json", "text"}:
    raise ImproperlyConfigured("LOG_FORMAT must be json or text.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "django_guid.log_filters.CorrelationId", "correlation_id_field": "request_id"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": ["levelname", "name", "message", "request_id"],
            "rename_fields": {"levelname": "level", "name": "logger"},
            "timestamp": True,
            "reserved_attrs": ["request", "server_time", *RESERVED_ATTRS],
        },
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_id"]}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.request": {"level": "ERROR"},
        "axes": {"level": "WARNING"},
        "django_guid": {"level": "WARNING"},  # it logs every header it reads at INFO
    },
}
DJANGO_GUID = {
    "GUID_HEADER_NAME": "X-Request-ID",
    "VALIDATE_GUID": True,  # a malformed incoming id is replaced, never echoed or logged as ours
    "RETURN_HEADER": True,
    "EXPOSE_HEADER": False,  # django-cors-headers sends the whole expose list (CORS_EXPOSE_HEADERS)
}

# --- Domain settings ------------------------------------------------------------------
NOTIFICATION_SENDER = os.environ.get("NOTIFICATION_SENDER", "cloudhospital.notifications.LogSender")

# Prescription signing: doctors' Ed25519 private keys are stored encrypted with a key derived
# from this secret. Comma-separated to rotate it: the first encrypts, every one decrypts.
# Required in production (signing refuses to run without it); a dev default only with DEBUG.
PRESCRIPTION_SIGNING_SECRETS = env_list(
    "PRESCRIPTION_SIGNING_SECRET", "dev-only-prescription-signing-secret-0123456789" if DEBUG else ""
)
if not PRESCRIPTION_SIGNING_SECRETS:
    # Refuse to start rather than fail at the first doctor's signature.
    raise ImproperlyConfigured("PRESCRIPTION_SIGNING_SECRET must be set when DEBUG is off.")

# Video consult: ICE servers handed to browsers, TURN REST API credentials (coturn
# `use-auth-secret`), and the lifetime of the signed WebSocket tickets for mobile clients.
ICE_STUN_URLS = env_list("ICE_STUN_URLS", "")
ICE_TURN_URLS = env_list("ICE_TURN_URLS", "")
ICE_TURN_SECRET = os.environ.get("ICE_TURN_SECRET", "")
ICE_TURN_TTL_SECONDS = int(os.environ.get("ICE_TURN_TTL_SECONDS", "3600"))
SIGNALLING_TICKET_TTL_SECONDS = int(os.environ.get("SIGNALLING_TICKET_TTL_SECONDS", "60"))
CONSULT_JOIN_BEFORE_MINUTES = int(os.environ.get("CONSULT_JOIN_BEFORE_MINUTES", "30"))

# Booking desk: how far ahead slots exist and may be booked, and the lifecycle's clock.
SLOT_GENERATION_DAYS = int(os.environ.get("SLOT_GENERATION_DAYS", "14"))
BOOKING_WINDOW_DAYS = int(os.environ.get("BOOKING_WINDOW_DAYS", "14"))
BOOKING_PATIENT_CANCEL_CUTOFF_MINUTES = 120
BOOKING_CHECK_IN_OPENS_MINUTES = int(os.environ.get("BOOKING_CHECK_IN_OPENS_MINUTES", "30"))
BOOKING_REMINDER_MINUTES_BEFORE = 30
BOOKING_NO_SHOW_AFTER_MINUTES = 30
DOCTOR_RECORD_ACCESS_DAYS = 7
# 互联网诊疗管理办法（试行） art. 19: a child under this age is seen online only with a guardian
# present, confirmed by the doctor at admission (consult.young_children).
ONLINE_CARE_GUARDIAN_AGE = 6
# 互联网诊疗监管细则（试行）: the family supplies the offline diagnosis (门诊病历, 出院小结) as an image
# or PDF; each file at most this size (consult.follow_up.evidence_add).
FOLLOW_UP_EVIDENCE_MAX_BYTES = 10 * 1024 * 1024
CELERY_BEAT_SCHEDULE.update(
    {
        "consult-slots-generate": {"task": "consult.tasks.slots_generate_task", "schedule": 3600.0},
        "consult-booking-reminders": {"task": "consult.tasks.booking_reminders_due", "schedule": 60.0},
        "consult-booking-no-shows": {"task": "consult.tasks.booking_no_shows_mark", "schedule": 300.0},
    }
)

# E-prescriptions (prescriptions.rules; expired by the beat task unless dispensed).
# 处方管理办法 art. 18: a prescription is valid on the day it is written; the doctor may extend
# it, noting why, to at most 3 days (PRESCRIPTION_VALID_DAYS, the most with a reason).
PRESCRIPTION_VALID_DAYS_DEFAULT = 1
PRESCRIPTION_VALID_DAYS = int(os.environ.get("PRESCRIPTION_VALID_DAYS", "3"))
# 处方管理办法 art. 6: at most five medicines on one prescription.
PRESCRIPTION_MAX_ITEMS = 5
# 处方管理办法 art. 19: normally at most 7 days' supply; longer for chronic disease, the elderly
# or special circumstances with the reason written. A chronic-use drug for a chronic diagnosis
# may go to a month (the chronic diagnosis is the reason) without the long-term flag.
PRESCRIPTION_DAYS_SUPPLY_DEFAULT = 7
PRESCRIPTION_DAYS_SUPPLY_CHRONIC = 30
# 长期处方管理规范（试行）(2021): a long-term prescription usually covers at most 4 weeks and never
# more than 12; beyond 4 weeks the patient or guardian confirms it before review.
LONG_TERM_PRESCRIPTION_DAYS_USUAL = 28
LONG_TERM_PRESCRIPTION_DAYS_MAX = 84
CELERY_BEAT_SCHEDULE["prescriptions-expire"] = {"task": "prescriptions.tasks.prescriptions_expire", "schedule": 600.0}
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]["PrescriptionStatusEnum"] = "prescriptions.models.PrescriptionStatus"

# Pharmacy orders: how long a pharmacy has to accept before the order moves on, how many
# times it may move, wrong pickup codes allowed, and the webhook's HTTP timeout.
ORDER_ACCEPT_TIMEOUT_MINUTES = int(os.environ.get("ORDER_ACCEPT_TIMEOUT_MINUTES", "10"))
ORDER_MAX_REASSIGNMENTS = int(os.environ.get("ORDER_MAX_REASSIGNMENTS", "3"))
PICKUP_CODE_MAX_ATTEMPTS = 5
PHARMACY_WEBHOOK_TIMEOUT_SECONDS = float(os.environ.get("PHARMACY_WEBHOOK_TIMEOUT_SECONDS", "5"))
CELERY_BEAT_SCHEDULE["pharmacy-orders-reassign-overdue"] = {
    "task": "pharmacy.tasks.orders_reassign_overdue_task", "schedule": 60.0,
}
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]["OrderStatusEnum"] = "pharmacy.models.OrderStatus"
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]["OrderKindEnum"] = "pharmacy.models.OrderKind"
# Other fields named `kind` (evidence documents, observations, consents): one enum name each.
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]["EvidenceKindEnum"] = "consult.models.patients.EvidenceKind"
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]["ObservationKindEnum"] = "consult.models.patients.ObservationKind"

# The doctor's identity (cloudhospital.step_up, consult.doctors). 互联网诊疗监管细则（试行）: the
# doctor's identity is verified before each consult, and no other person or software may stand in
# for the doctor: admitting a patient needs a second-factor (TOTP) verification of this login within
# this window, and signing a prescription needs a code in the same request.
DOCTOR_REAUTH_WINDOW_MINUTES = 15
OTP_TOTP_ISSUER = "云医院 Cloud Hospital"
# 互联网诊疗管理办法（试行）art. 25: a doctor practising online has at least three years of
# independent clinical practice.
ONLINE_DOCTOR_MIN_PRACTICE_YEARS = 3

# Consult recordings (consult.recording). 互联网诊疗监管细则（试行）: audio and video of online care
# are kept at least 3 years. A chunk the doctor's browser uploads is at most this size, a whole
# recording at most RECORDING_MAX_BYTES, and chunks are taken until this long after the end.
RECORDING_RETENTION_YEARS = 3
RECORDING_CHUNK_MAX_BYTES = 8 * 1024 * 1024
RECORDING_MAX_BYTES = 2 * 1024 * 1024 * 1024
RECORDING_UPLOAD_GRACE_MINUTES = 30

# Retention (cloudhospital.retention, `manage.py purge_expired`): the least number of years each
# kind of record is kept; nothing younger is purged. 互联网诊疗监管细则（试行）: the records of online
# care are outpatient EMR, kept at least 15 years; text and image chat at least 3 years.
RETENTION_YEARS = {"online_care_records": 15, "chat_messages": 3}
# 处方管理办法 art. 50: prescriptions are kept 1 year (ordinary, emergency, paediatric), 2 years
# (医疗用毒性药品, 第二类精神药品), 3 years (麻醉药品, 第一类精神药品); a prescription keeps the longest
# period of its items' legal classes, and a class the rule does not name keeps the longest of all.
PRESCRIPTION_RETENTION_YEARS = {"ordinary": 1, "toxic": 2, "psychotropic_2": 2, "narcotic": 3, "psychotropic_1": 3}

# The regulator's real-time feed (cloudhospital.regulator). 互联网诊疗管理办法（试行）art. 24 and
# 互联网诊疗监管细则（试行）: the institution reports each consult, prescription and dispense to the
# province's supervision platform (互联网医疗服务监管平台). Events are POSTed to REGULATOR_ENDPOINT,
# HMAC-SHA256-signed with REGULATOR_HMAC_SECRET; with no endpoint (or a file:// one) they are
# appended to a local JSON-lines sink, the embedded default.
REGULATOR_ENDPOINT = os.environ.get("REGULATOR_ENDPOINT", "")
REGULATOR_HMAC_SECRET = os.environ.get("REGULATOR_HMAC_SECRET", "")
REGULATOR_PLATFORM = os.environ.get("REGULATOR_PLATFORM", "local")
REGULATOR_INSTITUTION_CODE = os.environ.get("REGULATOR_INSTITUTION_CODE", "")
REGULATOR_SINK_PATH = BASE_DIR / "var" / "regulator-feed.jsonl"
REGULATOR_TIMEOUT_SECONDS = 10
if REGULATOR_ENDPOINT.startswith(("http://", "https://")) and not REGULATOR_HMAC_SECRET:
    # An unsigned feed would be refused by the platform at every event: refuse to start instead.
    raise ImproperlyConfigured("REGULATOR_HMAC_SECRET must be set with an http(s) REGULATOR_ENDPOINT.")

# Clinical safety checks (prescriptions.checks). AGS Beers Criteria 2023 and the labels' elderly
# doses apply from age 65.
CHECKS_ELDERLY_AGE = 65
# KDIGO 2012 CKD (1.3, how often to measure GFR by category): an eGFR older than this many days
# is out of date and dosing steps down one band: eGFR >= 60 yearly; CKD 3 (30-59) every 6 months;
# CKD 4-5 (< 30) every 3 months. Keys are the band's lower eGFR edge.
CHECKS_EGFR_VALID_DAYS = {60: 365, 30: 180, 0: 90}
# KDIGO 2012 CKD 4.4.2: avoid prolonged NSAIDs at GFR < 60; a short course is at most 7 days.
CHECKS_NSAID_CKD_EGFR_BELOW = 60
CHECKS_NSAID_CKD_MAX_DAYS = 7
