"""Source health and scheduling: the outcome of each fetch, backoff of failing feeds, claiming due ones."""

from datetime import datetime, timedelta

from django.utils import timezone

from .conf import fetch_max_backoff
from .models import Source
from .selectors import sources_due


def source_backoff(*, source: Source, failures: int, retry_after: float | None) -> timedelta:
    """How long a failing source rests: its interval, doubled per consecutive failure, capped."""
    interval = source.fetch_interval or timedelta(hours=1)
    pause = min(interval * (2 ** max(failures - 1, 0)), fetch_max_backoff())
    if retry_after is not None:
        pause = max(pause, timedelta(seconds=retry_after))
    return pause


def source_record_result(
    *,
    source: Source,
    status: str,
    now: datetime,
    http_status: int | None = None,
    error: str = "",
    counts: dict[str, int] | None = None,
    etag: str | None = None,
    last_modified: str | None = None,
    retry_after: float | None = None,
) -> Source:
    """Store a fetch's outcome on the source: its health, its counts, when to fetch it next."""
    failed = status == Source.Status.ERROR
    failures = source.consecutive_failures + 1 if failed else 0
    if failed:
        next_fetch = now + source_backoff(source=source, failures=failures, retry_after=retry_after)
    else:
        next_fetch = now + (source.fetch_interval or timedelta(hours=1))
    values = {
        "last_fetched_at": now,
        "next_fetch_at": next_fetch,
        "last_status": status,
        "last_http_status": http_status,
        "last_error": error[:5000],
        "consecutive_failures": failures,
    }
    if not failed:
        values["last_success_at"] = now
        if counts is not None:
            values["last_success_counts"] = counts
    if counts is not None:
        values["last_counts"] = counts
    if etag is not None:
        values["etag"] = etag[:500]
    if last_modified is not None:
        values["last_modified"] = last_modified[:100]
    Source.objects.filter(pk=source.pk).update(**values)
    for name, value in values.items():
        setattr(source, name, value)
    return source


def source_record_new_papers(*, source: Source, new: int, now: datetime) -> Source:
    """Note on the source that an ingest, over the network or from a local file, brought `new` papers.

    An ingest that brought none writes nothing: the source keeps its last new papers' time and count.
    """
    if new <= 0:
        return source
    Source.objects.filter(pk=source.pk).update(last_new_papers_at=now, last_new_papers=new)
    source.last_new_papers_at, source.last_new_papers = now, new
    return source


def sources_claim_due(*, now: datetime | None = None) -> list[int]:
    """Ids of enabled sources due for a fetch, each claimed so that a second beat tick skips it.

    The claim moves next_fetch_at forward by the interval; the fetch then sets it properly. A
    claim is a conditional UPDATE, so two schedulers never both win one source.
    """
    now = now or timezone.now()
    due = sources_due(now=now)
    claimed = []
    for source in due.only("id", "next_fetch_at", "fetch_interval"):
        interval = source.fetch_interval or timedelta(hours=1)
        won = Source.objects.filter(pk=source.pk, next_fetch_at=source.next_fetch_at).update(
            next_fetch_at=now + interval
        )
        if won:
            claimed.append(source.pk)
    return claimed


def source_fetch_soon(*, source: Source, now: datetime) -> Source:
    """Make `source` due now (a fresher copy is wanted before a send); the next claim fetches it.

    Only ever brings the fetch forward: a source already due keeps its time."""
    Source.objects.filter(pk=source.pk, next_fetch_at__gt=now).update(next_fetch_at=now)
    if source.next_fetch_at is None or source.next_fetch_at > now:
        source.next_fetch_at = now
    return source


def source_local(*, kind: str) -> Source:
    """The disabled source local files are credited to when no source is named (`fetch_papers --file`)."""
    source, _created = Source.objects.get_or_create(
        slug=f"local-{kind.replace('_', '-')}",
        defaults={
            "name": f"Local files ({Source.Kind(kind).label})",
            "kind": kind,
            "url": "file:///",
            "enabled": False,
            "fetch_interval": timedelta(days=1),
        },
    )
    return source
