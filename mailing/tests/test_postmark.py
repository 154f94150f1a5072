"""The Postmark backend's own parts (sending digests through it: newsletter/tests/test_sending_postmark)."""

from mailing.backends.postmark import BatchBody


def test_a_batch_body_streams_exactly_its_messages_bytes_in_blocks(monkeypatch):
    monkeypatch.setattr(BatchBody, "BLOCK", 100)
    items = [[b"[", b"x" * 30, b"y" * 50, b","], [b"z" * 7, b","], [b"w" * 250, b","], [b"v", b"]"]]
    whole = b"".join(b"".join(item) for item in items)
    body = BatchBody([list(item) for item in items])
    blocks = list(body)
    assert b"".join(blocks) == whole == body.joined() and len(body) == len(whole)
    # Whole messages per block, a block closed once it reaches BLOCK bytes.
    assert [len(b) for b in blocks] == [82 + 8 + 251, 2]
