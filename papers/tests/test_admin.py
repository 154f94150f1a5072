"""Curation admin: feed text never becomes markup; actions; topic preview; source health."""

from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.urls import reverse
from django.utils import timezone

from papers.ingest import source_ingest_bytes
from papers.models import Paper, PaperTopic, Source
from papers.sources import source_record_result
from papers.tests.conftest import feed_bytes
from papers.tests.factories import PaperFactory, SourceFactory, TopicFactory

pytestmark = pytest.mark.django_db

EVIL = "MrRoPE <script>alert('x')</script> & <img src=x onerror=alert(1)>"


class _Collector(HTMLParser):
    """Elements and text of a page, as a browser's parser would see them."""

    def __init__(self):
        super().__init__()
        self.scripts: list[str] = []
        self.images: list[dict] = []
        self.text: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self._in_script = True
            self.scripts.append("")
        if tag == "img":
            self.images.append(dict(attrs))

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts[-1] += data
        else:
            self.text.append(data)


def _parse(response) -> _Collector:
    assert response.status_code == 200
    collector = _Collector()
    collector.feed(response.content.decode())
    return collector


@pytest.fixture
def evil_paper():
    """A paper whose feed title carries markup, ingested through the real arXiv RSS path."""
    body = feed_bytes("arxiv-rss-cs.CL-2026-02-02.xml").replace(
        b"<title>MrRoPE: Mixed-radix Rotary Position Embedding</title>",
        b"<title>MrRoPE &lt;script&gt;alert('x')&lt;/script&gt; &amp; "
        b"&lt;img src=x onerror=alert(1)&gt;</title>",
    )
    source_ingest_bytes(source=SourceFactory(), body=body, kind="arxiv_rss")
    paper = Paper.objects.get(arxiv_id="2601.22181")
    assert paper.title == EVIL  # stored as plain text
    return paper


def _assert_shown_as_text(page: _Collector):
    assert not any("alert" in script for script in page.scripts)
    assert not any(image.get("onerror") for image in page.images)
    assert any("<script>alert('x')</script>" in text for text in page.text)


def test_script_in_a_title_is_text_on_the_change_list_and_page(admin_client, evil_paper):
    # Filtered by search: the change list shows 50 papers a page.
    _assert_shown_as_text(_parse(admin_client.get(reverse("admin:papers_paper_changelist"), {"q": "MrRoPE"})))
    _assert_shown_as_text(
        _parse(admin_client.get(reverse("admin:papers_paper_change", args=[evil_paper.pk])))
    )


def test_script_in_a_title_is_text_in_the_topic_preview(admin_client, evil_paper):
    topic = TopicFactory(keywords="rotary position embedding\nMrRoPE")
    page = _parse(admin_client.get(reverse("admin:papers_topic_change", args=[topic.pk])))
    _assert_shown_as_text(page)


def test_search_by_author_and_arxiv_id(admin_client):
    PaperFactory(title="Found by author", authors=["Grace Hopper"])
    PaperFactory(title="Found by id", arxiv_id="2601.99999")
    url = reverse("admin:papers_paper_changelist")
    assert b"Found by author" in admin_client.get(url, {"q": "hopper"}).content
    by_id = admin_client.get(url, {"q": "2601.99999"}).content
    assert b"Found by id" in by_id and b"Found by author" not in by_id


def test_topic_filter_ignores_excluded_rows(admin_client):
    topic = TopicFactory()
    kept, dropped = PaperFactory(title="Kept paper"), PaperFactory(title="Dropped paper")
    PaperTopic.objects.create(paper=kept, topic=topic, score=2)
    PaperTopic.objects.create(paper=dropped, topic=topic, score=2, excluded=True)
    content = admin_client.get(reverse("admin:papers_paper_changelist"), {"topic": topic.pk}).content
    assert b"Kept paper" in content and b"Dropped paper" not in content


def test_feature_hide_and_retag_actions(admin_client):
    topic = TopicFactory(keywords="jailbreak")
    paper = PaperFactory(title="Jailbreaking chatbots")
    url = reverse("admin:papers_paper_changelist")
    for action in ("feature", "hide", "retag"):
        response = admin_client.post(url, {"action": action, "_selected_action": [paper.pk]})
        assert response.status_code == 302
    paper.refresh_from_db()
    assert paper.featured and paper.hidden
    assert PaperTopic.objects.filter(paper=paper, topic=topic, manual=False).exists()
    admin_client.post(url, {"action": "unfeature", "_selected_action": [paper.pk]})
    paper.refresh_from_db()
    assert not paper.featured


