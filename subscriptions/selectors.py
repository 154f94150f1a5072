"""Reads on subscribers."""

from django.db.models import Count

from papers.models import Topic

from .models import Subscriber


def subscriber_status_counts() -> list[tuple[str, str, int]]:
    """(status, label, count) for every status, zeros included, in the order statuses are defined."""
    counts = dict(Subscriber.objects.values_list("status").annotate(n=Count("pk")).order_by())
    return [(value, label, counts.get(value, 0)) for value, label in Subscriber.Status.choices]


def topic_follower_counts(*, topic: Topic) -> dict[str, int]:
    """{"total": subscribers following the topic, "active": those of them whose subscription is active}."""
    followers = topic.subscribers.all()
    return {"total": followers.count(), "active": followers.filter(status=Subscriber.Status.ACTIVE).count()}
