"""Sending digests through the Postmark batch backend (mailing.backends.postmark) against a loopback API."""

import json
import threading
import time

import pytest
from django.core.mail import get_connection

from newsletter.models import Delivery
from newsletter.sending import deliveries_send_chunk
from subscriptions.models import Subscriber
from testsupport.http import Request, Response

from .digest_data import compose_deliveries, paper, subscriber, topics

pytestmark = pytest.mark.django_db


def postmark_batch_answer(request: Request) -> Response:
    """Accept every message of a batch, except addresses starting with "inactive"."""
    results = []
    for n, item in enumerate(request.json()):
        if item["To"].startswith("inactive"):
            results.append(
                {
                    "ErrorCode": 406,
                    "Message": f"Found inactive addresses: {item['To']}. Inactive recipients are ones that …",
                }
            )
        else:
            results.append({"ErrorCode": 0, "Message": "OK", "MessageID": f"pm-{n}", "To": item["To"]})
    return Response(200, json.dumps(results), {"Content-Type": "application/json"})


def connection_to(loopback):
    return get_connection(
        "mailing.backends.postmark.EmailBackend", api_url=loopback.url("/"), server_token="test-token"
    )


def planned(emails):
    quant, _code, _agents = topics()
    paper((quant, 1.0))
    return [
        Delivery.objects.create(subscriber=subscriber(quant, email=e), edition_date="2026-04-28").pk
        for e in emails
    ]


def test_a_chunk_goes_out_in_one_batch_call_with_metadata_and_list_headers(loopback):
    loopback.route("/email/batch", postmark_batch_answer)
    ids = planned([f"r{n}@example.com" for n in range(30)])
    report = deliveries_send_chunk(delivery_ids=ids, connection=connection_to(loopback))
    assert report.sent == 30
    (call,) = loopback.requests_to("/email/batch")
    assert call.headers["X-Postmark-Server-Token"] == "test-token"
    items = call.json()
    assert len(items) == 30
    first = items[0]
    assert first["Tag"] == "digest" and first["Metadata"] == {"delivery_id": str(ids[0])}
    headers = {h["Name"]: h["Value"] for h in first["Headers"]}
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert headers["List-Unsubscribe"].startswith("<http://127.0.0.1:8000/unsubscribe/")
    assert first["HtmlBody"].startswith("<!DOCTYPE html>") or "<html" in first["HtmlBody"]
    assert "TextBody" in first
    message_ids = dict(Delivery.objects.filter(pk__in=ids).values_list("pk", "provider_message_id"))
    assert message_ids[ids[0]] == "pm-0" and message_ids[ids[29]] == "pm-29"


def test_batch_refusal_of_one_address_fails_and_suppresses_it_only(loopback):
    loopback.route("/email/batch", postmark_batch_answer)
    ids = planned(["ok1@example.com", "inactive@example.com", "ok2@example.com"])
    report = deliveries_send_chunk(delivery_ids=ids, connection=connection_to(loopback))
    assert (report.sent, report.failed, report.suppressed) == (2, 1, 1)
    statuses = dict(Delivery.objects.filter(pk__in=ids).values_list("subscriber__email", "status"))
    assert statuses == {
        "ok1@example.com": "sent",
        "inactive@example.com": "failed",
        "ok2@example.com": "sent",
    }
    assert Subscriber.objects.get(email="inactive@example.com").status == Subscriber.Status.SUPPRESSED


