import smtplib
from datetime import date, timedelta

import pytest
import redis
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from config.celery import app as celery_app
from newsletter import tasks
from newsletter.composing import SKIP_NOTHING_NEW, select_papers_for
from newsletter.models import Delivery
from newsletter.sending import deliveries_send, deliveries_send_chunk
from newsletter.services import delivery_send_again
from subscriptions.models import Subscriber
from testsupport.processes import free_port

from .digest_data import paper, planned, statuses, subscriber, topics

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
    monkeypatch.setattr(tasks, "deliveries_enqueue", lambda *, delivery_ids: queued.extend(delivery_ids))
    report = tasks.sweep_deliveries()
    again = tasks.sweep_deliveries()
    assert (report["timed_out"], report["requeued"]) == (1, 1)
    assert queued == [ids[1]] and again["requeued"] == 0  # touched, so not queued twice
    assert statuses(ids) == [Status.UNKNOWN, Status.PLANNED, Status.PLANNED]
    row = Delivery.objects.get(pk=ids[0])
    assert "timeout" in row.last_error


@pytest.mark.django_db
def test_sweeper_fails_digests_that_could_not_go_out_all_day(monkeypatch):
    monkeypatch.setattr(tasks, "deliveries_enqueue", lambda *, delivery_ids: None)
    ids = planned(1)
    Delivery.objects.filter(pk=ids[0]).update(created_at=timezone.now() - timedelta(days=1))
    assert tasks.sweep_deliveries()["expired"] == 1
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
        # SQLite splits a statement with many parameters into batches (its variable limit): there the
        # kinds of statement are counted, on Postgres every statement.
        statements = [q["sql"][:80] for q in queries]
        counts.append(len(statements) if connection.vendor == "postgresql" else len(set(statements)))
        Subscriber.objects.all().delete()
    # load rows, six to compose (readers' feedback among them), claim, record: ~11 whatever the size
    assert counts[0] <= 11 and counts[1] <= 11, counts
