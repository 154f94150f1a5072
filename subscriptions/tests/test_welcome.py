"""The welcome email: sent once, after the commit that confirms, with the reader's choices, the time of
their first digest in their own zone, and their manage link."""

from datetime import UTC, datetime

import pytest
from django.core import mail

from subscriptions import services
from subscriptions.emails import welcome_message
from subscriptions.models import Subscriber
from subscriptions.schedule import first_digest, schedule_text
from subscriptions.tasks import send_welcome_email
from subscriptions.tests.conftest import last_mail_to, link_from
from subscriptions.tests.factories import SubscriberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def confirm_path(sign_up, topics):
    sign_up("ada@example.com")
    return link_from(last_mail_to("ada@example.com"), "confirm")


def _welcomes(to: str = "ada@example.com") -> list:
    return [m for m in mail.outbox if m.to == [to] and m.subject.startswith("Welcome to")]


def test_confirming_sends_a_welcome_with_the_choices_and_the_manage_link(
    client, confirm_path, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(confirm_path)

    (welcome,) = _welcomes()
    html = welcome.alternatives[0][0]
    for body in (welcome.body, html):
        assert "Quantization" in body and "Code LLMs" in body
        assert "Keywords" in body and "none" in body  # the signup form asks for topics only
        assert "Daily at 07:00 (Europe/Berlin)" in body
        assert "Your first digest comes" in body
    assert "your first digest comes" in welcome.subject
    manage = link_from(welcome, "manage")
    assert client.get(manage).status_code == 200
    assert client.get(link_from(welcome, "unsubscribe")).status_code == 200
    assert welcome.extra_headers["Auto-Submitted"] == "auto-generated"


def test_the_welcome_waits_for_the_commit_and_comes_once(
    client, confirm_path, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        client.post(confirm_path)
    assert _welcomes() == [] and len(callbacks) == 1  # queued for after the commit, not sent inside it
    callbacks[0]()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(confirm_path)  # a second click: already active, nothing new
    assert len(_welcomes()) == 1


def test_no_welcome_for_a_reader_gone_before_the_task_ran(eager_tasks):
    reader = SubscriberFactory(status=Subscriber.Status.ACTIVE)
    services.subscriber_unsubscribe(subscriber=reader, reason="test")
    assert send_welcome_email.apply(args=[reader.pk]).result is False
    assert _welcomes(reader.email) == []


def _reader(**fields) -> Subscriber:
    return SubscriberFactory.build(**{"timezone": "Europe/Berlin", "delivery_hour": 7, **fields})


@pytest.mark.parametrize(
    ("fields", "now", "told"),
    [
        ({}, datetime(2026, 12, 7, 5, 0, tzinfo=UTC), "today at 07:00"),  # 06:00 in Berlin
        ({}, datetime(2026, 12, 7, 9, 0, tzinfo=UTC), "within the next quarter of an hour"),
        ({"delivery_hour": 6}, datetime(2026, 12, 7, 23, 30, tzinfo=UTC), "today at 06:00"),  # 00:30 local
        (
            {"timezone": "America/New_York", "frequency": "weekly", "delivery_weekday": 1},
            datetime(2026, 12, 7, 20, 0, tzinfo=UTC),  # Monday 15:00 in New York
            "tomorrow, Tuesday 8 December, at 07:00",
        ),
        (
            {"frequency": "weekly", "delivery_weekday": 0},
            datetime(2026, 12, 8, 9, 0, tzinfo=UTC),
            "on Monday 14 December at 07:00",
        ),
        (
            {"frequency": "weekly", "delivery_weekday": 0},
            datetime(2026, 12, 7, 9, 0, tzinfo=UTC),
            "within the next quarter of an hour",
        ),
        (
            {"timezone": "Not/AZone"},
            datetime(2026, 12, 7, 5, 0, tzinfo=UTC),
            "today at 07:00",
        ),  # as the planner: UTC
    ],
)
def test_the_first_digest_is_told_in_the_readers_time(fields, now, told):
    assert first_digest(_reader(**fields), now=now).describe(now) == told


def test_schedule_reads_as_words():
    assert schedule_text(_reader()) == "Daily at 07:00"
    assert (
        schedule_text(_reader(frequency="weekly", delivery_weekday=4, delivery_hour=18))
        == "Weekly, on Fridays at 18:00"
    )


def test_keywords_and_a_weekly_schedule_are_named():
    reader = SubscriberFactory(
        status=Subscriber.Status.ACTIVE,
        keywords="KV cache\nlora; kv  CACHE, x",
        frequency="weekly",
        delivery_weekday=2,
    )
    welcome = welcome_message(reader, now=datetime(2026, 12, 7, 5, 0, tzinfo=UTC))
    # The keywords as the digests match them: lower case, once each, one letter too short to count.
    assert "Keywords: kv cache, lora\n" in welcome.body
    assert "Weekly, on Wednesdays at 07:00" in welcome.body
