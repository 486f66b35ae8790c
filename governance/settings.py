"""Settings for the opt-out governance portal.

Configuration comes only from environment variables (see the README's table). The
embedded default, used by ``make run``, is SQLite under ``var/`` with Celery tasks
executed in-process; production sets ``DATABASE_URL`` and ``REDIS_URL``.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from governance.env import (
    env_bool,
    env_database,
    env_int,
    env_list,
    env_path,
    env_redis_url,
    env_str,
    load_env_file,
)
from registry.forges import forges_from_env

BASE_DIR = Path(__file__).resolve().parent.parent
load_env_file(BASE_DIR / ".env")  # written by `make run`; the environment wins
VAR_DIR = env_path("VAR_DIR", BASE_DIR / "var")

# --- Core -------------------------------------------------------------------------------
DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DEBUG is off. Generate one with "
            "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`, "
            "or set DEBUG=true for development."
        )
    SECRET_KEY = "development-only-secret-key-never-use-in-production-0123456789"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI from static files (no CDN)
    "registry",
    "optout",
    "governance",
    "rest_framework_api_key",  # registry.PipelineToken extends its abstract key model
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.github",
    "allauth.socialaccount.providers.gitlab",
    "axes",  # sign-in lockout (see "Sign-in lockout" below)
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "registry.mirror_views.MirrorMiddleware",  # /mirror/: public static files, served alike
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a lockout into its page
]

ROOT_URLCONF = "governance.urls"
WSGI_APPLICATION = "governance.wsgi.application"

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
                "optout.context_processors.forge_signin",  # header link to /requests/mine/
            ],
        },
    },
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # Django's own loggers otherwise keep its defaults (INFO, and a console handler of
    # their own): LOG_LEVEL sets them too, and the root's handler writes them once.
    "loggers": {"django": {"level": env_str("LOG_LEVEL", "INFO")}},
}

# --- Database and cache -----------------------------------------------------------------
if not env_str("DATABASE_URL"):
    VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {"default": env_database("DATABASE_URL", f"sqlite:///{VAR_DIR / 'portal.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"].setdefault("CONN_MAX_AGE", env_int("DB_CONN_MAX_AGE", 60, minimum=0))
# Production fronts PostgreSQL with PgBouncer in transaction pooling mode, where a cursor
# held across transactions (Django's server-side cursors for ``.iterator()`` outside a
# transaction) may be looked for on another server connection. Rows are fetched client-side.
DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_redis_url("REDIS_URL")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# --- Static files -----------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = env_path("STATIC_ROOT", BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]  # the site's own CSS and scripts
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Accounts and forge sign-in ---------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]


def _oauth_apps(prefix: str) -> list[dict[str, str]]:
    client_id = env_str(f"{prefix}_CLIENT_ID")
    if not client_id:
        return []
    return [{"client_id": client_id, "secret": env_str(f"{prefix}_SECRET", required=True)}]


# django-allauth, GitHub and GitLab; off unless a provider has a client id. Tokens are
# stored because the permission check reads the forge API with the owner's token.
SOCIALACCOUNT_PROVIDERS = {
    "github": {
        "APPS": _oauth_apps("OPTOUT_GITHUB"),
        "SCOPE": ["read:org"],
        "OAUTH_PKCE_ENABLED": True,
    },
    "gitlab": {
        "APPS": _oauth_apps("OPTOUT_GITLAB"),
        "SCOPE": ["read_api"],
        "OAUTH_PKCE_ENABLED": True,
        "GITLAB_URL": env_str("OPTOUT_GITLAB_URL", "https://gitlab.com"),
    },
}
SOCIALACCOUNT_STORE_TOKENS = True
SOCIALACCOUNT_AUTO_SIGNUP = True
SOCIALACCOUNT_QUERY_EMAIL = False
SOCIALACCOUNT_EMAIL_REQUIRED = False
SOCIALACCOUNT_LOGIN_ON_GET = False  # sign-in starts with a POST (CSRF-protected)
ACCOUNT_EMAIL_VERIFICATION = "none"
LOGIN_REDIRECT_URL = "/requests/mine/"
# No local sign-up: accounts come from forge sign-in, maintainers are made by superusers.
ACCOUNT_ADAPTER = "optout.forge_signin.LocalAccountAdapter"
SOCIALACCOUNT_ADAPTER = "optout.forge_signin.ForgeSigninAccountAdapter"

# --- Sign-in lockout (django-axes) ------------------------------------------------------
# The admin's login and allauth's both authenticate through the axes backend, which counts
# failures per client address (governance/login_lockout.py) in the database.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", *AUTHENTICATION_BACKENDS]
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=30)
AXES_LOCKOUT_PARAMETERS = ["ip_address"]  # not by username: see login_lockout.py
AXES_CLIENT_IP_CALLABLE = "governance.login_lockout.client_ip"
AXES_LOCKOUT_CALLABLE = "governance.login_lockout.lockout_response"
AXES_SENSITIVE_PARAMETERS = ["username", "login", "ip_address"]  # masked in stored attempts
AXES_ENABLE_ADMIN = False  # lifted with `manage.py axes_reset_ip`; the index stays short
AXES_VERBOSE = False  # no banner at start-up; failures are still logged, by address
# allauth's own per-username limit would answer a locked username differently from the
# others; the per-address lockout above is the one rule.
ACCOUNT_RATE_LIMITS = {"login_failed": None}

# --- E-mail -----------------------------------------------------------------------------
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "opt-out portal <optout@localhost>")

# --- Security (production) --------------------------------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# --- API --------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "governance.api_errors.api_exception_handler",
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    # DRF's JSON parser, bounded in size and nesting (registry/api/parsers.py).
    "DEFAULT_PARSER_CLASSES": [
        "registry.api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    # A fixed-window counter that lets calls through when Redis is down (registry/throttles.py).
    "DEFAULT_THROTTLE_CLASSES": ["registry.throttles.AnonymousThrottle"],
    # Anonymous callers are counted by address, token holders by token.
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_str("API_ANON_RATE", "120/minute"),
        "registry_token": env_str("API_TOKEN_RATE", "6000/minute"),
    },
    "UNAUTHENTICATED_USER": None,
    # JSON only: every /api/ answer, errors included, is JSON or the endpoint's own fixed
    # type (text, CSV, Parquet); the browsable HTML views would be a second, undocumented
    # form of each answer. People browse the API at /api/docs/.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # Rate limits count the peer address, or the address this many trusted proxies in front
    # of the portal saw (X-Forwarded-For). DRF's default (None) trusts the whole header,
    # which lets a caller pick a new identity, and a fresh allowance, on every call.
    "NUM_PROXIES": env_int("API_TRUSTED_PROXIES", 0, minimum=0),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Opt-out governance portal API",
    "DESCRIPTION": (
        "Exclusion registry, owner requests and dataset versions. Every error has the shape "
        '`{"error": {"code", "message", "fields"}}`.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Answers every API operation can give, and links between operations (api_schema.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "governance.api_schema.document_common_answers",
    ],
}

# --- Removal requests (optout) ----------------------------------------------------------
OPTOUT_AUTO_APPROVE = env_bool("OPTOUT_AUTO_APPROVE", False)
# Unverified requests expire, and their tokens with them, after this many days.
OPTOUT_TOKEN_TTL_DAYS = env_int("OPTOUT_TOKEN_TTL_DAYS", 14, minimum=1)
# Submissions per hour from one IP address and to one contact e-mail.
OPTOUT_SUBMISSIONS_PER_HOUR_PER_IP = env_int("OPTOUT_SUBMISSIONS_PER_HOUR_PER_IP", 20, minimum=1)
OPTOUT_SUBMISSIONS_PER_HOUR_PER_EMAIL = env_int(
    "OPTOUT_SUBMISSIONS_PER_HOUR_PER_EMAIL", 5, minimum=1
)
# Wrong status tokens one address may present in 15 minutes before owner pages answer 429.
OPTOUT_WRONG_TOKENS_PER_IP = env_int("OPTOUT_WRONG_TOKENS_PER_IP", 20, minimum=1)
# Days a browser keeps access to a request it opened with the private link (a cookie).
OPTOUT_STATUS_COOKIE_DAYS = env_int("OPTOUT_STATUS_COOKIE_DAYS", 30, minimum=1)
# "Check now" runs per hour for one request (each run contacts the forges).
OPTOUT_VERIFICATIONS_PER_HOUR = env_int("OPTOUT_VERIFICATIONS_PER_HOUR", 10, minimum=1)
# One "Check now" stops starting new checks after this long; the rest wait for the next.
OPTOUT_VERIFY_RUN_SECONDS = env_int("OPTOUT_VERIFY_RUN_SECONDS", 300, minimum=10)
# How often beat's outbox sweeper looks for e-mails whose send was lost; it re-sends those
# older than one interval (younger ones are left to the send queued at their commit).
OPTOUT_NOTIFY_SWEEP_SECONDS = env_int("OPTOUT_NOTIFY_SWEEP_SECONDS", 120, minimum=1)
# Outbound fetches to forges: whole-fetch time limit and the most bytes read.
OPTOUT_OUTBOUND_TIMEOUT_SECONDS = env_int("OPTOUT_OUTBOUND_TIMEOUT_SECONDS", 15, minimum=1)
OPTOUT_OUTBOUND_MAX_BYTES = env_int("OPTOUT_OUTBOUND_MAX_BYTES", 8 * 1024 * 1024, minimum=1024)
# Only the tests turn this on: plain http to loopback forges they start themselves.
OPTOUT_OUTBOUND_ALLOW_LOOPBACK = env_bool("OPTOUT_OUTBOUND_ALLOW_LOOPBACK", False)

# --- Registry ---------------------------------------------------------------------------
# Forges beyond the four defaults: a JSON list in the environment (docs/requests.md),
# parsed into registry.forges.Forge objects; a bad value stops start-up, naming the key.
REGISTRY_EXTRA_FORGES: list = forges_from_env("REGISTRY_EXTRA_FORGES")
# Ed25519 key that signs registry checkpoints. In development it is generated into var/
# on first use; in production it must be provided (and backed up: it is the log's identity).
LOG_SIGNING_KEY_FILE = env_path("LOG_SIGNING_KEY_FILE", VAR_DIR / "log-signing.key")
if not DEBUG and not env_str("LOG_SIGNING_KEY_FILE"):
    raise ImproperlyConfigured(
        "LOG_SIGNING_KEY_FILE must be set when DEBUG is off; create a key with "
        "`python manage.py generate_signing_key PATH`."
    )
LOG_NAME = env_str("LOG_NAME", "optout.example/log")
# Seconds between signed checkpoints: 0 signs after every change; N signs at most every N
# seconds on append, and a periodic task signs what is left.
LOG_CHECKPOINT_INTERVAL = env_int("LOG_CHECKPOINT_INTERVAL", 0, minimum=0)
# Largest page of log entries or changes returned by one call.
REGISTRY_PAGE_MAX = env_int("REGISTRY_PAGE_MAX", 10_000, minimum=1)
# Public files (log tiles, range files) on any fsspec root; empty: under the dataset
# storage root (docs/mirroring.md).
REGISTRY_PUBLIC_ROOT = env_str("REGISTRY_PUBLIC_ROOT", "")

# --- Dataset releases (governance) ------------------------------------------------------
# Root under which dataset versions are written: a local path or any fsspec URL. Object
# stores take their credentials and endpoint from the usual variables of their fsspec
# backend (for S3: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL).
DATASET_STORAGE_ROOT = env_str("DATASET_STORAGE_ROOT", str(VAR_DIR / "datasets"))
RELEASE_SCHEDULE_SECONDS = env_int("RELEASE_SCHEDULE_SECONDS", 300, minimum=10)
RELEASE_RECONCILE_SECONDS = env_int("RELEASE_RECONCILE_SECONDS", 120, minimum=5)
# A building version with no progress for this long has lost its worker (a shard task
# reports every row group): the reconciler resumes it. Resuming one that still runs is
# harmless, since every step is safe to run twice.
RELEASE_STALE_SECONDS = env_int("RELEASE_STALE_SECONDS", 300, minimum=5)

# --- Celery -----------------------------------------------------------------------------
CELERY_BROKER_URL = env_redis_url("CELERY_BROKER_URL") or REDIS_URL
# Without a broker, tasks run in-process (the embedded default for `make run`).
CELERY_TASK_ALWAYS_EAGER = CELERY_BROKER_URL is None
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = env_redis_url("CELERY_RESULT_BACKEND") or CELERY_BROKER_URL
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_QUEUE", "portal")
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 60 * 60, minimum=10)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 5
# Redis re-delivers an unacknowledged task after the visibility timeout. It must exceed
# the hard time limit, or a long task still running would be handed to a second worker.
CELERY_VISIBILITY_TIMEOUT = env_int(
    "CELERY_VISIBILITY_TIMEOUT", CELERY_TASK_TIME_LIMIT + 15 * 60, minimum=1
)
if CELERY_VISIBILITY_TIMEOUT <= CELERY_TASK_TIME_LIMIT:
    raise ImproperlyConfigured(
        f"CELERY_VISIBILITY_TIMEOUT={CELERY_VISIBILITY_TIMEOUT} must be above "
        f"CELERY_TASK_TIME_LIMIT={CELERY_TASK_TIME_LIMIT}."
    )

# Every periodic job, run by exactly one `celery beat`.
CELERY_BEAT_SCHEDULE = {
    "optout-notify-sweep": {
        "task": "optout.tasks.notify_sweep",
        "schedule": float(OPTOUT_NOTIFY_SWEEP_SECONDS),
    },
    "optout-expire-unverified": {"task": "optout.tasks.expire_unverified", "schedule": 900.0},
    "optout-verification-sweep": {"task": "optout.tasks.verification_sweep", "schedule": 300.0},
    "registry-checkpoint-publish": {
        "task": "registry.tasks.checkpoint_publish",
        "schedule": float(max(LOG_CHECKPOINT_INTERVAL, 10)),
    },
    # Publishes the newest checkpoint's public files if the task queued for it was lost.
    "registry-mirror-catch-up": {"task": "registry.mirror_tasks.mirror_catch_up", "schedule": 60.0},
    "releases-scheduled": {
        "task": "governance.tasks.release_scheduled_task",
        "schedule": RELEASE_SCHEDULE_SECONDS,
    },
    "releases-reconcile": {
        "task": "governance.tasks.release_reconcile_task",
        "schedule": RELEASE_RECONCILE_SECONDS,
    },
}
