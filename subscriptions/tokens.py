"""Tokens in links. GET never changes state; every token is checked in constant time.

- manage / unsubscribe: `<subscriber id>.<HMAC>` over the subscriber's random `token_key`. Nothing
  secret is stored in clear in links' place, links can be made for 100k subscribers without a query,
  and rotating `token_key` (subscriber_revoke_links) revokes every link at once.
"""

import base64

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac

from .models import Subscriber

_SALT = "paperboy.subscriptions.link"
PURPOSES = frozenset({"manage", "unsubscribe"})


class InvalidToken(Exception):
    """A token that is malformed, forged, tampered with, or revoked."""


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
