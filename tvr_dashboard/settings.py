"""Settings for TVR Dashboard: one file, every value read from the environment.

Each variable, its default and what it does is listed in the README and `.env.example`.
The helpers below fail loudly on a value they cannot read instead of guessing.
"""

from __future__ import annotations

import importlib.util
import os
from datetime import time
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def envbool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def envint(name: str, default: int, *, minimum: int = 0) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}") from None
    if number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {number}")
    return number


def envfloat(
    name: str, default: float, *, minimum: float = 0.0, maximum: float | None = None
) -> float:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {value!r}") from None
    if number < minimum or (maximum is not None and number > maximum):
        raise ImproperlyConfigured(f"{name} must be between {minimum} and {maximum}, not {number}")
    return number


def envhours(name: str, default: str) -> tuple[time, time]:
    """ "09:00-17:00": the opening and closing times of a business day."""
    raw = env(name, default)
    try:
        start, end = (time.fromisoformat(part.strip()) for part in raw.split("-"))
    except ValueError:
        raise ImproperlyConfigured(f"{name} must look like 09:00-17:00, not {raw!r}.") from None
    if start >= end:
        raise ImproperlyConfigured(f"{name} must open before it closes, not {raw!r}.")
    return start, end


def envdays(name: str, default: str) -> frozenset[int]:
    """ "1-5" or "1,2,3": ISO weekdays (Monday is 1)."""
    raw = env(name, default)
    days: set[int] = set()
    try:
        for part in raw.split(","):
            low, _, high = part.strip().partition("-")
            days.update(range(int(low), int(high or low) + 1))
    except ValueError:
        raise ImproperlyConfigured(f"{name} must look like 1-5 or 1,2,3, not {raw!r}.") from None
    if not days or not days <= set(range(1, 8)):
        raise ImproperlyConfigured(f"{name} names days 1 (Monday) to 7 (Sunday), not {raw!r}.")
    return frozenset(days)


def envlist(name: str, default: str) -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


DEBUG = envbool("DJANGO_DEBUG", False)
# The fallback key is only for development; `manage.py check --deploy` flags it (W009).
SECRET_KEY = env("DJANGO_SECRET_KEY", "django-insecure-development-only-key-do-not-deploy")
ALLOWED_HOSTS = envlist("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = envlist("DJANGO_CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    # Before django_tasks_db: our db_worker (its worker plus our sweep) replaces its command.
    "requests_app",
    "requests_app.sandbox",
    "django_tasks_db",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "requests_app.middleware.RefuseNulMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "requests_app.middleware.AccountInPathMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "requests_app.middleware.ViewerTimezoneMiddleware",
]

ROOT_URLCONF = "tvr_dashboard.urls"
WSGI_APPLICATION = "tvr_dashboard.wsgi.application"

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
                "django.template.context_processors.csp",
                "requests_app.context_processors.navigation",
            ],
            "builtins": ["django.templatetags.static", "requests_app.templatetags.tvr"],
        },
    },
]

