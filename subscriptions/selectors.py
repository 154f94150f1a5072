"""Reads on subscribers, and the one rule for who receives digests."""

from django.core.cache import cache
from django.db.models import Count, Q, QuerySet

from papers.models import Topic

from .models import Subscriber


def receiving() -> QuerySet[Subscriber]:
    """The subscribers who receive digests: active (confirmed, not unsubscribed or suppressed) and
    not paused. `receives_digests` is the same rule for one subscriber already loaded."""
    return Subscriber.objects.filter(status=Subscriber.Status.ACTIVE, paused=False)


def receives_digests(subscriber: Subscriber | None) -> bool:
    """Whether this subscriber (None: erased) receives digests; the rule of `receiving`."""
    return subscriber is not None and subscriber.status == Subscriber.Status.ACTIVE and not subscriber.paused


def subscriber_status_counts() -> list[tuple[str, str, int]]:
    """(status, label, count) for every status, zeros included, in the order statuses are defined."""
    counts = dict(Subscriber.objects.values_list("status").annotate(n=Count("pk")).order_by())
    return [(value, label, counts.get(value, 0)) for value, label in Subscriber.Status.choices]


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
