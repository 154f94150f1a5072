"""DigestMessages: a chunk's messages from a prototype, or from the constructor when it cannot tell."""

from datetime import date

from anymail.message import AnymailMessage

from newsletter.messages import DigestMessages
from newsletter.wire import AssembledDigest


class _Tracker:
    """A mutable attribute of a kind DigestMessages does not know how to copy."""

    def __init__(self) -> None:
        self.seen: list[str] = []


def _digest(subject: str) -> AssembledDigest:
    return AssembledDigest(subject=subject, html_parts=[b'"<p>hi</p>"'], text_parts=[b'"hi"'])


def _make(messages: DigestMessages, n: int):
    return messages.make(
        email=f"r{n}@example.com",
        rendered=_digest(f"subject {n}"),
        delivery_id=n,
        edition_date=date(2026, 4, 28),
        unsubscribe_url=f"https://example.com/unsubscribe/{n}/",
    )


def test_an_attribute_of_an_unknown_kind_makes_every_message_by_the_constructor(monkeypatch):
    original = AnymailMessage.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.tracker = _Tracker()  # as a future anymail might add

    monkeypatch.setattr(AnymailMessage, "__init__", init)
    messages = DigestMessages()
    first, second = _make(messages, 1), _make(messages, 2)
    assert first.tracker is not second.tracker  # each its own, as the constructor makes them
    assert (first.to, second.to) == (["r1@example.com"], ["r2@example.com"])
    assert first.extra_headers["Message-ID"] == "<digest.1.20260428@127.0.0.1>"


def test_messages_from_the_prototype_share_no_container():
    messages = DigestMessages()
    first, second = _make(messages, 1), _make(messages, 2)
    first.cc.append("someone@example.com")
    first.tags.append("other")
    first.anymail_status.set_recipient_status({})
    assert second.cc == [] and second.tags == ["digest"] and first.anymail_status is not second.anymail_status
    unsubscribe = second.extra_headers["List-Unsubscribe"]
    assert unsubscribe.startswith("<https://example.com/unsubscribe/2/>, <mailto:")
    assert second.subject == "subject 2" and second.body == "hi" and second.alternatives[0][0] == "<p>hi</p>"
