"""Paperboy settings: the one place that reads the environment.

With nothing set, Paperboy runs on embedded defaults (a laptop with nothing installed):
SQLite under var/, mail written as .eml files to var/outbox/, a Celery broker on the local
filesystem under var/broker/ served by a real worker process, and a file-based cache.
Project-wide settings are here; each app's own knobs (PAPERS_*, SUBSCRIPTIONS_*, NEWSLETTER_*) are
defined, with their defaults and reasons, in the app's conf.py and read from the environment below.
Every variable is documented in docs/configuration.md. Importing this module writes nothing: the
folders the embedded defaults need are made when Django starts (config.apps).
"""

import os
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

import newsletter.conf
import papers.conf
import subscriptions.conf

from .environment import app_settings_from_env

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A local .env file is read when present (never committed); real environment variables win.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# Everything the embedded defaults write (database, outbox, broker, cache) lives here.
VAR_DIR = Path(env("PAPERBOY_VAR_DIR", default=str(BASE_DIR / "var")))

# --- Core -------------------------------------------------------------------------------------

SECRET_KEY = env("SECRET_KEY", default="")
# No SECRET_KEY means a laptop on embedded defaults, so DEBUG is on unless said otherwise;
# production sets SECRET_KEY, which turns DEBUG off by default.
DEBUG = env.bool("DEBUG", default=not SECRET_KEY)
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "dev-only-insecure-key-never-use-in-production-0123456789abcdef"  # noqa: S105

# Absolute base of every link in an email (no trailing slash). `make run PORT=N` passes N as
# PAPERBOY_RUN_PORT so that links point at the server it starts; SITE_URL, set in the environment or
# .env, wins.
_RUN_PORT = env.int("PAPERBOY_RUN_PORT", default=8000)
SITE_URL = env("SITE_URL", default=f"http://127.0.0.1:{_RUN_PORT}").rstrip("/")
SITE_NAME = env("SITE_NAME", default="Paperboy")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "config.apps.PaperboyAdminConfig",  # django.contrib.admin with the Paperboy site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.syndication",
    "anymail",
    "axes",  # admin login: failed attempts counted per account and per address, then locked out
    "django_otp",  # optional TOTP second factor for staff (config.admin)
    "django_otp.plugins.otp_totp",
    "config.apps.ProjectConfig",
    "papers",
    "subscriptions",
    "newsletter",
    "benchmarks",  # only so that bench_digests and bench_ingest register; no app imports it
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Above every middleware that validates the Host header: healthchecks ask by address.
    "config.health.HealthzMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",  # request.user.is_verified() for the admin's second factor
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last: answers a locked-out login with the lock-out page
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
                "config.context_processors.site",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------------

_SQLITE_PATH = VAR_DIR / "paperboy.sqlite3"
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{_SQLITE_PATH}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # web, worker and beat share one SQLite file: WAL lets readers and one writer overlap,
    # IMMEDIATE transactions take the write lock up front instead of failing mid-transaction.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
    # A file, not :memory:, so that worker subprocesses in tests open the same test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-paperboy.sqlite3")}
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (rate limits, locks) ---------------------------------------------------------------

REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env("CACHE_KEY_PREFIX", default="paperboy"),
        }
    }
