"""How long Paperboy keeps a signup nobody confirmed: SUBSCRIPTIONS_PURGE_UNCONFIRMED_AFTER_DAYS.

Beat runs the purge (subscriptions.tasks); it lives apart from subscriptions.services, which queue
that module's tasks, so that the tasks never import the services.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from .conf import setting
from .models import Subscriber


def subscribers_purge_unconfirmed(*, older_than: timedelta | None = None) -> int:
    """Delete signups never confirmed within PURGE_UNCONFIRMED_AFTER_DAYS; the number deleted."""
    age = older_than or timedelta(days=setting("PURGE_UNCONFIRMED_AFTER_DAYS"))
    stale = Subscriber.objects.filter(
        status=Subscriber.Status.PENDING,
        confirmed_at__isnull=True,
        created_at__lt=timezone.now() - age,
    )
    _total, per_model = stale.delete()
    return per_model.get(Subscriber._meta.label, 0)
