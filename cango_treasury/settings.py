"""Settings, all from the environment (see .env.example). Production differs only by env."""

from __future__ import annotations

import secrets
import sys
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import environ
from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(environ.Env().str("CANGO_DATA_DIR", default=str(BASE_DIR / ".data")))

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)
# Development mode: what production must set falls back to local defaults under DATA_DIR
# (the embedded PostgreSQL for DATABASE_URL, a generated key for DJANGO_SECRET_KEY). `make`
# and the `make run` launcher turn it on; the test runner and the type checker, which serve
# nothing, imply it. Anywhere else a missing variable stops the process before it serves.
DEVELOPMENT = env.bool("CANGO_DEVELOPMENT", default=False) or any(
    tool in sys.modules for tool in ("pytest", "mypy")
)
_REQUIRED = {
    "DATABASE_URL": "the PostgreSQL server the application connects to, as its own role",
    "DJANGO_SECRET_KEY": "the key that signs sessions, CSRF tokens and password resets",
}
_refused = [
    f"{name} is not set ({why})"
    for name, why in _REQUIRED.items()
    if not env.str(name, default="") and not DEVELOPMENT and (name == "DATABASE_URL" or not DEBUG)
]
if _refused:
    raise ImproperlyConfigured(
        "; ".join(_refused) + ". Production sets each in the environment (README: "
        "Deployment); a development machine may set CANGO_DEVELOPMENT=true instead, for local "
        f"defaults under {DATA_DIR} (the embedded PostgreSQL, a generated secret key)."
    )


def _secret_key() -> str:
    key = env.str("DJANGO_SECRET_KEY", default="")
    if key:
        return key
    # Development only: a key generated once and kept under .data/, never committed.
    path = DATA_DIR / "secret_key"
    if not path.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "holdings.apps.TreasuryAdminConfig",  # django.contrib.admin, its index a dashboard
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    # DRF's own tokens are no longer accepted (ledger migration 0016 moved them to knox); the
    # app stays for the history of the migrations that audit its table.
    "rest_framework.authtoken",
    "knox",
    "axes",
    "csp",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "django_celery_results",
    "ledger.apps.LedgerConfig",
    "holdings.apps.HoldingsConfig",
    "cango_treasury.apps.CangoTreasuryConfig",  # `migrate` as the owner; deployment checks
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Who acts, for the audit log's triggers (after the user is known).
    "ledger.audit.AuditActorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last: turns a login refused during a lockout into its answer (429).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "cango_treasury.urls"
WSGI_APPLICATION = "cango_treasury.wsgi.application"

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


def _database(variable: str) -> dict[str, Any]:
    database: dict[str, Any] = env.db_url(variable)
    # A Unix socket directory is written percent-encoded in the URL's host part.
    database["HOST"] = unquote(database.get("HOST", ""))
    return database


# PostgreSQL always, with two roles: the application connects by DATABASE_URL as a role that
# owns nothing (it reads and writes rows; it cannot disable a trigger), and `migrate` alone
# connects by DATABASE_OWNER_URL as the tables' owner (cango_treasury/database_roles.py).
# Without DATABASE_OWNER_URL the application's role runs the migrations and owns the tables.
# In development mode without DATABASE_URL: the embedded server, set up with both roles.
DATABASE_OWNER: dict[str, Any] = {}
if env.str("DATABASE_URL", default=""):
    DATABASES = {"default": _database("DATABASE_URL")}
    if env.str("DATABASE_OWNER_URL", default=""):
        _owner = _database("DATABASE_OWNER_URL")
        if _owner["NAME"] != DATABASES["default"]["NAME"]:
            raise ImproperlyConfigured(
                f"DATABASE_OWNER_URL names the database {_owner['NAME']!r} and DATABASE_URL "
                f"{DATABASES['default']['NAME']!r}: both must name the same database."
            )
        DATABASE_OWNER = {
            "USER": _owner["USER"],
            "PASSWORD": _owner.get("PASSWORD", ""),
            "HOST": _owner["HOST"],
            "PORT": _owner.get("PORT", ""),
            "OPTIONS": _owner.get("OPTIONS", {}),
        }
else:
    from cango_treasury.embedded_postgres import (
        embedded_database_settings,
        embedded_owner_credentials,
    )

    DATABASES = {"default": embedded_database_settings(DATA_DIR)}
    DATABASE_OWNER = embedded_owner_credentials()
if DATABASE_OWNER.get("USER") == DATABASES["default"]["USER"]:
    DATABASE_OWNER = {}  # one role for both: the application owns its tables
