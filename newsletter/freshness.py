"""A fresh trending signal at every send: the Hugging Face list is fetched again before busy send hours.

The promise: the trending score a digest ranks by is at most SIGNAL_MAX_AGE old at the reader's send
time. Upvotes and comments come from the Hugging Face daily list (a Source of kind hf_daily, fetched
every hour by its own interval); after each of its ingests every recent paper's score is recomputed
(papers.tasks.fetch_source). An hourly fetch alone can leave a score an hour and a few minutes old
(beat's five-minute tick, the fetch itself), so beat runs `trending_signal_refresh` every
REFRESH_TICK: when a send slot (the start of a local delivery hour with readers due) comes within
REFRESH_LEAD and the last fetch would then be older than SIGNAL_MAX_AGE - SLACK, the source's next
fetch is brought forward to now, and the next `fetch_due_sources` tick fetches it (one claim, as for
any due source).

Hugging Face's limits are honoured: never two fetches within MIN_FETCH_GAP, and a source that is
backing off (a failure, a Retry-After) is left alone: its pause stands. Slots sit on the hour or the
half hour (zone offsets), so the extra fetches are at most two an hour, and none in a quiet hour.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db.models import Count
from django.utils import timezone

from papers.models import Source
from papers.sources import source_fetch_soon
from subscriptions.models import Subscriber
from subscriptions.selectors import receiving

SIGNAL_MAX_AGE = timedelta(hours=1)  # the promise: the score is at most this old at send time
SLACK = timedelta(minutes=15)  # a fetch, its ingest and the trending recompute take a few minutes
REFRESH_LEAD = timedelta(minutes=30)  # how long before a slot a refresh may be started
MIN_FETCH_GAP = timedelta(minutes=15)  # at most four fetches an hour, whatever the slots
REFRESH_TICK = timedelta(minutes=5)  # beat's interval (config.celery); fetch_due_sources's too


def refresh_due(
    *,
    now: datetime,
    next_send_at: datetime | None,
    last_fetched_at: datetime | None,
    backing_off: bool,
) -> bool:
    """Whether the trending source must be fetched now for the next send slot's signal to be fresh."""
    if next_send_at is None or backing_off:
        return False
    if not (timedelta(0) <= next_send_at - now <= REFRESH_LEAD):
        return False  # no slot soon: the hourly interval is enough
    if last_fetched_at is None:
        return True
    if now - last_fetched_at < MIN_FETCH_GAP:
        return False
    return next_send_at - last_fetched_at > SIGNAL_MAX_AGE - SLACK


def next_send_slot(*, now: datetime, horizon: timedelta = REFRESH_LEAD) -> tuple[datetime, int] | None:
    """The first instant in [now, now + horizon] at which a local delivery hour with readers due
    starts, with how many readers it holds (one aggregate query); None when there is none."""
    slots: Counter[datetime] = Counter()
    rows = (
        receiving()
        .values("timezone", "delivery_hour", "frequency", "delivery_weekday")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for row in rows:
        start = _next_local_hour(now, row["timezone"], row["delivery_hour"], horizon=horizon)
        if start is None:
            continue
        weekly = row["frequency"] == Subscriber.Frequency.WEEKLY
        if weekly and start.astimezone(_zone(row["timezone"])).weekday() != row["delivery_weekday"]:
            continue
        slots[start] += row["n"]
    if not slots:
        return None
    first = min(slots)
    return first, slots[first]


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")  # planning treats an unknown zone the same way


def _next_local_hour(now: datetime, zone_name: str, hour: int, *, horizon: timedelta) -> datetime | None:
    local = now.astimezone(_zone(zone_name))
    for days in (0, 1):
        candidate = (local + timedelta(days=days)).replace(hour=hour, minute=0, second=0, microsecond=0)
        if now <= candidate <= now + horizon:
            return candidate
    return None


def trending_signal_refresh(*, now: datetime | None = None) -> list[int]:
    """Bring the trending sources' next fetch forward when a send slot needs a fresher signal.

    Returns the ids of the sources moved (none most of the time)."""
    now = now or timezone.now()
    slot = next_send_slot(now=now)
    if slot is None:
        return []
    moved = []
    for source in Source.objects.filter(enabled=True, kind=Source.Kind.HF_DAILY):
        backing_off = source.consecutive_failures > 0 and (source.next_fetch_at or now) > now
        if refresh_due(
            now=now, next_send_at=slot[0], last_fetched_at=source.last_fetched_at, backing_off=backing_off
        ):
            source_fetch_soon(source=source, now=now)
            moved.append(source.pk)
    return moved
