"""Links to a sent digest on the web ("view in browser"): `<delivery id>.<HMAC>`, no query to make one."""

import base64

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac

_SALT = "paperboy.newsletter.view"


def _signature(delivery_id: int) -> str:
    digest = salted_hmac(_SALT, str(delivery_id), algorithm="sha256").digest()
    return base64.urlsafe_b64encode(digest[:15]).decode()


def digest_token(delivery_id: int) -> str:
    return f"{delivery_id}.{_signature(delivery_id)}"


def delivery_id_from_token(token: str) -> int | None:
    """The delivery id a view token names, or None when it is malformed or forged."""
    delivery_id, _, signature = (token or "").partition(".")
    if not delivery_id.isdigit() or len(token) > 80:
        return None
    if not constant_time_compare(signature, _signature(int(delivery_id))):
        return None
    return int(delivery_id)


def digest_view_url(delivery_id: int) -> str:
    return f"{settings.SITE_URL}/digest/{digest_token(delivery_id)}/"
