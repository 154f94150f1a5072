"""Dashboard numbers and charts: right figures, fixed query count, geometry inside the plot."""

import itertools
from datetime import date, datetime, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from newsletter import dashboard
from newsletter.models import DailyFigures, Delivery, ProviderEvent
from papers.tests.factories import PaperFactory
from subscriptions.models import Subscriber
from subscriptions.tests.factories import SubscriberFactory

pytestmark = pytest.mark.django_db

TODAY = date(2026, 4, 28)
_event_ids = itertools.count()


def _at(day: date, hour: int = 9) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour)))


def _subscriber(created: date, confirmed: date | None, **fields) -> Subscriber:
    subscriber = SubscriberFactory(**fields)
    Subscriber.objects.filter(pk=subscriber.pk).update(
        created_at=_at(created), confirmed_at=_at(confirmed) if confirmed else None
    )
    return subscriber


def _event(delivery, kind: str, day: date, *, n: int, outcome="counted", url=""):
    for _ in range(n):
        ProviderEvent.objects.create(
            event_id=f"test-{next(_event_ids)}",
            esp_name="Postmark",
            event_type=kind,
            delivery=delivery,
            url=url,
            occurred_at=_at(day, 10),
            outcome=outcome,
        )


def _build(days: int) -> dashboard.Dashboard:
    """The dashboard after beat's roll-up, as it would be on TODAY."""
    dashboard.figures_refresh(today=TODAY, days=days)
    return dashboard.build(days=days, today=TODAY)


@pytest.fixture
def history():
    """Ten days of a small list: sign-ups, one who left, deliveries in every status, events."""
    day = TODAY - timedelta(days=5)
    long_ago = TODAY - timedelta(days=100)
    readers = [_subscriber(long_ago, long_ago) for _ in range(3)]  # before the window
    _subscriber(day, day)
    _subscriber(day, None, status=Subscriber.Status.PENDING)
    leaver = _subscriber(day, day, status=Subscriber.Status.UNSUBSCRIBED)
    Subscriber.objects.filter(pk=leaver.pk).update(unsubscribed_at=_at(TODAY - timedelta(days=2)))

    deliveries = []
    for offset, statuses in ((1, ["sent", "sent", "skipped"]), (0, ["sent", "unknown", "failed"])):
        for reader, status in zip(readers, statuses, strict=True):
            deliveries.append(
                Delivery.objects.create(
                    subscriber=reader, edition_date=TODAY - timedelta(days=offset), status=status
                )
            )
    sent = deliveries[0]
    _event(sent, "bounced", TODAY - timedelta(days=1), n=1, outcome="suppressed")
    _event(sent, "bounced", TODAY - timedelta(days=1), n=1, outcome="noted")  # soft: not in the rate
    _event(sent, "complained", TODAY, n=1, outcome="suppressed")
    _event(sent, "opened", TODAY, n=4)
    popular = PaperFactory(title="Popular paper", abs_url="https://arxiv.org/abs/2604.11111")
    other = PaperFactory(title="Other paper", pdf_url="https://arxiv.org/pdf/2604.22222")
    _event(sent, "clicked", TODAY, n=3, url="https://arxiv.org/abs/2604.11111/")
    _event(sent, "clicked", TODAY, n=1, url="https://arxiv.org/abs/2604.11111#top")
    _event(sent, "clicked", TODAY, n=2, url="https://arxiv.org/pdf/2604.22222")
    _event(sent, "clicked", TODAY, n=5, url="https://example.org/not-a-paper")
    return {"popular": popular, "other": other}


def test_dashboard_totals(history):
    board = _build(30)

    totals = board.totals
    assert totals["sent"] == 3
    assert (totals["unknown"], totals["failed"]) == (1, 1)
    assert (totals["bounces"], totals["complaints"]) == (1, 1)
    assert totals["bounce_rate"] == pytest.approx(100 / 3)
    assert (totals["opens"], totals["clicks"]) == (4, 11)
    assert totals["signups"] == 3
    assert totals["left"] == 1
    assert totals["subscribed"] == 4  # three from before, two confirmed in the window, one left


def test_most_clicked_papers_match_click_urls_to_paper_links(history):
    board = _build(30)
    ranking = [(row["title"], row["clicks"]) for row in board.top_papers]
    assert ranking == [("Popular paper", 4), ("Other paper", 2)]


def test_subscribers_over_time_is_a_running_total(history):
    chart = _build(10).charts[0]
    subscribed = [row[1] for row in chart.table_rows]
    assert subscribed[0] == 3
    assert subscribed[-6] == 5  # two confirmed five days ago
    assert subscribed[-1] == 4  # one left two days ago
    assert [row[0] for row in chart.table_rows][-1] == TODAY


