"""Paperboy settings: the one place that reads the environment.

With nothing set, Paperboy runs on embedded defaults (a laptop with nothing installed):
SQLite under var/, mail written as .eml files to var/outbox/, a Celery broker on the local
filesystem under var/broker/ served by a real worker process, and a file-based cache.
Every variable is documented in README.md ("Configuration").
"""

import os
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

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
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.syndication",
    "anymail",
    "papers",
    "subscriptions",
    "newsletter",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "newsletter.security.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "newsletter.urls"
WSGI_APPLICATION = "newsletter.wsgi.application"

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
                "newsletter.context_processors.site",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------------

_SQLITE_PATH = VAR_DIR / "paperboy.sqlite3"
VAR_DIR.mkdir(parents=True, exist_ok=True)
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
    # take a file lock, so they stay atomic as on Redis (newsletter/filecache.py).
    CACHES = {
        "default": {
            "BACKEND": "newsletter.filecache.LockedFileBasedCache",
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
# /healthz answers the load balancer over plain HTTP inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# --- Email ------------------------------------------------------------------------------------

DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Paperboy <digest@paperboy.localhost>")
SERVER_EMAIL = env("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)
# Sender identity and postal address shown in every digest's footer (anti-spam laws ask for it).
PAPERBOY_SENDER_NAME = env("PAPERBOY_SENDER_NAME", default="Paperboy")
PAPERBOY_POSTAL_ADDRESS = env("PAPERBOY_POSTAL_ADDRESS", default="Paperboy, 1 Example Street, Springfield")
# mailto: target of List-Unsubscribe; defaults to the sender address.
PAPERBOY_UNSUBSCRIBE_MAILTO = env("PAPERBOY_UNSUBSCRIBE_MAILTO", default="")

OUTBOX_DIR = Path(env("OUTBOX_DIR", default=str(VAR_DIR / "outbox")))
_ESP_BACKENDS = {
    "postmark": "newsletter.backends.postmark.EmailBackend",  # adds /email/batch
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
    EMAIL_BACKEND = "newsletter.outbox.OutboxEmailBackend"
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
    # kombu's filesystem transport: producers and consumers share one folder, no server needed.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_BROKER_DIR / "queue"),
        "data_folder_out": str(_BROKER_DIR / "queue"),
        "control_folder": str(_BROKER_DIR / "control"),
        "store_processed": False,
    }
    # kombu expects the folders to exist; a fresh checkout has none.
    for _folder in ("queue", "control"):
        (_BROKER_DIR / _folder).mkdir(parents=True, exist_ok=True)
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
# with cold caches). Set, the fix-up closes them only every this many tasks, and newsletter.celery
# applies CONN_MAX_AGE and the health check around every task, as Django does around a request.
CELERY_DB_REUSE_MAX = 1000
# Objects a worker process allocates between two young-generation garbage collections (Python's
# default is 700). A chunk allocates millions of short-lived objects beside a large, long-lived
# paper pool and fragment cache, and at 700 the cycle collector took ~18% of a mail worker's CPU
# (newsletter.celery); 0 keeps Python's default.
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
# One beat process runs these (see Procfile and docker-compose.yml).
CELERY_BEAT_SCHEDULE = {
    "worker-heartbeat": {
        "task": "newsletter.tasks.worker_heartbeat",
        "schedule": timedelta(minutes=1),
    },
    # Digests: plan whoever's local delivery hour has come; the sweeper re-queues and times out.
    "plan-due-digests": {
        "task": "newsletter.tasks.plan_due_digests",
        "schedule": timedelta(minutes=15),
    },
    "sweep-deliveries": {
        "task": "newsletter.tasks.sweep_deliveries",
        "schedule": timedelta(minutes=5),
    },
    # Papers: each due source becomes one fetch_source task on the ingest queue.
    "papers-fetch-due-sources": {
        "task": "papers.tasks.fetch_due_sources",
        "schedule": timedelta(minutes=5),
    },
    "papers-recompute-trending": {
        "task": "papers.tasks.recompute_trending",
        "schedule": timedelta(minutes=30),
    },
    # Subscriptions: signups never confirmed are deleted after SUBSCRIPTIONS["PURGE_UNCONFIRMED_AFTER_DAYS"].
    "subscriptions-purge-unconfirmed": {
        "task": "subscriptions.tasks.purge_unconfirmed_subscribers",
        "schedule": timedelta(hours=6),
    },
}

# --- Paperboy ---------------------------------------------------------------------------------

# Named in the User-Agent of every feed request, as arXiv asks of API clients.
PAPERBOY_CONTACT_EMAIL = env("PAPERBOY_CONTACT_EMAIL", default="admin@paperboy.localhost")

# --- Papers: fetching, tagging, trending ------------------------------------------------------

# Feed requests: seconds to connect and between bytes read, and a cap on the whole exchange
# (a server that drips one byte per second would otherwise never time out).
PAPERS_FETCH_CONNECT_TIMEOUT = env.float("PAPERS_FETCH_CONNECT_TIMEOUT", default=10.0)
PAPERS_FETCH_READ_TIMEOUT = env.float("PAPERS_FETCH_READ_TIMEOUT", default=30.0)
PAPERS_FETCH_TOTAL_TIMEOUT = env.float("PAPERS_FETCH_TOTAL_TIMEOUT", default=120.0)
# The largest arXiv listing (a whole archive on a busy day) is a few MB; 20 MB leaves room.
PAPERS_FETCH_MAX_BYTES = env.int("PAPERS_FETCH_MAX_BYTES", default=20 * 1024 * 1024)
# 429/503 with a Retry-After up to this many seconds is waited out in place (at most
# PAPERS_FETCH_RETRIES times); longer waits move the source's next fetch instead.
PAPERS_FETCH_MAX_INLINE_WAIT = env.float("PAPERS_FETCH_MAX_INLINE_WAIT", default=30.0)
PAPERS_FETCH_RETRIES = env.int("PAPERS_FETCH_RETRIES", default=2)
# Longest pause after repeated failures (the backoff doubles from the fetch interval).
PAPERS_FETCH_MAX_BACKOFF = timedelta(hours=env.float("PAPERS_FETCH_MAX_BACKOFF_HOURS", default=12))
# arXiv asks API clients for one request every 3 seconds; enforced across all workers.
# https://info.arxiv.org/help/api/tou.html
PAPERS_ARXIV_MIN_INTERVAL = env.float("PAPERS_ARXIV_MIN_INTERVAL", default=3.0)
# Trending: Hugging Face upvotes and comments, halved every this many hours since first seen.
PAPERS_TRENDING_HALF_LIFE_HOURS = env.float("PAPERS_TRENDING_HALF_LIFE_HOURS", default=36.0)
PAPERS_TRENDING_WINDOW_DAYS = env.int("PAPERS_TRENDING_WINDOW_DAYS", default=14)

# --- Newsletter digests (newsletter/planning.py, composing.py, sending.py) ---------------------

# Papers in one digest.
PAPERBOY_DIGEST_SIZE = env.int("PAPERBOY_DIGEST_SIZE", default=10)
# A subscriber with nothing new: "skip" records a skipped delivery, "email" sends a short quiet-day note.
PAPERBOY_QUIET_DAY = env("PAPERBOY_QUIET_DAY", default="skip")
if PAPERBOY_QUIET_DAY not in ("skip", "email"):
    raise ImproperlyConfigured("PAPERBOY_QUIET_DAY must be 'skip' or 'email'")
# Delivery ids per `mail` task. A chunk waits for its last provider call with nothing left to
# compose, so fewer, larger chunks keep workers busier; a chunk still running after
# PAPERBOY_SEND_CHUNK_SECONDS (a low provider rate limit) hands its unsent rows to a new task, so
# the size never runs a task into CELERY_TASK_SOFT_TIME_LIMIT.
PAPERBOY_SEND_CHUNK_SIZE = env.int("PAPERBOY_SEND_CHUNK_SIZE", default=2000)
PAPERBOY_SEND_CHUNK_SECONDS = env.float("PAPERBOY_SEND_CHUNK_SECONDS", default=90.0)
# Messages per call to a provider with a batch endpoint (at most the provider's own limit: Postmark
# 500). Eight calls per chunk of 2,000, up to PAPERBOY_SEND_CALLS_IN_FLIGHT of them on the wire at once.
PAPERBOY_SEND_BATCH_SIZE = env.int("PAPERBOY_SEND_BATCH_SIZE", default=250)
# Provider calls one chunk may have on the wire at once, for a backend that can take them (the Postmark
# batch backend: each call on its own HTTP connection). The next group is composed meanwhile; when a
# call fails, the others already on the wire (at most this many minus one) are recorded as answered
# and the chunk claims nothing more. 1 = a group goes only after the previous group's outcome is
# recorded (always so for SMTP).
PAPERBOY_SEND_CALLS_IN_FLIGHT = env.int("PAPERBOY_SEND_CALLS_IN_FLIGHT", default=2)
# Rows claimed at once for providers without a batch endpoint (SMTP, most ESP APIs): a crash
# mid-send leaves at most this many rows in `sending` (they become `unknown`).
PAPERBOY_SEND_GROUP_SIZE = env.int("PAPERBOY_SEND_GROUP_SIZE", default=25)
# Messages per second to the email provider, across all workers (a token bucket in Redis, else the cache);
# 0 = no limit. Per-call limits come from the backend (Postmark: 500 messages per batch call).
PAPERBOY_SEND_RATE_PER_SECOND = env.int("PAPERBOY_SEND_RATE_PER_SECOND", default=0)
# API calls per second to the email provider, across all workers (a Redis token bucket; 0 = no limit).
PAPERBOY_SEND_CALLS_PER_SECOND = env.int("PAPERBOY_SEND_CALLS_PER_SECOND", default=0)
# First retry of a chunk after a transient provider failure (doubles each time, at most 10 minutes;
# never sooner than a 429's Retry-After).
PAPERBOY_SEND_RETRY_BASE_SECONDS = env.float("PAPERBOY_SEND_RETRY_BASE_SECONDS", default=30.0)
# A planned row untouched this long is sent to the queue again by the sweeper (the queue is a nudge).
PAPERBOY_PLANNED_STALE_AFTER = timedelta(minutes=env.int("PAPERBOY_PLANNED_STALE_MINUTES", default=5))
# A row in `sending` this long lost its worker: it becomes `unknown`, never re-sent by itself.
# Must stay well above CELERY_TASK_TIME_LIMIT so a running task's rows are never touched.
PAPERBOY_SENDING_TIMEOUT = timedelta(minutes=env.int("PAPERBOY_SENDING_TIMEOUT_MINUTES", default=15))
# A digest still not sent this long after it was planned is marked failed (shown in admin).
PAPERBOY_DIGEST_EXPIRES_AFTER = timedelta(hours=env.int("PAPERBOY_DIGEST_EXPIRES_HOURS", default=20))
# Public archive: dates and papers in fewer digests than this are hidden (they'd expose a few readers' picks).
PAPERBOY_ARCHIVE_MIN_DIGESTS = env.int("PAPERBOY_ARCHIVE_MIN_DIGESTS", default=5)

# --- Subscriptions (signup, confirmation, rate limits; read through subscriptions/conf.py) --------

SUBSCRIPTIONS = {
    # Stored on each consent record; change it whenever the form's wording changes.
    "FORM_VERSION": env("SIGNUP_FORM_VERSION", default="signup-2026-11"),
    # Signup attempts per client IP (IPv6: per /64) and per address, per hour, on the shared cache.
    "SIGNUPS_PER_IP_PER_HOUR": env.int("SIGNUPS_PER_IP_PER_HOUR", default=20),
    "SIGNUPS_PER_ADDRESS_PER_HOUR": env.int("SIGNUPS_PER_ADDRESS_PER_HOUR", default=5),
    # At most one confirmation or "manage your subscription" email per address in this many hours.
    "EMAIL_INTERVAL_HOURS": 24,
    # A signup form sent back sooner than this after it was served is treated as a bot.
    "MIN_SUBMIT_SECONDS": env.float("SIGNUP_MIN_SUBMIT_SECONDS", default=3.0),
    "CONFIRM_MAX_AGE_DAYS": 7,
    "PURGE_UNCONFIRMED_AFTER_DAYS": 30,
    # Sites whose plain HTML signup forms may post here without a CSRF token, e.g. https://blog.example.com
    "EMBED_ORIGINS": env.list("SIGNUP_EMBED_ORIGINS", default=[]),
    # Reverse proxies in front of the web process that append to X-Forwarded-For (0: trust none).
    "TRUSTED_PROXY_HOPS": env.int("TRUSTED_PROXY_HOPS", default=0),
    "DEFAULT_TIMEZONE": env("SIGNUP_DEFAULT_TIMEZONE", default="UTC"),
    "DEFAULT_DELIVERY_HOUR": 7,
}

# --- Logging ----------------------------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
