"""Settings, read from the environment.

With no variables set the hub runs on a single machine with no servers: a SQLite file
and Celery on kombu's filesystem transport, both under ./var. Production sets
DATABASE_URL, CELERY_BROKER_URL (or REDIS_URL), SECRET_KEY, HUB_ENCRYPTION_KEYS,
HUB_IDENTIFIER_HMAC_KEY and ALLOWED_HOSTS, and DEBUG=0.
"""

import os
import secrets
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("HUB_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)


def dev_secret(name: str, env_var: str, factory) -> str:
    """A secret from the environment; in DEBUG a generated one kept under ./var.

    Outside DEBUG a missing secret is a configuration error: the hub refuses to start
    rather than run with a guessable key.
    """
    value = os.environ.get(env_var)
    if value:
        return value
    if not DEBUG:
        raise ImproperlyConfigured(f"{env_var} must be set when DEBUG=0")
    path = VAR_DIR / f"dev-{name}"
    if not path.exists():
        path.write_text(factory())
        path.chmod(0o600)
    return path.read_text().strip()


def _fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


SECRET_KEY = dev_secret("secret-key", "SECRET_KEY", lambda: secrets.token_urlsafe(50))
if not DEBUG and (len(SECRET_KEY) < 32 or SECRET_KEY.startswith("django-insecure")):
    raise ImproperlyConfigured("SECRET_KEY is too weak for DEBUG=0")

# Fernet keys for secrets the hub must read back (webhook signing secrets, provider
# credentials, national identifiers, account numbers). Comma-separated: the first
# encrypts, all decrypt, so keys can be rotated.
HUB_ENCRYPTION_KEYS = env_list(
    "HUB_ENCRYPTION_KEYS", [dev_secret("encryption-key", "HUB_ENCRYPTION_KEYS", _fernet_key)]
)
# Key for the keyed hash that finds a national identifier without decrypting it.
HUB_IDENTIFIER_HMAC_KEY = dev_secret(
    "identifier-hmac-key", "HUB_IDENTIFIER_HMAC_KEY", lambda: secrets.token_hex(32)
)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
HUB_PUBLIC_URL = os.environ.get("HUB_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    # Django's admin with the hub's site: the operator's dashboard (operations/).
    "operations.apps.HubAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "django_celery_beat",
    "tenants",
    "hub",
    "registration",
    "payments",
    "collection",
    "reconciliation",
    "notifications",
    "operations",
]

MIDDLEWARE = [
    # First: every answer, a refusal by a later middleware too, carries the request id
    # and is counted.
    "hub.observability.request_id.RequestIdMiddleware",
    "hub.observability.http.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "hub.middleware.NulInPathMiddleware",
    "hub.middleware.ApiBodySizeLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "hub.middleware.TenantScopeMiddleware",
    "hub.observability.operator_time.OperatorTimeZoneMiddleware",
]

ROOT_URLCONF = "hub.urls"
WSGI_APPLICATION = "hub.wsgi.application"

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
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The worker, beat and web server share one file: wait for locks instead of failing,
    # and take the write lock up front so a read-then-write never deadlocks.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not shared memory: worker threads in tests then wait on locks like the
    # real processes do, instead of failing with "table is locked".
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# The API's hot statements (tenants/statements.py) as PostgreSQL prepared statements,
# one per connection. Set to 0 behind a transaction-mode pooler that cannot carry
# prepared statements (PgBouncer before 1.21).
HUB_PREPARED_STATEMENTS = os.environ.get("HUB_PREPARED_STATEMENTS", "1") != "0"

REDIS_URL = os.environ.get("REDIS_URL", "")
# The cache only holds rate-limit counters: when Redis is unreachable a request must find
# out in well under a second and carry on (hub/api/throttling.py).
REDIS_CACHE_OPTIONS = {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": REDIS_CACHE_OPTIONS,
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
GUARDIAN_RAISE_403 = True
# guardian's anonymous user row is of no use to the hub: agencies never act anonymously.
ANONYMOUS_USER_NAME = None

LANGUAGE_CODE = "en-gb"
# What citizens' pages (payment page, payment links) are offered in; the operator's
# admin stays in LANGUAGE_CODE (no LocaleMiddleware: each citizen page activates the
# payment's or the browser's language itself, hub/i18n.py). Each app keeps its own
# catalogues in <app>/locale/, compiled by `make install` (hub/catalogues.py).
LANGUAGES = [("en", "English"), ("nl", "Nederlands"), ("cy", "Cymraeg")]
# The admin shows times in this zone (UTC on hover); storage and the API stay in UTC.
HUB_OPERATOR_TIME_ZONE = os.environ.get("HUB_OPERATOR_TIME_ZONE", "Europe/Amsterdam")
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
WHITENOISE_USE_FINDERS = True
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": VAR_DIR / "media"},
    },
    # pain.008 bank files: debtors' names and IBANs, encrypted at rest (hub/storage.py).
    "bank_files": {
        "BACKEND": "hub.storage.EncryptedFileSystemStorage",
        "OPTIONS": {"location": VAR_DIR / "media"},
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Bodies above this answer 413 in the error shape before anything parses them.
HUB_API_MAX_BODY_BYTES = int(os.environ.get("HUB_API_MAX_BODY_BYTES", str(1024 * 1024)))
# Statement uploads are larger; their views stream them from disk.
HUB_UPLOAD_MAX_BODY_BYTES = int(os.environ.get("HUB_UPLOAD_MAX_BODY_BYTES", str(200 * 1024**2)))
# A pain.002 status report is small; its uploads get a limit of their own.
HUB_RETURN_FILE_MAX_BYTES = int(os.environ.get("HUB_RETURN_FILE_MAX_BYTES", str(20 * 1024**2)))
DATA_UPLOAD_MAX_MEMORY_SIZE = HUB_API_MAX_BODY_BYTES
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["hub.api.auth.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["hub.api.permissions.HasApiKeyScope"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["hub.api.parsers.HubJSONParser"],
    "DEFAULT_PAGINATION_CLASS": "hub.api.pagination.CreatedCursorPagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_THROTTLE_CLASSES": ["hub.api.throttling.ApiKeyRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"api_key": os.environ.get("HUB_API_RATE", "6000/min")},
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "hub.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
    "PAGE_SIZE": 50,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Government shared process hub API",
    "DESCRIPTION": (
        "Payments, collections and constituent registration for agencies. "
        "Authenticate with `Authorization: Bearer <api key>`; money is integer minor units."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "DEFAULT_GENERATOR_CLASS": "hub.schema.ScopedSchemaGenerator",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "hub.schema.add_error_responses",
        "hub.schema.forbid_unknown_request_fields",
    ],
    "ENUM_NAME_OVERRIDES": {
        "ConstituentKindEnum": "registration.models.Constituent.Kind",
        "LifeEventKindEnum": "registration.models.LifeEvent.Kind",
        "DirectDebitSchemeEnum": "collection.models.DirectDebitScheme",
        "LanguageEnum": "tenants.models.Language",
    },
}

# Celery. Without a broker URL the worker and the web process meet in a folder.
CELERY_REDIS_TRANSPORT_OPTIONS = {
    # Redis hands a message a worker took but never acknowledged (the worker was killed)
    # to another worker after this long. It must outlast the longest a message may stay
    # unacknowledged in a live worker — a webhook retry's countdown (at most 600 s, see
    # hub/events/delivery.py) plus the task time limit (600 s) — or Redis would hand out
    # a second copy of a task still waiting or running. Recovery after a crash does not
    # wait for it: the sweepers find the work in PostgreSQL (stalled collection chunks
    # after HUB_COLLECTION_STALLED_AFTER_SECONDS, pending events and deliveries every
    # HUB_OUTBOX_SWEEP_SECONDS), so the timeout only bounds how long a lost copy lingers.
    "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "1800")),
    # A Redis that vanishes without closing the TCP connection (failover, a firewall's
    # idle timeout) must not leave a publish or the worker's BRPOP waiting forever:
    # commands time out (above the 1 s BRPOP), connects give up after 2 s, and kombu
    # drops and reopens a BRPOP or pub/sub connection whose reply is overdue.
    "socket_timeout": 10,
    "socket_connect_timeout": 2,
    "socket_keepalive": True,
    "retry_on_timeout": True,
    "health_check_interval": 10,
}
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or REDIS_URL or "filesystem://"
if CELERY_BROKER_URL == "filesystem://":
    _broker_dir = VAR_DIR / "broker"
    for sub in ("queue", "processed", "control"):
        (_broker_dir / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = CELERY_REDIS_TRANSPORT_OPTIONS
# The worker outlives a broker outage: it retries the connection for ever, also when the
# broker is not there yet at start, and resumes consuming when it answers again (a
# supervisor restart is the last resort; docs/operator-guide.md, "When something fails").
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_BROKER_CONNECTION_TIMEOUT = 4
# A web request that publishes while the broker is down tries twice, briefly, and then
# leaves the event to the outbox sweep: the request must not wait on the broker.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = int(os.environ.get("CELERY_TASK_TIME_LIMIT", "600"))
CELERY_TASK_SOFT_TIME_LIMIT = int(os.environ.get("CELERY_TASK_SOFT_TIME_LIMIT", "540"))
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_TASK_DEFAULT_QUEUE", "hub")
# Celery's Django fix-up closes the database connections around every task unless this
# is set; then it closes them only every N tasks, and hub/celery.py applies Django's own
# rules (CONN_MAX_AGE, broken connections) around each task, as for a web request.
# Opening a PostgreSQL connection per task cost a third of webhook delivery throughput.
CELERY_DB_REUSE_MAX = int(os.environ.get("CELERY_DB_REUSE_MAX", "1000"))
# /api/v1/health reports the outbox as behind when an event waits longer than this.
HUB_HEALTH_MAX_OUTBOX_LAG_SECONDS = int(os.environ.get("HUB_HEALTH_MAX_OUTBOX_LAG_SECONDS", "300"))
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"
# Installed into django-celery-beat's tables on start: operators edit them in the admin.
# The sweepers' pace decides how soon work a dead worker held resumes (see
# collection/services/runs.py): a chunk quiet for HUB_COLLECTION_STALLED_AFTER_SECONDS is
# requeued at the next sweep, within about 2.5 minutes of the crash with the defaults.
HUB_OUTBOX_SWEEP_SECONDS = float(os.environ.get("HUB_OUTBOX_SWEEP_SECONDS", "30"))
HUB_COLLECTION_SWEEP_SECONDS = float(os.environ.get("HUB_COLLECTION_SWEEP_SECONDS", "30"))
HUB_COLLECTION_STALLED_AFTER_SECONDS = int(
    os.environ.get("HUB_COLLECTION_STALLED_AFTER_SECONDS", "120")
)
CELERY_BEAT_SCHEDULE: dict = {
    "hub-sweep-outbox": {"task": "hub.sweep_outbox", "schedule": HUB_OUTBOX_SWEEP_SECONDS},
    "hub-purge-idempotency-keys": {"task": "hub.purge_idempotency_keys", "schedule": 3600.0},
    "payments-expire-unfinished": {
        "task": "payments.expire_unfinished_payments",
        "schedule": 60.0,
    },
    "payments-resync-with-providers": {"task": "payments.resync_with_providers", "schedule": 300.0},
    # Before banks' morning cut-offs: housekeeping, then each agency's collection run.
    "collection-daily": {"task": "collection.daily", "schedule": crontab(hour=5, minute=30)},
    "collection-resume-stalled-runs": {
        "task": "collection.resume_stalled_runs",
        "schedule": HUB_COLLECTION_SWEEP_SECONDS,
    },
    # Stripe payouts first, then yesterday's reconciliation once statements are in.
    "reconciliation-sweep-stripe-payouts": {
        "task": "reconciliation.sweep_stripe_payouts",
        "schedule": crontab(hour=4, minute=0),
    },
    "reconciliation-daily": {
        "task": "reconciliation.reconcile_yesterday",
        "schedule": crontab(hour=6, minute=30),
    },
    # At night, before the morning's runs: what no registration justifies any longer.
    "registration-apply-retention": {
        "task": "registration.apply_retention",
        "schedule": crontab(hour=3, minute=15),
    },
    # At the start of the office day: agencies past their life-event service level.
    "registration-remind-overdue-life-events": {
        "task": "registration.remind_overdue_life_event_answers",
        "schedule": crontab(hour=7, minute=0),
    },
}
# Notices to citizens (notifications/) go through Django's email framework. A development
# hub (DEBUG, `make run`) writes each message as a file under var/mail and sends nothing;
# production sets EMAIL_BACKEND (SMTP by default, or an ESP's backend such as
# django-anymail's) and the EMAIL_* variables (docs/operator-guide.md, "Email").
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.filebased.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_FILE_PATH = Path(os.environ.get("EMAIL_FILE_PATH", VAR_DIR / "mail"))
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "587"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
# A mail server that does not answer must not hold a worker: the outbox retries later.
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "10"))
# The address notices are sent from; each agency's sender name is put in front of it.
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "notices@hub.localhost")
SERVER_EMAIL = os.environ.get("SERVER_EMAIL", DEFAULT_FROM_EMAIL)

# Tell us once (docs/operator-guide.md, "Life events"): the working-day calendar an
# agency's time to answer is counted in (a country, optionally "-" a subdivision, as the
# holidays package names them: NL, GB-ENG), and the status page's attempt budget per
# reference and per client address.
HUB_WORKING_DAY_CALENDAR = os.environ.get("HUB_WORKING_DAY_CALENDAR", "NL")
HUB_STATUS_PAGE_ATTEMPTS = int(os.environ.get("HUB_STATUS_PAGE_ATTEMPTS", "5"))
HUB_STATUS_PAGE_WINDOW_SECONDS = int(os.environ.get("HUB_STATUS_PAGE_WINDOW_SECONDS", "900"))
# Card payments the payer has not finished expire after this many minutes (GOV.UK Pay: 90).
HUB_PAYMENT_EXPIRY_MINUTES = int(os.environ.get("HUB_PAYMENT_EXPIRY_MINUTES", "90"))
# Payment links' public pages (payments/web/payment_link_page.py): submissions allowed
# per link and per client address (REMOTE_ADDR: behind a proxy, have it set the real
# client's address), as DRF writes rates.
HUB_PAYMENT_LINK_RATE_PER_LINK = os.environ.get("HUB_PAYMENT_LINK_RATE_PER_LINK", "60/min")
HUB_PAYMENT_LINK_RATE_PER_CLIENT = os.environ.get("HUB_PAYMENT_LINK_RATE_PER_CLIENT", "20/min")
# Where a link's form may send the citizen on to besides the hub: the providers'
# hosted pages.
HUB_PAYMENT_LINK_FORM_TARGETS = env_list(
    "HUB_PAYMENT_LINK_FORM_TARGETS", ["https://checkout.stripe.com"]
)
# What a new agency's reconciliation tolerances start as (each agency edits its own in
# the admin): receipts may be booked this many days from their payment, amounts may
# differ by this many minor units, and unmatched items are looked back at this far.
HUB_RECONCILIATION_DEFAULTS = {
    "date_window_days": int(os.environ.get("HUB_RECONCILIATION_DATE_WINDOW_DAYS", "3")),
    "amount_tolerance": int(os.environ.get("HUB_RECONCILIATION_AMOUNT_TOLERANCE", "0")),
    "lookback_days": int(os.environ.get("HUB_RECONCILIATION_LOOKBACK_DAYS", "35")),
}

# The constituent registry's privacy rules (docs/operator-guide.md, "The registry").
# Which optional fields of the shared record (date_of_birth, address, email, phone,
# identifiers) an agency without a field authorisation of its own sees: none, by default
# (privacy by default); the operator grants each agency what its task needs in the admin.
# Agencies that existed before field authorisation got all of them (migration 0002).
HUB_REGISTRY_DEFAULT_VISIBLE_FIELDS = env_list("HUB_REGISTRY_DEFAULT_VISIBLE_FIELDS", [])
# Retention (GDPR articles 5(1)(e) and 17): an ended registration is erased this many days
# after it ended, per legal basis; a constituent no registration justifies any longer is
# then erased (or anonymised where payments or debts still point at it). A deceased
# person's record is erased this many days after the date of death, whatever the
# registrations (estates are settled and the notifications answered by then).
HUB_REGISTRY_RETENTION_DAYS = {
    basis: int(os.environ.get(f"HUB_REGISTRY_RETENTION_DAYS_{basis.upper()}", default))
    for basis, default in {
        "consent": "30",
        "contract": "730",
        "legal_obligation": "2555",
        "vital_interests": "90",
        "public_task": "730",
        "legitimate_interests": "365",
    }.items()
}
HUB_REGISTRY_DECEASED_RETENTION_DAYS = int(
    os.environ.get("HUB_REGISTRY_DECEASED_RETENTION_DAYS", "730")
)

# Outbound webhooks: seconds between attempts after each failure (then: failed).
HUB_WEBHOOK_RETRY_SCHEDULE = [
    int(s)
    for s in env_list(
        "HUB_WEBHOOK_RETRY_SCHEDULE", ["5", "300", "1800", "7200", "18000", "36000", "36000"]
    )
]
# A delivery is claimed for this long while it is sent (see hub/events/delivery.py).
HUB_WEBHOOK_LEASE_SECONDS = int(os.environ.get("HUB_WEBHOOK_LEASE_SECONDS", "120"))
# Only a development hub may call webhooks on its own network (SSRF protection).
HUB_WEBHOOKS_ALLOW_PRIVATE = env_bool("HUB_WEBHOOKS_ALLOW_PRIVATE", DEBUG)

# Operations (docs/operator-guide.md, "Metrics" and "Logs"). /metrics answers only a
# bearer token equal to HUB_METRICS_TOKEN or a client address inside
# HUB_METRICS_ALLOWED_NETWORKS. By default a development hub (DEBUG) answers loopback;
# a production hub answers only the token (behind a proxy every client is loopback).
HUB_METRICS_TOKEN = os.environ.get("HUB_METRICS_TOKEN", "")
HUB_METRICS_ALLOWED_NETWORKS = env_list(
    "HUB_METRICS_ALLOWED_NETWORKS", ["127.0.0.0/8", "::1/128"] if DEBUG else []
)
# Every process of this machine (web, workers, beat) writes its metric samples here;
# /metrics adds them up (prometheus_client's multiprocess mode, hub/observability/metrics.py).
HUB_METRICS_DIR = Path(os.environ.get("PROMETHEUS_MULTIPROC_DIR", VAR_DIR / "metrics"))
HUB_METRICS_DIR.mkdir(parents=True, exist_ok=True)
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(HUB_METRICS_DIR))
# "json" (one JSON object a line, with the request id) or "text" for a person at a terminal.
HUB_LOG_FORMAT = os.environ.get("HUB_LOG_FORMAT", "json")

# Every handler redacts (hub/logging.py). Django's defaults give ``django`` and
# ``django.server`` (the access log, full request line with its query string) handlers
# of their own without that filter, so both are redefined here: ``django`` goes to the
# root handler, ``django.server`` keeps its format behind the filter. In JSON every
# line carries the request id (hub/observability/json_logs.py); the worker and beat
# use this configuration too (hub/observability/tasks.py).
_JSON_LOGS = HUB_LOG_FORMAT == "json"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_secrets": {"()": "hub.logging.RedactSecretsFilter"}},
    "formatters": {
        "json": {"()": "hub.observability.json_logs.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if _JSON_LOGS else "text",
            "filters": ["redact_secrets"],
        },
        "django.server": {
            "class": "logging.StreamHandler",
            "formatter": "json" if _JSON_LOGS else "django.server",
            "filters": ["redact_secrets"],
        },
    },
    "loggers": {
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}

if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
