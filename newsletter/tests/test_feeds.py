"""Per-topic RSS and Atom feeds of the newest papers."""

import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from django.utils import timezone

from newsletter.tests.html_safety import unsafe_markup, visible_text
from papers.tests.factories import PaperFactory, PaperTopicFactory, TopicFactory

pytestmark = pytest.mark.django_db

ATOM = "{http://www.w3.org/2005/Atom}"
HOSTILE_TITLE = "<script>alert(1)</script> Q&amp;A for \x0bLLMs &lt;3"
HOSTILE_ABSTRACT = '<img src=x onerror="alert(2)"> We <b>quantize</b> &amp; prune &lt;script&gt;.\x1f'


def _xml(content: bytes) -> ET.Element:
    return ET.fromstring(content)  # noqa: S314 - our own feed under test, not input from outside


@pytest.fixture
def topic():
    return TopicFactory(
        slug="test-bits", name="Bits & Bytes", description="Fewer bits &amp; faster <em>models</em>."
    )


def _paper(topic, title, hours_ago, **fields):
    paper = PaperFactory(title=title, first_seen_at=timezone.now() - timedelta(hours=hours_ago), **fields)
    PaperTopicFactory(paper=paper, topic=topic, excluded=fields.get("excluded", False))
    return paper


def test_rss_feed_lists_the_topics_visible_papers_newest_first(client, topic):
    _paper(topic, "Older", 5)
    _paper(topic, "Newer", 1)
    _paper(topic, "Hidden", 2, hidden=True)
    PaperFactory(title="Other topic")
    excluded = PaperFactory(title="Removed by a curator")
    PaperTopicFactory(paper=excluded, topic=topic, excluded=True)

    response = client.get("/topics/test-bits/feed/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/rss+xml")
    channel = _xml(response.content).find("channel")
    assert channel.findtext("title") == "Paperboy: Bits & Bytes"
    # Stored text is plain text: what looks like markup is shown as the words it is.
    assert channel.findtext("description") == "Fewer bits &amp; faster <em>models</em>."
    titles = [item.findtext("title") for item in channel.findall("item")]
    assert titles == ["Newer", "Older"]
    first = channel.find("item")
    assert first.findtext("link").startswith("https://arxiv.org/abs/")
    assert first.findtext("category") == "Bits & Bytes"


def test_feed_text_stays_text(client, topic):
    _paper(topic, HOSTILE_TITLE, 1, abstract=HOSTILE_ABSTRACT, abs_url="javascript:alert(3)", pdf_url="")

    response = client.get("/topics/test-bits/feed/")

    assert response.status_code == 200
    item = _xml(response.content).find("channel/item")
    # The title is plain text, shown as stored: control characters dropped, nothing re-interpreted.
    assert item.findtext("title") == "<script>alert(1)</script> Q&amp;A for LLMs &lt;3"
    # The description is HTML to a feed reader: parsed as such it holds no markup, only the text.
    description = item.findtext("description")
    assert unsafe_markup(description) == []
    assert "<img" not in description.replace("&lt;img", "")
    assert visible_text(description) == HOSTILE_ABSTRACT.rstrip("\x1f")
    assert item.findtext("link") == "http://testserver/archive/"


def test_atom_feed(client, topic):
    _paper(topic, HOSTILE_TITLE, 1, abstract=HOSTILE_ABSTRACT)

    response = client.get("/topics/test-bits/feed/atom/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    feed = _xml(response.content)
    entry = feed.find(f"{ATOM}entry")
    assert entry.findtext(f"{ATOM}title") == "<script>alert(1)</script> Q&amp;A for LLMs &lt;3"
    assert unsafe_markup(entry.findtext(f"{ATOM}summary")) == []
    assert entry.findtext(f"{ATOM}id").startswith("urn:paperboy:")


def test_unknown_and_inactive_topics_have_no_feed(client):
    TopicFactory(slug="retired", active=False)
    assert client.get("/topics/retired/feed/").status_code == 404
    assert client.get("/topics/no-such-topic/feed/").status_code == 404
