from types import SimpleNamespace

import pytest

from newsletter.links import digest_view_url
from papers.tests.factories import PaperFactory
from subscriptions.tests.factories import SubscriberFactory
from subscriptions.tokens import (
    InvalidToken,
    LinkSigner,
    digest_token,
    feedback_from_token,
    feedback_link_maker,
    make_feedback_token,
    make_link_token,
    manage_url,
    parse_digest_token,
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


# Made by the modules these tokens came from (subscriptions.tokens, subscriptions.feedback,
# newsletter.links) under this key: links already in readers' inboxes must keep working.
PINNED_SECRET = "pinned-secret-for-token-tests"
PINNED_READER = SimpleNamespace(pk=42, token_key="k3y-Of-The-Reader")
PINNED = {
    "manage": "https://papers.example.com/manage/42.Fpr9Ody4sdH8wjvm0E1dr00G/",
    "unsubscribe": "https://papers.example.com/unsubscribe/42.DOCzoj7Adpigd4b60mUh3zTr/",
    "digest": "https://papers.example.com/digest/1234.lU7nZ2HISs18.CxZekHSC5ZCmAcYrEANt/",
    "feedback": (
        "https://papers.example.com/feedback/42.77.m.dXQYeI-4HbRQ1ohp66U6ja5c/",
        "https://papers.example.com/feedback/42.77.l.-DTvp0_cxFbDb6VuEOdVlduI/",
    ),
}


@pytest.fixture
def pinned_key(settings):
    settings.SECRET_KEY, settings.SITE_URL = PINNED_SECRET, "https://papers.example.com"


def test_links_are_the_ones_already_sent(pinned_key):
    reader, key = PINNED_READER, PINNED_READER.token_key
    assert manage_url(reader) == PINNED["manage"]
    assert unsubscribe_url(reader) == PINNED["unsubscribe"]
    assert digest_view_url(1234, key) == PINNED["digest"]
    assert feedback_link_maker(subscriber_id=42, token_key=key)(77) == PINNED["feedback"]


def test_the_chunk_signer_makes_the_same_links_as_one_at_a_time(pinned_key):
    signer, reader = LinkSigner(), SubscriberFactory()
    key = reader.token_key
    assert signer.manage_url(reader.pk, key) == manage_url(reader)
    assert signer.unsubscribe_url(reader.pk, key) == unsubscribe_url(reader)
    assert signer.digest_token(1234, key) == digest_token(1234, key)
    one_at_a_time = feedback_link_maker(subscriber_id=reader.pk, token_key=key)
    assert [signer.feedback_links(reader.pk, key)(p) for p in (1, 77, 9000)] == [
        one_at_a_time(p) for p in (1, 77, 9000)
    ]
    pinned = LinkSigner()
    assert pinned.manage_url(42, PINNED_READER.token_key) == PINNED["manage"]
    assert pinned.feedback_links(42, PINNED_READER.token_key)(77) == PINNED["feedback"]


def _respelt(token: str, spelling) -> str:
    """The token with its first id written another way (`spelling` of the id's text)."""
    first, dot, rest = token.partition(".")
    return spelling(first) + dot + rest


SPELLINGS = {
    "leading zero": lambda n: "0" + n,
    "Arabic-Indic digits": lambda n: n.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")),
    "superscript": lambda n: "²" + n,  # a digit to str.isdigit(), not to int()
}


@pytest.mark.parametrize("spelling", SPELLINGS.values(), ids=SPELLINGS)
def test_an_id_spelt_otherwise_than_tokens_are_made_is_refused(spelling):
    reader = SubscriberFactory()
    link = make_link_token(reader, "manage")
    assert subscriber_from_link_token(link, "manage") == reader
    with pytest.raises(InvalidToken):
        subscriber_from_link_token(_respelt(link, spelling), "manage")
    digest = digest_token(7, reader.token_key)
    assert parse_digest_token(digest) is not None and parse_digest_token(_respelt(digest, spelling)) is None
    feedback = make_feedback_token(subscriber=reader, paper_id=PaperFactory().pk, value=1)
    assert feedback_from_token(feedback).subscriber == reader
    reader_id, paper_id, rest = feedback.split(".", 2)
    for respelt in (_respelt(feedback, spelling), f"{reader_id}.{spelling(paper_id)}.{rest}"):
        with pytest.raises(InvalidToken):
            feedback_from_token(respelt)
