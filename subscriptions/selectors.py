"""Reads on subscribers, and the one rule for who receives digests."""

from django.db.models import Count, QuerySet

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


def topic_follower_counts(*, topic: Topic) -> dict[str, int]:
    """{"total": subscribers following the topic, "active": those of them whose subscription is active}."""
    followers = topic.subscribers.all()
    return {"total": followers.count(), "active": followers.filter(status=Subscriber.Status.ACTIVE).count()}
