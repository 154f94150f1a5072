"""Unsubscribe links: GET asks, POST acts; RFC 8058 one-click; resubscribe from the result page."""

import pytest
from django.test import Client

from subscriptions.models import ConsentRecord, Subscriber
from subscriptions.tests.factories import SubscriberFactory
from subscriptions.tokens import make_link_token, unsubscribe_url

pytestmark = pytest.mark.django_db


def _path(subscriber) -> str:
    return f"/unsubscribe/{make_link_token(subscriber, 'unsubscribe')}/"


def test_get_shows_a_button_and_never_unsubscribes(client):
    subscriber = SubscriberFactory()
    page = client.get(_path(subscriber))
    client.head(_path(subscriber))
    assert page.status_code == 200 and b">Unsubscribe</button>" in page.content
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.ACTIVE


def test_one_click_post_without_cookies_or_csrf_token_unsubscribes(settings):
    settings.SITE_URL = "http://testserver"
    subscriber = SubscriberFactory()
    mail_program = Client(enforce_csrf_checks=True)  # no cookies, no token: as a mail provider posts
    response = mail_program.post(
        unsubscribe_url(subscriber).removeprefix("http://testserver"),
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.UNSUBSCRIBED and subscriber.unsubscribed_at
    record = subscriber.consents.get(action=ConsentRecord.Action.UNSUBSCRIBE)
    assert "one-click" in record.consent_text


def test_one_click_also_works_as_multipart(client):
    subscriber = SubscriberFactory()
    response = Client(enforce_csrf_checks=True).post(_path(subscriber), {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.UNSUBSCRIBED


def test_unsubscribing_twice_is_harmless_and_suppressed_stays_suppressed(client):
    subscriber = SubscriberFactory()
    client.post(_path(subscriber))
    client.post(_path(subscriber))
    assert subscriber.consents.filter(action=ConsentRecord.Action.UNSUBSCRIBE).count() == 1
    bounced = SubscriberFactory(status=Subscriber.Status.SUPPRESSED)
    assert client.post(_path(bounced)).status_code == 200
    bounced.refresh_from_db()
    assert bounced.status == Subscriber.Status.SUPPRESSED


@pytest.mark.parametrize(
    "mangle", [lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"), lambda t: "1" + t, str.lower]
)
def test_tampered_tokens_get_404_and_change_nothing(client, mangle):
    subscriber = SubscriberFactory()
    path = f"/unsubscribe/{mangle(make_link_token(subscriber, 'unsubscribe'))}/"
    assert Client(enforce_csrf_checks=True).post(path, {"List-Unsubscribe": "One-Click"}).status_code == 404
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.ACTIVE


def test_a_manage_token_does_not_unsubscribe(client):
    subscriber = SubscriberFactory()
    assert client.post(f"/unsubscribe/{make_link_token(subscriber, 'manage')}/").status_code == 404
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.ACTIVE


def test_resubscribe_from_the_result_page(client, topics):
    subscriber = SubscriberFactory(topics=topics[:1], timezone="Asia/Tokyo")
    page = client.post(_path(subscriber))
    assert b"Subscribe again" in page.content
    response = client.post(
        f"{_path(subscriber)}resubscribe/", {"csrfmiddlewaretoken": "ignored-by-test-client"}
    )
    assert response.status_code == 200 and b"Welcome back" in response.content
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.ACTIVE
    assert subscriber.timezone == "Asia/Tokyo" and list(subscriber.topics.all()) == topics[:1]
    assert subscriber.consents.filter(action=ConsentRecord.Action.RESUBSCRIBE).exists()


def test_resubscribe_needs_csrf_and_refuses_suppressed(client):
    subscriber = SubscriberFactory(status=Subscriber.Status.UNSUBSCRIBED)
    assert Client(enforce_csrf_checks=True).post(f"{_path(subscriber)}resubscribe/").status_code == 403
    assert client.get(f"{_path(subscriber)}resubscribe/").status_code == 405
    bounced = SubscriberFactory(status=Subscriber.Status.SUPPRESSED)
    assert client.post(f"{_path(bounced)}resubscribe/").status_code == 400
    for s in (subscriber, bounced):
        old = s.status
        s.refresh_from_db()
        assert s.status == old