# The role the migrations grant row access to (ledger 0014); empty: the application's role
# is the owner.
DATABASE_APPLICATION_ROLE = DATABASES["default"]["USER"] if DATABASE_OWNER else ""
DATABASES["default"]["ENGINE"] = "django.db.backends.postgresql"
# What the planner takes a page read out of order to cost, against 1 for one in order.
# PostgreSQL's default of 4 is a spinning disk's: on one it has a report scan every lot to
# find the thousand of a quarter. 1.1 is SSD storage or data in memory; set
# DATABASE_RANDOM_PAGE_COST for another.
RANDOM_PAGE_COST = env.float("DATABASE_RANDOM_PAGE_COST", default=1.1)
if not 0 < RANDOM_PAGE_COST <= 100:
    raise ImproperlyConfigured("DATABASE_RANDOM_PAGE_COST must be a number above 0, up to 100.")
_options = DATABASES["default"].setdefault("OPTIONS", {})
_options["options"] = (
    f"{_options.get('options', '')} -c random_page_cost={RANDOM_PAGE_COST}".strip()
)
# The posting path's statements are prepared once per connection (they ask for it; no other
# statement is, whatever its count). Off behind a pooler that cannot keep a session's
# prepared statements: PgBouncer in transaction mode before 1.21.
if env.bool("DATABASE_PREPARED_STATEMENTS", default=True):
    _options["prepare_threshold"] = 2**31 - 1
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
# Tests get a database of their own, named after the one configured, so two checkouts (or
# two runs) on one server do not drop each other's.
DATABASES["default"]["TEST"] = {
    "NAME": env.str("DATABASE_TEST_NAME", default=f"test_{DATABASES['default']['NAME']}")
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Failed logins (admin and the API's token login) are counted per username and address
# (django-axes, in the database): after LOGIN_FAILURE_LIMIT of them that pair is refused, even
# with the right password, for LOGIN_COOLOFF_MINUTES (429), or until `manage.py axes_reset`.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
LOGIN_COOLOFF_MINUTES = env.int("LOGIN_COOLOFF_MINUTES", default=15)
if AXES_FAILURE_LIMIT < 1 or LOGIN_COOLOFF_MINUTES < 1:
    raise ImproperlyConfigured("LOGIN_FAILURE_LIMIT and LOGIN_COOLOFF_MINUTES must be >= 1.")
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_COOLOFF_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_HTTP_RESPONSE_CODE = 429
AXES_VERBOSE = False

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
# One way of writing dates and times across the admin: 2026-01-31 and 2026-01-31 08:00 UTC
# (the format module wins over Django's English formats; these are the same, for code that
# reads the settings). Amounts carry their own grouping at their commodity's scale; ids and
# counts are never grouped, so no thousands separator is added to plain numbers. The API
# and the CSV files write ISO 8601 themselves and are not affected.
FORMAT_MODULE_PATH = ["cango_treasury.formats"]
DATE_FORMAT = "Y-m-d"
SHORT_DATE_FORMAT = "Y-m-d"
DATETIME_FORMAT = r"Y-m-d H:i \U\T\C"
SHORT_DATETIME_FORMAT = r"Y-m-d H:i \U\T\C"
USE_THOUSAND_SEPARATOR = False

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = DATA_DIR / "media"

# Security: on by default, relaxed only by environment for plain-HTTP local use.
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=False)
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
# Behind a proxy that terminates TLS, the header it sets to "https" (X-Forwarded-Proto);
# unset, no header makes a request count as secure (a client could send it itself).
TRUSTED_PROXY_SSL_HEADER = env.str("TRUSTED_PROXY_SSL_HEADER", default="")
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_" + TRUSTED_PROXY_SSL_HEADER.upper().replace("-", "_"), "https")
    if TRUSTED_PROXY_SSL_HEADER
    else None
)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp): scripts and style sheets from this site only, or
# inline with the response's nonce; style attributes (the dashboard's SVG charts) allowed.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "style-src-elem": [SELF, NONCE],
        "style-src-attr": [UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# The cache API throttling counts in: per process unless CACHE_URL names a shared one
# (redis://...; with several web workers, set it so that they share their counts).
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "ledger.api.authentication.StrictTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Per address for anonymous requests (a refused token counts as one), per user else.
    "DEFAULT_THROTTLE_CLASSES": [
        "ledger.api.throttles.AnonymousThrottle",
        "ledger.api.throttles.UserThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_THROTTLE_ANON", default="60/minute"),
        "user": env.str("API_THROTTLE_USER", default="1200/minute"),
    },
    "DEFAULT_PERMISSION_CLASSES": ["ledger.api.permissions.RolePermission"],
    "DEFAULT_PAGINATION_CLASS": "ledger.api.pagination.Pagination",
    "PAGE_SIZE": 100,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "ledger.api.errors.exception_handler",
    "COERCE_DECIMAL_TO_STRING": True,
    "UNAUTHENTICATED_USER": None,
}
# API tokens (django-rest-knox): stored as SHA-512 digests, valid API_TOKEN_TTL_HOURS from
# their creation, revoked when their user's password changes or the user is deactivated.
API_TOKEN_TTL_HOURS = env.int("API_TOKEN_TTL_HOURS", default=24 * 30)
if API_TOKEN_TTL_HOURS < 1:
    raise ImproperlyConfigured("API_TOKEN_TTL_HOURS must be a number of hours >= 1.")
