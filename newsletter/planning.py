"""Planning: one Delivery row per (subscriber, edition date in the subscriber's time zone).

A subscriber is due when, in their own time zone, their delivery hour has come today (daily) or
today is their weekday and the hour has come (weekly), and they have no Delivery for that local
date yet. The work is done per time zone, not per subscriber: one query lists the time zones in use,
then one query per distinct local date (at most three at any instant, around the date line) finds
the due subscribers of all zones on that date. Rows are bulk-created with conflicts ignored, so two
planners running at once create each row once (the unique constraint decides).

DST: the hour is compared on the local wall clock of "now", so a delivery hour that does not exist
on a spring-forward day (02:00 in Europe/Berlin) is served at the first tick after it (03:00), and an
hour that happens twice on a fall-back day is served once (the second pass finds the row).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db.models import Exists, Max, OuterRef, Q
from django.utils import timezone

from subscriptions.models import Subscriber

from .models import Delivery

INSERT_BATCH = 2000  # rows per INSERT: well under SQLite's bound-variable limit, few round trips


@dataclass
class PlanResult:
    created: int = 0
    edition_dates: set[date] = field(default_factory=set)
    # Planned rows made by this run (ids above the highest id seen before it), to fan out.
    delivery_ids: list[int] = field(default_factory=list)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")  # a bad value in the database must not stop everyone's digest


def local_edition(now: datetime, zone_name: str) -> tuple[date, int, int]:
    """(local date, local hour, local weekday) of `now` in the zone."""
    local = now.astimezone(_zone(zone_name))
    return local.date(), local.hour, local.weekday()


def _due_filter(*, zones: Iterable[str], hour: int, weekday: int, ignore_hour: bool) -> Q:
    zones = list(zones)
    hour_q = Q() if ignore_hour else Q(delivery_hour__lte=hour)
    daily = Q(frequency=Subscriber.Frequency.DAILY)
    weekly = Q(frequency=Subscriber.Frequency.WEEKLY, delivery_weekday=weekday)
    return Q(timezone__in=zones) & hour_q & (daily | weekly)


def due_subscriber_ids(
    *, now: datetime, subscriber_ids: Iterable[int] | None = None, ignore_hour: bool = False
) -> dict[date, list[int]]:
    """Subscribers due at `now` without a Delivery for their local date, by that date."""
    active = Subscriber.objects.filter(status=Subscriber.Status.ACTIVE, paused=False)
    if subscriber_ids is not None:
        active = active.filter(pk__in=list(subscriber_ids))
    # Zones grouped by their local (date, hour, weekday): one condition per group.
    groups: dict[date, dict[tuple[int, int], list[str]]] = defaultdict(lambda: defaultdict(list))
    for zone_name in active.values_list("timezone", flat=True).distinct().order_by():
        local_date, hour, weekday = local_edition(now, zone_name)
        groups[local_date][(hour, weekday)].append(zone_name)

    due: dict[date, list[int]] = {}
    for local_date, by_clock in groups.items():
        condition = Q(pk__in=[])
        for (hour, weekday), zones in by_clock.items():
            condition |= _due_filter(zones=zones, hour=hour, weekday=weekday, ignore_hour=ignore_hour)
        has_row = Delivery.objects.filter(subscriber_id=OuterRef("pk"), edition_date=local_date)
        ids = list(
            active.filter(condition).filter(~Exists(has_row)).order_by("pk").values_list("pk", flat=True)
        )
        if ids:
            due[local_date] = ids
    return due


def _batches(items: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def deliveries_plan(
    *,
    now: datetime | None = None,
    subscriber_ids: Iterable[int] | None = None,
    edition_date: date | None = None,
    ignore_hour: bool = False,
    dry_run: bool = False,
) -> PlanResult:
    """Create the planned Delivery rows that are due at `now` (idempotent; safe to run concurrently).

    `edition_date` plans that date for every active subscriber in scope whose frequency has an
    edition that day (the hour is not looked at); `ignore_hour` plans today's edition even before the
    subscriber's hour (used by `send_digests`).
    """
    now = now or timezone.now()
    result = PlanResult()
    if edition_date is not None:
        due = _due_on_date(edition_date, subscriber_ids=subscriber_ids)
    else:
        due = due_subscriber_ids(now=now, subscriber_ids=subscriber_ids, ignore_hour=ignore_hour)
    result.edition_dates = set(due)
    if dry_run:
        result.created = sum(len(ids) for ids in due.values())
        return result

    before = Delivery.objects.aggregate(top=Max("pk"))["top"] or 0
    for local_date, ids in due.items():
        for batch in _batches(ids, INSERT_BATCH):
            Delivery.objects.bulk_create(
                [Delivery(subscriber_id=sid, edition_date=local_date) for sid in batch],
                ignore_conflicts=True,
            )
    if due:
        result.delivery_ids = list(
            Delivery.objects.filter(pk__gt=before, status=Delivery.Status.PLANNED, edition_date__in=list(due))
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        result.created = len(result.delivery_ids)
    return result


def _due_on_date(edition_date: date, *, subscriber_ids: Iterable[int] | None) -> dict[date, list[int]]:
    active = Subscriber.objects.filter(status=Subscriber.Status.ACTIVE, paused=False)
    if subscriber_ids is not None:
        active = active.filter(pk__in=list(subscriber_ids))
    weekly_today = Q(frequency=Subscriber.Frequency.WEEKLY, delivery_weekday=edition_date.weekday())
    has_row = Delivery.objects.filter(subscriber_id=OuterRef("pk"), edition_date=edition_date)
    ids = list(
        active.filter(Q(frequency=Subscriber.Frequency.DAILY) | weekly_today)
        .filter(~Exists(has_row))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return {edition_date: ids} if ids else {}
