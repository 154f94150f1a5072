"""Tokens in links. GET never changes state; every token is checked in constant time.

- manage / unsubscribe: `<subscriber id>.<HMAC>` over the subscriber's random `token_key`. Nothing
  secret is stored in clear in links' place, links can be made for 100k subscribers without a query,
  and rotating `token_key` (subscriber_revoke_links) revokes every link at once.
- confirm: a TimestampSigner token over `<subscriber id>.<consent id>.<fingerprint of token_key>`.
  It expires (CONFIRM_MAX_AGE_DAYS), a forged one is refused before any query, rotating
  `token_key` revokes it, and the consent record it names can be confirmed only once.
"""

import base64

from django.conf import settings
from django.core import signing
from django.utils.crypto import constant_time_compare, salted_hmac

from .conf import confirm_max_age
from .models import ConsentRecord, Subscriber

_SALT = "paperboy.subscriptions.link"
PURPOSES = frozenset({"manage", "unsubscribe"})


class InvalidToken(Exception):
    """A token that is malformed, forged, tampered with, or revoked."""


class ExpiredToken(InvalidToken):
    """A genuine confirmation token that is older than its maximum age."""


def _signature(purpose: str, subscriber_id: int, token_key: str) -> str:
    digest = salted_hmac(_SALT, f"{purpose}:{subscriber_id}:{token_key}", algorithm="sha256").digest()
    return base64.urlsafe_b64encode(digest[:18]).decode()


def make_link_token(subscriber: Subscriber, purpose: str) -> str:
    if purpose not in PURPOSES:
        raise ValueError(f"unknown token purpose {purpose!r}")
    return f"{subscriber.pk}.{_signature(purpose, subscriber.pk, subscriber.token_key)}"


def subscriber_from_link_token(token: str, purpose: str) -> Subscriber:
    """The subscriber a link token belongs to, or InvalidToken."""
    subscriber_id, _, signature = (token or "").partition(".")
    if purpose not in PURPOSES or not subscriber_id.isdigit() or not signature or len(token) > 100:
        raise InvalidToken("malformed token")
    subscriber = Subscriber.objects.filter(pk=int(subscriber_id)).first()
    if subscriber is None:
        raise InvalidToken("unknown subscriber")
    expected = _signature(purpose, subscriber.pk, subscriber.token_key)
    if not constant_time_compare(signature, expected):
        raise InvalidToken("bad signature")
    return subscriber


def manage_url(subscriber: Subscriber) -> str:
    return f"{settings.SITE_URL}/manage/{make_link_token(subscriber, 'manage')}/"


def unsubscribe_url(subscriber: Subscriber) -> str:
    return f"{settings.SITE_URL}/unsubscribe/{make_link_token(subscriber, 'unsubscribe')}/"


_CONFIRM_SALT = "paperboy.subscriptions.confirm"
# A signed value plus timestamp and signature stays far below this; longer input is junk.
_MAX_CONFIRM_TOKEN_LENGTH = 200


def _key_fingerprint(token_key: str) -> str:
    digest = salted_hmac(f"{_CONFIRM_SALT}.key", token_key, algorithm="sha256").digest()
    return base64.urlsafe_b64encode(digest[:12]).decode()


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
    return f"{settings.SITE_URL}/confirm/{make_confirm_token(consent)}/"
