"""Writes on deliveries that people start: send a delivery again.

The schedule's writes are the planner's (newsletter.planning) and the sweeper's
(newsletter.delivery_rows.deliveries_sweep), which its task calls.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from .models import Delivery
from .tasks import deliveries_enqueue

Status = Delivery.Status


def delivery_send_again(*, delivery: Delivery) -> bool:
    """Put an `unknown` or `failed` delivery back to `planned` and queue it; False if it was neither.

    Only a person calls this (admin "send again"): for an `unknown` row they accept that the
    subscriber may get a second copy (it carries the same Message-ID, which many receivers fold).
    """
    with transaction.atomic():
        moved = Delivery.objects.filter(pk=delivery.pk, status__in=[Status.UNKNOWN, Status.FAILED]).update(
            status=Status.PLANNED, claim_token="", updated_at=timezone.now()
        )
        if moved:
            deliveries_enqueue(delivery_ids=[delivery.pk])
    if moved:
        delivery.refresh_from_db()
    return bool(moved)
