"""Writes on deliveries that people and the schedule start: send again, sweep stuck rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from .conf import digest_expires_after, planned_stale_after, sending_timeout, setting
from .models import Delivery

Status = Delivery.Status


def deliveries_enqueue(*, delivery_ids: list[int]) -> None:
    """Queue ids for sending in chunks, once the current transaction (if any) commits."""
    from .tasks import send_digest_chunk  # tasks import this module; import at call time

    size = setting("SEND_CHUNK_SIZE")
    for start in range(0, len(delivery_ids), size):
        send_digest_chunk.delay_on_commit(delivery_ids[start : start + size])


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


@dataclass
class SweepReport:
    requeued: int = 0
    timed_out: int = 0
    expired: int = 0
    requeued_ids: list[int] = field(default_factory=list)


def deliveries_sweep(*, now: datetime | None = None) -> SweepReport:
    """The periodic repair pass: the queue is only a nudge, the rows are the truth.

    - `sending` for longer than NEWSLETTER_SENDING_TIMEOUT_MINUTES: the worker died or lost its answer; the
      provider may have the message, so the row becomes `unknown` (never re-sent by itself).
    - `planned` for longer than NEWSLETTER_DIGEST_EXPIRES_HOURS: `failed` with the reason kept, so a
      digest that could not go out all day shows up in admin instead of arriving tomorrow.
    - `planned` and untouched for NEWSLETTER_PLANNED_STALE_MINUTES: its task was lost (broker restart,
      retries exhausted); queue it again. Claiming makes a duplicate task harmless.
    """
    now = now or timezone.now()
    report = SweepReport()
    report.timed_out = Delivery.objects.filter(
        status=Status.SENDING, sending_started_at__lt=now - sending_timeout()
    ).update(
        status=Status.UNKNOWN,
        last_error="no answer recorded within the sending timeout (worker lost?); not re-sent",
        updated_at=now,
    )
    report.expired = Delivery.objects.filter(
        status=Status.PLANNED, created_at__lt=now - digest_expires_after()
    ).update(
        status=Status.FAILED,
        last_error="not sent in time (the provider kept failing, or no worker ran)",
        updated_at=now,
    )
    stale = list(
        Delivery.objects.filter(status=Status.PLANNED, updated_at__lt=now - planned_stale_after())
        .order_by("pk")
        .values_list("pk", flat=True)[:100_000]
    )
    if stale:
        # Touch them so the next sweep does not queue them again while this task waits in the queue.
        Delivery.objects.filter(pk__in=stale, status=Status.PLANNED).update(updated_at=now)
        deliveries_enqueue(delivery_ids=stale)
    report.requeued, report.requeued_ids = len(stale), stale
    return report
