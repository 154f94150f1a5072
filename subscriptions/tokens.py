"""Every token in a reader's links, and the links themselves: the one module that makes and checks them.

GET never changes state; every token is checked in constant time. Each token is tied to the
subscriber's random `token_key`, so rotating it (subscriber_revoke_links) revokes every link at once.

- manage / unsubscribe: `<subscriber id>.<HMAC>` over the purpose, the id and `token_key`. Nothing
  secret is stored in clear in links' place, and links can be made for 100k subscribers without a query.
- confirm: a TimestampSigner token over `<subscriber id>.<consent id>.<fingerprint of token_key>`.
  It expires (CONFIRM_MAX_AGE_DAYS), a forged one is refused before any query, and the consent
  record it names can be confirmed only once.
- digest ("view in browser", newsletter's page): `<delivery id>.<key fingerprint>.<HMAC>`. The
  fingerprint is a keyed hash of `token_key` and the HMAC covers it with the delivery id, so old web
  copies die with the manage and unsubscribe links they show. A forged or altered token is refused
  before any query (`parse_digest_token`); a genuine one whose reader has since rotated their key is
  refused once the page has loaded the delivery (`token_key_matches`).
- feedback ("more / less like this"): `<subscriber id>.<paper id>.<m|l>.<HMAC>` over all three and
  `token_key`: a token names one reader, one paper and one choice.

Each function makes one link; `LinkSigner` makes the same links for a chunk of digests (two dozen per
digest) from keys derived once and HMAC states prepared once (subscriptions.hmacs), around URL
prefixes reversed once. A test holds the two to each other.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.encoding import force_bytes

from papers.models import Paper

from .conf import confirm_max_age
from .hmacs import PreparedHmac
from .models import ConsentRecord, PaperFeedback, Subscriber

_LINK_SALT = "paperboy.subscriptions.link"
_CONFIRM_SALT = "paperboy.subscriptions.confirm"
# The digest token's salts keep the names they were made with (newsletter's), or every web-copy
# link already sent would stop working.
_DIGEST_SALT = "paperboy.newsletter.view"
_DIGEST_KEY_SALT = "paperboy.newsletter.view.key"
_FEEDBACK_SALT = "paperboy.subscriptions.feedback"

PURPOSES = frozenset({"manage", "unsubscribe"})
# A signed value plus timestamp and signature stays far below this; longer input is junk.
_MAX_CONFIRM_TOKEN_LENGTH = 200
MAX_DIGEST_TOKEN_LENGTH = 80
_MAX_FEEDBACK_TOKEN_LENGTH = 100
_CHOICES = {"m": PaperFeedback.Value.MORE, "l": PaperFeedback.Value.LESS}
_LETTERS = {value: letter for letter, value in _CHOICES.items()}


class InvalidToken(Exception):
    """A token that is malformed, forged, tampered with, or revoked."""


class ExpiredToken(InvalidToken):
    """A genuine confirmation token that is older than its maximum age."""


def _b64(digest: bytes) -> str:
    return base64.urlsafe_b64encode(digest).decode()


def _id(text: str) -> int | None:
    """The id a token spells, if spelt as tokens are made: ASCII digits without a leading zero.

    "01", or "1" in another script's digits, names the same row as "1" under the same signature: a
    second token for one link. And str.isdigit() takes digits int() does not ("²": a server error)."""
    if text.isascii() and text.isdigit() and not text.startswith("0"):
        return int(text)
    return None


@lru_cache(maxsize=16)
def _prepared(salt: str, secret: str) -> PreparedHmac:
    """HMAC-SHA256 under the key Django's salted_hmac(salt, …) uses, its states prepared once per
    process (salted_hmac derives the key again on every call)."""
    return PreparedHmac(hashlib.sha256(force_bytes(salt) + force_bytes(secret)).digest())


# --- URLs ----------------------------------------------------------------------------------------

_URL_MARK = "PAPERBOY-TOKEN"


def token_url(name: str, token: str) -> str:
    """The absolute URL of the page `name` (a URL pattern taking one token) for `token`."""
    return f"{settings.SITE_URL}{reverse(name, args=[token])}"


def url_around(name: str) -> tuple[str, str]:
    """The absolute URL of the page `name` split where its token goes: (before, after). Tokens are
    made of characters a URL carries as they are, so before + token + after is token_url's answer."""
    before, _mark, after = token_url(name, _URL_MARK).rpartition(_URL_MARK)
    return before, after


# --- Manage and unsubscribe ----------------------------------------------------------------------


def _signature(purpose: str, subscriber_id: int, token_key: str) -> str:
    digest = salted_hmac(_LINK_SALT, f"{purpose}:{subscriber_id}:{token_key}", algorithm="sha256").digest()
    return _b64(digest[:18])


def make_link_token(subscriber: Subscriber, purpose: str) -> str:
    if purpose not in PURPOSES:
        raise ValueError(f"unknown token purpose {purpose!r}")
    return f"{subscriber.pk}.{_signature(purpose, subscriber.pk, subscriber.token_key)}"


