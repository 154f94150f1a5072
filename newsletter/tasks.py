"""Celery tasks of the newsletter: thin adapters that load by id and call one service.

Services queue these tasks (send again), so a task calls the domain modules (planning, sending,
delivery_rows), never newsletter.services. Queueing sends for delivery ids is `deliveries_enqueue`.
"""

import ctypes
import random
import socket
from datetime import datetime

from celery import shared_task
from django.utils import timezone

from .conf import setting
from .delivery_rows import deliveries_sweep
from .freshness import trending_signal_refresh
from .models import WorkerHeartbeat, WorkerPing
from .planning import deliveries_plan
from .sending import deliveries_send_chunk


def release_freed_memory() -> None:
    """Hand the heap pages a chunk freed back to the OS (glibc keeps them otherwise).

    A chunk builds ~20 MB of message bodies in many 40-kB strings; without this a worker's resident
    size creeps up chunk after chunk with fragmentation instead of staying flat."""
    if _libc is not None:
        _libc.malloc_trim(0)


def _load_libc():
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.malloc_trim  # noqa: B018 - glibc only; musl and macOS have no malloc_trim
        return libc
    except (OSError, AttributeError):
        return None


_libc = _load_libc()


@shared_task
def worker_heartbeat() -> None:
    """Record that a worker is alive; /healthz reports the latest one."""
    WorkerHeartbeat.objects.update_or_create(
        hostname=socket.gethostname(), defaults={"seen_at": timezone.now()}
    )


@shared_task
def answer_ping(ping_id: int) -> None:
    """Answer a round-trip ping made by the web process."""
    WorkerPing.objects.filter(pk=ping_id, answered_at__isnull=True).update(
        answered_at=timezone.now(), answered_by=socket.gethostname()
    )


@shared_task
def plan_due_digests(now_iso: str | None = None) -> int:
    """Plan every digest that is due and fan the new rows out to the mail queue in chunks."""
    now = datetime.fromisoformat(now_iso) if now_iso else None
    # Each slice of new rows goes to the workers as soon as it is committed.
    result = deliveries_plan(now=now, on_planned=lambda ids: deliveries_enqueue(delivery_ids=ids))
    return result.created


def deliveries_enqueue(*, delivery_ids: list[int]) -> None:
    """Queue ids for sending in chunks, once the current transaction (if any) commits."""
    size = setting("SEND_CHUNK_SIZE")
    for start in range(0, len(delivery_ids), size):
        send_digest_chunk.delay_on_commit(delivery_ids[start : start + size])


def retry_countdown(retries: int, retry_after: float | None) -> float:
    """Exponential backoff with jitter, at least what the provider asked for, at most 10 minutes."""
    base = setting("SEND_RETRY_BASE_SECONDS")
    backoff = min(600.0, base * 2**retries) * random.uniform(0.8, 1.2)
    return max(backoff, min(retry_after or 0.0, 3600.0))


# No automatic retry on exceptions: the only retries are the explicit ones below, for rows a
# transient provider failure put back to `planned`. A crash leaves rows to the sweeper.
@shared_task(bind=True, max_retries=10)
def send_digest_chunk(self, delivery_ids: list[int]) -> dict:
    """Compose and send a chunk of planned deliveries (ids only cross the broker)."""
    report = deliveries_send_chunk(delivery_ids=[int(i) for i in delivery_ids])
    release_freed_memory()
    if report.continue_ids:
        if report.retry_ids:  # the provider is struggling too: all of it waits for the retry
            report.retry_ids += report.continue_ids
        else:
            # Out of time, not failing: the rest goes on in a new task (its own time limit and retries).
            deliveries_enqueue(delivery_ids=report.continue_ids)
    if report.retry_ids and self.request.retries < self.max_retries:
        # When retries run out the rows stay `planned` and the sweeper queues them again later.
        raise self.retry(
            args=[report.retry_ids], countdown=retry_countdown(self.request.retries, report.retry_after)
        )
    return {
        "sent": report.sent,
        "skipped": report.skipped,
        "failed": report.failed,
        "unknown": report.unknown,
    }


@shared_task
def sweep_deliveries() -> dict:
    """Re-queue planned rows whose task was lost; turn rows stuck in `sending` into `unknown`."""
    report = deliveries_sweep()
    deliveries_enqueue(delivery_ids=report.requeued_ids)
    return {"requeued": report.requeued, "timed_out": report.timed_out, "expired": report.expired}


@shared_task
def refresh_trending_signal() -> list[int]:
    """Fetch the Hugging Face list early when a send slot needs a fresher signal (beat, every 5 min)."""
    return trending_signal_refresh()


@shared_task
def refresh_admin_figures() -> int:
    """The admin's roll-ups: the dashboard's daily figures and the Today page's reader counts."""
    from subscriptions.selectors import subscriber_status_counts_refresh, topic_followers_refresh

    from . import dashboard, today  # the admin's modules stay out of the mail workers' start-up

    today.refresh_reader_topic_sets()
    topic_followers_refresh()
    subscriber_status_counts_refresh()
    return dashboard.figures_refresh()
