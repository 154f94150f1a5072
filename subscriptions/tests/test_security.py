"""Pages that work under a Content-Security-Policy without inline script; no tokens or addresses in logs."""

import logging
import time
from html.parser import HTMLParser

import pytest

from subscriptions.logfilters import redact
from subscriptions.tests.factories import SubscriberFactory
from subscriptions.tokens import make_link_token

pytestmark = pytest.mark.django_db


class _InlineFinder(HTMLParser):
    def __init__(self):
        super().__init__()
        self.problems: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        names = {name.lower() for name, _ in attrs}
        if tag == "script" and "src" not in names:
            self.problems.append("inline <script>")
        if any(name.startswith("on") for name in names):
            self.problems.append(f"event handler on <{tag}>")
        if "style" in names:
            self.problems.append(f"style attribute on <{tag}>")
        for name, value in attrs:
            if name in ("href", "src", "action") and (value or "").strip().lower().startswith("javascript:"):
                self.problems.append(f"javascript: URL on <{tag}>")
        if tag == "style":
            self.problems.append("<style> element")


def _pages(client, topics):
    subscriber = SubscriberFactory(topics=topics[:1])
    manage = f"/manage/{make_link_token(subscriber, 'manage')}/"
    unsubscribe = f"/unsubscribe/{make_link_token(subscriber, 'unsubscribe')}/"
    yield "/", client.get("/")
    yield "/", client.post("/", {"email": "bad"})
    yield "/check-your-inbox/", client.get("/check-your-inbox/")
    yield "manage", client.get(manage)
    yield "delete", client.get(f"{manage}delete/")
    yield "unsubscribe", client.get(unsubscribe)
    yield "unsubscribed", client.post(unsubscribe)
    yield "invalid", client.get("/confirm/forged/")


def test_pages_have_no_inline_script_handlers_or_style_attributes(client, topics):
    for name, response in _pages(client, topics):
        finder = _InlineFinder()
        finder.feed(response.content.decode())
        assert not finder.problems, (name, finder.problems)


def test_link_tokens_never_reach_the_logs(client, caplog):
    subscriber = SubscriberFactory()
    token = make_link_token(subscriber, "manage")
    with caplog.at_level(logging.INFO):
        client.post(f"/manage/{token}/", {"topics": ["nope"]})  # 400 is logged with its path
        client.get(f"/confirm/{token}x/")  # 404 is logged with its path
    assert caplog.records, "Django logs 4xx responses; this test needs them"
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "/manage/[redacted]" in logged
    assert token not in logged and token.split(".")[1] not in logged


def test_addresses_never_reach_the_logs(client, caplog):
    with caplog.at_level(logging.INFO):
        client.get("/reader.one@example.com/")  # 404 is logged with its path
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "Not Found" in logged
    assert "example.com" not in logged and "[redacted]" in logged


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Key (email)=(a.b+c@mail.example.co.uk) exists", "Key (email)=([redacted]) exists"),
        ("GET /?email=reader%40example.com&topic=x", "GET /?email=[redacted]&topic=x"),
        (
            "GET /manage/7.Qm9v/export/ for reader@example.com",
            "GET /manage/[redacted]/export/ for [redacted]",
        ),
        ("celery@worker1 ready", "celery@worker1 ready"),  # a host name, not an address
    ],
)
def test_redact_removes_link_tokens_and_addresses(text, expected):
    assert redact(text) == expected


def test_redact_takes_linear_time_on_a_long_request_line():
    line = "GET /" + "a" * 20_000 + " HTTP/1.1"
    started = time.perf_counter()
    assert redact(line) == line
    # Quadratic matching took seconds here; linear takes about a millisecond.
    assert time.perf_counter() - started < 0.5
