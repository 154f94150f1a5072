import math
from datetime import UTC, date, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from newsletter.models import Delivery
from newsletter.planning import deliveries_plan, local_edition
from subscriptions.models import Subscriber
from subscriptions.tests.factories import SubscriberFactory

pytestmark = pytest.mark.django_db


def at(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def rows():
    return sorted(Delivery.objects.values_list("subscriber__email", "edition_date"))


def test_subscriber_is_planned_once_their_local_hour_has_come():
    SubscriberFactory(email="berlin@example.com", timezone="Europe/Berlin", delivery_hour=7)
    assert deliveries_plan(now=at(2026, 4, 28, 4, 50)).created == 0  # 06:50 in Berlin
    result = deliveries_plan(now=at(2026, 4, 28, 5, 0))  # 07:00 in Berlin
    assert result.created == 1 and len(result.delivery_ids) == 1
    assert rows() == [("berlin@example.com", date(2026, 4, 28))]


def test_second_plan_run_creates_no_deliveries():
    for n in range(5):
        SubscriberFactory(email=f"r{n}@example.com", delivery_hour=6)
    now = at(2026, 4, 28, 9, 0)
    assert deliveries_plan(now=now).created == 5
    second = deliveries_plan(now=now)
    assert second.created == 0 and second.delivery_ids == []
    assert Delivery.objects.count() == 5


def test_inactive_paused_and_unconfirmed_subscribers_are_not_planned():
    SubscriberFactory(email="ok@example.com")
    SubscriberFactory(email="paused@example.com", paused=True)
    SubscriberFactory(email="gone@example.com", status=Subscriber.Status.UNSUBSCRIBED)
    SubscriberFactory(email="pending@example.com", status=Subscriber.Status.PENDING)
    SubscriberFactory(email="bounced@example.com", status=Subscriber.Status.SUPPRESSED)
    deliveries_plan(now=at(2026, 4, 28, 12, 0))
    assert [email for email, _ in rows()] == ["ok@example.com"]


def test_date_line_zones_get_their_own_local_date_in_one_run():
    # 2026-04-29 06:30 UTC is 20:30 on the 29th in Kiritimati (UTC+14) and 19:30 on the 28th in
    # Pago Pago (UTC-11): one instant, two edition dates.
    SubscriberFactory(email="kiritimati@example.com", timezone="Pacific/Kiritimati", delivery_hour=7)
    SubscriberFactory(email="pagopago@example.com", timezone="Pacific/Pago_Pago", delivery_hour=7)
    result = deliveries_plan(now=at(2026, 4, 29, 6, 30))
    assert result.edition_dates == {date(2026, 4, 29), date(2026, 4, 28)}
    assert rows() == [
        ("kiritimati@example.com", date(2026, 4, 29)),
        ("pagopago@example.com", date(2026, 4, 28)),
    ]


def test_kiritimati_reader_is_planned_for_tomorrow_by_utc_calendar():
    SubscriberFactory(email="kiritimati@example.com", timezone="Pacific/Kiritimati", delivery_hour=7)
    assert local_edition(at(2026, 4, 27, 17, 0), "Pacific/Kiritimati") == (date(2026, 4, 28), 7, 1)
    deliveries_plan(now=at(2026, 4, 27, 16, 59))  # 06:59 local
    assert rows() == []
    deliveries_plan(now=at(2026, 4, 27, 17, 0))
    assert rows() == [("kiritimati@example.com", date(2026, 4, 28))]


def test_hour_skipped_by_spring_forward_is_served_at_the_next_tick():
    # Europe/Berlin, 2026-03-29: 02:00 CET jumps to 03:00 CEST; 02:xx never happens.
    SubscriberFactory(email="berlin@example.com", timezone="Europe/Berlin", delivery_hour=2)
    deliveries_plan(now=at(2026, 3, 29, 0, 45))  # 01:45 CET
    assert rows() == []
    deliveries_plan(now=at(2026, 3, 29, 1, 0))  # 03:00 CEST
    assert rows() == [("berlin@example.com", date(2026, 3, 29))]


def test_hour_repeated_by_fall_back_is_served_once():
    # America/New_York, 2026-11-01: 01:xx happens twice (EDT, then EST).
    SubscriberFactory(email="ny@example.com", timezone="America/New_York", delivery_hour=1)
    first = deliveries_plan(now=at(2026, 11, 1, 5, 15))  # 01:15 EDT
    second = deliveries_plan(now=at(2026, 11, 1, 6, 15))  # 01:15 EST, the same wall-clock hour again
    assert (first.created, second.created) == (1, 0)
    assert rows() == [("ny@example.com", date(2026, 11, 1))]


def test_weekly_readers_are_planned_on_their_weekday_only():
    # 2026-04-27 is a Monday (weekday 0).
    SubscriberFactory(email="weekly@example.com", frequency="weekly", delivery_weekday=2, delivery_hour=8)
    deliveries_plan(now=at(2026, 4, 28, 12, 0))  # Tuesday
    assert rows() == []
    deliveries_plan(now=at(2026, 4, 29, 12, 0))  # Wednesday
    deliveries_plan(now=at(2026, 4, 29, 18, 0))
    assert rows() == [("weekly@example.com", date(2026, 4, 29))]


def test_unknown_time_zone_falls_back_to_utc_instead_of_stopping_everyone():
    SubscriberFactory(email="odd@example.com", timezone="Mars/Olympus_Mons", delivery_hour=7)
    SubscriberFactory(email="fine@example.com", timezone="UTC", delivery_hour=7)
    deliveries_plan(now=at(2026, 4, 28, 7, 0))
    assert [email for email, _ in rows()] == ["fine@example.com", "odd@example.com"]


def test_plan_for_a_date_ignores_the_hour_and_dry_run_writes_nothing():
    SubscriberFactory(email="late@example.com", delivery_hour=23)
    dry = deliveries_plan(now=at(2026, 4, 28, 1, 0), edition_date=date(2026, 4, 28), dry_run=True)
    assert dry.created == 1 and Delivery.objects.count() == 0
    deliveries_plan(now=at(2026, 4, 28, 1, 0), edition_date=date(2026, 4, 28))
    assert rows() == [("late@example.com", date(2026, 4, 28))]


def test_planning_takes_the_same_queries_for_10_or_200_subscribers():
    zones = ["Europe/Berlin", "Asia/Tokyo", "America/New_York", "Pacific/Kiritimati", "Pacific/Pago_Pago"]
    fields = [f for f in Delivery._meta.concrete_fields if not f.primary_key]
    for count, now in ((10, at(2026, 4, 28, 23, 0)), (200, at(2026, 4, 29, 23, 0))):
        Subscriber.objects.all().delete()
        Delivery.objects.all().delete()
        for n in range(count):
            SubscriberFactory(email=f"s{count}-{n}@example.com", timezone=zones[n % 5], delivery_hour=0)
        with CaptureQueriesContext(connection) as queries:
            result = deliveries_plan(now=now)
        assert result.created == count
        # (savepoints and the slice statement's SET LOCAL aside)
        sql = [
            q["sql"]
            for q in queries.captured_queries
            if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "SET LOCAL"))
        ]
        inserts = [q for q in sql if q.startswith("INSERT")]
        # zones, one per local date (at most 3), highest id, the new ids; nothing per subscriber
        assert len(sql) - len(inserts) <= 6
        # INSERTs as few as the database's bound-parameter limit allows (one on Postgres)
        per_insert = connection.ops.bulk_batch_size(fields, [Delivery()] * count)
        assert len(inserts) <= 3 * math.ceil(count / per_insert)


