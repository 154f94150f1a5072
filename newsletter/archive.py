"""Reads for the public web: past editions (aggregated over every reader) and per-topic feeds.

Nothing here names a subscriber: an edition is the set of papers that went out on a date, ranked
by how many digests carried each one. Small numbers would still give readers away: on a day only
one digest went out, the edition is that reader's own selection (their topics, keywords, feedback),
and a paper only one digest carried tells that someone has that niche interest. So a date is an
edition only when at least NEWSLETTER_ARCHIVE_MIN_DIGESTS digests were sent on it, and an edition
shows only the papers at least that many digests carried; everything below the threshold is left
out of the archive, not merely unranked.
"""

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Prefetch, QuerySet
from django.utils import timezone

from papers.models import Paper, PaperTopic, Topic
from papers.text import http_url, plain_text, short_authors

from .conf import setting
from .models import Delivery

logger = logging.getLogger(__name__)


def delivered_paper_ids(value) -> list[int]:
    """A Delivery's paper_ids, trusting nothing about the JSON."""
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, int) and not isinstance(item, bool)]


def _visible_topics() -> Prefetch:
    links = PaperTopic.objects.filter(excluded=False, topic__active=True).select_related("topic")
    return Prefetch("paper_topics", queryset=links.order_by("topic__display_order", "topic__name"))


def visible_papers() -> QuerySet[Paper]:
    return Paper.objects.filter(hidden=False).prefetch_related(_visible_topics())


def papers_in_order(paper_ids) -> list[Paper]:
    """The visible papers among `paper_ids`, in that order (a curator may hide one after sending)."""
    ids = delivered_paper_ids(paper_ids)
    by_id = visible_papers().in_bulk(ids)
    return [by_id[pk] for pk in ids if pk in by_id]


def min_digests() -> int:
    """Digests that must have gone out on a date, or carried a paper, for the archive to show it."""
    return max(1, setting("ARCHIVE_MIN_DIGESTS"))


