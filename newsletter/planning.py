"""Planning: one Delivery row per (subscriber, edition date in the subscriber's time zone).

A subscriber is due when, in their own time zone, their delivery hour has come today (daily) or
today is their weekday and the hour has come (weekly), and they have no Delivery for that local
date yet. The work is done per time zone, not per subscriber: one query lists the time zones in use,
then one query per distinct local date (at most three at any instant, around the date line) finds
the due subscribers of all zones on that date. On Postgres that query feeds INSERT ... SELECT ...
ON CONFLICT DO NOTHING RETURNING id statements, one per PLAN_SLICE subscribers in id order (no id
makes a round trip, and sending starts after the first slice); elsewhere rows are
bulk-created with conflicts ignored. Either way two planners running at once create each row once
(the unique constraint decides).

DST: the hour is compared on the local wall clock of "now", so a delivery hour that does not exist
on a spring-forward day (02:00 in Europe/Berlin) is served at the first tick after it (03:00), and an
hour that happens twice on a fall-back day is served once (the second pass finds the row).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import connection, transaction
from django.db.models import Max, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from subscriptions.models import Subscriber
from subscriptions.selectors import receiving

from .models import Delivery

INSERT_BATCH = 2000  # rows per INSERT: well under SQLite's bound-variable limit, few round trips
# Due subscribers per INSERT on Postgres: a 100k list is planned in ten statements, and the first
# chunks are on their way to the workers after the first one.
PLAN_SLICE = 10_000


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
    return _ids_by_date(_due_queries(now=now, subscriber_ids=subscriber_ids, ignore_hour=ignore_hour))


def _ids_by_date(due: dict[date, QuerySet]) -> dict[date, list[int]]:
    """Per local date, the ids of the due subscribers without a row for it (dates with none left out)."""
    found = {}
    for local_date, subscribers in due.items():
        ids = list(_ids_without_row(subscribers, edition_date=local_date))
        if ids:
            found[local_date] = ids
    return found


def _due_queries(
    *, now: datetime, subscriber_ids: Iterable[int] | None, ignore_hour: bool
) -> dict[date, QuerySet]:
    """Per local date, the (unevaluated) subscribers due at `now` for that date, with a row or not."""
    active = receiving()
    if subscriber_ids is not None:
        active = active.filter(pk__in=list(subscriber_ids))
    # Zones grouped by their local (date, hour, weekday): one condition per group.
    groups: dict[date, dict[tuple[int, int], list[str]]] = defaultdict(lambda: defaultdict(list))
    for zone_name in active.values_list("timezone", flat=True).distinct().order_by():
        local_date, hour, weekday = local_edition(now, zone_name)
        groups[local_date][(hour, weekday)].append(zone_name)

    queries: dict[date, QuerySet] = {}
    for local_date, by_clock in groups.items():
        condition = Q(pk__in=[])
        for (hour, weekday), zones in by_clock.items():
            condition |= _due_filter(zones=zones, hour=hour, weekday=weekday, ignore_hour=ignore_hour)
        queries[local_date] = active.filter(condition)
    return queries


def _ids_without_row(subscribers: QuerySet, *, edition_date: date) -> QuerySet:
    """The ids, in order, of `subscribers` that have no Delivery for `edition_date` yet (a dry run,
    and the portable path; Postgres inserts with ON CONFLICT instead: see _insert_planned).

    "No row yet" is a scalar subquery, meant as one lookup per subscriber in the unique (subscriber,
    date) index. A NOT EXISTS becomes an anti join that re-read the morning for every slice."""
    has_row = Delivery.objects.filter(subscriber_id=OuterRef("pk"), edition_date=edition_date).order_by()
    return (
        subscribers.alias(row_today=Subquery(has_row.values("pk")[:1]))
        .filter(row_today__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def delivery_insert_values(template: Delivery, *, given: Sequence[str]) -> tuple[str, list]:
    """For an INSERT ... SELECT of Deliveries like `template`: the column list (the `given` columns,
    which the SELECT supplies first, then every other column but the id) and the database values of
    the other columns, as the ORM would save them (defaults, auto_now, JSON)."""
    supplied = [Delivery._meta.get_field(name) for name in given]
    fields = [f for f in Delivery._meta.concrete_fields if not f.primary_key and f not in supplied]
    values = [f.get_db_prep_save(f.pre_save(template, add=True), connection) for f in fields]
    return ", ".join(f.column for f in [*supplied, *fields]), values


def _insert_planned(subscribers: QuerySet, *, edition_date: date) -> Iterator[list[int]]:
    """Postgres: INSERT ... SELECT ... ON CONFLICT DO NOTHING RETURNING id, PLAN_SLICE due subscribers
    at a time in id order; yields each slice's new row ids as soon as it is committed.

    The database inserts the due subscribers' rows without their ids making a round trip, the unique
    constraint decides which subscribers have a row already (and between concurrent planners), and
    RETURNING names exactly the rows this run created (to fan out). Slices let the first chunks go out
    while the rest of a large list is still being planned; each statement also reports the last
    subscriber id its slice covered, so a slice whose rows all existed still moves the planner on.

    The slice reads no Delivery row itself: ON CONFLICT always checks the unique (subscriber, date)
    index. A "no row yet" subquery in the slice was left to the planner, which chose it from the
    statistics of the night before: with those (no row for this date, or a bloated unique index after
    a large delete) it looked subscribers up in the (edition_date, status) index instead, reading
    every row of the morning for each subscriber: 30 s for the second slice of 10,000 instead of
    0.3 s, and growing with the square of the list."""
    query = subscribers.order_by("pk").values_list("pk", flat=True)
    columns, values = delivery_insert_values(Delivery(edition_date=edition_date), given=["subscriber"])
    placeholders = ", ".join(["%s"] * len(values))
    last = 0
    while True:
        select_sql, select_params = query.filter(pk__gt=last)[:PLAN_SLICE].query.sql_with_params()
        sql = (
            f"WITH due(subscriber_id) AS ({select_sql}), "  # noqa: S608 - the ORM's SQL, names from _meta
            f"created AS (INSERT INTO {Delivery._meta.db_table} ({columns}) "
            f"SELECT due.subscriber_id, {placeholders} FROM due "
            "ON CONFLICT (subscriber_id, edition_date) DO NOTHING RETURNING id) "
            "SELECT (SELECT max(subscriber_id) FROM due), (SELECT count(*) FROM due), "
            "array(SELECT id FROM created ORDER BY id)"
        )
        with transaction.atomic(), connection.cursor() as cursor:
            # A large estimated cost (a big subscriber table) would have Postgres JIT-compile the
            # statement: 150 ms a slice at 1M subscribers for a statement that runs in 30. LOCAL: this
            # transaction only (and pgbouncer-safe).
            cursor.execute("SET LOCAL jit = off")
            cursor.execute(sql, [*select_params, *values])
            last, covered, created = cursor.fetchone()
        if created:
            yield created
        if covered < PLAN_SLICE:  # the slice was the last one
            return


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
    on_planned: Callable[[list[int]], None] | None = None,
) -> PlanResult:
    """Create the planned Delivery rows that are due at `now` (idempotent; safe to run concurrently).

    `edition_date` plans that date for every active subscriber in scope whose frequency has an
    edition that day (the hour is not looked at); `ignore_hour` plans today's edition even before the
    subscriber's hour (used by `send_digests`). `on_planned` is called with each batch of new row
    ids as soon as they are committed (the planning task fans them out to the workers).
    """
    now = now or timezone.now()
    result = PlanResult()
    if edition_date is not None:
        due = {edition_date: _due_on_date_query(edition_date, subscriber_ids=subscriber_ids)}
    else:
        due = _due_queries(now=now, subscriber_ids=subscriber_ids, ignore_hour=ignore_hour)
    if dry_run or connection.vendor != "postgresql":
        due_ids = _ids_by_date(due)
        result.edition_dates = set(due_ids)
        if dry_run:
            result.created = sum(len(ids) for ids in due_ids.values())
            return result
        result.delivery_ids = _bulk_create_planned(due_ids)
        if on_planned is not None and result.delivery_ids:
            on_planned(result.delivery_ids)
    else:
        for local_date, subscribers in due.items():
            for created in _insert_planned(subscribers, edition_date=local_date):
                result.edition_dates.add(local_date)
                result.delivery_ids += created
                if on_planned is not None:
                    on_planned(created)
        result.delivery_ids.sort()
    result.created = len(result.delivery_ids)
    return result


def _bulk_create_planned(due: dict[date, list[int]]) -> list[int]:
    """The portable path (SQLite): insert in batches, then read back the new planned rows."""
    if not due:
        return []
    before = Delivery.objects.aggregate(top=Max("pk"))["top"] or 0
    for local_date, ids in due.items():
        for batch in _batches(ids, INSERT_BATCH):
            Delivery.objects.bulk_create(
                [Delivery(subscriber_id=sid, edition_date=local_date) for sid in batch],
                ignore_conflicts=True,
            )
    return list(
        Delivery.objects.filter(pk__gt=before, status=Delivery.Status.PLANNED, edition_date__in=list(due))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def _due_on_date_query(edition_date: date, *, subscriber_ids: Iterable[int] | None) -> QuerySet:
    active = receiving()
    if subscriber_ids is not None:
        active = active.filter(pk__in=list(subscriber_ids))
    weekly_today = Q(frequency=Subscriber.Frequency.WEEKLY, delivery_weekday=edition_date.weekday())
    return active.filter(Q(frequency=Subscriber.Frequency.DAILY) | weekly_today)
