"""The subscriptions app's settings: each is the Django setting and environment variable
`SUBSCRIPTIONS_<NAME>` (config.settings reads the environment), over these defaults.
docs/configuration.md lists them; tests override single settings."""

from datetime import timedelta
from typing import Any

from django.conf import settings

PREFIX = "SUBSCRIPTIONS"
DEFAULTS: dict[str, Any] = {
    # Stored on every consent record: which wording of the form a person agreed to. Change it whenever
    # the form's wording changes.
    "FORM_VERSION": "signup-2026-11",
    # Signup attempts per client IP (IPv6: per /64) and per address, in fixed one-hour windows on the
    # shared cache (Redis in production, files on the embedded default).
    "SIGNUPS_PER_IP_PER_HOUR": 20,
    "SIGNUPS_PER_ADDRESS_PER_HOUR": 5,
    # Confirmation and "manage your subscription" emails share this one limit per address.
    "EMAIL_INTERVAL_HOURS": 24,
    # A reader who asks for their links ("Get your manage link") gets at most one email per address in
    # this many minutes (the same slot as above, held for a shorter time: they are waiting for it).
    "LINK_REQUEST_INTERVAL_MINUTES": 60,
    # A form sent back sooner than this after it was served was filled by a script.
    "MIN_SUBMIT_SECONDS": 3.0,
    "CONFIRM_MAX_AGE_DAYS": 7,
    "PURGE_UNCONFIRMED_AFTER_DAYS": 30,
    # Origins (https://blog.example.com) whose plain HTML signup forms may post without a CSRF token.
    "EMBED_ORIGINS": [],
    # Reverse proxies in front of the web process that append to X-Forwarded-For (0: trust none).
    "TRUSTED_PROXY_HOPS": 0,
    "DEFAULT_TIMEZONE": "UTC",
    "DEFAULT_DELIVERY_HOUR": 7,
}
CHOICES: dict[str, tuple] = {}


def setting(name: str) -> Any:
    return getattr(settings, f"{PREFIX}_{name}", DEFAULTS[name])


def confirm_max_age() -> timedelta:
    return timedelta(days=setting("CONFIRM_MAX_AGE_DAYS"))


def email_interval() -> timedelta:
    return timedelta(hours=setting("EMAIL_INTERVAL_HOURS"))


def link_request_interval() -> timedelta:
    return timedelta(minutes=setting("LINK_REQUEST_INTERVAL_MINUTES"))
