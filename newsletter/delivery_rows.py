"""The writes that move a chunk's Delivery rows through their states (the Delivery docstring has the
state machine; newsletter.sending, the order they happen in and what each outcome means).

- `planned_rows`: a chunk's rows that are still planned, with what composing reads of them;
- `deliveries_claim`: planned -> sending, for the rows this caller wins;
- `record_skips` / `record_results`: a row's final state (or back to planned) with its outcome;
- `deliveries_sweep`: the periodic repair of rows whose worker or task was lost.

Every statement finds its rows by primary key and is shaped for a morning's send, when the partial
index over unfinished rows holds every planned row (see the comments in each). The records of mail
already sent are retried over a dropped database connection (`_with_db_retry`).
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db import InterfaceError, OperationalError, close_old_connections, models
from django.db import connection as db_connection
from django.db.models import BooleanField, Case, F, Value, When
from django.utils import timezone

from mailing.outcomes import Outcome
from papers.text import storable
from subscriptions.models import Subscriber
from subscriptions.services import subscriber_suppress

from .composing import Composed
from .conf import digest_expires_after, planned_stale_after, sending_timeout
from .lookups import bigint_array
from .models import Delivery

logger = logging.getLogger(__name__)

Status = Delivery.Status


@dataclass
class Result:
    """What the provider's answer means for one composed delivery."""

    composed: Composed
    outcome: Outcome
    message_id: str = ""
    error: str = ""


@dataclass
class ChunkReport:
    """What a chunk did to its rows, and what is left for a retry or a new task."""

    sent: int = 0
    skipped: int = 0
    failed: int = 0
    unknown: int = 0
    suppressed: int = 0
    not_claimed: int = 0  # another worker had them, or they were no longer planned
    retry_ids: list[int] = field(default_factory=list)  # back to / still `planned`: try again
    # Still `planned` because the chunk ran out of time (NEWSLETTER_SEND_CHUNK_SECONDS): queue again now.
    continue_ids: list[int] = field(default_factory=list)
    retry_after: float | None = None  # the provider asked for this many seconds (429 Retry-After)
    errors: list[str] = field(default_factory=list)

    def merge(self, other: ChunkReport) -> None:
        for name in ("sent", "skipped", "failed", "unknown", "suppressed", "not_claimed"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.retry_ids += other.retry_ids
        self.continue_ids += other.continue_ids
        self.errors += other.errors


# --- Reading, claiming and recording ---------------------------------------------------------


# What composing, sending and recording read of a row and its subscriber; the rest (timestamps, the
# consent trail, …) stays in the database: loading 500 rows of every column cost more than composing.
_ROW_FIELDS = ("id", "subscriber_id", "edition_date", "status")
_SUBSCRIBER_FIELDS = (
    "id", "email", "status", "paused", "token_key", "keywords", "frequency", "ranking", "trending_strip",
    "followed_authors",
)  # fmt: skip


def planned_rows(delivery_ids: Sequence[int]) -> list[Delivery]:
    """The rows among `delivery_ids` that are still planned, with the subscriber fields a digest needs."""
    # Found by primary key alone and the status checked here: a `status = 'planned'` in the query
    # lets the planner scan the partial index over unfinished rows, all of a morning's (see the
    # claim). The claim, not this read, is what decides who sends a row.
    rows = (
        Delivery.objects.filter(pk__any_of=delivery_ids)
        .select_related("subscriber")
        .only(*_ROW_FIELDS, *(f"subscriber__{name}" for name in _SUBSCRIBER_FIELDS))
        .order_by("pk")
    )
    return [row for row in rows if row.status == Status.PLANNED]


# "Still planned", as a test the planner cannot match to the partial index over unfinished rows
# (see the claim): the rows are found by primary key, then this is checked on each.
_STILL_PLANNED = Case(
    When(status=Status.PLANNED, then=Value(True)), default=Value(False), output_field=BooleanField()
)


def record_skips(skips: Sequence[Composed], *, now: datetime) -> int:
    """Mark the rows with nothing to send `skipped`, with their reason; the number marked."""
    skipped = 0
    by_reason: dict[str, list[int]] = {}
    for c in skips:
        by_reason.setdefault(c.skip_reason, []).append(c.delivery.pk)
    for reason, ids in by_reason.items():
        skipped += Delivery.objects.filter(_STILL_PLANNED, pk__any_of=ids).update(
            status=Status.SKIPPED, skip_reason=reason[:200], updated_at=now
        )
    return skipped


def _with_db_retry(action: Callable[[], object], *, attempts: int = 4) -> object:
    """Run a write, reconnecting after a dropped database connection (the mail is already out:
    losing its record would turn a sent digest into `unknown`)."""
    for attempt in range(attempts):
        try:
            return action()
        except (OperationalError, InterfaceError):
            if attempt == attempts - 1:
                raise
            logger.warning("database write failed; reconnecting (attempt %s)", attempt + 1, exc_info=True)
            close_old_connections()
            db_connection.close()
            time.sleep(0.2 * 2**attempt)
    return None


def deliveries_claim(*, delivery_ids: Sequence[int], now: datetime) -> set[int]:
    """Move planned rows to sending; return the ids this caller won (two claimers never share one)."""
    if not delivery_ids:
        return set()
    token = uuid.uuid4().hex
    if db_connection.vendor == "postgresql":
        # One statement: the conditional UPDATE names the rows it moved. It is retried on a dropped
        # connection, and a retry also takes back rows that already carry this claim's token (the
        # first attempt committed but its answer was lost), so a retry never strands rows in
        # `sending`; attempts count once per claim.
        #
        # The status test is a CASE on purpose: a plain `status = 'planned' OR ...` implies the
        # predicate of the partial index over unfinished rows, and with the statistics of a quiet
        # table (few unfinished rows) the planner ANDs a scan of that whole index into every claim.
        # During a morning's send that index holds every planned row plus a dead entry per claimed
        # one, so each claim read them all (35 ms per 250 rows at 100k subscribers, growing with
        # the list). A CASE is opaque to that proof: the rows are found by primary key alone.
        def claim() -> set[int]:
            with db_connection.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {Delivery._meta.db_table} SET "  # noqa: S608 - names from _meta
                    "attempts = CASE WHEN status = %s THEN attempts + 1 ELSE attempts END, "
                    "status = %s, claim_token = %s, sending_started_at = %s, updated_at = %s "
                    "WHERE id = ANY(%s::bigint[]) "
                    "AND CASE status WHEN %s THEN true WHEN %s THEN claim_token = %s ELSE false END "
                    "RETURNING id",
                    [
                        Status.PLANNED, Status.SENDING, token, now, now, bigint_array(delivery_ids),
                        Status.PLANNED, Status.SENDING, token,
                    ],
                )  # fmt: skip
                return {row[0] for row in cursor.fetchall()}

        return _with_db_retry(claim)
    count = Delivery.objects.filter(pk__in=list(delivery_ids), status=Status.PLANNED).update(
        status=Status.SENDING,
        claim_token=token,
        attempts=F("attempts") + 1,
        sending_started_at=now,
        updated_at=now,
    )
    if count == len(set(delivery_ids)):
        return set(delivery_ids)  # every row requested was won; no need to read them back
    if count == 0:
        return set()
    return set(
        Delivery.objects.filter(pk__in=list(delivery_ids), claim_token=token).values_list("pk", flat=True)
    )


