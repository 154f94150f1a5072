import smtplib
import threading
from datetime import date, timedelta

import pytest
import redis
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from config.celery import app as celery_app
from newsletter import services
from newsletter.composing import SKIP_NOTHING_NEW, select_papers_for
from newsletter.models import Delivery
from newsletter.sending import deliveries_claim, deliveries_send, deliveries_send_chunk
from newsletter.services import deliveries_sweep, delivery_send_again
from subscriptions.models import Subscriber
from testsupport.processes import free_port
from testsupport.services import terminate_django_connection

from .digest_data import paper, subscriber, topics

Status = Delivery.Status
TODAY = date(2026, 4, 28)


class ScriptedBackend(BaseEmailBackend):
    """Sends nothing; raises the scripted exception for the n-th message (counted over the test)."""

    script: dict[int, Exception] = {}
    accepted: list = []
    calls = 0

    def send_messages(self, messages):
        for message in messages:
            ScriptedBackend.calls += 1
            failure = self.script.get(ScriptedBackend.calls)
            if failure is not None:
                raise failure
            self.accepted.append(message)
        return len(messages)


@pytest.fixture
def scripted():
    ScriptedBackend.script, ScriptedBackend.accepted, ScriptedBackend.calls = {}, [], 0
    return ScriptedBackend


def planned(count, *, with_papers=True):
    quant, _code, _agents = topics()
    if with_papers:
        paper((quant, 1.0), title="A quantization paper")
    readers = [subscriber(quant, email=f"reader{n}@example.com") for n in range(count)]
    return [Delivery.objects.create(subscriber=r, edition_date=TODAY).pk for r in readers]


def statuses(ids):
    return list(Delivery.objects.filter(pk__in=ids).order_by("pk").values_list("status", flat=True))


@pytest.mark.django_db
def test_chunk_is_sent_recorded_and_a_second_run_sends_nothing():
    ids = planned(3)
    report = deliveries_send_chunk(delivery_ids=ids)
    assert report.sent == 3 and len(mail.outbox) == 3
    rows = list(Delivery.objects.filter(pk__in=ids))
    assert {r.status for r in rows} == {Status.SENT}
    assert all(r.attempts == 1 and r.sent_at and r.paper_ids and r.subject for r in rows)
    assert all(r.provider_message_id == f"<digest.{r.pk}.20260428@127.0.0.1>" for r in rows)
    again = deliveries_send_chunk(delivery_ids=ids)
    assert again.sent == 0 and again.not_claimed == 3 and len(mail.outbox) == 3


@pytest.mark.django_db
def test_a_paper_that_arrives_while_a_chunk_is_sending_is_in_the_readers_next_digest():
    quant, _code, _agents = topics()
    selected_at = timezone.now() - timedelta(minutes=10)  # when the chunk chose its papers
    paper((quant, 1.0), title="In this digest", seen=selected_at - timedelta(hours=1))
    reader = subscriber(quant)
    row = Delivery.objects.create(subscriber=reader, edition_date=TODAY)
    late = paper((quant, 1.0), title="Came in mid-send", seen=selected_at + timedelta(minutes=1))

    assert deliveries_send_chunk(delivery_ids=[row.pk], now=selected_at).sent == 1

    assert late.pk not in Delivery.objects.get(pk=row.pk).paper_ids
    next_digest = select_papers_for(reader, edition_date=TODAY + timedelta(days=1))
    assert [p.pk for p in next_digest] == [late.pk]


@pytest.mark.django_db
def test_nothing_to_send_is_recorded_as_skipped_with_the_reason():
    ids = planned(2, with_papers=False)
    report = deliveries_send_chunk(delivery_ids=ids)
    assert report.skipped == 2 and mail.outbox == []
    assert set(Delivery.objects.filter(pk__in=ids).values_list("status", "skip_reason")) == {
        (Status.SKIPPED, SKIP_NOTHING_NEW)
    }


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


