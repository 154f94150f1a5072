"""Defects the fuzzers in this package found, each pinned by a plain example."""

import pytest
from django.test import Client

from subscriptions.models import ConsentRecord, Subscriber
from subscriptions.tests.factories import SubscriberFactory
from subscriptions.tokens import make_confirm_token, make_link_token

from .conftest import csrf_token_from
from .hostile import fresh_stamp, queued_after_commit, snapshot

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


@pytest.mark.parametrize("page", ["signup", "confirm", "manage", "admin"])
def test_form_posted_in_another_charset_is_a_400_not_a_500(topics, page):
    """Found by the confirm fuzzer: Django refuses such a body, then its 400 page read it again."""
    subscriber = SubscriberFactory(status=Subscriber.Status.PENDING, confirmed_at=None)
    consent = ConsentRecord.objects.create(subscriber=subscriber, form_version="t", topics=["lowbit"])
    path = {
        "signup": "/",
        "confirm": f"/confirm/{make_confirm_token(consent)}/",
        "manage": f"/manage/{make_link_token(subscriber, 'manage')}/",
        "admin": "/admin/login/",
    }[page]
    browser = Client(enforce_csrf_checks=True, raise_request_exception=False)
    browser.get(path)  # the CSRF cookie: without it the request is refused before the body is read
    assert "csrftoken" in browser.cookies
    before = snapshot()
    response = browser.generic(
        "POST",
        path,
        "email=ad%E9@example.com",
        content_type="application/x-www-form-urlencoded; charset=latin-1",
    )
    assert response.status_code == 400
    assert snapshot() == before
