"""The suppression list that outlives erasure: keyed hashes of addresses never to be mailed again.

A subscriber suppressed after a hard bounce or a spam complaint stays a row with status `suppressed`,
and signup refuses that address. When such a subscriber asks to be erased, the row goes, and with it
the only thing that stopped a new signup from mailing a confirmation to a dead or complaining
mailbox (which hurts the sender's reputation with every provider). So erasure keeps one thing: an
HMAC-SHA256 of the address under a key derived from SECRET_KEY. It identifies the address to someone
who already has it and to no one else; it cannot be listed, mailed or exported.

Hashes made under a key in SECRET_KEY_FALLBACKS still match, so rotating SECRET_KEY the way Django
documents keeps the list working.
"""

import hashlib
import hmac

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.encoding import force_bytes

from .addresses import address_key
from .models import Subscriber, SuppressedAddress

_SALT = b"paperboy.subscriptions.suppressed-address"


def _address_hash(address: str, secret) -> str:
    key = hashlib.sha256(_SALT + force_bytes(secret)).digest()
    return hmac.new(key, address_key(address).encode(), hashlib.sha256).hexdigest()


def address_hashes(address: str) -> list[str]:
    """The address's hash under SECRET_KEY first, then under each fallback key."""
    secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return [_address_hash(address, secret) for secret in secrets]


def is_suppressed_address(address: str) -> bool:
    """True when an erased subscriber with this address had been suppressed."""
    return SuppressedAddress.objects.filter(address_hash__in=address_hashes(address)).exists()


def remember_suppressed(subscriber: Subscriber) -> None:
    """Keep the hash of a suppressed subscriber's address (before the row is erased). Idempotent."""
    if subscriber.status != Subscriber.Status.SUPPRESSED:
        return
    with transaction.atomic():
        SuppressedAddress.objects.get_or_create(
            address_hash=address_hashes(subscriber.email)[0],
            defaults={"suppressed_at": subscriber.suppressed_at or timezone.now()},
        )
