"""Defects the fuzzers in this package found, each pinned by a plain example."""

import pytest
from django.test import Client

from subscriptions.models import ConsentRecord, Subscriber
from subscriptions.tests.factories import SubscriberFactory
from subscriptions.tokens import make_link_token

from .conftest import csrf_token_from
from .hostile import fresh_stamp, queued_after_commit

pytestmark = pytest.mark.django_db


def test_a_topic_sent_twice_is_one_choice_on_the_consent_record(topics):
    browser = Client(enforce_csrf_checks=True)
    data = {
        "csrfmiddlewaretoken": csrf_token_from(browser.get("/")),
        "email": "twice@example.com",
        "topics": ["lowbit", "lowbit", "codegen"],
        "started": fresh_stamp(),
    }
    with queued_after_commit():
        assert browser.post("/", data).status_code == 302
    assert ConsentRecord.objects.get(subscriber__email="twice@example.com").topics == ["codegen", "lowbit"]


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"List-Unsubscribe=One-Click", "application/x-www-form-urlencoded; charset=latin-1"),
        (b"List-Unsubscribe=One-Click", "multipart/form-data"),  # no boundary
        (b"--xyz\r\nbroken", "multipart/form-data; boundary=xyz"),
    ],
)
def test_a_post_to_an_unsubscribe_link_with_an_unreadable_body_still_unsubscribes(body, content_type):
    subscriber = SubscriberFactory()
    path = f"/unsubscribe/{make_link_token(subscriber, 'unsubscribe')}/"
    response = Client(enforce_csrf_checks=True).generic("POST", path, body, content_type=content_type)
    assert response.status_code == 200
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.UNSUBSCRIBED