def edition_dates(*, until: date) -> list[date]:
    """Dates on which at least min_digests() digests went out, newest first.

    On Postgres a skip scan: one step down the (edition_date, status) index per date, and for each
    date a count that stops at the threshold. A year of digests for 100k readers is 36M rows; a GROUP
    BY over them (or the DISTINCT it replaced) read them all on every archive page (1.5-2.7 s at 7.3M
    rows), this reads a few index entries per date.
    """
    threshold = min_digests()
    if connection.vendor != "postgresql":
        return list(
            Delivery.objects.filter(status=Delivery.Status.SENT, edition_date__lte=until)
            .values("edition_date")  # GROUP BY edition_date (the ordering is on it too)
            .annotate(digests=Count("id"))
            .filter(digests__gte=threshold)
            .order_by("-edition_date")
            .values_list("edition_date", flat=True)
        )
    table, sent = Delivery._meta.db_table, Delivery.Status.SENT
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH RECURSIVE day(edition_date) AS (
                (SELECT edition_date FROM {table} WHERE status = %(sent)s AND edition_date <= %(until)s
                 ORDER BY edition_date DESC LIMIT 1)
                UNION ALL
                SELECT (SELECT d.edition_date FROM {table} d
                        WHERE d.status = %(sent)s AND d.edition_date < day.edition_date
                        ORDER BY d.edition_date DESC LIMIT 1)
                FROM day WHERE day.edition_date IS NOT NULL
            )
            SELECT edition_date FROM day
            WHERE edition_date IS NOT NULL
              AND (SELECT count(*) FROM (SELECT 1 FROM {table} d
                                         WHERE d.edition_date = day.edition_date AND d.status = %(sent)s
                                         LIMIT %(threshold)s) AS enough) >= %(threshold)s
            ORDER BY edition_date DESC
            """,  # noqa: S608 - the table name comes from _meta
            {"sent": sent, "until": until, "threshold": threshold},
        )
        return [row[0] for row in cursor.fetchall()]


@dataclass(frozen=True)
class PaperCard:
    """A paper as a public page shows it: plain text and web links only."""

    title: str
    link: str
    authors: str
    topics: list[str]
    pdf_url: str
    code_url: str
    hf_url: str
    first_seen_at: object


def paper_card(paper: Paper) -> PaperCard:
    return PaperCard(
        title=paper.title_text,
        link=http_url(paper.abs_url) or http_url(paper.pdf_url),
        authors=short_authors(paper.authors),
        topics=[plain_text(link.topic.name) for link in paper.paper_topics.all()],
        pdf_url=http_url(paper.pdf_url),
        code_url=http_url(paper.code_url),
        hf_url=http_url(paper.hf_url),
        first_seen_at=paper.first_seen_at,
    )


@dataclass
class Edition:
    date: date
    papers: list[PaperCard]


# How long a date's reach (papers -> digests that carried them) is kept: recent dates are still
# being sent (readers' mornings span a day of time zones), older ones change only when a person
# sends a digest again.
_RECENT_REACH_SECONDS = 60
_SETTLED_REACH_SECONDS = 3600


def _reach_key(day: date) -> str:
    return f"archive:reach:{day.isoformat()}"


def _reach(dates: list[date]) -> dict[date, dict[int, int]]:
    """For each date, how many sent digests carried each paper; one query for the dates not cached.

    Readers with the same selection share one paper list, so grouping by it keeps the rows few; still,
    a date of 100k readers is 100k rows to group, so each date's answer is cached (the papers shown,
    hidden or edited since, are read fresh every time)."""
    try:
        found = cache.get_many([_reach_key(day) for day in dates])
    except Exception:  # the cache (Redis) is down: the archive still answers, from the database
        logger.warning("archive: cache unavailable, counting from the database", exc_info=True)
        found = {}
    reach = {day: found[_reach_key(day)] for day in dates if _reach_key(day) in found}
    missing = [day for day in dates if day not in reach]
    if missing:
        counted: dict[date, dict[int, int]] = {day: defaultdict(int) for day in missing}
        rows = (
            Delivery.objects.filter(status=Delivery.Status.SENT, edition_date__in=missing)
            .order_by()
            .values("edition_date", "paper_ids")
            .annotate(digests=Count("id"))
        )
        for row in rows:
            for pk in set(delivered_paper_ids(row["paper_ids"])):
                counted[row["edition_date"]][pk] += row["digests"]
        settled_before = timezone.localdate() - timedelta(days=1)
        settled, recent = {}, {}
        for day, counts in counted.items():
            reach[day] = dict(counts)
            (settled if day < settled_before else recent)[_reach_key(day)] = reach[day]
        try:
            cache.set_many(settled, _SETTLED_REACH_SECONDS)
            cache.set_many(recent, _RECENT_REACH_SECONDS)
        except Exception:
            logger.warning("archive: cache unavailable, counts not kept", exc_info=True)
    return reach


def editions_for(dates: list[date]) -> list[Edition]:
    """Each date's papers carried by at least min_digests() digests, most widely sent first (so a
    date with fewer digests than that has no papers); two queries whatever the number of readers."""
    reach = _reach(dates)
    # A paper fewer digests carried would point at the few readers who got it: it is not shown.
    threshold = min_digests()
    shown = {day: {pk: n for pk, n in counts.items() if n >= threshold} for day, counts in reach.items()}
    all_ids = {pk for per_day in shown.values() for pk in per_day}
    papers = visible_papers().in_bulk(all_ids) if all_ids else {}
    editions = []
    for day in dates:
        counts = shown.get(day, {})
        ranked = sorted(
            (papers[pk] for pk in counts if pk in papers), key=lambda paper: (-counts[paper.pk], paper.title)
        )
        editions.append(Edition(date=day, papers=[paper_card(paper) for paper in ranked]))
    return editions


FEED_SIZE = 30  # newest papers in a topic feed; feed readers poll often and keep their own history


def topic_feed_papers(topic: Topic) -> list[Paper]:
    return list(
        visible_papers()
        .filter(paper_topics__topic=topic, paper_topics__excluded=False)
        .order_by("-first_seen_at", "-id")[:FEED_SIZE]
    )
