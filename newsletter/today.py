"""The curators' Today page: the day's new papers in digest order, and whom each would reach.

A paper reaches the readers who receive digests and follow one of its topics (keywords and the digest's
size are left out: the first is rare and the second differs per reader, so the figure is an upper
bound, and it is called "up to"). Readers are counted by their topic sets: one pass over the readers'
topics gives {topic set: readers}, kept in the cache and refreshed by beat (`refresh_reader_topic_sets`),
so a page load at a million readers never reads the subscribers table. Every reach is then a sum
over that histogram (numpy), whatever the list's size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
from django.core.cache import cache
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import mark_safe

from papers.models import Paper, PaperTopic, Topic
from subscriptions.models import Subscriber
from subscriptions.selectors import receiving

CACHE_KEY = "newsletter:today:reader-topic-sets"
CACHE_SECONDS = 30 * 60  # beat refreshes it every 10 minutes; a missed run or two still serves the page
PAGE_SIZE = 50  # a day brings a few hundred papers; each row carries a re-topic choice per topic


@dataclass(frozen=True)
class ReaderTopicSets:
    """How many receiving readers follow each exact set of topics: row n of `follows` is a set (a
    column per topic of `topic_ids`), `counts[n]` its readers."""

    topic_ids: tuple[int, ...]
    follows: np.ndarray  # bool, distinct topic sets x topics
    counts: np.ndarray  # int64, readers per topic set
    readers: int
    computed_at: datetime

    def _columns(self, topic_ids) -> list[int]:
        index = {topic_id: n for n, topic_id in enumerate(self.topic_ids)}
        return sorted(index[topic_id] for topic_id in topic_ids if topic_id in index)

    def reach(self, topic_ids) -> int:
        """Readers following at least one of `topic_ids`."""
        columns = self._columns(topic_ids)
        if not columns or not len(self.counts):
            return 0
        return int(self.counts[self.follows[:, columns].any(axis=1)].sum())

    def changes(self, topic_ids) -> dict[int, int]:
        """{topic id: readers gained (+) by adding that topic to `topic_ids`, or lost (-) by removing it}."""
        if not len(self.counts):
            return dict.fromkeys(self.topic_ids, 0)
        columns = self._columns(topic_ids)
        matched = self.follows[:, columns]
        none = ~matched.any(axis=1)
        gained = self.counts[none] @ self.follows[none]  # per topic: readers it alone would bring
        result = {topic_id: int(gained[n]) for n, topic_id in enumerate(self.topic_ids)}
        only_one = matched.sum(axis=1) == 1
        for position, column in enumerate(columns):
            result[self.topic_ids[column]] = -int(self.counts[only_one & matched[:, position]].sum())
        return result


def reader_topic_sets_compute() -> ReaderTopicSets:
    """One ordered pass over the receiving readers' topic rows (a background job at scale)."""
    through = Subscriber.topics.through
    topic_ids = tuple(Topic.objects.order_by("pk").values_list("pk", flat=True))
    bits = {topic_id: n for n, topic_id in enumerate(topic_ids)}
    histogram: dict[int, int] = {}
    rows = (
        through.objects.filter(subscriber__in=receiving())
        .order_by("subscriber_id")
        .values_list("subscriber_id", "topic_id")
        .iterator(chunk_size=20_000)
    )
    current, mask = None, 0
    for subscriber_id, topic_id in rows:
        if subscriber_id != current:
            if current is not None:
                histogram[mask] = histogram.get(mask, 0) + 1
            current, mask = subscriber_id, 0
        if topic_id in bits:  # a topic created since the list above was read counts next time
            mask |= 1 << bits[topic_id]
    if current is not None:
        histogram[mask] = histogram.get(mask, 0) + 1
    follows = np.zeros((len(histogram), len(topic_ids)), dtype=bool)
    for row, mask in enumerate(histogram):
        for column in range(len(topic_ids)):
            if mask >> column & 1:
                follows[row, column] = True
    return ReaderTopicSets(
        topic_ids=topic_ids,
        follows=follows,
        counts=np.fromiter(histogram.values(), dtype=np.int64, count=len(histogram)),
        readers=sum(histogram.values()),
        computed_at=timezone.now(),
    )