def test_provider_500_puts_the_batch_back_to_planned_and_429_passes_its_retry_after(loopback):
    loopback.route(
        "/email/batch",
        [
            Response(500, '{"ErrorCode": 500, "Message": "oops"}'),
            Response(429, '{"ErrorCode": 429, "Message": "slow down"}', {"Retry-After": "7"}),
            Response(200, "[]"),
        ],
    )
    ids = planned(["a@example.com", "b@example.com"])
    first = deliveries_send_chunk(delivery_ids=ids, connection=connection_to(loopback))
    assert first.sent == 0 and sorted(first.retry_ids) == ids
    assert set(Delivery.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"planned"}
    second = deliveries_send_chunk(delivery_ids=ids, connection=connection_to(loopback))
    assert second.retry_after == 7.0 and sorted(second.retry_ids) == ids
    loopback.route("/email/batch", postmark_batch_answer)
    third = deliveries_send_chunk(delivery_ids=ids, connection=connection_to(loopback))
    assert third.sent == 2
    assert list(Delivery.objects.filter(pk__in=ids).values_list("attempts", flat=True)) == [3, 3]


def test_timeout_after_the_request_went_out_marks_the_batch_unknown(loopback):
    loopback.route("/email/batch", Response(200, "[]", delay=3))
    ids = planned(["a@example.com", "b@example.com"])
    connection = get_connection(
        "mailing.backends.postmark.EmailBackend",
        api_url=loopback.url("/"),
        server_token="t",
        timeout=0.5,
    )
    report = deliveries_send_chunk(delivery_ids=ids, connection=connection)
    assert report.unknown == 2 and report.sent == 0
    assert set(Delivery.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"unknown"}


def test_single_message_uses_postmarks_plain_email_endpoint(loopback):
    loopback.route(
        "/email",
        Response(
            200, json.dumps({"ErrorCode": 0, "Message": "OK", "MessageID": "single-1", "To": "a@example.com"})
        ),
    )
    ids = planned(["a@example.com"])
    report = deliveries_send_chunk(delivery_ids=ids, connection=connection_to(loopback))
    assert report.sent == 1 and len(loopback.requests_to("/email")) == 1
    assert Delivery.objects.get(pk=ids[0]).provider_message_id == "single-1"


def test_batch_json_built_directly_is_what_anymail_builds(loopback):
    loopback.route("/email/batch", postmark_batch_answer)
    ids = planned([f"r{n}@example.com" for n in range(3)])
    connection = connection_to(loopback)
    composed = compose_deliveries(list(Delivery.objects.filter(pk__in=ids).select_related("subscriber")))
    messages = [c.message for c in composed]
    # One message of another shape: a display name with non-ASCII goes through anymail's builder.
    messages[1].to = ["Zoë Example <r1@example.com>"]
    # A body changed after composing: the JSON prepared with the old one must not be sent.
    messages[2].body = "changed after composing"
    # Values JSON must escape, in the fields built directly.
    messages[2].subject = 'A "quoted" back\\slash, tab\t and Zoë — 3 papers'
    messages[2].metadata = {"delivery_id": 'x"y\\z', "naïve": "ü\u2028"}
    assert all(hasattr(m, "prepared_json") for m in messages)
    expected = [connection.build_message_payload(m, connection.send_defaults).data for m in messages]
    assert connection.send_messages(messages) == 3
    (call,) = loopback.requests_to("/email/batch")
    assert call.json() == expected
    # The body goes out as it is joined, but with its length up front (not chunked encoding).
    assert call.headers["Content-Length"] == str(len(call.body)) and "Transfer-Encoding" not in call.headers
    assert call.json()[1]["To"] == expected[1]["To"] and "Zo" in call.json()[1]["To"]
    assert call.json()[2]["TextBody"] == "changed after composing"
    assert call.json()[2]["Subject"] == 'A "quoted" back\\slash, tab\t and Zoë — 3 papers'


