"""Settings from the environment, with safe local defaults.

Production: set DJANGO_ENV=production, SECRET_KEY, BASE_DOMAIN,
DATABASE_URL and REDIS_URL; `manage.py check --deploy` then passes.
"""

import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


PRODUCTION = env("DJANGO_ENV", "development") == "production"
# Django's debug pages (tracebacks, settings, URL patterns) only when asked
# for with DEBUG=1, never by default, in development too.
DEBUG = env_bool("DEBUG", False)
TESTING = env_bool("TESTING", False)


def _local_secret_key(path: Path) -> str:
    """This installation's own development key: random, made once, kept in `path` (mode 600)."""
    try:
        key = path.read_text().strip()
    except FileNotFoundError:
        key = ""
    if len(key) >= 50:
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_urlsafe(64) + "\n")
    try:
        os.link(tmp, path)  # atomic and never overwrites: concurrent starters agree on one key
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_text().strip()


SECRET_KEY = env("SECRET_KEY", "")
if not SECRET_KEY:
    if PRODUCTION:
        raise RuntimeError("SECRET_KEY must be set when DJANGO_ENV=production")
    # No key is published with the code: outside production an unset
    # SECRET_KEY means a random key generated once into SECRET_KEY_FILE
    # (ops/lib.sh points it at $DATA_DIR/secret_key).
    SECRET_KEY = _local_secret_key(Path(env("SECRET_KEY_FILE") or BASE_DIR / ".data" / "secret_key"))

# The root host; every organization lives at {slug}.{BASE_DOMAIN}.
BASE_DOMAIN = env("BASE_DOMAIN", "localhost").lower().rstrip(".")
# Host validation is done by the tenant middleware against the domain
# registry (only the root host and registered domains are served); Django's
# own check still rejects syntactically invalid Host headers.
ALLOWED_HOSTS = ["*"]
USE_X_FORWARDED_HOST = False

# --- Applications -----------------------------------------------------------

SHARED_APPS = [
    "django_tenants",
    "shared_apps.orgs",  # tenant and domain models: must come before auth users
    "shared_apps.accounts",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.admin",
    "django.contrib.staticfiles",
    "ninja",  # bundles Swagger UI assets: the docs work offline
    "ninja_jwt.token_blacklist",
    "django_rq",
    "cacheops",
    "platform_core",
    "provisioning",
]
TENANT_APPS = [
    "tenant_apps.audit",
    "tenant_apps.boards",
    "tenant_apps.invites",
    "tenant_apps.members",  # no models: the org/members HTTP layer on organization hosts
    "tenant_apps.tokens",
]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "orgs.Organization"
TENANT_DOMAIN_MODEL = "orgs.Domain"
PUBLIC_SCHEMA_NAME = "public"
ROOT_URLCONF = "platform_core.urls_tenant"
PUBLIC_SCHEMA_URLCONF = "platform_core.urls_public"
AUTH_USER_MODEL = "accounts.User"

MIDDLEWARE = [
    "platform_core.middleware.RequestContextMiddleware",
    # Static assets (the offline API docs) on any host, before tenant selection.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "platform_core.middleware.BodySizeLimitMiddleware",
    "platform_core.middleware.TenantMiddleware",
    "platform_core.throttle.RateLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "platform_core.middleware.ErrorEnvelopeMiddleware",
]
# Organization hosts serve only the bearer-token JSON API: no sessions, CSRF,
# Django auth, messages or frame options (platform_core.handlers picks the
# stack by host; the root host, with the admin, keeps MIDDLEWARE).
ORG_HOST_MIDDLEWARE = [
    "platform_core.middleware.RequestContextMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "platform_core.middleware.BodySizeLimitMiddleware",
    "platform_core.middleware.TenantMiddleware",
    "platform_core.throttle.RateLimitMiddleware",
    "platform_core.idempotency.IdempotencyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "platform_core.middleware.ErrorEnvelopeMiddleware",
]

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
            ]
        },
    }
]

ASGI_APPLICATION = "platform_core.asgi.application"
WSGI_APPLICATION = "platform_core.wsgi.application"

# --- Database ---------------------------------------------------------------


