"""One path from a feed to tagged papers: fetch -> parse -> upsert -> tag -> rank -> record health.

`source_fetch` is what the worker and `fetch_papers` run; `source_ingest_bytes` is the same path
from the parse step on, for local files (`fetch_papers --file`, the demo, offline use).
The network fetch happens outside any transaction; the writes happen in short transactions.
"""

import logging
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from .exceptions import FeedError, FeedFormatError
from .fetching import fetch_feed
from .models import Source
from .parsing import parse_feed
from .sources import source_record_new_papers, source_record_result
from .tag_writes import active_topic_index, paper_topics_assign
from .trending import papers_rank
from .upsert import paper_upsert_many

logger = logging.getLogger(__name__)

_ERROR_SAMPLES = 5  # entry errors quoted in the source's last_error


@dataclass
class IngestCounts:
    fetched: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    errors: int = 0

    def add(self, other: "IngestCounts") -> None:
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)

    def as_dict(self) -> dict[str, int]:
        return asdict(self)

    def summary(self) -> str:
        return " ".join(f"{name}={value}" for name, value in asdict(self).items())


@dataclass
class IngestReport:
    status: str
    counts: IngestCounts = field(default_factory=IngestCounts)
    error: str = ""
    http_status: int | None = None
    # Wall-clock seconds per stage (fetch, parse, upsert, tag, rank): logs and bench_ingest.
    seconds: dict[str, float] = field(default_factory=dict)


def _since(started: float) -> tuple[float, float]:
    """(seconds since `started`, now) for timing one stage after another."""
    now = time.perf_counter()
    return now - started, now


def _ingest(*, source: Source, kind: str, body: bytes, now: datetime) -> tuple[IngestReport, bool]:
    """Parse and store; returns the report and whether the whole document was read cleanly."""
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    parsed = parse_feed(kind, body)
    seconds["parse"], started = _since(started)
    counts = IngestCounts(fetched=parsed.entry_count, errors=len(parsed.errors))
    result = paper_upsert_many(source=source, records=parsed.records, now=now)
    seconds["upsert"], started = _since(started)
    source_record_new_papers(source=source, new=result.new, now=now)
    counts.new, counts.updated, counts.unchanged, counts.skipped = (
        result.new,
        result.updated,
        result.unchanged,
        result.skipped,
    )
    if result.papers_to_tag:
        with transaction.atomic():
            paper_topics_assign(
                papers=result.papers_to_tag, index=active_topic_index(), new_paper_ids=result.new_paper_ids
            )
    seconds["tag"], started = _since(started)
    if result.papers_to_rank:
        with transaction.atomic():
            papers_rank(papers=result.papers_to_rank, now=now)
    seconds["rank"], started = _since(started)

    problems = []
    if parsed.warning:
        problems.append(parsed.warning)
    problems.extend(
        f"entry {e.position} ({e.guid or 'no id'}): {e.reason}" for e in parsed.errors[:_ERROR_SAMPLES]
    )
    if len(parsed.errors) > _ERROR_SAMPLES:
        problems.append(f"… and {len(parsed.errors) - _ERROR_SAMPLES} more rejected entries")
    if problems:
        status = Source.Status.PARTIAL if parsed.records else Source.Status.ERROR
    elif parsed.entry_count == 0:
        # arXiv publishes nothing on weekends and holidays: an empty listing is normal.
        status = Source.Status.EMPTY
    else:
        status = Source.Status.OK
    report = IngestReport(status=status, counts=counts, error="\n".join(problems), seconds=seconds)
    return report, not problems


def source_fetch(*, source: Source, now: datetime | None = None) -> IngestReport:
    """Fetch one source over HTTP and ingest it. Never raises for feed problems: they are recorded."""
    now = now or timezone.now()
    started = time.perf_counter()
    try:
        fetched = fetch_feed(
            url=source.url, kind=source.kind, etag=source.etag, last_modified=source.last_modified
        )
    except FeedError as exc:
        logger.warning("fetching %s failed: %s", source.slug, exc)
        return _record_failure(
            source=source, now=now, error=str(exc), http_status=exc.http_status, retry_after=exc.retry_after
        )
    fetch_seconds = time.perf_counter() - started

    if fetched.not_modified:
        source_record_result(
            source=source,
            status=Source.Status.NOT_MODIFIED,
            now=now,
            http_status=304,
            counts=IngestCounts().as_dict(),
        )
        return IngestReport(status=Source.Status.NOT_MODIFIED, http_status=304)

    try:
        report, complete = _ingest(source=source, kind=source.kind, body=fetched.body or b"", now=now)
    except FeedFormatError as exc:
        logger.warning("reading %s failed: %s", source.slug, exc)
        # A bad document must not be answered by 304 next time: forget the validators.
        return _record_failure(
            source=source, now=now, error=str(exc), http_status=fetched.status_code, etag="", last_modified=""
        )

    report.http_status = fetched.status_code
    report.seconds = {"fetch": fetch_seconds, **report.seconds}
    source_record_result(
        source=source,
        status=report.status,
        now=now,
        http_status=fetched.status_code,
        error=report.error,
        counts=report.counts.as_dict(),
        # Validators are kept only for a document read in full; a truncated one is fetched again.
        etag=fetched.etag if complete else "",
        last_modified=fetched.last_modified if complete else "",
    )
    return report


def source_ingest_bytes(*, source: Source, body: bytes, kind: str | None = None) -> IngestReport:
    """Ingest a document already in hand (a local file) as if `source` had served it.

    The source's health and validators are left alone: they describe its network fetches. The papers
    it brought are noted on the source like a fetch's (last_new_papers_at).
    """
    now = timezone.now()
    try:
        report, _complete = _ingest(source=source, kind=kind or source.kind, body=body, now=now)
    except FeedFormatError as exc:
        return IngestReport(status=Source.Status.ERROR, error=str(exc), counts=IngestCounts(errors=1))
    return report


def _record_failure(
    *, source: Source, now, error: str, http_status: int | None, **result_fields
) -> IngestReport:
    """A fetch or a document that failed as a whole: recorded on the source, reported as an error."""
    source_record_result(
        source=source,
        status=Source.Status.ERROR,
        now=now,
        http_status=http_status,
        error=error,
        counts=IngestCounts(errors=1).as_dict(),
        **result_fields,
    )
    return IngestReport(status=Source.Status.ERROR, error=error, http_status=http_status)