else:
    # Shared between web, worker and beat processes, unlike the per-process LocMemCache; add and incr
    # take a file lock, so they stay atomic as on Redis (config/filecache.py).
    CACHES = {
        "default": {
            "BACKEND": "config.filecache.LockedFileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

# --- Auth, i18n, static -----------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Admin login, locked against guessing (docs/security.md; lifting a lock-out: docs/operations.md).
# axes counts failed logins per account and, separately, per address: either reaching the limit locks
# that account or address out until the cool-off passes or an operator resets it. Its backend comes
# first, so that a locked-out account is refused even with the right password.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("ADMIN_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("ADMIN_LOGIN_LOCKOUT_MINUTES", default=30))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True  # a right password (before any lock-out) clears that account's count
AXES_CLIENT_IP_CALLABLE = "subscriptions.ratelimit.client_ip"  # the same trusted-proxy rule as signups
AXES_LOCKOUT_TEMPLATE = "admin/locked_out.html"
AXES_VERBOSE = False
# Staff who add a TOTP device must give its code at login; with this on, every staff member must.
ADMIN_REQUIRE_OTP = env.bool("ADMIN_REQUIRE_OTP", default=False)
OTP_TOTP_ISSUER = SITE_NAME

LANGUAGE_CODE = "en-us"
TIME_ZONE = env("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
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
# Serve straight from the app folders when collectstatic has not run (embedded defaults).
WHITENOISE_USE_FINDERS = env.bool("WHITENOISE_USE_FINDERS", default=not STATIC_ROOT.exists())
WHITENOISE_MANIFEST_STRICT = False
# Files browsers ask for at the site's root whatever the page says (/favicon.ico).
WHITENOISE_ROOT = BASE_DIR / "public"

# --- Security ---------------------------------------------------------------------------------

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
_HTTPS = SITE_URL.startswith("https://")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=_HTTPS and not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=_HTTPS)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=_HTTPS)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if _HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=_HTTPS)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=_HTTPS)
if env.bool("BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# /healthz answers the load balancer and the container's healthcheck over plain HTTP inside the network
# (config.health.HealthzMiddleware relies on it: the redirect would read the Host header).
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# --- Email ------------------------------------------------------------------------------------

DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Paperboy <digest@paperboy.localhost>")
SERVER_EMAIL = env("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)
# Sender identity and postal address shown in every email's footer (anti-spam laws ask for it).
PAPERBOY_SENDER_NAME = env("PAPERBOY_SENDER_NAME", default="Paperboy")
PAPERBOY_POSTAL_ADDRESS = env("PAPERBOY_POSTAL_ADDRESS", default="Paperboy, 1 Example Street, Springfield")

OUTBOX_DIR = Path(env("OUTBOX_DIR", default=str(VAR_DIR / "outbox")))
_ESP_BACKENDS = {
    "postmark": "mailing.backends.postmark.EmailBackend",  # adds /email/batch
    "mailgun": "anymail.backends.mailgun.EmailBackend",
    "sendgrid": "anymail.backends.sendgrid.EmailBackend",
    "amazon_ses": "anymail.backends.amazon_ses.EmailBackend",
    "brevo": "anymail.backends.brevo.EmailBackend",
    "mailjet": "anymail.backends.mailjet.EmailBackend",
    "mandrill": "anymail.backends.mandrill.EmailBackend",
    "postal": "anymail.backends.postal.EmailBackend",
    "resend": "anymail.backends.resend.EmailBackend",
    "sparkpost": "anymail.backends.sparkpost.EmailBackend",
}
EMAIL_PROVIDER = env("EMAIL_PROVIDER", default="").strip().lower()
if EMAIL_PROVIDER and EMAIL_PROVIDER not in _ESP_BACKENDS:
    raise ImproperlyConfigured(
        f"EMAIL_PROVIDER={EMAIL_PROVIDER!r} is not one of {', '.join(sorted(_ESP_BACKENDS))}"
    )
if env("EMAIL_BACKEND", default=""):
    EMAIL_BACKEND = env("EMAIL_BACKEND")
elif EMAIL_PROVIDER:
    EMAIL_BACKEND = _ESP_BACKENDS[EMAIL_PROVIDER]
elif env("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))
else:
    EMAIL_BACKEND = "mailing.outbox.OutboxEmailBackend"
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)

# Every ANYMAIL_* variable becomes an anymail setting: ANYMAIL_POSTMARK_SERVER_TOKEN is
# ANYMAIL["POSTMARK_SERVER_TOKEN"]. https://anymail.dev/en/stable/installation/#anymail-settings-reference
ANYMAIL = {key[len("ANYMAIL_") :]: value for key, value in os.environ.items() if key.startswith("ANYMAIL_")}
# The HTTP providers' timeout is EMAIL_TIMEOUT unless ANYMAIL_REQUESTS_TIMEOUT says otherwise. It must be
# a number: requests refuses the text the environment gives, and that error, raised as the batch is
# posted, would leave every claimed digest `unknown` without one call being made.
try:
    ANYMAIL["REQUESTS_TIMEOUT"] = float(ANYMAIL.get("REQUESTS_TIMEOUT", EMAIL_TIMEOUT))
except ValueError:
    raise ImproperlyConfigured("ANYMAIL_REQUESTS_TIMEOUT must be a number of seconds") from None
# Basic-auth "user:password" that ESP tracking webhooks must present.
WEBHOOK_SECRET = env("WEBHOOK_SECRET", default="")
if WEBHOOK_SECRET:
    ANYMAIL.setdefault("WEBHOOK_SECRET", WEBHOOK_SECRET)

# --- Celery -----------------------------------------------------------------------------------

# The filesystem transport ignores the host, but kombu warns "No hostname was supplied" each time it
# describes a connection whose URL names none (every connection and clone of worker, beat and web).
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://localhost/")
_BROKER_DIR = VAR_DIR / "broker"
if CELERY_BROKER_URL.startswith("filesystem://"):
    # kombu's filesystem transport: producers and consumers share one folder, no server needed. It
    # expects the folders to exist; config.apps makes them when Django starts.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_BROKER_DIR / "queue"),
        "data_folder_out": str(_BROKER_DIR / "queue"),
        "control_folder": str(_BROKER_DIR / "control"),
        "store_processed": False,
    }
    CELERY_WORKER_ENABLE_REMOTE_CONTROL = False
else:
    # A task not acked within this many seconds is redelivered by Redis; every time limit below
    # stays far under it so that a slow task is never delivered twice.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Keep running tasks alive when the broker connection blips: a send in flight must finish and be
# recorded (Celery 6 plans to flip this default, which would turn such sends into `unknown` rows).
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TASK_TIME_LIMIT = 300
# Celery's Django fix-up closes every database connection after every task unless this is set,
# which throws CONN_MAX_AGE away: each chunk opened a new Postgres connection (a new server process
# with cold caches). Set, the fix-up closes them only every this many tasks, and config.celery
# applies CONN_MAX_AGE and the health check around every task, as Django does around a request.
CELERY_DB_REUSE_MAX = 1000
# Objects a worker process allocates between two young-generation garbage collections (Python's
# default is 700). A chunk allocates millions of short-lived objects beside a large, long-lived
# paper pool and fragment cache, and at 700 the cycle collector took ~18% of a mail worker's CPU
# (config.celery); 0 keeps Python's default.
PAPERBOY_WORKER_GC_THRESHOLD = env.int("PAPERBOY_WORKER_GC_THRESHOLD", default=50_000)
CELERY_TASK_QUEUES = (Queue("ingest"), Queue("mail"))
CELERY_TASK_DEFAULT_QUEUE = "ingest"
CELERY_TASK_ROUTES = {
    "papers.tasks.*": {"queue": "ingest"},
    "subscriptions.tasks.*": {"queue": "mail"},
    "newsletter.tasks.*": {"queue": "mail"},
}
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# The beat schedule is config.celery's (one beat process runs it; see Procfile and docker-compose.yml).

# --- Paperboy ---------------------------------------------------------------------------------

# Named in the User-Agent of every feed request, as arXiv asks of API clients.
PAPERBOY_CONTACT_EMAIL = env("PAPERBOY_CONTACT_EMAIL", default="admin@paperboy.localhost")

# --- Each app's own knobs ---------------------------------------------------------------------

# PAPERS_*, SUBSCRIPTIONS_*, NEWSLETTER_*: every name an app's conf.py defines, read from the
# environment with the type of its default (papers/conf.py, subscriptions/conf.py, newsletter/conf.py).
# Names from before one scheme are still read, and `manage.py check` names their replacement.
_RENAMED = {
    "SIGNUP_FORM_VERSION": "SUBSCRIPTIONS_FORM_VERSION",
    "SIGNUPS_PER_IP_PER_HOUR": "SUBSCRIPTIONS_SIGNUPS_PER_IP_PER_HOUR",
    "SIGNUPS_PER_ADDRESS_PER_HOUR": "SUBSCRIPTIONS_SIGNUPS_PER_ADDRESS_PER_HOUR",
    "SIGNUP_MIN_SUBMIT_SECONDS": "SUBSCRIPTIONS_MIN_SUBMIT_SECONDS",
    "SIGNUP_EMBED_ORIGINS": "SUBSCRIPTIONS_EMBED_ORIGINS",
    "TRUSTED_PROXY_HOPS": "SUBSCRIPTIONS_TRUSTED_PROXY_HOPS",
    "SIGNUP_DEFAULT_TIMEZONE": "SUBSCRIPTIONS_DEFAULT_TIMEZONE",
    # The newsletter's knobs were all PAPERBOY_*.
    **{f"PAPERBOY_{name}": f"NEWSLETTER_{name}" for name in newsletter.conf.DEFAULTS},
}
PAPERBOY_RENAMED_VARIABLES: dict[str, str] = {}  # old name -> new name, for the system check
for _conf in (papers.conf, subscriptions.conf, newsletter.conf):
    _values, _renamed = app_settings_from_env(env, conf=_conf, renamed=_RENAMED)
    vars().update(_values)
    PAPERBOY_RENAMED_VARIABLES.update(_renamed)

# --- Logging ----------------------------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- Error reporting (optional) ----------------------------------------------------------------

# Sentry is off while SENTRY_DSN is unset: sentry_sdk is then neither imported nor started.
SENTRY_DSN = env("SENTRY_DSN", default="")
if SENTRY_DSN:
    from config import sentry

    sentry.init(
        dsn=SENTRY_DSN,
        environment=env("SENTRY_ENVIRONMENT", default="") or None,
        release=env("SENTRY_RELEASE", default="") or None,
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=None),
    )
