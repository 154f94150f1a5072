"""The newsletter app's settings: each is the Django setting and environment variable
`NEWSLETTER_<NAME>` (config.settings reads the environment), over these defaults.
docs/configuration.md lists them."""

from datetime import timedelta
from typing import Any

from django.conf import settings

PREFIX = "NEWSLETTER"
DEFAULTS: dict[str, Any] = {
    # Papers in one digest.
    "DIGEST_SIZE": 10,
    # A reader with nothing new: "skip" records a skipped delivery, "email" sends a short quiet-day note.
    "QUIET_DAY": "skip",
    # Delivery ids per `mail` task. A chunk waits for its last provider call with nothing left to
    # compose, so fewer, larger chunks keep workers busier; a chunk still running after
    # SEND_CHUNK_SECONDS (a low provider rate limit) hands its unsent rows to a new task, so the size
    # never runs a task into CELERY_TASK_SOFT_TIME_LIMIT.
    "SEND_CHUNK_SIZE": 2000,
    "SEND_CHUNK_SECONDS": 90.0,
    # Messages per call to a provider with a batch endpoint (at most the provider's own limit: Postmark
    # 500). Eight calls per chunk of 2,000, up to SEND_CALLS_IN_FLIGHT of them on the wire at once.
    "SEND_BATCH_SIZE": 250,
    # Provider calls one chunk may have on the wire at once, for a backend that can take them (the
    # Postmark batch backend: each call on its own HTTP connection). The next group is composed
    # meanwhile; when a call fails, the others already on the wire (at most this many minus one) are
    # recorded as answered and the chunk claims nothing more. 1 = a group goes only after the previous
    # group's outcome is recorded (always so for SMTP).
    "SEND_CALLS_IN_FLIGHT": 2,
    # Rows claimed at once for providers without a batch endpoint (SMTP, most ESP APIs): a crash
    # mid-send leaves at most this many rows in `sending` (they become `unknown`).
    "SEND_GROUP_SIZE": 25,
    # Messages and API calls per second to the email provider, across all workers (a token bucket in
    # Redis, else the cache); 0 = no limit. Per-call limits come from the backend (Postmark: 500).
    "SEND_RATE_PER_SECOND": 0,
    "SEND_CALLS_PER_SECOND": 0,
    # First retry of a chunk after a transient provider failure (doubles each time, at most 10
    # minutes; never sooner than a 429's Retry-After).
    "SEND_RETRY_BASE_SECONDS": 30.0,
    # A planned row untouched this long is sent to the queue again by the sweeper (the queue is a nudge).
    "PLANNED_STALE_MINUTES": 5,
    # A row in `sending` this long lost its worker: it becomes `unknown`, never re-sent by itself.
    # Must stay well above CELERY_TASK_TIME_LIMIT so a running task's rows are never touched.
    "SENDING_TIMEOUT_MINUTES": 15,
    # A digest still not sent this long after it was planned is marked failed (shown in admin).
    "DIGEST_EXPIRES_HOURS": 20,
    # Public archive: dates and papers in fewer digests than this are hidden (they would expose a few
    # readers' picks).
    "ARCHIVE_MIN_DIGESTS": 5,
    # mailto: target of List-Unsubscribe; empty = the sender address.
    "UNSUBSCRIBE_MAILTO": "",
}
CHOICES: dict[str, tuple] = {"QUIET_DAY": ("skip", "email")}


def setting(name: str) -> Any:
    return getattr(settings, f"{PREFIX}_{name}", DEFAULTS[name])


def planned_stale_after() -> timedelta:
    return timedelta(minutes=setting("PLANNED_STALE_MINUTES"))


def sending_timeout() -> timedelta:
    return timedelta(minutes=setting("SENDING_TIMEOUT_MINUTES"))


def digest_expires_after() -> timedelta:
    return timedelta(hours=setting("DIGEST_EXPIRES_HOURS"))