# Fields _update_rows sends as JSON on Postgres: their values are JSON as they are (strings, and
# the list of paper ids).
_JSON_FIELDS = (models.CharField, models.TextField, models.JSONField)


def _update_rows(rows: Sequence[Delivery], fields: list[str], *, same: Sequence[str] = ()) -> None:
    """Write `fields` of many rows at once, and `same`, fields every row holds the same value of: on
    Postgres one UPDATE ... FROM json_to_recordset(one JSON document) statement, with one parameter
    per shared field (a bulk_update's CASE WHEN per field and row costs the database and Django far
    more, and arrays, which psycopg dumps element by element, four times more than one json.dumps);
    elsewhere Django's bulk_update."""
    if not rows:
        return
    meta = Delivery._meta
    columns = [meta.get_field(name) for name in fields]
    if db_connection.vendor != "postgresql" or not all(isinstance(c, _JSON_FIELDS) for c in columns):
        Delivery.objects.bulk_update(rows, [*fields, *same], batch_size=500)
        return
    shared = [meta.get_field(name) for name in same]
    # A fixed, short statement whatever the number of rows (a VALUES list of 500 rows has 4,000
    # placeholders for the driver to parse).
    document = json.dumps(
        [{"id": row.pk, **{c.column: getattr(row, c.attname) for c in columns}} for row in rows],
        ensure_ascii=False,
    )
    quote = db_connection.ops.quote_name
    types = ", ".join(["id bigint", *(f"{quote(c.column)} {c.db_type(db_connection)}" for c in columns)])
    values = [column.get_db_prep_save(getattr(rows[0], column.attname), db_connection) for column in shared]
    assignments = [f"{quote(c.column)} = v.{quote(c.column)}" for c in columns]
    assignments += [f"{quote(c.column)} = %s" for c in shared]
    with db_connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {meta.db_table} AS d SET {', '.join(assignments)} "  # noqa: S608 - names from _meta
            f"FROM json_to_recordset(%s::json) AS v({types}) WHERE d.id = v.id",
            [*values, document],
        )


def _stored(text: str) -> str:
    """Provider or server text as a column can hold it. JSON answers decode "\u0000" and "\ud800" to
    characters Postgres refuses: one of them made a whole group's outcomes unrecordable, leaving even
    its sent rows to become `unknown`."""
    return storable(text, replacement="\ufffd")


