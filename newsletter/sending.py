"""Sending a chunk of planned deliveries: compose, claim, send, record.

The row writes are newsletter.delivery_rows'; what a provider's answer or failure means is
mailing.outcomes' rule. This module orders them: groups, calls in flight, when a chunk stops.

Failure semantics (the Delivery docstring has the state machine):

1. Select papers for every planned row of the chunk (no writes). Rows with nothing to send -> `skipped`.
2. Per group (one provider batch call of NEWSLETTER_SEND_BATCH_SIZE messages, or NEWSLETTER_SEND_GROUP_SIZE
   one-by-one sends), composed while earlier groups are on the wire: claim with one conditional
   UPDATE planned -> sending (attempts + 1, a claim token) once there is room on the wire; only rows
   this worker won are sent. The claim commits before any network I/O; nothing is sent inside a
   transaction. At most `calls_in_flight` calls are on the wire (NEWSLETTER_SEND_CALLS_IN_FLIGHT for a
   backend that can take several, as the Postmark batch backend; one for SMTP and the rest).
3. Send through Django's mail API, each call slot on its own connection kept for the whole chunk.
4. Record each outcome right after the provider answered:
   - accepted                                  -> `sent` (provider message id, subject, papers);
   - recipient refused/invalid (permanent)     -> `failed`, and the subscriber is suppressed;
   - message refused for good (4xx, SMTP 5xx)  -> `failed`;
   - provably not sent (connect error, 5xx, 429, a per-message "failed" in a batch)
                                               -> back to `planned`; the task retries with backoff;
   - maybe sent (timeout after the request went out, connection lost mid-message, anything not
     understood)                               -> `unknown`, never sent again without a person.
   After a transient or unknown outcome the rest of the chunk is not attempted now: its rows stay (or
   go back to) `planned` and are retried; a provider that is down is not hammered (calls already on
   the wire beside the failed one are answered and recorded like any other).
5. A chunk still going after NEWSLETTER_SEND_CHUNK_SECONDS claims no more groups: the rows it did not
   reach stay `planned` and go on in a new task (not a retry: nothing failed).

A worker killed between claim and record leaves its group in `sending`; the sweeper turns those rows
into `unknown` after NEWSLETTER_SENDING_TIMEOUT_MINUTES. Rows of the chunk it had not claimed stay `planned`.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime

from django.core.mail import get_connection
from django.utils import timezone

from mailing.outcomes import Outcome, classify, describe, message_outcome, retry_after
from mailing.ratelimit import provider_limits

from .composing import ChunkComposer, Composed
from .conf import setting
from .delivery_rows import ChunkReport, Result, deliveries_claim, planned_rows, record_results, record_skips

logger = logging.getLogger(__name__)


# --- Talking to the provider -----------------------------------------------------------------


def _send_batch(connection, group: Sequence[Composed]) -> tuple[list[Result], float | None]:
    """One provider call for the whole group (a backend with a batch endpoint)."""
    messages = [c.message for c in group]
    try:
        connection.send_messages(messages)
    except Exception as exc:
        outcome = classify(exc)
        if outcome is Outcome.REJECTED:
            outcome = Outcome.PERMANENT  # a batch call fails as a whole for reasons of its own
        return [Result(c, outcome, error=describe(exc)) for c in group], retry_after(exc)
    results = []
    for c in group:
        outcome, message_id, error = message_outcome(c.message)
        results.append(Result(c, outcome, message_id, error))
    return results, None


def _send_one_by_one(connection, group: Sequence[Composed]) -> tuple[list[Result], float | None]:
    results: list[Result] = []
    for index, c in enumerate(group):
        try:
            connection.send_messages([c.message])
        except Exception as exc:
            outcome = classify(exc)
            results.append(Result(c, outcome, error=describe(exc)))
            if outcome in (Outcome.PERMANENT, Outcome.REJECTED):
                continue  # this message alone is refused; the next one may go
            # Provider trouble: stop here; the group's remaining rows were never attempted.
            results += [
                Result(rest, Outcome.TRANSIENT, error="not attempted: " + describe(exc))
                for rest in group[index + 1 :]
            ]
            return results, retry_after(exc)
        outcome, message_id, error = message_outcome(c.message)
        results.append(Result(c, outcome, message_id, error))
    return results, None


def _provider_name(connection) -> str:
    # anymail backends name their ESP; others (SMTP, the outbox) by their class.
    name = getattr(connection, "esp_name", None)
    return str(name).lower() if name else f"{type(connection).__module__}.{type(connection).__name__}"


def _throttle(connection, *, messages: int, calls: int) -> None:
    """Hold back so that all workers together stay within the provider's per-second limits
    (NEWSLETTER_SEND_RATE_PER_SECOND messages, NEWSLETTER_SEND_CALLS_PER_SECOND calls;
    mailing.ratelimit)."""
    messages_per_second, calls_per_second = setting("SEND_RATE_PER_SECOND"), setting("SEND_CALLS_PER_SECOND")
    if messages_per_second <= 0 and calls_per_second <= 0:
        return
    limits = provider_limits(
        _provider_name(connection), messages_per_second=messages_per_second, calls_per_second=calls_per_second
    )
    limits.acquire(messages=messages, calls=calls)


def group_size(connection) -> int:
    batch = getattr(connection, "batch_size", 1) or 1
    size = min(batch, setting("SEND_BATCH_SIZE")) if batch > 1 else setting("SEND_GROUP_SIZE")
    limit = setting("SEND_RATE_PER_SECOND")
    return max(1, min(size, limit)) if limit > 0 else max(1, size)


# --- The chunk -------------------------------------------------------------------------------


def calls_in_flight(connection) -> int:
    """How many provider calls one chunk may have on the wire at once: NEWSLETTER_SEND_CALLS_IN_FLIGHT
    for a backend that can take them (it says how many in `max_calls_in_flight` and makes the extra
    connections with `parallel_connection()`), one for any other (SMTP, anymail's own backends)."""
    capable = getattr(connection, "max_calls_in_flight", 1) or 1
    if not callable(getattr(connection, "parallel_connection", None)):
        capable = 1
    return max(1, min(setting("SEND_CALLS_IN_FLIGHT"), capable))


def deliveries_send_chunk(
    *, delivery_ids: Sequence[int], now: datetime | None = None, connection=None
) -> ChunkReport:
    """Send the planned rows among `delivery_ids` (others are left alone); see the module docstring.

    Group by group: while groups are on the wire (threads do the provider calls and nothing else),
    the next group is composed. At most `calls_in_flight` calls are on the wire, each on its own
    connection, and their outcomes are recorded in the order they were made. A group is claimed
    only once there is room on the wire, which is after the outcome of the call `calls_in_flight`
    places before it is recorded; calls that have already answered are recorded first. When a call
    fails, at most `calls_in_flight - 1` calls made before its answer came are still on the wire
    (they are recorded as answered), and the rest of the chunk is left `planned`. With one call in
    flight (SMTP and other backends) a group goes only after the previous group's outcome is recorded.
    """
    now = now or timezone.now()
    report = ChunkReport()
    rows = planned_rows(delivery_ids)
    report.not_claimed = len(set(delivery_ids)) - len(rows)
    if not rows:
        return report
    composer = ChunkComposer(rows, now=now)
    skips, to_send = [], []
    for row in rows:
        reason = composer.skip_reason(row)
        if reason:
            skips.append(Composed(row, skip_reason=reason))
        else:
            to_send.append(row)
    report.skipped = record_skips(skips, now=now)
    if not to_send:
        return report

    connection = connection or get_connection()
    size = group_size(connection)
    batch_capable = getattr(connection, "batch_size", 1) > 1
    send = _send_batch if batch_capable else _send_one_by_one
    depth = calls_in_flight(connection)
    # Connections not on the wire now (the caller's first); each is opened on its first call and
    # closed at the end.
    idle = deque([connection] + [connection.parallel_connection() for _ in range(depth - 1)])
    opened, connected = [], set()
    on_wire: deque[tuple[list[Composed], object, Future]] = deque()

    def finish_oldest() -> bool:
        group, used, sending = on_wire.popleft()
        try:
            return _finish(group, sending, report=report)
        finally:
            idle.append(used)

    deadline = time.monotonic() + setting("SEND_CHUNK_SECONDS")
    with ThreadPoolExecutor(max_workers=depth, thread_name_prefix="provider") as wire:
        try:
            try:
                for start in range(0, len(to_send), size):
                    if start and time.monotonic() > deadline:
                        # Slow going (a provider's rate limit shared by many workers): the rest of the
                        # chunk goes back to the queue as a new task, well before the time limit.
                        report.continue_ids += [row.pk for row in to_send[start:]]
                        break
                    group = [composer.compose(row) for row in to_send[start : start + size]]
                    if _make_room(on_wire, depth, finish_oldest):
                        # The provider is struggling: leave the rest of the chunk planned.
                        report.retry_ids += [row.pk for row in to_send[start:]]
                        break
                    # The provider's rate limit is waited for before the claim: should the limiter fail
                    # (its Redis restarting), the rows are still `planned` and go again, not stuck.
                    _throttle(connection, messages=len(group), calls=1 if batch_capable else len(group))
                    claimed = deliveries_claim(delivery_ids=[c.delivery.pk for c in group], now=now)
                    report.not_claimed += len(group) - len(claimed)
                    group = [c for c in group if c.delivery.pk in claimed]
                    if not group:
                        continue
                    free = idle.popleft()
                    if id(free) not in connected:
                        try:
                            # One connection (SMTP session, HTTP keep-alive) per call slot for the chunk.
                            if free.open():
                                opened.append(free)
                            connected.add(id(free))
                        except Exception as exc:  # could not even connect: nothing was sent
                            idle.appendleft(free)
                            failed = [Result(c, Outcome.TRANSIENT, error=describe(exc)) for c in group]
                            record_results(failed, now=now, report=report)
                            report.retry_after = retry_after(exc)
                            report.retry_ids += [row.pk for row in to_send[start + size :]]
                            break
                    on_wire.append((group, free, wire.submit(send, free, group)))
            finally:
                # However the loop ended (the last group, a struggling provider, or an error composing
                # or claiming the next group), every group on the wire gets its outcome recorded:
                # never left to become `unknown`.
                _finish_all(finish_oldest, on_wire)
        finally:
            for used in opened:
                try:
                    used.close()
                except Exception:  # closing a broken connection must not hide what happened
                    logger.warning("closing the email connection failed", exc_info=True)
    return report


def _make_room(on_wire: deque, depth: int, finish_oldest: Callable[[], bool]) -> bool:
    """Record the calls that have answered, and the oldest one while the wire is full: a failure
    already back stops the chunk before another call goes out. True when the chunk should stop."""
    while on_wire and (len(on_wire) >= depth or on_wire[0][2].done()):
        if finish_oldest():
            return True
    return False


def _finish_all(finish_oldest: Callable[[], bool], on_wire: deque) -> None:
    """Record every call still on the wire, each even if recording an earlier one failed."""
    failure = None
    while on_wire:
        try:
            finish_oldest()
        except Exception as exc:
            failure = failure or exc
    if failure is not None:
        raise failure


def _finish(group: list[Composed], sending: Future, *, report: ChunkReport) -> bool:
    """Record a group's outcome as soon as the provider answered; True when the chunk should stop."""
    results, retry_after = sending.result()
    record_results(results, now=timezone.now(), report=report)
    for c in group:
        c.message = None  # recorded: let the bodies go
    if any(r.outcome in (Outcome.TRANSIENT, Outcome.UNKNOWN) for r in results):
        report.retry_after = retry_after
        return True
    return False


def deliveries_send(
    *,
    delivery_ids: Sequence[int],
    now: datetime | None = None,
    chunk_size: int | None = None,
    connection=None,
):
    """Send many deliveries in-process, chunk by chunk: yields (the ids a chunk finished with, its
    report). Rows a chunk ran out of time for (NEWSLETTER_SEND_CHUNK_SECONDS) go on in the next one:
    in-process there is no task time limit to keep inside, only the order of the work."""
    chunk_size = chunk_size or setting("SEND_CHUNK_SIZE")
    ids = list(delivery_ids)
    while ids:
        chunk, ids = ids[:chunk_size], ids[chunk_size:]
        report = deliveries_send_chunk(delivery_ids=chunk, now=now, connection=connection)
        ids = report.continue_ids + ids
        handed_on = set(report.continue_ids)
        yield [pk for pk in chunk if pk not in handed_on], report


__all__ = [
    "ChunkReport",  # what deliveries_send_chunk returns (newsletter.delivery_rows)
    "deliveries_send",
    "deliveries_send_chunk",
]