@pytest.mark.django_db
def test_a_chunk_out_of_time_leaves_the_rest_planned_to_continue_without_a_retry(settings, scripted):
    """Past NEWSLETTER_SEND_CHUNK_SECONDS a chunk claims no more groups: the rows it did not reach are
    handed on untouched (still planned, no attempt counted), not put down as failures."""
    settings.NEWSLETTER_SEND_GROUP_SIZE = 2
    settings.NEWSLETTER_SEND_CHUNK_SECONDS = 0
    ids = planned(5)
    report = deliveries_send_chunk(delivery_ids=ids, connection=scripted())
    assert report.sent == 2 and report.retry_ids == [] and sorted(report.continue_ids) == ids[2:]
    assert statuses(ids) == [Status.SENT] * 2 + [Status.PLANNED] * 3
    assert list(Delivery.objects.filter(pk__in=ids[2:]).values_list("attempts", flat=True)) == [0] * 3
    settings.NEWSLETTER_SEND_CHUNK_SECONDS = 90
    rest = deliveries_send_chunk(delivery_ids=report.continue_ids, connection=scripted())
    assert rest.sent == 3 and rest.continue_ids == [] and statuses(ids) == [Status.SENT] * 5
    assert len({m.to[0] for m in scripted.accepted}) == 5 == len(scripted.accepted)


@pytest.mark.django_db
def test_sending_in_process_goes_on_with_what_a_chunk_had_no_time_for(settings, scripted):
    """`send_digests --now` sends in-process: rows a chunk hands on are sent by the next chunk, and
    each id is reported finished once."""
    settings.NEWSLETTER_SEND_GROUP_SIZE = 2
    settings.NEWSLETTER_SEND_CHUNK_SECONDS = 0
    ids = planned(5)
    finished = []
    for chunk, report in deliveries_send(delivery_ids=ids, chunk_size=4, connection=scripted()):
        assert report.sent == len(chunk) == 2 or (report.sent == len(chunk) == 1 and not report.continue_ids)
        finished += chunk
    assert sorted(finished) == ids and statuses(ids) == [Status.SENT] * 5
    assert len({m.to[0] for m in scripted.accepted}) == 5 == len(scripted.accepted)


@pytest.mark.django_db
def test_transient_failure_puts_rows_back_to_planned_and_leaves_the_rest_for_the_retry(settings, scripted):
    settings.NEWSLETTER_SEND_GROUP_SIZE = 3
    ids = planned(6)
    scripted.script = {2: smtplib.SMTPResponseException(451, b"try again later")}
    report = deliveries_send_chunk(delivery_ids=ids, connection=scripted())
    assert report.sent == 1
    assert statuses(ids) == [Status.SENT] + [Status.PLANNED] * 5
    assert sorted(report.retry_ids) == ids[1:]
    row = Delivery.objects.get(pk=ids[1])
    assert "451" in row.last_error and row.attempts == 1
    # The retry sends the rest exactly once.
    retry = deliveries_send_chunk(delivery_ids=report.retry_ids, connection=scripted())
    assert retry.sent == 5 and statuses(ids) == [Status.SENT] * 6
    assert len({m.to[0] for m in scripted.accepted}) == 6 == len(scripted.accepted)


@pytest.mark.django_db
def test_connection_lost_mid_message_is_unknown_and_never_resent_by_itself(settings, scripted):
    settings.NEWSLETTER_SEND_GROUP_SIZE = 10
    ids = planned(3)
    scripted.script = {2: smtplib.SMTPServerDisconnected("connection unexpectedly closed")}
    report = deliveries_send_chunk(delivery_ids=ids, connection=scripted())
    assert statuses(ids) == [Status.SENT, Status.UNKNOWN, Status.PLANNED]
    assert report.unknown == 1 and report.retry_ids == [ids[2]]
    deliveries_send_chunk(delivery_ids=ids, connection=scripted())
    assert statuses(ids) == [Status.SENT, Status.UNKNOWN, Status.SENT]


@pytest.mark.django_db
def test_an_unreachable_rate_limiter_leaves_the_rows_planned(settings, scripted):
    # The shared limit lives in Redis. Reached after the claim, a Redis restart left the group in
    # `sending` (then `unknown`, though nothing was sent); waited for before it, the rows go again.
    settings.NEWSLETTER_SEND_RATE_PER_SECOND = 100
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    ids = planned(3)
    with pytest.raises(redis.ConnectionError):
        deliveries_send_chunk(delivery_ids=ids, connection=scripted())
    assert statuses(ids) == [Status.PLANNED] * 3 and scripted.accepted == []