def refresh_reader_topic_sets() -> ReaderTopicSets:
    sets = reader_topic_sets_compute()
    cache.set(CACHE_KEY, sets, CACHE_SECONDS)
    return sets


def reader_topic_sets() -> ReaderTopicSets:
    """The cached histogram, computed now when beat has not yet (a fresh install, a flushed cache)."""
    sets = cache.get(CACHE_KEY)
    return sets if sets is not None else refresh_reader_topic_sets()


def forget_reader_topic_sets() -> None:
    cache.delete(CACHE_KEY)


@dataclass
class TodayPaper:
    paper: Paper
    topics: list[Topic]
    reach: int
    # Re-topic choices: (topic, readers the change adds (+) or removes (-)).
    topic_changes: list[tuple[Topic, int]]

    labels: dict[int, str] = field(default_factory=dict)  # topic id: its name, escaped once a page

    def _options(self, adding: bool) -> str:
        # Built here, from names escaped once: 50 papers x every topic in the template, or through
        # format_html, was most of the page's time.
        own = {topic.pk for topic in self.topics}
        sign = "+" if adding else "\u2212"
        return mark_safe(  # noqa: S308 - names escaped in today_papers, the rest are numbers
            "".join(
                f'<option value="{topic.pk}">{sign} {self.labels[topic.pk]} ({change:+d} digests)</option>'
                for topic, change in self.topic_changes
                if (topic.pk in own) != adding
            )
        )

    @property
    def add_options(self) -> str:
        return self._options(adding=True)

    @property
    def remove_options(self) -> str:
        return self._options(adding=False)


def today_papers(
    *, now: datetime | None = None, page: int = 1, page_size: int = PAGE_SIZE
) -> tuple[list[TodayPaper], int, ReaderTopicSets]:
    """Papers first seen in the last day, in the order digests rank them among equals: featured
    first, then trending score, then the newest (each reader's topic and keyword relevance comes
    before trending in their own digest). Hidden papers are listed last, to be unhidden. Returns
    one page of them, how many there are in all, and the readers' counts."""
    now = now or timezone.now()
    shown = PaperTopic.objects.filter(excluded=False).select_related("topic").order_by("-score")
    day = Paper.objects.filter(first_seen_at__gte=now - timedelta(days=1), first_seen_at__lte=now)
    start = (max(page, 1) - 1) * page_size
    papers = list(
        day.defer("abstract", "ai_summary", "comment")
        .prefetch_related(Prefetch("paper_topics", queryset=shown, to_attr="shown_topics"))
        .order_by("hidden", "-featured", "-trending_score", "-first_seen_at", "-pk")[
            start : start + page_size
        ]
    )
    sets = reader_topic_sets()
    all_topics = list(Topic.objects.filter(active=True).order_by("display_order", "name"))
    labels = {topic.pk: escape(topic.name) for topic in all_topics}
    topic_ids = [topic.pk for topic in all_topics]
    # Papers of a day share topic sets: each set's reach and changes are worked out once a page
    # (a pass over the readers' distinct topic sets each, which grow with the list).
    counted: dict[frozenset[int], tuple[int, list[tuple[Topic, int]]]] = {}
    rows = []
    for paper in papers:
        topics = [row.topic for row in paper.shown_topics]
        own = frozenset(topic.pk for topic in topics)
        if own not in counted:
            change = sets.changes(own)
            counted[own] = (
                sets.reach(own),
                [(topic, change.get(pk, 0)) for topic, pk in zip(all_topics, topic_ids, strict=True)],
            )
        reach, topic_changes = counted[own]
        rows.append(
            TodayPaper(paper=paper, topics=topics, reach=reach, topic_changes=topic_changes, labels=labels)
        )
    return rows, day.count(), sets
