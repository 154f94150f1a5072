"""The trending signal is at most an hour old at each send: the scheduling rule and its writes."""

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from config.celery import app
from newsletter.freshness import (
    MIN_FETCH_GAP,
    REFRESH_TICK,
    SIGNAL_MAX_AGE,
    next_send_slot,
    refresh_due,
    trending_signal_refresh,
)
from papers.models import Paper, Source
from papers.tests.factories import PaperFactory
from subscriptions.models import Subscriber
from subscriptions.tests.factories import SubscriberFactory

NOW = datetime(2026, 2, 2, 6, 40, tzinfo=UTC)  # a Monday; readers at 07:00 UTC are 20 minutes away
SLOT = datetime(2026, 2, 2, 7, 0, tzinfo=UTC)


def test_refresh_when_a_slot_is_near_and_the_last_fetch_would_be_too_old_then():
    assert refresh_due(
        now=NOW, next_send_at=SLOT, last_fetched_at=NOW - timedelta(minutes=50), backing_off=False
    )
    assert refresh_due(now=NOW, next_send_at=SLOT, last_fetched_at=None, backing_off=False)


@pytest.mark.parametrize(
    "next_send_at, last_fetched_at, backing_off",
    [
        (None, NOW - timedelta(hours=3), False),  # nobody due soon
        (NOW + timedelta(minutes=50), NOW - timedelta(hours=3), False),  # the slot is not near yet
        (SLOT, NOW - timedelta(minutes=20), False),  # 40 minutes old at send time: fresh enough
        (SLOT, NOW - timedelta(minutes=10), False),  # fetched 10 minutes ago: Hugging Face is spared
        (SLOT, NOW - timedelta(hours=3), True),  # failing, or asked to wait (Retry-After): it waits
    ],
)
def test_no_refresh(next_send_at, last_fetched_at, backing_off):
    assert not refresh_due(
        now=NOW, next_send_at=next_send_at, last_fetched_at=last_fetched_at, backing_off=backing_off
    )


def _simulate_a_day(*, refresh: bool) -> tuple[timedelta, list[datetime]]:
    """Beat every REFRESH_TICK; the source's own hourly interval; a fetch completes 3 minutes after the
    tick that claims it. Readers in zones whose delivery hours start on the hour and on the half hour.
    Returns the oldest the signal was at a slot, and when fetches completed."""
    start = datetime(2026, 2, 2, 0, 0, tzinfo=UTC)
    slots = [start + timedelta(hours=h) for h in range(1, 24)]
    slots += [start + timedelta(hours=h, minutes=30) for h in (4, 9)]
    latency = timedelta(minutes=3)
    last_fetched, next_fetch, fetches, oldest = None, start, [], timedelta(0)
    now = start
    while now < start + timedelta(days=1):
        upcoming = min((s for s in slots if s >= now), default=None)
        if refresh and refresh_due(
            now=now, next_send_at=upcoming, last_fetched_at=last_fetched, backing_off=False
        ):
            next_fetch = now
        if next_fetch <= now:  # fetch_due_sources claims it on this tick
            last_fetched = now + latency
            fetches.append(last_fetched)
            next_fetch = last_fetched + timedelta(hours=1)
        for slot in slots:
            if now < slot <= now + REFRESH_TICK:
                oldest = max(oldest, slot - max(f for f in fetches if f <= slot))
        now += REFRESH_TICK
    return oldest, fetches


def test_a_day_of_ticks_keeps_the_signal_under_an_hour_old_at_every_slot_within_the_rate_limit():
    oldest, fetches = _simulate_a_day(refresh=True)
    assert oldest <= SIGNAL_MAX_AGE
    assert min(b - a for a, b in itertools.pairwise(fetches)) >= MIN_FETCH_GAP
    assert len(fetches) <= 24 * 2
    # The hourly interval alone drifts past the promise (each fetch lands a tick later than the last).
    assert _simulate_a_day(refresh=False)[0] > SIGNAL_MAX_AGE


def test_beat_runs_the_refresh_as_often_as_the_rule_assumes():
    entry = app.conf.beat_schedule["newsletter-refresh-trending-signal"]
    assert entry["task"] == "newsletter.tasks.refresh_trending_signal"
    assert entry["schedule"] <= REFRESH_TICK
    assert app.conf.beat_schedule["papers-fetch-due-sources"]["schedule"] <= REFRESH_TICK


@pytest.mark.django_db
def test_the_next_slot_counts_the_readers_due_then_in_their_own_zones():
    SubscriberFactory(delivery_hour=7, timezone="UTC")
    SubscriberFactory(delivery_hour=8, timezone="Europe/Paris")  # 07:00 UTC in winter
    SubscriberFactory(delivery_hour=9, timezone="UTC")  # later than the lead
    SubscriberFactory(delivery_hour=7, timezone="UTC", paused=True)  # receives nothing
    SubscriberFactory(
        delivery_hour=7, timezone="UTC", frequency=Subscriber.Frequency.WEEKLY, delivery_weekday=3
    )
    assert next_send_slot(now=NOW) == (SLOT, 2)
    assert next_send_slot(now=NOW - timedelta(hours=2)) is None


@pytest.mark.django_db
def test_the_refresh_brings_the_hugging_face_fetch_forward_unless_it_is_backing_off():
    source = Source.objects.get(slug="hf-daily-papers")
    arxiv = Source.objects.exclude(kind=Source.Kind.HF_DAILY).first()
    Source.objects.filter(pk=source.pk).update(
        last_fetched_at=NOW - timedelta(minutes=50), next_fetch_at=NOW + timedelta(minutes=10)
    )
    Source.objects.filter(pk=arxiv.pk).update(next_fetch_at=NOW + timedelta(minutes=10))
    SubscriberFactory(delivery_hour=7, timezone="UTC")
    assert trending_signal_refresh(now=NOW) == [source.pk]
    source.refresh_from_db()
    arxiv.refresh_from_db()
    assert source.next_fetch_at == NOW and arxiv.next_fetch_at == NOW + timedelta(minutes=10)
    assert trending_signal_refresh(now=NOW) == [source.pk]  # again: already due, nothing moves
    source.refresh_from_db()
    assert source.next_fetch_at == NOW

    Source.objects.filter(pk=source.pk).update(consecutive_failures=2, next_fetch_at=NOW + timedelta(hours=2))
    assert trending_signal_refresh(now=NOW) == []
    source.refresh_from_db()
    assert source.next_fetch_at == NOW + timedelta(hours=2)


@pytest.mark.django_db
def test_a_hugging_face_fetch_recomputes_every_recent_papers_trending_score(monkeypatch):
    from papers import tasks
    from papers.ingest import IngestCounts, IngestReport

    stale = PaperFactory(hf_upvotes=10, hf_comments=0, trending_score=99.0, first_seen_at=timezone.now())
    source = Source.objects.get(slug="hf-daily-papers")
    monkeypatch.setattr(
        tasks, "source_fetch", lambda source: IngestReport(status=Source.Status.OK, counts=IngestCounts())
    )
    assert tasks.fetch_source(source.pk) == Source.Status.OK
    stale = Paper.objects.get(pk=stale.pk)
    assert stale.trending_score == pytest.approx(10.0, rel=0.01)