def record_results(results: Sequence[Result], *, now: datetime, report: ChunkReport) -> None:
    """Write each group member's outcome to its row (one statement per outcome), suppress refused
    addresses, and count it all in `report`."""
    sent, failed, back, unknown, suppress = [], [], [], [], []
    for r in results:
        d = r.composed.delivery
        d.updated_at = now
        r.error = _stored(r.error)
        if r.outcome is Outcome.SENT:
            d.status, d.sent_at, d.provider_message_id = Status.SENT, now, _stored(r.message_id[:200])
            d.subject, d.paper_ids, d.last_error = r.composed.subject[:300], r.composed.paper_ids, ""
            d.trending_ids, d.liked_ids = r.composed.trending_ids, r.composed.liked_ids
            sent.append(d)
        elif r.outcome in (Outcome.PERMANENT, Outcome.REJECTED):
            d.status, d.last_error = Status.FAILED, r.error
            d.subject, d.paper_ids = r.composed.subject[:300], r.composed.paper_ids
            d.trending_ids, d.liked_ids = r.composed.trending_ids, r.composed.liked_ids
            failed.append(d)
            if r.outcome is Outcome.REJECTED and d.subscriber_id:
                suppress.append((d.subscriber, r.error))
        elif r.outcome is Outcome.TRANSIENT:
            d.status, d.last_error = Status.PLANNED, r.error
            back.append(d)
        else:
            d.status, d.last_error = Status.UNKNOWN, r.error or "no answer from the provider"
            unknown.append(d)

    def write() -> None:
        # One statement per outcome; every row of a list gets the same status.
        _update_rows(
            sent,
            ["provider_message_id", "subject", "paper_ids", "trending_ids", "liked_ids"],
            same=["status", "sent_at", "last_error", "updated_at"],
        )
        _update_rows(
            failed,
            ["last_error", "subject", "paper_ids", "trending_ids", "liked_ids"],
            same=["status", "updated_at"],
        )
        _update_rows(back, ["last_error"], same=["status", "updated_at"])
        _update_rows(unknown, ["last_error"], same=["status", "updated_at"])

    _with_db_retry(write)
    for subscriber, reason in suppress:
        _suppress(subscriber, reason)
    report.sent += len(sent)
    report.failed += len(failed)
    report.unknown += len(unknown)
    report.suppressed += len(suppress)
    report.retry_ids += [d.pk for d in back]
    report.errors += [r.error for r in results if r.error][:5]


def _suppress(subscriber: Subscriber, reason: str) -> None:
    """Stop mailing an address the provider refused for good. The delivery is already recorded as
    failed; should this write fail, the next digest is refused again and suppression retried."""
    try:
        subscriber_suppress(subscriber=subscriber, reason=f"provider refused the address: {reason}"[:200])
    except Exception:
        logger.exception("could not suppress subscriber %s", subscriber.pk)


# --- The sweeper -------------------------------------------------------------------------------


@dataclass
class SweepReport:
    """What a sweep changed; `requeued_ids` are the planned rows whose task was lost, to queue again."""

    requeued: int = 0
    timed_out: int = 0
    expired: int = 0
    requeued_ids: list[int] = field(default_factory=list)


def deliveries_sweep(*, now: datetime | None = None) -> SweepReport:
    """The periodic repair pass: the queue is only a nudge, the rows are the truth.

    - `sending` for longer than NEWSLETTER_SENDING_TIMEOUT_MINUTES: the worker died or lost its answer; the
      provider may have the message, so the row becomes `unknown` (never re-sent by itself).
    - `planned` for longer than NEWSLETTER_DIGEST_EXPIRES_HOURS: `failed` with the reason kept, so a
      digest that could not go out all day shows up in admin instead of arriving tomorrow.
    - `planned` and untouched for NEWSLETTER_PLANNED_STALE_MINUTES: its task was lost (broker restart,
      retries exhausted); touched and named in `requeued_ids` for the caller to queue again (the
      sweep task does). Claiming makes a duplicate task harmless.
    """
    now = now or timezone.now()
    report = SweepReport()
    report.timed_out = Delivery.objects.filter(
        status=Status.SENDING, sending_started_at__lt=now - sending_timeout()
    ).update(
        status=Status.UNKNOWN,
        last_error="no answer recorded within the sending timeout (worker lost?); not re-sent",
        updated_at=now,
    )
    report.expired = Delivery.objects.filter(
        status=Status.PLANNED, created_at__lt=now - digest_expires_after()
    ).update(
        status=Status.FAILED,
        last_error="not sent in time (the provider kept failing, or no worker ran)",
        updated_at=now,
    )
    stale = list(
        Delivery.objects.filter(status=Status.PLANNED, updated_at__lt=now - planned_stale_after())
        .order_by("pk")
        .values_list("pk", flat=True)[:100_000]
    )
    if stale:
        # Touch them so the next sweep does not queue them again while this task waits in the queue.
        Delivery.objects.filter(pk__in=stale, status=Status.PLANNED).update(updated_at=now)
    report.requeued, report.requeued_ids = len(stale), stale
    return report
