"""Reads on subscribers, and the one rule for who receives digests."""

import re
from datetime import datetime

from django.core.cache import cache
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from papers.models import Topic

from .models import Subscriber


def receiving() -> QuerySet[Subscriber]:
    """The subscribers who receive digests: active (confirmed, not unsubscribed or suppressed) and
    not paused. `receives_digests` is the same rule for one subscriber already loaded."""
    return Subscriber.objects.filter(status=Subscriber.Status.ACTIVE, paused=False)


def receives_digests(subscriber: Subscriber | None) -> bool:
    """Whether this subscriber (None: erased) receives digests; the rule of `receiving`."""
    return subscriber is not None and subscriber.status == Subscriber.Status.ACTIVE and not subscriber.paused


def parse_keywords(text: str) -> list[str]:
    """Keywords a subscriber typed: separated by commas, semicolons or new lines, lower-cased,
    de-duplicated; what digests match and every email shows back to the reader."""
    seen: dict[str, None] = {}
    for part in re.split(r"[,\n;]+", text or ""):
        word = " ".join(part.split()).lower()
        if len(word) >= 2:
            seen.setdefault(word[:100], None)
    return list(seen)[:20]  # bound the work one subscriber can cause


STATUS_CACHE_KEY = "subscriptions:status-counts"
EXACT_STATUS_LIMIT = 10_000  # lists this small are counted on every load; larger ones by beat


def subscriber_status_counts_refresh() -> list[tuple[str, str, int]]:
    counts = dict(Subscriber.objects.values_list("status").annotate(n=Count("pk")).order_by())
    rows = [(value, label, counts.get(value, 0)) for value, label in Subscriber.Status.choices]
    cache.set(STATUS_CACHE_KEY, (rows, timezone.now()), FOLLOWERS_CACHE_SECONDS)
    return rows


def subscriber_status_counts() -> tuple[list[tuple[str, str, int]], datetime | None]:
    """(status, label, count) for every status, zeros included, in the order statuses are defined,
    and None; or, past EXACT_STATUS_LIMIT subscribers, beat's cached counts and when they were made
    (a GROUP BY over a million rows on every list load is what the cache saves)."""
    if Subscriber.objects.all()[: EXACT_STATUS_LIMIT + 1].count() <= EXACT_STATUS_LIMIT:
        counts = dict(Subscriber.objects.values_list("status").annotate(n=Count("pk")).order_by())
        return [(value, label, counts.get(value, 0)) for value, label in Subscriber.Status.choices], None
    cached = cache.get(STATUS_CACHE_KEY)
    if cached is None:
        return subscriber_status_counts_refresh(), timezone.now()
    return cached


FOLLOWERS_CACHE_KEY = "subscriptions:topic-followers"
FOLLOWERS_CACHE_SECONDS = (
    30 * 60
)  # beat refreshes it every 10 minutes (newsletter.tasks.refresh_admin_figures)


def topic_followers_refresh() -> dict[int, dict[str, int]]:
    """{topic id: {"total", "active"}} in one pass over the follow rows (seconds at a million readers:
    beat's work, not a page's), kept in the cache."""
    through = Subscriber.topics.through
    rows = (
        through.objects.order_by()
        .values("topic_id")
        .annotate(
            total=Count("*"),
            active=Count("subscriber_id", filter=Q(subscriber__status=Subscriber.Status.ACTIVE)),
        )
    )
    counts = {row["topic_id"]: {"total": row["total"], "active": row["active"]} for row in rows}
    cache.set(FOLLOWERS_CACHE_KEY, counts, FOLLOWERS_CACHE_SECONDS)
    return counts


def topic_followers() -> dict[int, dict[str, int]]:
    counts = cache.get(FOLLOWERS_CACHE_KEY)
    return counts if counts is not None else topic_followers_refresh()


def topic_follower_counts(*, topic: Topic) -> dict[str, int]:
    """{"total": subscribers following the topic, "active": those of them whose subscription is active}."""
    return topic_followers().get(topic.pk, {"total": 0, "active": 0})
