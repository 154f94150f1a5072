"""Writes on a chunk's rows: claims, the row load, skips and outcomes (newsletter.delivery_rows)."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from newsletter.composing import Composed
from newsletter.delivery_rows import _update_rows, deliveries_claim, planned_rows, record_skips
from newsletter.models import Delivery
from testsupport.services import terminate_django_connection

from .digest_data import EDITION as TODAY
from .digest_data import paper, planned, subscriber, topics


@pytest.mark.django_db
def test_two_claimers_never_share_a_row():
    ids = planned(10)
    first = deliveries_claim(delivery_ids=ids[:7], now=timezone.now())
    second = deliveries_claim(delivery_ids=ids, now=timezone.now())
    assert first == set(ids[:7]) and second == set(ids[7:])
    assert deliveries_claim(delivery_ids=ids, now=timezone.now()) == set()


@pytest.mark.django_db(transaction=True)
def test_concurrent_claimers_split_the_rows_between_them():
    ids = planned(200)
    won: list[set[int]] = []
    start = threading.Barrier(2)

    def claim():
        start.wait()
        try:
            won.append(deliveries_claim(delivery_ids=ids, now=timezone.now()))
        finally:
            connection.close()

    threads = [threading.Thread(target=claim) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 2
    assert won[0].isdisjoint(won[1]) and won[0] | won[1] == set(ids)


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres  # the claim's retry is the Postgres path
def test_a_claim_survives_its_connection_being_dropped():
    """A worker's connection terminated before the claim (a failover, an idle kill): the claim
    reconnects and wins its rows instead of failing the chunk."""
    quant, _code, _agents = topics()
    paper((quant, 1.0))
    ids = [Delivery.objects.create(subscriber=subscriber(quant), edition_date=TODAY).pk for _ in range(3)]
    terminate_django_connection()
    assert deliveries_claim(delivery_ids=ids, now=timezone.now()) == set(ids)
    assert set(Delivery.objects.filter(pk__in=ids).values_list("status", "attempts")) == {("sending", 1)}


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres  # a Postgres query plan
def test_a_chunk_finds_its_rows_by_primary_key_whatever_the_table_statistics():
    """The morning's rows were planned after the last ANALYZE, which saw no unfinished row: the
    claim, the chunk's row load and its skips must still go by primary key, not AND in a scan of
    the partial index over unfinished rows (that index holds the whole morning's rows, so every
    chunk read them all: 35 ms a claim at 100k subscribers, growing with the list)."""
    rows = [
        Delivery(edition_date=TODAY - timedelta(days=n), status=Delivery.Status.SENT, paper_ids=[])
        for n in range(3000)
    ]
    ids = [d.pk for d in Delivery.objects.bulk_create(rows)]
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Delivery._meta.db_table}")
    Delivery.objects.update(status=Delivery.Status.PLANNED)

    def plan(statement: str) -> str:
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN {statement}")
            return "\n".join(row[0] for row in cursor.fetchall())

    chunk, quiet = ids[1000:1250], planned_rows(ids[2000:2100])
    with CaptureQueriesContext(connection) as queries:
        assert len(planned_rows(chunk)) == 250
        assert deliveries_claim(delivery_ids=chunk, now=timezone.now()) == set(chunk)
        assert record_skips([Composed(row, skip_reason="quiet") for row in quiet], now=timezone.now()) == 100
    load, claim, skip = (q["sql"] for q in queries.captured_queries)
    for statement in (load, claim, skip):
        explained = plan(statement)
        assert "newsletter_delivery_pkey" in explained, explained
        assert "delivery_unfinished_idx" not in explained, explained


@pytest.mark.django_db
def test_recording_a_group_writes_each_rows_own_values_as_they_are():
    """The outcome write (one statement per outcome on Postgres, from one JSON document) keeps
    every character of subjects and errors and each row's own paper list."""
    quant, _code, _agents = topics()
    sending = Delivery.Status.SENDING
    rows = [
        Delivery.objects.create(subscriber=subscriber(quant), edition_date=TODAY, status=sending)
        for _ in range(3)
    ]
    odd = ['"Quoted", back\\slash, tab\t, Zoë — ✓ {x}', "two\nlines", "'single' and ' -- ;"]
    for n, row in enumerate(rows):
        row.subject, row.last_error = odd[n], odd[-1 - n]
        row.paper_ids = [10 * n + 1, 10 * n + 2][: n + 1]
        row.provider_message_id = f"pm-{n}"
        row.status, row.sent_at, row.updated_at = Delivery.Status.SENT, timezone.now(), timezone.now()
    _update_rows(
        rows,
        ["provider_message_id", "subject", "paper_ids", "last_error"],
        same=["status", "sent_at", "updated_at"],
    )
    for n, row in enumerate(rows):
        stored = Delivery.objects.get(pk=row.pk)
        assert (stored.subject, stored.last_error, stored.paper_ids) == (odd[n], odd[-1 - n], row.paper_ids)
        assert (stored.provider_message_id, stored.status) == (f"pm-{n}", Delivery.Status.SENT)
