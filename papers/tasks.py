"""Celery adapters for papers: load by id, call one service. All run on the `ingest` queue."""

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.db import transaction
from django.utils import timezone

from .ingest import source_fetch
from .models import Source
from .sources import source_record_result, sources_claim_due
from .tag_writes import papers_retag, topic_retag
from .trending import trending_recompute

logger = logging.getLogger(__name__)


@shared_task
def fetch_due_sources() -> int:
    """Fan out: one fetch_source task per due source, so that one slow or broken feed delays no other."""
    with transaction.atomic():
        source_ids = sources_claim_due()
        for source_id in source_ids:
            fetch_source.delay_on_commit(source_id)
    return len(source_ids)


# No Celery retries: every feed failure is recorded on the Source and the source's next_fetch_at
# is pushed back (Retry-After, else a backoff that doubles per failure); beat fetches it again then.
# A crashed worker (acks_late) redelivers the task; fetching twice is harmless (the upsert is idempotent).
@shared_task(soft_time_limit=240, time_limit=300)
def fetch_source(source_id: int) -> str:
    source = Source.objects.filter(pk=source_id).first()
    if source is None:
        logger.info("source %s no longer exists", source_id)
        return "missing"
    try:
        report = source_fetch(source=source)
    except SoftTimeLimitExceeded:
        # Slower than the task's time limit (a huge or dripping feed): say so on the source.
        source_record_result(
            source=source, status=Source.Status.ERROR, now=timezone.now(), error="fetch took too long"
        )
        raise
    logger.info("fetched %s: %s %s", source.slug, report.status, report.counts.summary())
    if source.kind == Source.Kind.HF_DAILY and report.status != Source.Status.ERROR:
        # Fresh upvotes and comments: every recent paper's score now, not at the next half-hourly decay,
        # so the digests about to be composed rank by this very signal (newsletter.freshness).
        trending_recompute()
    return report.status


@shared_task
def recompute_trending() -> int:
    return trending_recompute()


@shared_task(soft_time_limit=1200, time_limit=1300)
def retag_topic(topic_id: int) -> dict:
    return topic_retag(topic_id=topic_id)


@shared_task
def retag_papers(paper_ids: list[int]) -> dict:
    return papers_retag(paper_ids=paper_ids)