def test_topic_page_shows_matching_papers(admin_client):
    topic = TopicFactory(keywords="speculative decoding")
    PaperFactory(title="Faster speculative decoding")
    PaperFactory(title="Unrelated work on soil")
    page = _parse(admin_client.get(reverse("admin:papers_topic_change", args=[topic.pk])))
    text = " ".join(" ".join(page.text).split())
    assert "Faster speculative decoding" in text and "Unrelated work on soil" not in text


def test_topic_edit_queues_retag_after_commit(admin_client, django_capture_on_commit_callbacks):
    topic = TopicFactory(keywords="old")
    data = {
        "slug": topic.slug, "name": topic.name, "description": "", "keywords": "new words",
        "categories": "", "threshold": "1.0", "active": "on", "display_order": "0",
    }  # fmt: skip
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = admin_client.post(reverse("admin:papers_topic_change", args=[topic.pk]), data)
    assert response.status_code == 302
    assert len(callbacks) == 1  # retag_topic, sent only once the edit is committed


def test_source_health_and_fetch_now(admin_client, django_capture_on_commit_callbacks):
    source = SourceFactory(
        name="Broken feed", last_status=Source.Status.ERROR, last_error="HTTP 500 from upstream",
        consecutive_failures=3, last_counts={"fetched": 0, "errors": 1},
    )  # fmt: skip
    row = _row_text(admin_client.get(reverse("admin:papers_source_changelist")), "Broken feed")
    assert "3 failures in a row: HTTP 500 from upstream" in row
    assert "never" in row  # the last success column: it never worked

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        admin_client.post(
            reverse("admin:papers_source_changelist"),
            {"action": "fetch_now", "_selected_action": [source.pk]},
        )
    assert len(callbacks) == 1


def test_source_list_shows_the_last_success_and_what_it_brought(admin_client):
    source = SourceFactory(name="Steady feed")
    source_record_result(
        source=source,
        status=Source.Status.OK,
        now=timezone.now(),
        counts={"fetched": 9, "new": 5, "updated": 2},
    )
    source_record_result(source=source, status=Source.Status.ERROR, now=timezone.now(), error="timed out")
    row = _row_text(admin_client.get(reverse("admin:papers_source_changelist")), "Steady feed")
    assert "just now 5 new · 2 updated" in row
    assert "1 failure in a row: timed out" in row


def _row_text(response, name: str) -> str:
    """The text of the change list row naming `name`, spaces as a reader sees them."""
    rows = response.content.decode().split("<tr")
    (row,) = [row for row in rows if f">{name}<" in row]
    collector = _Collector()
    collector.feed("<tr" + row)
    return " ".join(" ".join(collector.text).replace("\xa0", " ").split())


def test_source_list_shows_the_papers_a_source_gave_even_from_local_files(admin_client):
    fed = SourceFactory(name="Zeta, fed from a file")
    report = source_ingest_bytes(source=fed, body=feed_bytes("arxiv-rss-cs.CL-2026-02-02.xml"))
    SourceFactory(name="Alpha, never used")
    changelist = reverse("admin:papers_source_changelist")

    page = admin_client.get(changelist)
    new = report.counts.new
    fed_row = _row_text(page, "Zeta, fed from a file")
    assert f"{new} papers · last new just now ({new})" in fed_row
    assert "Never fetched" in fed_row  # the health columns still describe network fetches only
    assert "no papers yet" in _row_text(page, "Alpha, never used")

    by_papers = admin_client.get(changelist, {"o": "-4"}).content.decode()  # the papers column, descending
    assert by_papers.index("Zeta, fed from a file") < by_papers.index("Alpha, never used")

    Source.objects.filter(pk=fed.pk).update(last_new_papers_at=timezone.now() - timedelta(minutes=3))
    assert f"{new} papers · last new 3 minutes ago ({new})" in _row_text(
        admin_client.get(changelist), "Zeta, fed from a file"
    )


def test_script_in_a_title_never_reaches_an_email_as_markup(evil_paper):
    # The digest is the newsletter's; this pins the whole path from a feed entry to an email.
    from datetime import date

    from newsletter.rendering import DigestLinks, render_digest_direct

    links = DigestLinks(manage_url="https://example.com/m", unsubscribe_url="https://example.com/u")
    rendered = render_digest_direct(
        papers=[evil_paper], edition_date=date(2026, 2, 2), your_topics=[], keywords=[], links=links
    )
    page = _Collector()
    page.feed(rendered.html)
    assert not any("alert" in script for script in page.scripts)
    assert not any(image.get("onerror") for image in page.images)
    assert "MrRoPE" in " ".join(page.text)
    # The text part is text/plain: the stored title shows there as written, characters only.
    assert EVIL in rendered.text and "<script" not in rendered.subject