def _database(url: str) -> dict[str, Any]:
    parsed = urlparse(url)
    if parsed.scheme not in {"postgres", "postgresql"}:
        raise RuntimeError("DATABASE_URL must be a postgres:// URL")
    db: dict[str, Any] = {
        "ENGINE": "platform_core.db_backend",  # django-tenants' backend, cheaper pool check
        "NAME": unquote(parsed.path.lstrip("/")),
        "USER": unquote(parsed.username or ""),
        "PASSWORD": unquote(parsed.password or ""),
        "HOST": parsed.hostname or "127.0.0.1",
        "PORT": str(parsed.port or 5432),
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": {"connect_timeout": 5},
        "TEST": {"NAME": "test_" + unquote(parsed.path.lstrip("/"))},
    }
    if env_bool("DB_POOL", not TESTING):
        # Under ASGI every request runs in a new thread: without a pool each
        # request opens a connection. max_lifetime bounds a backend's catalog
        # cache across thousands of tenant schemas (docs/OPERATIONS.md).
        # The pool checks a connection on checkout only when its socket says
        # something happened (platform_core.db_backend), not with a query each time.
        db["CONN_HEALTH_CHECKS"] = False
        db["OPTIONS"]["pool"] = {
            "min_size": env_int("DB_POOL_MIN", 2),
            "max_size": env_int("DB_POOL_MAX", 20),
            "max_lifetime": env_int("DB_POOL_MAX_LIFETIME", 600),
            "timeout": env_int("DB_POOL_TIMEOUT", 5),  # waiting for a connection
        }
    else:
        db["CONN_MAX_AGE"] = env_int("CONN_MAX_AGE", 0)
    return db


DATABASES = {
    "default": _database(env("DATABASE_URL", "postgres://taskhub:taskhub@127.0.0.1:25432/taskhub"))
}
DATABASE_ROUTERS = ("django_tenants.routers.TenantSyncRouter",)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache, queues, cacheops, live events --------------------------------

REDIS_URL = env("REDIS_URL", "redis://127.0.0.1:25379/0")


def _next_db(url: str) -> str:
    base, _, db = url.rpartition("/")
    return f"{base}/{int(db or 0) + 1}" if db.isdigit() else url.rstrip("/") + "/1"


# Caches live in their own Redis database (queues stay in REDIS_URL's), so the
# whole cache can be flushed after an outage without touching queued jobs.
CACHE_REDIS_URL = env("CACHE_REDIS_URL", _next_db(REDIS_URL))
REDIS_SOCKET_TIMEOUT = float(env("REDIS_SOCKET_TIMEOUT", "0.5"))

CACHES = {
    "default": {
        "BACKEND": "platform_core.cache_backend.RedisCache",
        "LOCATION": CACHE_REDIS_URL,
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "KEY_PREFIX": "th",
        "TIMEOUT": 300,
        "OPTIONS": {
            "socket_connect_timeout": REDIS_SOCKET_TIMEOUT,
            "socket_timeout": REDIS_SOCKET_TIMEOUT,
        },
    },
    # Global keys (hosts, memberships, users) that name their organization
    # explicitly: no schema in the key, fixed prefix.
    "platform": {
        "BACKEND": "platform_core.cache_backend.RedisCache",
        "LOCATION": CACHE_REDIS_URL,
        "KEY_PREFIX": "thp",
        "TIMEOUT": 300,
        "OPTIONS": {
            "socket_connect_timeout": REDIS_SOCKET_TIMEOUT,
            "socket_timeout": REDIS_SOCKET_TIMEOUT,
        },
    },
}

def _with_timeouts(url: str, socket_timeout: float) -> str:
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}socket_connect_timeout={REDIS_SOCKET_TIMEOUT}&socket_timeout={socket_timeout}"


# Timeouts ride in the URL: django-rq ignores CONNECTION_KWARGS for URL-configured
# queues, and a Redis that stops answering must not hang a request that enqueues.
RQ_QUEUES = {
    name: {"URL": _with_timeouts(REDIS_URL, 2), "DEFAULT_TIMEOUT": 300}
    for name in ("default", "emails")
}
RQ = {"JOB_CLASS": "platform_core.jobs.TenantJob", "QUEUE_CLASS": "platform_core.jobs.TenantQueue"}

