"""Reads for the public web: past editions (aggregated over every reader) and per-topic feeds.

Nothing here names a subscriber: an edition is the set of papers that went out on a date, ranked
by how many digests carried each one.
"""

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from django.db.models import Count, Prefetch, QuerySet

from papers.models import Paper, PaperTopic, Topic

from .models import Delivery

_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_WHITESPACE = re.compile(r"\s+")


def clean_text(value) -> str:
    """Stored paper text for display: it is plain text already (papers.normalise made it so at
    ingest), so "x<y" or "The &lt;b&gt; tag" are words to show, not markup to strip again. Only
    control characters (XML 1.0 cannot carry them) and runs of white space go; escaping is the
    template's and the feed generator's job."""
    if not isinstance(value, str):
        return ""
    return _WHITESPACE.sub(" ", _CONTROL_CHARS.sub("", value)).strip()


def safe_url(value) -> str:
    """The URL when it is a web link; "" for javascript:, data: and anything else a feed made up."""
    url = value.strip() if isinstance(value, str) else ""
    if len(url) > 2000 or any(ord(char) < 33 for char in url):
        return ""
    return url if url.lower().startswith(("https://", "http://")) else ""


def short_authors(authors, limit: int = 3) -> str:
    names = (
        [clean_text(name) for name in authors if isinstance(name, str)] if isinstance(authors, list) else []
    )
    if len(names) > limit:
        return ", ".join(names[:limit]) + " et al."
    return ", ".join(names)


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


def edition_dates(*, until: date) -> QuerySet:
    """Dates on which at least one digest went out, newest first."""
    return (
        Delivery.objects.filter(status=Delivery.Status.SENT, edition_date__lte=until)
        .order_by("-edition_date")
        .values_list("edition_date", flat=True)
        .distinct()
    )


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
        title=clean_text(paper.title),
        link=safe_url(paper.abs_url) or safe_url(paper.pdf_url),
        authors=short_authors(paper.authors),
        topics=[clean_text(link.topic.name) for link in paper.paper_topics.all()],
        pdf_url=safe_url(paper.pdf_url),
        code_url=safe_url(paper.code_url),
        hf_url=safe_url(paper.hf_url),
        first_seen_at=paper.first_seen_at,
    )


@dataclass
class Edition:
    date: date
    papers: list[PaperCard]


def editions_for(dates: list[date]) -> list[Edition]:
    """Each date's papers, most widely sent first; two queries whatever the number of readers."""
    # Readers with the same selection share one paper list, so grouping by it keeps the rows few.
    rows = (
        Delivery.objects.filter(status=Delivery.Status.SENT, edition_date__in=dates)
        .order_by()
        .values("edition_date", "paper_ids")
        .annotate(digests=Count("id"))
    )
    reach: dict[date, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for row in rows:
        for pk in set(delivered_paper_ids(row["paper_ids"])):
            reach[row["edition_date"]][pk] += row["digests"]
    all_ids = {pk for per_day in reach.values() for pk in per_day}
    papers = visible_papers().in_bulk(all_ids) if all_ids else {}
    editions = []
    for day in dates:
        counts = reach.get(day, {})
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
