"""Links to a sent digest on the web ("view in browser"): `<delivery id>.<key fingerprint>.<HMAC>`.

The fingerprint is a keyed hash of the reader's `token_key` and the HMAC covers it with the delivery
id, so "Switch off old links" (subscriptions.services.subscriber_revoke_links rotates the key) kills
old web copies along with the manage and unsubscribe links they show. A forged or altered token is
refused before any query; a genuine one whose reader has since rotated their key is refused after
loading the delivery (`token_key_matches`). Making a link needs the key, not a query: the digest path
signs a chunk's links with keys derived once (newsletter.composing._LinkSigner).
"""

import base64

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac

from subscriptions.models import Subscriber

_SALT = "paperboy.newsletter.view"
_KEY_SALT = "paperboy.newsletter.view.key"
MAX_TOKEN_LENGTH = 80


def _b64(digest: bytes) -> str:
    return base64.urlsafe_b64encode(digest).decode()


def key_fingerprint(token_key: str) -> str:
    """12 characters standing for the reader's token_key; reveals nothing of it without SECRET_KEY."""
    return _b64(salted_hmac(_KEY_SALT, token_key, algorithm="sha256").digest()[:9])


def _signature(delivery_id: int, fingerprint: str) -> str:
    return _b64(salted_hmac(_SALT, f"{delivery_id}.{fingerprint}", algorithm="sha256").digest()[:15])


def _token_key_of(delivery_id: int) -> str:
    key = Subscriber.objects.filter(deliveries__pk=delivery_id).values_list("token_key", flat=True).first()
    return key or ""


def digest_token(delivery_id: int, token_key: str | None = None) -> str:
    """The token of a delivery's web copy. Without `token_key`, the reader's is looked up (one query)."""
    if token_key is None:
        token_key = _token_key_of(delivery_id)
    fingerprint = key_fingerprint(token_key)
    return f"{delivery_id}.{fingerprint}.{_signature(delivery_id, fingerprint)}"


def parse_digest_token(token: str) -> tuple[int, str] | None:
    """(delivery id, key fingerprint) of a genuine token, or None when it is malformed or forged."""
    delivery_id, _, rest = (token or "").partition(".")
    fingerprint = rest.partition(".")[0]
    if not delivery_id.isdigit() or len(token) > MAX_TOKEN_LENGTH or not fingerprint:
        return None
    # The whole tail is compared, in constant time, with the one this id and fingerprint make.
    if not constant_time_compare(rest, f"{fingerprint}.{_signature(int(delivery_id), fingerprint)}"):
        return None
    return int(delivery_id), fingerprint


def token_key_matches(fingerprint: str, token_key: str) -> bool:
    """Whether a token was made under the reader's current token_key (not revoked since)."""
    return constant_time_compare(fingerprint, key_fingerprint(token_key))


def delivery_id_from_token(token: str) -> int | None:
    """The delivery id a genuine token names (its signature checked; revocation needs the reader)."""
    parsed = parse_digest_token(token)
    return parsed[0] if parsed else None


def digest_view_url(delivery_id: int, token_key: str | None = None) -> str:
    return f"{settings.SITE_URL}/digest/{digest_token(delivery_id, token_key)}/"