# DATABASE_URL selects the database; unset means SQLite in the project folder.
DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=envint("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server and the task worker share the file: WAL lets readers run beside a writer,
    # IMMEDIATE takes the write lock up front so two writers queue instead of failing.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
# REDIS_URL gives every web process and worker one shared cache (pip install ".[redis]");
# without it each process keeps its own. Counts are cached under a version read from the
# database, so either is correct. Sessions are read from the cache only when it is shared: a
# per-process cache would keep a signed-out session alive in the other processes.
REDIS_URL = env("REDIS_URL")
if REDIS_URL and importlib.util.find_spec("redis") is None:
    # Otherwise `check` passes and the first page that touches the cache fails.
    raise ImproperlyConfigured(
        "REDIS_URL is set but the redis package is not installed: run "
        "`.venv/bin/pip install -e '.[redis]'`, or unset REDIS_URL to use a per-process cache."
    )
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    SESSION_ENGINE = "django.contrib.sessions.backends.db"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "requests:list"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
# Stored times are UTC; pages show them in TVR_TIME_ZONE unless the browser says otherwise.
TIME_ZONE = env("TVR_TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True

# Absolute: a relative one gets the script prefix of the first request that reads it, and the
# account in an address is carried in the script prefix (AccountInPathMiddleware).
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# Without collectstatic (development, tests) fall back to the unhashed names.
WHITENOISE_MANIFEST_STRICT = False

# Security headers. Production runs behind TLS; development and tests over plain HTTP.
SECURE_HSTS_SECONDS = envint("DJANGO_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
SECURE_SSL_REDIRECT = envbool("DJANGO_SSL_REDIRECT", False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = envbool("DJANGO_SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    # Deal product images are hosted by the advertiser.
    "img-src": [CSP.SELF, "https:", "data:"],
    "connect-src": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "object-src": [CSP.NONE],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("TVR_LOG_LEVEL", "INFO")},
    # urllib3 logs each request line at DEBUG: for a Slack webhook the path is the secret.
    "loggers": {"django.db.backends": {"level": "WARNING"}, "urllib3": {"level": "WARNING"}},
}

# Background work: Django's tasks framework with the database-backed worker (db_worker).
TASKS = {
    "default": {
        "BACKEND": env("TVR_TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}

# impact.com. With no SID and token set, the built-in sandbox answers in-process.
IMPACT_API_BASE_URL = env("IMPACT_API_BASE_URL", "https://api.impact.com").rstrip("/")
IMPACT_ACCOUNT_SID = env("IMPACT_ACCOUNT_SID")
IMPACT_AUTH_TOKEN = env("IMPACT_AUTH_TOKEN")
if bool(IMPACT_ACCOUNT_SID) != bool(IMPACT_AUTH_TOKEN):
    raise ImproperlyConfigured("Set both IMPACT_ACCOUNT_SID and IMPACT_AUTH_TOKEN, or neither.")
IMPACT_CONNECT_TIMEOUT = envfloat("IMPACT_CONNECT_TIMEOUT", 5.0, minimum=0.1)
IMPACT_READ_TIMEOUT = envfloat("IMPACT_READ_TIMEOUT", 30.0, minimum=0.1)
# A person is waiting on approve and reject: give up sooner and say so.
IMPACT_INTERACTIVE_TIMEOUT = envfloat("IMPACT_INTERACTIVE_TIMEOUT", 10.0, minimum=0.1)
IMPACT_READ_RETRIES = envint("IMPACT_READ_RETRIES", 3)
IMPACT_MAX_RETRY_WAIT = envfloat("IMPACT_MAX_RETRY_WAIT", 60.0)
IMPACT_PAGE_SIZE = envint("IMPACT_PAGE_SIZE", 1000, minimum=1)
# Sent as the IR-Version header on every call: the Brand API version whose shapes impact.py
# parses (14, released 2026-06-01), whatever version the account's API settings default to.
IMPACT_API_VERSION = env("IMPACT_API_VERSION", "14")

IMPACT_SANDBOX_ACCOUNT_SID = env("IMPACT_SANDBOX_ACCOUNT_SID", "IRSandbox0000000000000000000001")
IMPACT_SANDBOX_AUTH_TOKEN = env("IMPACT_SANDBOX_AUTH_TOKEN", "sandbox-token")
IMPACT_SANDBOX_LATENCY_MS = envint("IMPACT_SANDBOX_LATENCY_MS", 0)
IMPACT_SANDBOX_FAIL_RATE = envfloat("IMPACT_SANDBOX_FAIL_RATE", 0.0, maximum=1.0)
IMPACT_SANDBOX_RATE_LIMIT_RATE = envfloat("IMPACT_SANDBOX_RATE_LIMIT_RATE", 0.0, maximum=1.0)
IMPACT_SANDBOX_RETRY_AFTER = envint("IMPACT_SANDBOX_RETRY_AFTER", 2)
IMPACT_SANDBOX_HOURLY_LIMIT = envint("IMPACT_SANDBOX_HOURLY_LIMIT", 1000, minimum=1)
IMPACT_SANDBOX_MAX_PAGE_SIZE = envint("IMPACT_SANDBOX_MAX_PAGE_SIZE", 20000, minimum=1)

# Sync: opening a list whose open requests are older than this refreshes them in the
# background; a full sync is due every TVR_FULL_SYNC_MINUTES.
TVR_SYNC_STALE_MINUTES = envint("TVR_SYNC_STALE_MINUTES", 10)
TVR_FULL_SYNC_MINUTES = envint("TVR_FULL_SYNC_MINUTES", 60)
# A running sync renews its lease every TVR_SYNC_HEARTBEAT_SECONDS; one silent for
# TVR_SYNC_LEASE_SECONDS (its worker died) is taken over.
TVR_SYNC_HEARTBEAT_SECONDS = envfloat("TVR_SYNC_HEARTBEAT_SECONDS", 10.0)
TVR_SYNC_LEASE_SECONDS = envint("TVR_SYNC_LEASE_SECONDS", 45, minimum=2)
TVR_SYNC_MAX_PAUSE_SECONDS = envfloat("TVR_SYNC_MAX_PAUSE_SECONDS", 30.0)
# Below this share of the hourly API budget, the sync pauses between pages.
TVR_SYNC_BUDGET_FLOOR = envfloat("TVR_SYNC_BUDGET_FLOOR", 0.2, maximum=1.0)
# Open requests needed within this many days are marked "due soon".
TVR_DUE_SOON_DAYS = envint("TVR_DUE_SOON_DAYS", 2)
# The account's unique URLs, phone numbers and promo codes change rarely: read them this often.
TVR_TRACKING_VALUES_HOURS = envint("TVR_TRACKING_VALUES_HOURS", 24, minimum=1)
# Sign-in throttling (requests_app/signin.py): after MAX_FAILURES failures of one username
# from one address, or MAX_FAILURES_PER_IP from one address, each further try waits a delay
# that doubles from DELAY_SECONDS up to MAX_DELAY_SECONDS. Failures are remembered for
# WINDOW_MINUTES after the last one, and counted one row per username, address and window.
TVR_SIGNIN_WINDOW_MINUTES = envint("TVR_SIGNIN_WINDOW_MINUTES", 60, minimum=1)
TVR_SIGNIN_MAX_FAILURES = envint("TVR_SIGNIN_MAX_FAILURES", 5, minimum=1)
TVR_SIGNIN_MAX_FAILURES_PER_IP = envint("TVR_SIGNIN_MAX_FAILURES_PER_IP", 30, minimum=1)
TVR_SIGNIN_DELAY_SECONDS = envint("TVR_SIGNIN_DELAY_SECONDS", 15, minimum=1)
TVR_SIGNIN_MAX_DELAY_SECONDS = envint("TVR_SIGNIN_MAX_DELAY_SECONDS", 900, minimum=1)
# Behind this many proxies that append to X-Forwarded-For (the README's deploy: 1), the
# client's address is the one the outermost proxy saw; with 0, REMOTE_ADDR.
TVR_TRUSTED_PROXIES = envint("TVR_TRUSTED_PROXIES", 0)
# impact.com cannot un-approve: decisions wait this long (with an Undo button) before sending.
TVR_DECISION_DELAY_SECONDS = envint("TVR_DECISION_DELAY_SECONDS", 10)
# A decision being sent is the sender's for IMPACT_INTERACTIVE_TIMEOUT plus this margin; past
# that (the sender died) the worker's sweep takes it over and asks impact.com what happened.
TVR_DECISION_LEASE_MARGIN_SECONDS = envint("TVR_DECISION_LEASE_MARGIN_SECONDS", 15)
# How long a call impact.com queued (QueuedUri) may stay unapplied before it counts as failed.
TVR_QUEUED_PATIENCE_HOURS = envint("TVR_QUEUED_PATIENCE_HOURS", 24, minimum=1)
# How often the task worker sweeps: lapsed leases taken over, unconfirmed decisions re-read.
TVR_SWEEP_SECONDS = envfloat("TVR_SWEEP_SECONDS", 10.0, minimum=0.1)
# Each sweep also starts every account's sync that is due; false leaves syncing to a cron line
# (`sync_requests --all`) and to the lists' own refreshes.
TVR_SCHEDULED_SYNCS = envbool("TVR_SCHEDULED_SYNCS", True)
# Rules (rules.py) stop deciding for the hour once less than this share of impact.com's hourly
# budget is left (the rest is kept for people), and stop for good, until an admin resumes
# them, after this many impact.com refusals of their decisions in a row.
TVR_RULES_BUDGET_FLOOR = envfloat("TVR_RULES_BUDGET_FLOOR", 0.3, maximum=1.0)
TVR_RULES_REFUSAL_STREAK = envint("TVR_RULES_REFUSAL_STREAK", 3, minimum=1)
# Service-level targets (sla.py) count business hours: TVR_BUSINESS_HOURS ("09:00-17:00") on
# TVR_BUSINESS_DAYS (ISO weekdays, "1-5" is Monday to Friday), in TVR_TIME_ZONE. A request is
# "about to breach" within TVR_SLA_WARN_HOURS of its deadline.
TVR_BUSINESS_HOURS = envhours("TVR_BUSINESS_HOURS", "09:00-17:00")
TVR_BUSINESS_DAYS = envdays("TVR_BUSINESS_DAYS", "1-5")
TVR_SLA_WARN_HOURS = envint("TVR_SLA_WARN_HOURS", 4, minimum=1)
# The hosts a team's Slack webhook may point at (plain http only to this machine, for tests).
TVR_SLACK_HOSTS = envlist("TVR_SLACK_HOSTS", "hooks.slack.com")
# The sweep collects and sends notifications at most this often (across workers).
TVR_NOTIFY_EVERY_SECONDS = envint("TVR_NOTIFY_EVERY_SECONDS", 60, minimum=1)
# Links in notifications expire after this many days (signing in is still required).
TVR_NOTIFY_LINK_DAYS = envint("TVR_NOTIFY_LINK_DAYS", 7, minimum=1)
# The address people open the dashboard at, for links in emails.
TVR_SITE_URL = env("TVR_SITE_URL", "http://127.0.0.1:8000")

# Email (admins are told when their rules pause): Django's mailers. The default prints each
# message to the server's output; a deployment points TVR_EMAIL_BACKEND at SMTP and its server.
EMAIL_BACKEND_PATH = env("TVR_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
MAILERS = {
    "default": {
        "BACKEND": EMAIL_BACKEND_PATH,
        "OPTIONS": {
            "host": env("TVR_EMAIL_HOST", "localhost"),
            "port": envint("TVR_EMAIL_PORT", 25),
            "username": env("TVR_EMAIL_USER"),
            "password": env("TVR_EMAIL_PASSWORD"),
            "use_tls": envbool("TVR_EMAIL_TLS", False),
            "timeout": 10,
        }
        if EMAIL_BACKEND_PATH.endswith("smtp.EmailBackend")
        else {},
    }
}
DEFAULT_FROM_EMAIL = env("TVR_EMAIL_FROM", "TVR Dashboard <tvr@localhost>")