CACHEOPS_REDIS = _with_timeouts(CACHE_REDIS_URL, REDIS_SOCKET_TIMEOUT)
CACHEOPS_PREFIX = "platform_core.cache.cacheops_prefix"
CACHEOPS_DEGRADE_ON_FAILURE = True
CACHEOPS_DEFAULTS = {"timeout": 60 * 15}
CACHEOPS = {
    # Tenant tables only; public tables (users, organizations, memberships)
    # are cached explicitly in platform_core.cache with precise invalidation.
    # Boards (GET /boards) and comments (their pages) are read through it.
    # Lists and tasks are not: their hot reads (board detail, GET /tasks) are
    # rendered-response caches behind versions, the other reads are one
    # indexed query, and caching them would only make every task write pay an
    # invalidation (about 1 ms of its CPU).
    "boards.board": {"ops": "all"},
    "boards.comment": {"ops": "all"},
}
CACHEOPS_ENABLED = env_bool("CACHEOPS_ENABLED", True)
# Pre-rendered responses (the board detail): platform_core.cache.VersionedCache.
RESPONSE_CACHE_ENABLED = env_bool("RESPONSE_CACHE_ENABLED", True)
# Request-path entries (hosts, users, sessions, roles) kept in each process's
# memory, invalidated through Redis pub/sub (platform_core.near_cache).
NEAR_CACHE_ENABLED = env_bool("NEAR_CACHE_ENABLED", True)
NEAR_CACHE_TTL = float(env("NEAR_CACHE_TTL", "60"))
NEAR_CACHE_MAX_ENTRIES = env_int("NEAR_CACHE_MAX_ENTRIES", 20_000)

# --- Auth -----------------------------------------------------------------------

AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
PASSWORD_HASHERS = [
    "platform_core.hashers.BoundedArgon2PasswordHasher",  # Argon2id, see platform_core/hashers.py
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
# Argon2id parameters: OWASP's minimum (m=19 MiB, t=2, p=1); about 19 MiB per hash in flight.
ARGON2_TIME_COST = env_int("ARGON2_TIME_COST", 2)
ARGON2_MEMORY_KIB = env_int("ARGON2_MEMORY_KIB", 19456)
ARGON2_PARALLELISM = env_int("ARGON2_PARALLELISM", 1)
# Hashes computed at once per process, at which CPU niceness, and how long a request
# waits for its hash to start (then 503 service_unavailable).
PASSWORD_HASH_CONCURRENCY = env_int("PASSWORD_HASH_CONCURRENCY", 1)
PASSWORD_HASH_NICE = env_int("PASSWORD_HASH_NICE", 10)
PASSWORD_HASH_WAIT_SECONDS = float(env("PASSWORD_HASH_WAIT_SECONDS", "10"))
# Request threads per process let into hashing (hashing or waiting for a slot); the
# next caller gets 503 at once. Kept under the API server's threads per process
# (ops/run API_THREADS, 4) so a flood of sign-ins or logins never holds every thread
# and other requests still find one. 0: no bound.
PASSWORD_HASH_CALLERS = env_int("PASSWORD_HASH_CALLERS", 2)
if TESTING:
    # Hashing dominates sign-up/login cost; tests still use a real hasher.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # In-process tests have no server threads to protect (tests set it to test it).
    PASSWORD_HASH_CALLERS = env_int("PASSWORD_HASH_CALLERS", 0)
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

NINJA_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(seconds=env_int("ACCESS_TOKEN_SECONDS", 300)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env_int("REFRESH_TOKEN_DAYS", 14)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "ALGORITHM": "HS256",
    "SIGNING_KEY": env("JWT_SIGNING_KEY", SECRET_KEY),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
}

# Login throttling (POST /auth/token and the admin login; shared_apps/accounts/services.py):
# per client IP, every attempt; per (email, client IP), failed attempts only, so a
# client over its own limit never locks the account for anyone else; globally,
# attempts that reach the password hash, per minute.
LOGIN_RATE_PER_EMAIL = env_int("LOGIN_RATE_PER_EMAIL", 10)
LOGIN_RATE_PER_IP = env_int("LOGIN_RATE_PER_IP", 50)
LOGIN_RATE_WINDOW = env_int("LOGIN_RATE_WINDOW", 300)
LOGIN_RATE_GLOBAL = env_int("LOGIN_RATE_GLOBAL", 1200)
# Sign-up throttling: per client IP (every attempt) and for the whole platform.
SIGNUP_RATE_PER_IP = env_int("SIGNUP_RATE_PER_IP", 10)
SIGNUP_RATE_WINDOW = env_int("SIGNUP_RATE_WINDOW", 3600)
SIGNUP_RATE_GLOBAL = env_int("SIGNUP_RATE_GLOBAL", 120)
SIGNUP_RATE_GLOBAL_WINDOW = env_int("SIGNUP_RATE_GLOBAL_WINDOW", 60)
# API rate limits (platform_core.throttle.RateLimitMiddleware): calls per
# API_RATE_WINDOW seconds per caller (user or API token) per organization, and
# per client address on the root host; 0 turns one off. Every API response
# carries RateLimit-Limit/-Remaining/-Reset; over the limit: 429 + Retry-After.
API_RATE_LIMIT = env_int("API_RATE_LIMIT", 1200)
API_ROOT_RATE_LIMIT = env_int("API_ROOT_RATE_LIMIT", 600)
API_RATE_WINDOW = env_int("API_RATE_WINDOW", 60)
# Behind a reverse proxy: the header carrying the client's address (X-Forwarded-For,
# X-Real-IP), believed only from TRUSTED_PROXIES (addresses or networks, comma-separated).
# Empty (the default): the TCP peer's address, whatever the headers say.
TRUSTED_PROXY_HEADER = env("TRUSTED_PROXY_HEADER", "")
TRUSTED_PROXIES = [p for p in env("TRUSTED_PROXIES", "127.0.0.1/32,::1/128").split(",") if p.strip()]

# --- HTTP -------------------------------------------------------------------------

MAX_REQUEST_BYTES = env_int("MAX_REQUEST_BYTES", 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BYTES
# Bodies are capped while they stream in (platform_core.body_limit); what gets
# through stays in memory: Django never spools a request body to a file.
FILE_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BYTES
# Pagination (?limit= 1..200, default 50) is platform_core.pagination.PageQuery.

SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]

# --- Email (Django's own names) ---------------------------------------------------

EMAIL_BACKEND = env(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if env("EMAIL_HOST")
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
EMAIL_FILE_PATH = env("EMAIL_FILE_PATH", str(BASE_DIR / ".data" / "mail"))
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "TaskHub <no-reply@" + BASE_DOMAIN + ">")

# Links in emails: scheme and port of the public URL (the host comes from the
# organization's stored domain, never from a request).
PUBLIC_URL_SCHEME = env("PUBLIC_URL_SCHEME", "https" if PRODUCTION else "http")
PUBLIC_URL_PORT = env("PUBLIC_URL_PORT", "" if PRODUCTION else env("PORT", "8000"))

INVITE_TTL_DAYS = env_int("INVITE_TTL_DAYS", 7)
# The link in invite emails: a page of the front end that takes the token and,
# with the person signed in (or after sign-up), calls POST /api/v1/invites/accept
# {"token"} on the organization's host (docs/API.md, "Invite links").
# Placeholders: {org_url} (scheme://host[:port] of the organization's host),
# {slug} and {token} (URL-safe; required).
INVITE_URL_TEMPLATE = env("INVITE_URL_TEMPLATE", "{org_url}/invites/accept?token={token}")
try:
    _invite_url_probe = INVITE_URL_TEMPLATE.format(org_url="", slug="", token="@@token@@")
except (KeyError, IndexError, ValueError) as exc:
    raise ImproperlyConfigured(
        f"INVITE_URL_TEMPLATE: use only {{org_url}}, {{slug}} and {{token}} ({exc!r})"
    ) from None
if "@@token@@" not in _invite_url_probe:
    raise ImproperlyConfigured("INVITE_URL_TEMPLATE must contain {token}")
ORG_DELETE_RETENTION_DAYS = env_int("ORG_DELETE_RETENTION_DAYS", 30)
SPARE_SCHEMA_POOL_SIZE = env_int("SPARE_SCHEMA_POOL_SIZE", 5)

# --- Board limits (hardening) ------------------------------------------------------

# GET /boards/{id} includes at most this many tasks per list (the first ones,
# in order); each list says `task_count` and, when truncated, gives
# `tasks_next_cursor` for GET /tasks?list_id=...&cursor=... to read the rest.
BOARD_DETAIL_TASKS_PER_LIST = env_int("BOARD_DETAIL_TASKS_PER_LIST", 100)
# Creating a list on a board that has this many: 403 quota_exceeded.
MAX_LISTS_PER_BOARD = env_int("MAX_LISTS_PER_BOARD", 100)
# Creating a task in (or moving one into) a list that has this many: 403 quota_exceeded.
MAX_TASKS_PER_LIST = env_int("MAX_TASKS_PER_LIST", 5000)

# --- Static files, i18n -------------------------------------------------------------

STATIC_URL = "/static/"
STATIC_ROOT = env("STATIC_ROOT") or None  # optional: assets are served from the apps
# Serve the apps' static files (Swagger UI bundled with ninja) without a
# collectstatic step, under any ASGI server.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = False
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

# --- Logging: one JSON line per record, with request id and tenant schema -------------

LOG_LEVEL = env("LOG_LEVEL", "INFO")
# One line per request (5xx are always logged); ops/run turns it on.
ACCESS_LOG = env_bool("ACCESS_LOG", DEBUG)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "platform_core.logging.RequestContextFilter"}},
    "formatters": {"json": {"()": "platform_core.logging.JsonFormatter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["context"], "formatter": "json"}
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.request": {"level": "ERROR"},
        "django.server": {"level": "WARNING"},
    },
}