@pytest.mark.django_db(transaction=True)
def test_two_planners_at_once_create_each_row_once_and_split_the_fan_out(monkeypatch):
    import threading

    from django.db import connection as db

    from newsletter import planning

    monkeypatch.setattr(planning, "PLAN_SLICE", 40)  # several slices each, racing each other

    for n in range(300):
        SubscriberFactory(email=f"c{n}@example.com", delivery_hour=0, timezone=("UTC", "Asia/Tokyo")[n % 2])
    results, start = [], threading.Barrier(2)

    def plan():
        start.wait()
        try:
            results.append(deliveries_plan(now=at(2026, 4, 28, 12, 0)))
        finally:
            db.close()

    threads = [threading.Thread(target=plan) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Delivery.objects.count() == 300
    first, second = (set(r.delivery_ids) for r in results)
    assert first | second == set(Delivery.objects.values_list("pk", flat=True))  # every row fanned out
    if db.vendor == "postgresql":
        # RETURNING names only the rows each INSERT made. (The portable path reads new rows back, and
        # may fan a row out twice; claiming makes the second task send nothing.)
        assert first.isdisjoint(second)


@pytest.mark.django_db(transaction=True)
def test_a_large_list_is_planned_in_slices_each_fanned_out_as_soon_as_it_is_committed(monkeypatch):
    import threading

    from django.db import connection as db

    from newsletter import planning

    monkeypatch.setattr(planning, "PLAN_SLICE", 7)
    for n in range(40):
        SubscriberFactory(email=f"sl{n}@example.com", delivery_hour=0, timezone=("UTC", "Asia/Tokyo")[n % 2])
    seen = []

    def fan_out(ids):
        # Another connection sees the slice: it is committed before the planner moves on.
        def look():
            try:
                seen.append((list(ids), Delivery.objects.filter(pk__in=ids).count()))
            finally:
                db.close()

        reader = threading.Thread(target=look)
        reader.start()
        reader.join()

    result = deliveries_plan(now=at(2026, 4, 28, 12, 0), on_planned=fan_out)
    assert result.created == 40 and Delivery.objects.count() == 40
    assert sorted(i for ids, _count in seen for i in ids) == sorted(result.delivery_ids)
    assert all(count == len(ids) for ids, count in seen)
    if db.vendor == "postgresql":
        assert len(seen) >= 40 // 7 and max(len(ids) for ids, _count in seen) <= 7
    assert deliveries_plan(now=at(2026, 4, 28, 12, 0), on_planned=fan_out).created == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres  # a Postgres query plan
def test_each_planning_slice_leaves_existing_rows_to_the_unique_index_instead_of_rereading_the_morning(
    monkeypatch,
):
    """Planned from the night before's statistics (no row for the date yet), a NOT EXISTS anti join,
    and later a "no row yet" subquery looked up through the (edition_date, status) index, read every
    row of the date created so far for each slice or each subscriber: planning grew with the square
    of the list (30 s for the second slice of 10,000 after a large delete). A slice in the middle of a
    morning reads no delivery row; ON CONFLICT checks the unique (subscriber, date) index."""
    from newsletter import planning

    monkeypatch.setattr(planning, "PLAN_SLICE", 500)
    Subscriber.objects.bulk_create(
        Subscriber(email=f"m{n}@example.com", status=Subscriber.Status.ACTIVE, delivery_hour=0)
        for n in range(3000)
    )
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Delivery._meta.db_table}")
        cursor.execute(f"ANALYZE {Subscriber._meta.db_table}")
    with CaptureQueriesContext(connection) as queries:
        assert deliveries_plan(now=at(2026, 4, 28, 12, 0)).created == 3000
    slices = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("WITH due")]
    assert len(slices) >= 6
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {slices[3]}")  # 1,500 rows of the date exist, the statistics know none
        plan = "\n".join(row[0] for row in cursor.fetchall())
    due = plan[: plan.index("CTE created")]
    assert "newsletter_delivery" not in due, plan
    assert "Conflict Arbiter Indexes: delivery_one_per_subscriber_day" in plan, plan
