"""PreparedHmac is RFC 2104 HMAC-SHA256, as the hmac module computes it."""

import base64
import hashlib
import hmac

import pytest

from subscriptions.hmacs import PreparedHmac


@pytest.mark.parametrize("key", [b"", b"k", hashlib.sha256(b"x").digest(), b"long key " * 20])
def test_prepared_states_give_the_hmac_modules_answer(key):
    for prefix, rest in [(b"", b""), (b"12:token:", b"34:m"), (b"\x00" * 70, b"x" * 200)]:
        expected = hmac.new(key, prefix + rest, "sha256").digest()
        assert PreparedHmac(key, prefix).digest(rest) == expected
        assert PreparedHmac(key).with_prefix(prefix).digest(rest) == expected
        encoded = base64.urlsafe_b64encode(expected[:18]).decode()
        assert PreparedHmac(key).urlsafe(prefix + rest, 18) == encoded
    signer = PreparedHmac(key).with_prefix(b"reader:")
    assert signer.digest(b"1") != signer.digest(b"2")  # copies, never the shared state, take the message
    assert signer.digest(b"1") == hmac.new(key, b"reader:1", "sha256").digest()