@pytest.mark.parametrize("in_flight", [1, 2])
def test_groups_go_at_most_n_calls_at_a_time_and_a_failed_call_stops_the_chunk(loopback, settings, in_flight):
    """The next group is composed while calls are on the wire, but claimed only when there is room on
    the wire: once the outcome of the call `in_flight` places before it is recorded. A 500 on the
    second group's call stops the chunk; a call already on the wire then is recorded as answered,
    and the groups after it are never claimed."""
    settings.NEWSLETTER_SEND_BATCH_SIZE = 2
    settings.NEWSLETTER_SEND_CALLS_IN_FLIGHT = in_flight
    emails = [f"r{n}@example.com" for n in range(8)]
    in_flight_now, most, calls = [0], [0], []
    lock = threading.Lock()

    def answer(request: Request) -> Response:
        recipients = [item["To"] for item in request.json()]
        with lock:
            in_flight_now[0] += 1
            most[0] = max(most[0], in_flight_now[0])
            calls.append(recipients)
        # The failing call answers last, so the call after it is out before its failure is known.
        time.sleep(0.6 if recipients == emails[2:4] else 0.2)
        with lock:
            in_flight_now[0] -= 1
        if recipients == emails[2:4]:
            return Response(500, '{"ErrorCode": 500, "Message": "oops"}')
        return postmark_batch_answer(request)

    loopback.route("/email/batch", answer)
    ids = planned(emails)
    report = deliveries_send_chunk(delivery_ids=ids, connection=connection_to(loopback))
    went = 1 + in_flight  # the failing second call, and the calls that were on the wire beside it
    assert sorted(calls) == [emails[n : n + 2] for n in range(0, 2 * went, 2)] and most[0] == in_flight
    answered = [0, 1] if in_flight == 1 else [0, 1, 4, 5]
    assert report.sent == len(answered) and sorted(report.retry_ids) == [
        i for n, i in enumerate(ids) if n not in answered
    ]
    rows = {d.pk: (d.status, d.attempts) for d in Delivery.objects.filter(pk__in=ids)}
    expected = [("sent", 1)] * 2 + [("planned", 1)] * 2 + [("planned", 0)] * 4
    if in_flight == 2:
        expected[4:6] = [("sent", 1)] * 2
    assert [rows[pk] for pk in ids] == expected

    loopback.route("/email/batch", postmark_batch_answer)
    retried = deliveries_send_chunk(delivery_ids=ids, connection=connection_to(loopback))
    assert retried.sent == 8 - len(answered)
    assert Delivery.objects.filter(pk__in=ids, status="sent").count() == 8


def test_a_failure_already_answered_stops_the_chunk_before_another_call_goes_out(
    loopback, settings, monkeypatch
):
    """With room for two calls, a call whose 500 is already back when the next group is ready is
    recorded first, and the chunk stops there: the provider sees no second call."""
    from newsletter import composing

    settings.NEWSLETTER_SEND_BATCH_SIZE = 2
    settings.NEWSLETTER_SEND_CALLS_IN_FLIGHT = 2
    emails = [f"r{n}@example.com" for n in range(6)]
    answered, calls = threading.Event(), []

    def answer(request: Request) -> Response:
        calls.append([item["To"] for item in request.json()])
        answered.set()
        return Response(500, '{"ErrorCode": 500, "Message": "oops"}')

    compose = composing.ChunkComposer.compose

    def compose_after_the_answer(self, delivery):
        if delivery.subscriber.email == emails[2]:  # the second group: the first call's answer is back
            assert answered.wait(10)
            time.sleep(0.3)
        return compose(self, delivery)

    monkeypatch.setattr(composing.ChunkComposer, "compose", compose_after_the_answer)
    loopback.route("/email/batch", answer)
    ids = planned(emails)
    report = deliveries_send_chunk(delivery_ids=ids, connection=connection_to(loopback))
    assert calls == [emails[0:2]]
    assert report.sent == 0 and sorted(report.retry_ids) == ids
    rows = {d.pk: (d.status, d.attempts) for d in Delivery.objects.filter(pk__in=ids)}
    assert [rows[pk] for pk in ids] == [("planned", 1)] * 2 + [("planned", 0)] * 4