REST_KNOX = {
    "TOKEN_TTL": timedelta(hours=API_TOKEN_TTL_HOURS),
    "AUTH_HEADER_PREFIX": "Token",
    "AUTO_REFRESH": False,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "cango-treasury API",
    "DESCRIPTION": "Balances, journal and reports of the treasury ledger. Decimals are strings.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # The documentation's scripts are served from here, not from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Choice sets that share a field name get names of their own in the schema.
    "ENUM_NAME_OVERRIDES": {
        "BatchStatusEnum": "holdings.models.BatchStatus",
        "PoolKindEnum": "holdings.models.PoolKind",
        "ReconciliationKindEnum": "holdings.models.ReconciliationKind",
        "ReconciliationStatusEnum": "holdings.models.ReconciliationStatus",
        "StatementKindEnum": "holdings.models.StatementKind",
    },
}

# Celery: a broker that needs no server unless CELERY_BROKER_URL names Redis or RabbitMQ.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
# On Redis and SQS a message taken by a worker that dies comes back after this many seconds:
# longer than the longest task runs (a night's import or verification takes minutes) and
# than the longest retry countdown (Celery caps backoff at 10 minutes), and well under the
# transport's own hour.
CELERY_BROKER_VISIBILITY_TIMEOUT = env.int("CELERY_BROKER_VISIBILITY_TIMEOUT", default=1800)
if CELERY_BROKER_VISIBILITY_TIMEOUT <= 0:
    raise ImproperlyConfigured("CELERY_BROKER_VISIBILITY_TIMEOUT must be a number of seconds > 0.")
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, Any] = {}
if CELERY_BROKER_URL.split(":", 1)[0] in {"redis", "rediss", "redis+socket", "sentinel", "sqs"}:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_BROKER_VISIBILITY_TIMEOUT}
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue_dir = DATA_DIR / "broker"
    for sub in ("queue", "processed", "control"):
        (_queue_dir / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir / "queue"),
        "data_folder_out": str(_queue_dir / "queue"),
        "processed_folder": str(_queue_dir / "processed"),
        "control_folder": str(_queue_dir / "control"),
        "store_processed": False,
    }
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="django-db")
CELERY_RESULT_EXTENDED = True
CELERY_TASK_TRACK_STARTED = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"
# The stalled-import sweep: how often it runs. Unset, the schedule in the database decides
# (every 15 minutes as installed, changed in the admin); set, beat writes it there as it
# starts. How long a batch waits before it counts as stalled: IMPORT_STALE_AFTER_MINUTES.
IMPORT_SWEEP_EVERY_MINUTES = env.int("IMPORT_SWEEP_EVERY_MINUTES", default=0)
if IMPORT_SWEEP_EVERY_MINUTES < 0:
    raise ImproperlyConfigured("IMPORT_SWEEP_EVERY_MINUTES must be a number of minutes > 0.")
CELERY_BEAT_SCHEDULE: dict[str, Any] = {}
if IMPORT_SWEEP_EVERY_MINUTES:
    CELERY_BEAT_SCHEDULE["Resume stalled imports"] = {
        "task": "holdings.resume_stalled_imports",
        "schedule": timedelta(minutes=IMPORT_SWEEP_EVERY_MINUTES),
    }

# Dates the ledger posts at (ledger/dates.py): from the books' start (default the Bitcoin
# genesis block's day, before anything held) to today (UTC) plus a horizon in days.
BOOKS_START = date.fromisoformat(env.str("BOOKS_START", default="2009-01-03"))
POSTING_HORIZON_DAYS = env.int("POSTING_HORIZON_DAYS", default=31)
# Bitcoin testnet and signet addresses (tb1..., m/n/2...) are taken only when this is on.
BITCOIN_TESTNET_ADDRESSES = env.bool("BITCOIN_TESTNET_ADDRESSES", default=False)