# Issue `SET search_path` once per connection and schema change, not per cursor
# (close() and rollback() reset it, so pooled connections stay correct).
TENANT_LIMIT_SET_CALLS = True
LIVE_HEARTBEAT_SECONDS = env_int("LIVE_HEARTBEAT_SECONDS", 15)
# A live stream re-checks its caller's access at least this often (and at once
# on a revocation message); streams per user and organization are capped.
LIVE_RECHECK_SECONDS = float(env("LIVE_RECHECK_SECONDS", "1"))
LIVE_MAX_STREAMS_PER_USER = env_int("LIVE_MAX_STREAMS_PER_USER", 20)
LIVE_STREAM_STALE_SECONDS = env_int("LIVE_STREAM_STALE_SECONDS", 30)

# --- Quotas (hardening) -------------------------------------------------------------
# Organizations: a user may own or have created at most MAX_ORGS_PER_USER live
# (not deleted) organizations (403 quota_exceeded), and create at most
# ORG_CREATE_RATE per ORG_CREATE_RATE_WINDOW seconds (429 + Retry-After).
MAX_ORGS_PER_USER = env_int("MAX_ORGS_PER_USER", 10)
ORG_CREATE_RATE = env_int("ORG_CREATE_RATE", 5)
ORG_CREATE_RATE_WINDOW = env_int("ORG_CREATE_RATE_WINDOW", 3600)
# Invites: per organization, at most INVITE_RATE_PER_ORG per INVITE_RATE_WINDOW
# seconds (Redis counter; not enforced while Redis is down). Per address and
# organization (counted in PostgreSQL, so it holds without Redis): at most
# INVITE_EMAILS_PER_ADDRESS invites (each one email) per INVITE_EMAILS_WINDOW
# seconds, and none within INVITE_RESEND_COOLDOWN seconds of the previous one.
INVITE_RATE_PER_ORG = env_int("INVITE_RATE_PER_ORG", 50)
INVITE_RATE_WINDOW = env_int("INVITE_RATE_WINDOW", 3600)
INVITE_EMAILS_PER_ADDRESS = env_int("INVITE_EMAILS_PER_ADDRESS", 3)
INVITE_EMAILS_WINDOW = env_int("INVITE_EMAILS_WINDOW", 86400)
INVITE_RESEND_COOLDOWN = env_int("INVITE_RESEND_COOLDOWN", 60)
