"""HMAC-SHA256 for many short messages under one key, from prepared hash states.

`hmac.new(key, …).copy()` runs Python code per copy, and `hmac.digest()` sets the key up again on
every call; a digest signs two dozen links, so both showed in its cost. RFC 2104 HMAC is
H(K ^ opad || H(K ^ ipad || message)): the two keyed states are hashed once here and copied per
message, which is two C-level copies, an update and two digests. Tests hold the result to the hmac
module.
"""

from __future__ import annotations

import binascii
import hashlib

_BLOCK = 64  # SHA-256's block size
_URLSAFE = bytes.maketrans(b"+/", b"-_")


class PreparedHmac:
    """HMAC-SHA256 under `key` of messages that start with `prefix` (hashed once, here)."""

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes, prefix: bytes = b"", *, _states=None) -> None:
        if _states is not None:
            self._inner, self._outer = _states
            return
        if len(key) > _BLOCK:
            key = hashlib.sha256(key).digest()
        block = key.ljust(_BLOCK, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))
        self._inner.update(prefix)

    def with_prefix(self, prefix: bytes) -> PreparedHmac:
        """The same key, for messages that continue with `prefix` (one reader's links)."""
        inner = self._inner.copy()
        inner.update(prefix)
        return PreparedHmac(b"", _states=(inner, self._outer))

    def digest(self, rest: bytes) -> bytes:
        """HMAC-SHA256 of prefix + rest."""
        inner = self._inner.copy()
        inner.update(rest)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()

    def urlsafe(self, rest: bytes, length: int) -> str:
        """The first `length` bytes of the HMAC, URL-safe base64 (as base64.urlsafe_b64encode)."""
        encoded = binascii.b2a_base64(self.digest(rest)[:length], newline=False)
        return encoded.translate(_URLSAFE).decode()
