import pytest

from subscriptions.tests.factories import SubscriberFactory
from subscriptions.tokens import (
    InvalidToken,
    make_link_token,
    manage_url,
    subscriber_from_link_token,
    unsubscribe_url,
)

pytestmark = pytest.mark.django_db


def test_link_token_round_trips_for_its_purpose_only():
    subscriber = SubscriberFactory()
    token = make_link_token(subscriber, "manage")
    assert subscriber_from_link_token(token, "manage") == subscriber
    with pytest.raises(InvalidToken):
        subscriber_from_link_token(token, "unsubscribe")


@pytest.mark.parametrize(
    "mangle", [lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"), lambda t: "9" + t, str.upper]
)
def test_tampered_tokens_are_refused(mangle):
    subscriber = SubscriberFactory()
    with pytest.raises(InvalidToken):
        subscriber_from_link_token(mangle(make_link_token(subscriber, "manage")), "manage")


def test_one_subscribers_signature_does_not_open_anothers_page():
    alice, bob = SubscriberFactory(), SubscriberFactory()
    _, signature = make_link_token(alice, "manage").split(".")
    with pytest.raises(InvalidToken):
        subscriber_from_link_token(f"{bob.pk}.{signature}", "manage")


def test_rotating_the_token_key_revokes_old_links():
    subscriber = SubscriberFactory()
    token = make_link_token(subscriber, "unsubscribe")
    subscriber.token_key = "rotated"
    subscriber.save()
    with pytest.raises(InvalidToken):
        subscriber_from_link_token(token, "unsubscribe")


@pytest.mark.parametrize("junk", ["", ".", "abc", "1.", ".sig", "x" * 500, "1.sig.extra\x00"])
def test_malformed_tokens_are_refused(junk):
    with pytest.raises(InvalidToken):
        subscriber_from_link_token(junk, "manage")


def test_links_are_absolute_under_site_url(settings):
    settings.SITE_URL = "https://papers.example.com"
    subscriber = SubscriberFactory()
    assert manage_url(subscriber).startswith("https://papers.example.com/manage/")
    assert unsubscribe_url(subscriber).startswith("https://papers.example.com/unsubscribe/")
