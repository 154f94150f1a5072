"""Reads on subscribers."""

from django.db.models import Count

from .models import Subscriber


def subscriber_status_counts() -> list[tuple[str, str, int]]:
    """(status, label, count) for every status, zeros included, in the order statuses are defined."""
    counts = dict(Subscriber.objects.values_list("status").annotate(n=Count("pk")).order_by())
    return [(value, label, counts.get(value, 0)) for value, label in Subscriber.Status.choices]