# Holdings: how production is valued and where prices come from.
# The price a day's revenue uses: "day_end" (00:00 UTC after the earning day) or "day_start".
PRICE_POLICY = env.str("PRICE_POLICY", default="day_end")
PRICE_QUOTE = env.str("PRICE_QUOTE", default="USD")
# Price provider for the nightly fetch (Coin Metrics API v4 shape); empty: no fetch.
PRICE_PROVIDER_URL = env.str("PRICE_PROVIDER_URL", default="")
PRICE_PROVIDER_API_KEY = env.str("PRICE_PROVIDER_API_KEY", default="")
# The commodities fetched; empty (the default): every commodity held (wallets, pool
# accounts, open lots, loans' collateral).
PRICE_PROVIDER_ASSETS = env.list("PRICE_PROVIDER_ASSETS", default=[])
# Disposal method the company elected: "fifo" (default) or "specific".
LOT_RELIEF_METHOD = env.str("LOT_RELIEF_METHOD", default="fifo")
# A batch left pending or running this long with nobody holding it counts as stalled: the
# sweep (IMPORT_SWEEP_EVERY_MINUTES) imports it again. Read when the sweep runs.
IMPORT_STALE_AFTER_MINUTES = env.int("IMPORT_STALE_AFTER_MINUTES", default=15)
if IMPORT_STALE_AFTER_MINUTES < 0:
    raise ImproperlyConfigured("IMPORT_STALE_AFTER_MINUTES must be a number of minutes >= 0.")
# Uploaded files (pool files, statements): the largest accepted, in bytes; a larger one is
# refused, naming the limit, before anything is stored. Files above Django's
# FILE_UPLOAD_MAX_MEMORY_SIZE (2.5 MB) are spooled to a temporary file while they arrive.
IMPORT_UPLOAD_MAX_BYTES = env.int("IMPORT_UPLOAD_MAX_BYTES", default=50 * 1024 * 1024)
STATEMENT_UPLOAD_MAX_BYTES = env.int("STATEMENT_UPLOAD_MAX_BYTES", default=50 * 1024 * 1024)
# The largest supporting document attached to a manual journal (kept in the database).
MANUAL_JOURNAL_ATTACHMENT_MAX_BYTES = env.int(
    "MANUAL_JOURNAL_ATTACHMENT_MAX_BYTES", default=10 * 1024 * 1024
)
for _name in (
    "IMPORT_UPLOAD_MAX_BYTES",
    "STATEMENT_UPLOAD_MAX_BYTES",
    "MANUAL_JOURNAL_ATTACHMENT_MAX_BYTES",
):
    if globals()[_name] <= 0:
        raise ImproperlyConfigured(f"{_name} must be a number of bytes > 0.")
# The file of a failed pool batch or statement upload is kept this many days after it
# failed (to look at it, or import the batch again), then dropped by the nightly cleanup;
# the record and its errors stay.
FAILED_CONTENT_KEEP_DAYS = env.int("FAILED_CONTENT_KEEP_DAYS", default=30)
if FAILED_CONTENT_KEEP_DAYS < 0:
    raise ImproperlyConfigured("FAILED_CONTENT_KEEP_DAYS must be a number of days >= 0.")
POOL_API_TIMEOUT_SECONDS = env.float("POOL_API_TIMEOUT_SECONDS", default=30.0)
# On-chain evidence of BTC; empty: BTC's entry in CHAIN_EXPLORERS, or none.
ESPLORA_URL = env.str("ESPLORA_URL", default="")
# The chains' explorers, by commodity (e.g. "KAS=https://...,ETC=https://..."): an
# Esplora-shaped API of that chain, amounts in its smallest unit (sompi, wei). A commodity
# with none (BTC included) is reported as not checked on chain.
CHAIN_EXPLORERS = env.dict("CHAIN_EXPLORERS", default={})
# Reconciliation: a payout counts as settled with this many confirmations; a difference up
# to a commodity's tolerance matches (by default every commodity must match exactly).
PAYOUT_CONFIRMATIONS = env.int("PAYOUT_CONFIRMATIONS", default=6)
RECONCILIATION_TOLERANCES = {
    code: Decimal(amount)
    for code, amount in env.dict("RECONCILIATION_TOLERANCES", default={}).items()
}
# Other items the all-in cost to mine includes, shown by name: "Site overhead=6100,...".
COST_TO_MINE_EXTRAS = [
    {"name": name, "account": account}
    for name, account in env.dict("COST_TO_MINE_EXTRAS", default={}).items()
]

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
if env.str("EMAIL_URL", default=""):
    # e.g. smtp+tls://user:password@smtp.example.com:587
    vars().update(env.email_url("EMAIL_URL"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="treasury@localhost")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"pgserver": {"level": "WARNING"}},
}