def subscriber_from_link_token(token: str, purpose: str) -> Subscriber:
    """The subscriber a link token belongs to, or InvalidToken."""
    subscriber_id, _, signature = (token or "").partition(".")
    if purpose not in PURPOSES or _id(subscriber_id) is None or not signature or len(token) > 100:
        raise InvalidToken("malformed token")
    subscriber = Subscriber.objects.filter(pk=_id(subscriber_id)).first()
    if subscriber is None:
        raise InvalidToken("unknown subscriber")
    expected = _signature(purpose, subscriber.pk, subscriber.token_key)
    if not constant_time_compare(signature, expected):
        raise InvalidToken("bad signature")
    return subscriber


def manage_url(subscriber: Subscriber) -> str:
    return token_url("subscriptions:manage", make_link_token(subscriber, "manage"))


def unsubscribe_url(subscriber: Subscriber) -> str:
    return token_url("subscriptions:unsubscribe", make_link_token(subscriber, "unsubscribe"))


# --- Confirm ---------------------------------------------------------------------------------------


def _key_fingerprint(token_key: str) -> str:
    digest = salted_hmac(f"{_CONFIRM_SALT}.key", token_key, algorithm="sha256").digest()
    return _b64(digest[:12])


def make_confirm_token(consent: ConsentRecord) -> str:
    subscriber = consent.subscriber
    value = f"{subscriber.pk}.{consent.pk}.{_key_fingerprint(subscriber.token_key)}"
    return signing.TimestampSigner(salt=_CONFIRM_SALT, algorithm="sha256").sign(value)


def confirmation_from_token(token: str) -> tuple[Subscriber, ConsentRecord]:
    """The subscriber and the signup a confirmation token names; InvalidToken or ExpiredToken."""
    if not token or len(token) > _MAX_CONFIRM_TOKEN_LENGTH:
        raise InvalidToken("malformed token")
    signer = signing.TimestampSigner(salt=_CONFIRM_SALT, algorithm="sha256")
    try:
        value = signer.unsign(token, max_age=confirm_max_age())
    except signing.SignatureExpired as exc:
        raise ExpiredToken("confirmation link expired") from exc
    except signing.BadSignature as exc:
        raise InvalidToken("bad signature") from exc
    subscriber_id, consent_id, fingerprint = [*value.split(".", 2), "", ""][:3]
    if not (subscriber_id.isdigit() and consent_id.isdigit()):
        raise InvalidToken("malformed token")
    consent = (
        ConsentRecord.objects.select_related("subscriber")
        .filter(pk=int(consent_id), subscriber_id=int(subscriber_id))
        .first()
    )
    if consent is None:
        raise InvalidToken("unknown signup")
    if not constant_time_compare(fingerprint, _key_fingerprint(consent.subscriber.token_key)):
        raise InvalidToken("revoked")
    return consent.subscriber, consent


def confirm_url(consent: ConsentRecord) -> str:
    return token_url("subscriptions:confirm", make_confirm_token(consent))


# --- A sent digest's web copy ----------------------------------------------------------------------


def key_fingerprint(token_key: str) -> str:
    """12 characters standing for the reader's token_key; reveals nothing of it without SECRET_KEY."""
    return _b64(salted_hmac(_DIGEST_KEY_SALT, token_key, algorithm="sha256").digest()[:9])


def _digest_signature(delivery_id: int, fingerprint: str) -> str:
    return _b64(salted_hmac(_DIGEST_SALT, f"{delivery_id}.{fingerprint}", algorithm="sha256").digest()[:15])


def digest_token(delivery_id: int, token_key: str) -> str:
    """The token of a delivery's web copy, for the reader whose key is `token_key`."""
    fingerprint = key_fingerprint(token_key)
    return f"{delivery_id}.{fingerprint}.{_digest_signature(delivery_id, fingerprint)}"


def parse_digest_token(token: str) -> tuple[int, str] | None:
    """(delivery id, key fingerprint) of a genuine token, or None when it is malformed or forged."""
    text, _, rest = (token or "").partition(".")
    delivery_id, fingerprint = _id(text), rest.partition(".")[0]
    if delivery_id is None or len(token) > MAX_DIGEST_TOKEN_LENGTH or not fingerprint:
        return None
    # The whole tail is compared, in constant time, with the one this id and fingerprint make.
    if not constant_time_compare(rest, f"{fingerprint}.{_digest_signature(delivery_id, fingerprint)}"):
        return None
    return delivery_id, fingerprint


def token_key_matches(fingerprint: str, token_key: str) -> bool:
    """Whether a token was made under the reader's current token_key (not revoked since)."""
    return constant_time_compare(fingerprint, key_fingerprint(token_key))


def delivery_id_from_token(token: str) -> int | None:
    """The delivery id a genuine token names (its signature checked; revocation needs the reader)."""
    parsed = parse_digest_token(token)
    return parsed[0] if parsed else None


# --- Feedback ("more / less like this") ------------------------------------------------------------


