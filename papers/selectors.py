"""Reads for papers: what digests, the site and the admin ask of the database."""

from datetime import datetime

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from .models import Paper, PaperSighting, PaperTopic, Source


def papers_visible() -> QuerySet[Paper]:
    """Papers that may be shown anywhere: not hidden by a curator."""
    return Paper.objects.filter(hidden=False)


def papers_for_topics(
    *, topic_ids: list[int], since: datetime | None = None, limit: int | None = None
) -> QuerySet[Paper]:
    """Visible papers tagged (not excluded) with any of these topics: featured, then trending, then newest."""
    tagged = PaperTopic.objects.filter(paper=OuterRef("pk"), topic_id__in=topic_ids, excluded=False)
    papers = papers_visible().filter(Exists(tagged))
    if since is not None:
        papers = papers.filter(first_seen_at__gte=since)
    papers = papers.order_by("-featured", "-trending_score", "-first_seen_at", "-id")
    return papers[:limit] if limit else papers


def papers_trending(*, since: datetime | None = None, limit: int = 10) -> QuerySet[Paper]:
    papers = papers_visible()
    if since is not None:
        papers = papers.filter(first_seen_at__gte=since)
    return papers.order_by("-featured", "-trending_score", "-first_seen_at", "-id")[:limit]


def sources_due(*, now: datetime) -> QuerySet[Source]:
    return Source.objects.filter(enabled=True).filter(
        Q(next_fetch_at__isnull=True) | Q(next_fetch_at__lte=now)
    )


def sources_with_paper_counts(*, sources: QuerySet[Source]) -> QuerySet[Source]:
    """`sources` with `paper_count`: the papers seen in each (one seen under two entry ids counts once)."""
    counts = (
        PaperSighting.objects.filter(source=OuterRef("pk"))
        .order_by()
        .values("source")
        .annotate(papers=Count("paper", distinct=True))
        .values("papers")
    )
    return sources.annotate(paper_count=Coalesce(Subquery(counts), 0))
