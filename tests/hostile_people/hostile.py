"""What the hostile-people tests share: the fuzzing profile, hostile strategies, and a state snapshot.

The snapshot covers every table a request from outside could change (subscribers, their topics,
consent records, deliveries, provider events) plus the mail that went out and the mail queued for
after the commit, so "nothing changed" means nothing at all.
"""

import os
import time
from contextlib import contextmanager
from urllib.parse import quote

from django.core import mail
from django.test import TestCase
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from newsletter.models import Delivery, ProviderEvent
from subscriptions.forms import make_form_stamp
from subscriptions.models import ConsentRecord, Subscriber

# Modest counts keep the suite fast. Under CI the examples are derived from the test itself
# (derandomize), so a failure there reproduces on a laptop with CI=true; elsewhere each run explores.
_IN_CI = bool(os.environ.get("CI"))
FUZZ = settings(
    max_examples=100,
    deadline=None,
    derandomize=_IN_CI,
    print_blob=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
FUZZ_SMALL = settings(FUZZ, max_examples=40)

# Text an attacker can type or script: every Unicode category but lone surrogates, with a bias towards
# what breaks parsers and headers (line breaks, NUL, bidi overrides, format characters, huge values).
_NASTY = [
    "\r\n", "\n", "\r", "\x00", "\u2028", "\u2029", "\x85", "\x1b[31m", "\u202e", "\ufeff", "%0d%0a",
    "<script>alert(1)</script>", "\" onmouseover=\"alert(1)", "javascript:alert(1)", "'; DROP TABLE x;--",
    "{{ 7*7 }}", "${7*7}", "../../etc/passwd", "\U0010ffff", "A" * 5000,
    "ada@example.com\r\nBcc: victim@example.org", "=?utf-8?q?=0D=0A?=", "💥" * 50, "0", "-1", "1e309",
]  # fmt: skip
hostile_text = st.one_of(
    st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=200),
    st.sampled_from(_NASTY),
    st.builds(lambda a, b: a + b, st.sampled_from(_NASTY), st.text(max_size=20)),
)
hostile_values = st.one_of(hostile_text, st.lists(hostile_text, max_size=4))

CONTENT_TYPES = [
    "application/x-www-form-urlencoded",
    "application/x-www-form-urlencoded; charset=latin-1",
    "multipart/form-data; boundary=xyz",
    "multipart/form-data",
    "text/plain",
    "application/json",
    "application/octet-stream",
]


def tampered(token: str) -> st.SearchStrategy[str]:
    """Variants of a genuine token that must never be accepted: each differs from it."""
    n = len(token)
    alphabet = st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.:=")
    flipped = st.builds(lambda i, c: token[:i] + c + token[i + 1 :], st.integers(0, n - 1), alphabet)
    truncated = st.builds(lambda i: token[:i], st.integers(0, n - 1))
    extended = st.builds(lambda s: token + s, st.text(alphabet, min_size=1, max_size=8))
    inserted = st.builds(lambda i, c: token[:i] + c + token[i:], st.integers(0, n), alphabet)
    swapped_case = st.just(token.swapcase())
    return st.one_of(flipped, truncated, extended, inserted, swapped_case).filter(lambda t: t != token)


def path_segment(value: str) -> str:
    """A value as one URL path segment, percent-encoded the way a browser would send it."""
    return quote(value, safe="")


def fresh_stamp() -> str:
    """A genuine form stamp from long enough ago to pass the minimum time-to-submit."""
    return make_form_stamp(time.time() - 60)


def snapshot() -> dict:
    """Everything a request from outside could change."""
    return {
        "subscribers": sorted(
            Subscriber.objects.values_list(
                "pk", "email", "status", "frequency", "delivery_hour", "delivery_weekday", "timezone",
                "paused", "keywords", "token_key", "confirmed_at", "unsubscribed_at", "suppressed_at",
                "suppressed_reason", "last_confirmation_sent_at",
            )
        ),
        "subscriber_topics": sorted(
            Subscriber.topics.through.objects.values_list("subscriber_id", "topic_id")
        ),
        "consents": sorted(
            ConsentRecord.objects.values_list("pk", "subscriber_id", "action", "confirmed_at", "topics")
        ),
        "deliveries": sorted(
            Delivery.objects.values_list(
                "pk", "subscriber_id", "status", "opens", "clicks", "delivered_at", "provider_message_id"
            )
        ),
        "provider_events": sorted(ProviderEvent.objects.values_list("event_id", flat=True)),
        "mail_sent": len(mail.outbox),
    }  # fmt: skip


@contextmanager
def queued_after_commit():
    """Collect the callbacks (Celery tasks) a request queues for after its transaction commits.

    The test's own transaction never commits, so without this a queued email would go unseen.
    """
    with TestCase.captureOnCommitCallbacks(using="default") as callbacks:
        yield callbacks