def _feedback_signature(subscriber_id: int, token_key: str, paper_id: int, letter: str) -> str:
    return _prepared(_FEEDBACK_SALT, settings.SECRET_KEY).urlsafe(
        f"{subscriber_id}:{token_key}:{paper_id}:{letter}".encode(), 18
    )


def _feedback_links(reader: PreparedHmac, before: str, after: str) -> Callable[[int], tuple[str, str]]:
    """paper id -> (more URL, less URL) for the reader whose prefix `reader` holds: one prepared
    HMAC per reader, two state copies per link."""

    def links(paper_id: int) -> tuple[str, str]:
        more = reader.urlsafe(b"%d:m" % paper_id, 18)
        less = reader.urlsafe(b"%d:l" % paper_id, 18)
        return f"{before}{paper_id}.m.{more}{after}", f"{before}{paper_id}.l.{less}{after}"

    return links


def feedback_link_maker(*, subscriber_id: int, token_key: str) -> Callable[[int], tuple[str, str]]:
    """paper id -> ("more like this" URL, "less like this" URL) for one reader's digest."""
    reader = _prepared(_FEEDBACK_SALT, settings.SECRET_KEY).with_prefix(
        f"{subscriber_id}:{token_key}:".encode()
    )
    before, after = url_around("subscriptions:feedback")
    return _feedback_links(reader, f"{before}{subscriber_id}.", after)


def make_feedback_token(*, subscriber: Subscriber, paper_id: int, value: int) -> str:
    letter = _LETTERS[value]
    signature = _feedback_signature(subscriber.pk, subscriber.token_key, paper_id, letter)
    return f"{subscriber.pk}.{paper_id}.{letter}.{signature}"


@dataclass(frozen=True)
class FeedbackLink:
    subscriber: Subscriber
    paper: Paper
    value: int


def feedback_from_token(token: str) -> FeedbackLink:
    """The reader, paper and choice a feedback token names, or InvalidToken."""
    parts = (token or "").split(".")
    if len(token or "") > _MAX_FEEDBACK_TOKEN_LENGTH or len(parts) != 4:
        raise InvalidToken("malformed token")
    subscriber_text, paper_text, letter, signature = parts
    subscriber_id, paper_id = _id(subscriber_text), _id(paper_text)
    if subscriber_id is None or paper_id is None or letter not in _CHOICES or not signature:
        raise InvalidToken("malformed token")
    subscriber = Subscriber.objects.filter(pk=subscriber_id).first()
    if subscriber is None:
        raise InvalidToken("unknown subscriber")
    expected = _feedback_signature(subscriber.pk, subscriber.token_key, paper_id, letter)
    if not constant_time_compare(signature, expected):
        raise InvalidToken("bad signature")
    paper = Paper.objects.filter(pk=paper_id).first()
    if paper is None:
        raise InvalidToken("unknown paper")
    return FeedbackLink(subscriber=subscriber, paper=paper, value=_CHOICES[letter])


# --- Many readers' links at once -----------------------------------------------------------------------


class LinkSigner:
    """The links above for a chunk of digests, without deriving a key or reversing a URL per link.

    Made once per chunk: each key is derived and its HMAC states prepared once per process (the
    SECRET_KEY in force is part of the cache key), and each page's URL is reversed once."""

    def __init__(self) -> None:
        secret = settings.SECRET_KEY
        self._link = _prepared(_LINK_SALT, secret)
        self._digest = _prepared(_DIGEST_SALT, secret)
        self._digest_key = _prepared(_DIGEST_KEY_SALT, secret)
        self._feedback = _prepared(_FEEDBACK_SALT, secret)
        self._manage = url_around("subscriptions:manage")
        self._unsubscribe = url_around("subscriptions:unsubscribe")
        self._feedback_url = url_around("subscriptions:feedback")

    def manage_url(self, subscriber_id: int, token_key: str) -> str:
        signature = self._link.urlsafe(f"manage:{subscriber_id}:{token_key}".encode(), 18)
        before, after = self._manage
        return f"{before}{subscriber_id}.{signature}{after}"

    def unsubscribe_url(self, subscriber_id: int, token_key: str) -> str:
        signature = self._link.urlsafe(f"unsubscribe:{subscriber_id}:{token_key}".encode(), 18)
        before, after = self._unsubscribe
        return f"{before}{subscriber_id}.{signature}{after}"

    def digest_token(self, delivery_id: int, token_key: str) -> str:
        fingerprint = self._digest_key.urlsafe(token_key.encode(), 9)
        signature = self._digest.urlsafe(f"{delivery_id}.{fingerprint}".encode(), 15)
        return f"{delivery_id}.{fingerprint}.{signature}"

    def feedback_links(self, subscriber_id: int, token_key: str) -> Callable[[int], tuple[str, str]]:
        reader = self._feedback.with_prefix(f"{subscriber_id}:{token_key}:".encode())
        before, after = self._feedback_url
        return _feedback_links(reader, f"{before}{subscriber_id}.", after)