@pytest.mark.django_db
def test_refused_recipient_fails_and_is_suppressed_while_the_others_go(scripted):
    ids = planned(3)
    bad = Delivery.objects.get(pk=ids[1]).subscriber
    scripted.script = {2: smtplib.SMTPRecipientsRefused({bad.email: (550, b"5.1.1 no such user")})}
    report = deliveries_send_chunk(delivery_ids=ids, connection=scripted())
    assert statuses(ids) == [Status.SENT, Status.FAILED, Status.SENT]
    assert report.suppressed == 1 and report.retry_ids == []
    bad.refresh_from_db()
    assert bad.status == Subscriber.Status.SUPPRESSED and "550" in bad.suppressed_reason


@pytest.mark.django_db
def test_sweeper_times_out_sending_rows_and_requeues_stale_planned_rows(monkeypatch):
    ids = planned(3)
    long_ago = timezone.now() - timedelta(hours=1)
    Delivery.objects.filter(pk=ids[0]).update(status=Status.SENDING, sending_started_at=long_ago)
    Delivery.objects.filter(pk=ids[1]).update(updated_at=long_ago)  # planned, its task lost
    queued = []
    monkeypatch.setattr(services, "deliveries_enqueue", lambda *, delivery_ids: queued.extend(delivery_ids))
    report = deliveries_sweep()
    again = deliveries_sweep()
    assert (report.timed_out, report.requeued) == (1, 1)
    assert queued == [ids[1]] and again.requeued == 0  # touched, so not queued twice
    assert statuses(ids) == [Status.UNKNOWN, Status.PLANNED, Status.PLANNED]
    row = Delivery.objects.get(pk=ids[0])
    assert "timeout" in row.last_error


@pytest.mark.django_db
def test_sweeper_fails_digests_that_could_not_go_out_all_day(monkeypatch):
    monkeypatch.setattr(services, "deliveries_enqueue", lambda *, delivery_ids: None)
    ids = planned(1)
    Delivery.objects.filter(pk=ids[0]).update(created_at=timezone.now() - timedelta(days=1))
    assert deliveries_sweep().expired == 1
    assert statuses(ids) == [Status.FAILED]


@pytest.fixture
def eager_tasks():
    """Tasks run in-process (send again here; real workers in the end-to-end tests)."""
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


@pytest.mark.django_db
def test_send_again_moves_unknown_back_to_planned_and_sends_it(
    eager_tasks, django_capture_on_commit_callbacks
):
    ids = planned(2)
    Delivery.objects.filter(pk=ids[0]).update(status=Status.UNKNOWN)
    with django_capture_on_commit_callbacks(execute=True):
        assert delivery_send_again(delivery=Delivery.objects.get(pk=ids[0])) is True
    assert statuses(ids)[0] == Status.SENT and len(mail.outbox) == 1
    assert delivery_send_again(delivery=Delivery.objects.get(pk=ids[1])) is False  # planned: not touched


@pytest.mark.django_db
def test_a_chunk_takes_the_same_few_queries_for_10_or_100_deliveries(settings):
    settings.NEWSLETTER_SEND_GROUP_SIZE = 500
    counts = []
    for size in (10, 100):
        ids = planned(size)
        with CaptureQueriesContext(connection) as queries:
            report = deliveries_send_chunk(delivery_ids=ids)
        assert report.sent == size
        counts.append(len(queries))
        Subscriber.objects.all().delete()
    # load rows, six to compose (readers' feedback among them), claim, record: ~11 whatever the size
    # (bulk UPDATE batches aside)
    assert counts[0] <= 11 and counts[1] <= 11, counts


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
    from newsletter.composing import Composed
    from newsletter.sending import _planned_rows, _record_skips

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

    chunk, quiet = ids[1000:1250], _planned_rows(ids[2000:2100])
    with CaptureQueriesContext(connection) as queries:
        assert len(_planned_rows(chunk)) == 250
        assert deliveries_claim(delivery_ids=chunk, now=timezone.now()) == set(chunk)
        assert _record_skips([Composed(row, skip_reason="quiet") for row in quiet], now=timezone.now()) == 100
    load, claim, skip = (q["sql"] for q in queries.captured_queries)
    for statement in (load, claim, skip):
        explained = plan(statement)
        assert "newsletter_delivery_pkey" in explained, explained
        assert "delivery_unfinished_idx" not in explained, explained


@pytest.mark.django_db
def test_recording_a_group_writes_each_rows_own_values_as_they_are():
    """The outcome write (one statement per outcome on Postgres, from one JSON document) keeps
    every character of subjects and errors and each row's own paper list."""
    from django.utils import timezone

    from newsletter.sending import _update_rows

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