def test_delivery_bars_stack_by_status_inside_the_plot(history):
    chart = _build(7).charts[2]
    labels = sorted(bar.label for bar in chart.bars)
    assert labels == sorted(
        ["Apr 27: 2 sent", "Apr 27: 1 skipped", "Apr 28: 1 sent", "Apr 28: 1 unknown", "Apr 28: 1 failed"]
    )
    for bar in chart.bars:
        assert chart.plot_left <= bar.x and bar.x + bar.width <= chart.plot_right
        assert bar.y >= dashboard.PAD_TOP - 0.01 and bar.y + bar.height <= chart.plot_bottom + 0.01
    today_bars = [bar for bar in chart.bars if bar.label.startswith("Apr 28")]
    assert sum(bar.height for bar in today_bars) == pytest.approx(
        (chart.plot_bottom - dashboard.PAD_TOP) * 3 / dashboard._nice_max(3)
    )


def test_rates_chart_is_in_percent_of_digests_sent(history):
    chart = _build(7).charts[3]
    by_day = {row[0]: row[1:] for row in chart.table_rows}
    assert by_day[TODAY - timedelta(days=1)] == ["50.00%", "0.00%"]  # 1 hard bounce of 2 sent
    assert by_day[TODAY] == ["0.00%", "100.00%"]  # 1 complaint of 1 sent


def test_empty_dashboard(db):
    board = _build(30)
    assert board.totals["sent"] == 0
    assert board.top_papers == []
    assert all(chart.bars == [] for chart in board.charts)


def test_dashboard_query_count_does_not_grow_with_data(history, django_assert_num_queries):
    dashboard.figures_refresh(today=TODAY, days=30)
    with django_assert_num_queries(2):  # the window's roll-ups, the clicked papers
        dashboard.build(days=30, today=TODAY)
    readers = [SubscriberFactory() for _ in range(40)]
    for offset in range(10):
        for reader in readers:
            Delivery.objects.create(
                subscriber=reader, edition_date=TODAY - timedelta(days=offset), status="sent"
            )
    for n in range(30):
        PaperFactory(abs_url=f"https://arxiv.org/abs/2604.3{n:04d}")
        _event(Delivery.objects.first(), "clicked", TODAY, n=1, url=f"https://arxiv.org/abs/2604.3{n:04d}")
    DailyFigures.objects.all().delete()
    dashboard.figures_refresh(today=TODAY, days=30)
    with django_assert_num_queries(2):
        board = dashboard.build(days=30, today=TODAY)
    assert board.totals["sent"] == 403


def test_nice_axis_maximum():
    assert [dashboard._nice_max(v) for v in (0, 1, 3, 7, 10, 11, 240, 5000)] == [
        1,
        1,
        5,
        10,
        10,
        20,
        500,
        5000,
    ]


@pytest.mark.postgres  # a Postgres query plan
def test_delivery_counts_per_day_can_be_answered_from_the_index_alone(history):
    """A month of a large list's digests is millions of rows: counted from the (edition_date, status)
    index they take a tenth of the time of reading every row (1.0 s -> 0.14 s for 20k readers)."""
    with CaptureQueriesContext(connection) as queries:
        dashboard.figures_compute(TODAY)
    (counts,) = [q["sql"] for q in queries.captured_queries if '"newsletter_delivery"."status"' in q["sql"]]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a ten-row table would be read whole anyway
        cursor.execute(f"EXPLAIN {counts}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Index Only Scan" in plan, plan


def test_running_total_and_daily_signups_are_charted_apart(history):
    """On one axis the total (hundreds) flattened the daily lines and hid its own start under them."""
    total, daily = _build(10).charts[:2]
    assert [line.name for line in total.lines] == ["Subscribed (confirmed, not left)"]
    assert [line.name for line in daily.lines] == ["Sign-ups per day", "Left per day"]


def test_rates_read_alike_whatever_their_size():
    assert [dashboard.percent_text(v) for v in (0, 0.001, 0.004, 0.0051, 1 / 3, 50)] == [
        "0.00%", "< 0.01%", "< 0.01%", "0.01%", "0.33%", "50.00%",
    ]  # fmt: skip


def test_roll_ups_are_kept_up_to_date_for_today_and_filled_in_for_missing_days(history):
    assert dashboard.figures_refresh(today=TODAY, days=30) == 30  # a first run fills the window
    assert dashboard.figures_refresh(today=TODAY, days=30) == 2  # then today and yesterday only
    reader = Subscriber.objects.filter(status="active").first()
    Delivery.objects.create(subscriber=reader, edition_date=TODAY - timedelta(days=3), status="sent")
    Delivery.objects.create(subscriber=SubscriberFactory(), edition_date=TODAY, status="sent")
    dashboard.figures_refresh(today=TODAY, days=30)
    board = dashboard.build(days=30, today=TODAY)
    assert board.totals["sent"] == 4  # today's new row counted; a late row three days back is not
    assert board.as_of is not None


def test_dashboard_reads_no_raw_table(history):
    dashboard.figures_refresh(today=TODAY, days=30)
    with CaptureQueriesContext(connection) as queries:
        dashboard.build(days=30, today=TODAY)
    tables = " ".join(q["sql"] for q in queries.captured_queries)
    for raw in ("newsletter_delivery", "newsletter_providerevent", "subscriptions_subscriber"):
        assert raw not in tables