def test_sending_a_chunk_takes_the_same_queries_for_4_or_40_rows(loopback):
    """Rows are loaded with only the fields the path reads: a deferred field read per row would add a
    query per row."""
    from django.db import connection as db
    from django.test.utils import CaptureQueriesContext

    loopback.route("/email/batch", postmark_batch_answer)

    def queries_for(count: int, prefix: str) -> int:
        ids = planned([f"{prefix}{n}@example.com" for n in range(count)])
        deliveries_send_chunk(delivery_ids=ids, connection=connection_to(loopback))  # warms the pool
        Delivery.objects.filter(pk__in=ids).update(status="planned")
        with CaptureQueriesContext(db) as captured:
            report = deliveries_send_chunk(delivery_ids=ids, connection=connection_to(loopback))
        assert report.sent == count
        return len(captured.captured_queries)

    assert queries_for(4, "small") == queries_for(40, "large")


def test_an_error_composing_the_next_group_still_records_the_group_on_the_wire(
    loopback, settings, monkeypatch
):
    """The first group is sent while the second is composed; composing it fails. The first group's
    outcome is recorded (sent), the rest stays planned for the retry, and the error is raised."""
    from newsletter.composing import ChunkComposer

    settings.NEWSLETTER_SEND_BATCH_SIZE = 2
    loopback.route("/email/batch", postmark_batch_answer)
    ids = planned([f"r{n}@example.com" for n in range(5)])
    compose = ChunkComposer.compose

    def compose_or_fail(self, delivery):
        if delivery.pk == ids[3]:
            raise RuntimeError("a template error in one digest")
        return compose(self, delivery)

    monkeypatch.setattr(ChunkComposer, "compose", compose_or_fail)
    with pytest.raises(RuntimeError, match="template error"):
        deliveries_send_chunk(delivery_ids=ids, connection=connection_to(loopback))
    statuses = dict(Delivery.objects.filter(pk__in=ids).values_list("pk", "status"))
    assert [statuses[pk] for pk in ids] == ["sent", "sent", "planned", "planned", "planned"]
    assert len(loopback.requests_to("/email/batch")) == 1


def test_a_batch_is_sent_and_printed_when_anymail_dumps_requests(loopback, capsys):
    """ANYMAIL debug_api_requests prints each request's body after the call: a batch then goes as
    one bytes body, which it can print, rather than streamed."""
    loopback.route("/email/batch", postmark_batch_answer)
    ids = planned(["a@example.com", "b@example.com"])
    connection = get_connection(
        "mailing.backends.postmark.EmailBackend",
        api_url=loopback.url("/"),
        server_token="test-token",
        debug_api_requests=True,
    )
    assert deliveries_send_chunk(delivery_ids=ids, connection=connection).sent == 2
    printed = capsys.readouterr().out
    assert "/email/batch" in printed and '"To": "b@example.com"' in printed.replace('"To":"', '"To": "')


def test_a_per_message_error_with_characters_a_database_refuses_is_still_recorded(loopback):
    """A provider's error text and message ids go into the rows: a NUL or a lone surrogate in them
    (which Postgres text cannot hold) must not make the group's outcomes unrecordable, leaving even
    its sent rows stuck in `sending`."""
    answer = [
        {"ErrorCode": 0, "Message": "OK", "MessageID": "pm-\u0000\ud800-1", "To": "a@example.com"},
        {"ErrorCode": 300, "Message": "Invalid 'To' address: bad\u0000byte"},
    ]
    loopback.route("/email/batch", Response(200, json.dumps(answer), {"Content-Type": "application/json"}))
    ids = planned(["a@example.com", "b@example.com"])
    report = deliveries_send_chunk(delivery_ids=ids, connection=connection_to(loopback))
    assert (report.sent, report.failed) == (1, 1)
    sent, failed = Delivery.objects.filter(pk__in=ids).order_by("pk")
    assert (sent.status, sent.provider_message_id) == ("sent", "pm-\ufffd\ufffd-1")
    assert failed.status == "failed" and "bad\ufffdbyte" in failed.last_error
