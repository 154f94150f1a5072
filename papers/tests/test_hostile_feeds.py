"""Hostile feeds through the real fetch task: no crash, the error on the Source, the good entries kept,
and nothing executable on a page, in the admin or in an email.

Each case of papers/tests/hostile/corpus.py is served from a loopback Source and fetched by the
`fetch_source` task, then every place feed text is shown is rendered and read with an HTML parser.
docs/hostile-input.md lists the cases and what each proves.
"""

import json
import tracemalloc
import xml.etree.ElementTree as ET
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.forms.models import model_to_dict
from django.utils import timezone

from newsletter.composing import render_digest
from newsletter.links import digest_token
from newsletter.models import Delivery
from newsletter.tests.html_safety import unsafe_markup, visible_text
from papers.conf import setting
from papers.models import Paper, PaperSighting, PaperTopic, Source
from papers.tasks import fetch_source
from papers.tests.factories import SourceFactory, TopicFactory
from papers.tests.hostile import corpus
from papers.tests.hostile.corpus import CASES, CONTENT_TYPES, GOOD_GENERIC, GOOD_RSS_ITEMS
from papers.tests.hostile.generate import FEEDS_DIR
from papers.tests.hostile.streaming import StreamingServer
from subscriptions.tests.factories import SubscriberFactory
from testsupport.http import Response

pytestmark = pytest.mark.django_db

_URL_FIELDS = ("abs_url", "pdf_url", "code_url", "project_url", "hf_url")
# What an attacker's page could name in a link or a source; ours are http(s), mailto or relative.
_SCRIPT_SCHEMES = ("javascript:", "vbscript:", "data:", "file:")
_LINK_ATTRIBUTES = {"href", "src", "action", "formaction", "srcset", "poster", "background", "xlink:href"}


# --- Serving and fetching -------------------------------------------------------------------------


def _serve(loopback, case: corpus.Case) -> Source:
    base = loopback.url("").rstrip("/").encode()
    # What an external entity would fetch, were the parser to follow one.
    loopback.route("/xxe.dtd", Response(200, b'<!ENTITY remote "TOP-SECRET">'))
    loopback.route("/xxe-secret", Response(200, b"TOP-SECRET"))
    headers = {"Content-Type": case.content_type or CONTENT_TYPES[case.kind], **case.headers}
    loopback.route(
        f"/feeds/{case.name}", Response(200, case.body.replace(b"{LOOPBACK}", base), headers=headers)
    )
    return SourceFactory(
        name=f"Hostile: {case.name}",
        slug=f"hostile-{case.name}",
        kind=case.kind,
        url=loopback.url(f"/feeds/{case.name}"),
        fetch_interval=timedelta(hours=1),
    )


def _fetch(source: Source) -> str:
    """Run the product's fetch task in this process; it must finish, whatever the feed held."""
    result = fetch_source.apply(args=[source.pk])
    assert result.successful(), result.traceback
    source.refresh_from_db()
    return result.result


def _paper(source: Source, guid: str) -> Paper:
    return PaperSighting.objects.select_related("paper").get(source=source, guid=guid).paper


def _stored_text() -> str:
    """Every value of every stored paper and sighting, as one string to search."""
    rows = [model_to_dict(paper, exclude=["sources", "topics"]) for paper in Paper.objects.all()]
    rows += list(PaperSighting.objects.values("guid"))
    return json.dumps(rows, default=str, ensure_ascii=False)


def _assert_stored_values_are_clean() -> None:
    for paper in Paper.objects.all():
        for name in _URL_FIELDS:
            url = getattr(paper, name)
            assert url == "" or url.lower().startswith(("http://", "https://")), (name, url)
        texts = [paper.title, paper.abstract, paper.comment, paper.ai_summary, *paper.authors]
        for text in texts:
            assert not any(ord(c) < 32 and c not in "\t\n\r" for c in text), repr(text[:80])
            assert not any(0xD800 <= ord(c) <= 0xDFFF for c in text), repr(text[:80])
        assert "\n" not in paper.title


# --- Reading rendered HTML ------------------------------------------------------------------------


class _LinkCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        for name, value in attrs:
            value = (value or "").strip().lower()
            if tag == "link" and "icon" in (attributes.get("rel") or "") and value.startswith("data:image/"):
                continue  # the site's own inline favicon
            if name in _LINK_ATTRIBUTES and value.startswith(_SCRIPT_SCHEMES):
                self.problems.append(f"{tag}[{name}={value[:60]}]")
        if tag == "meta" and (attributes.get("http-equiv") or "").lower() == "refresh":
            self.problems.append("<meta http-equiv=refresh>")
        if tag == "base":
            self.problems.append("<base>")

    handle_startendtag = handle_starttag


def _assert_inert(html: str, where: str) -> None:
    """No script, frame, object or embed element, no on* attribute, no script-capable URL."""
    links = _LinkCollector()
    links.feed(html)
    links.close()
    problems = unsafe_markup(html) + links.problems
    assert not problems, f"{where}: {problems}"


def _text_of(html: str) -> str:
    return " ".join(visible_text(html).split())


@pytest.fixture(autouse=True)
def _every_digest_makes_an_edition(settings):
    # One reader's digest makes an archive page here; the small-number threshold has its own tests.
    settings.NEWSLETTER_ARCHIVE_MIN_DIGESTS = 1


def _get(http, url: str) -> str:
    response = http.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.content.decode()


def _assert_every_page_inert(*, source, papers, admin_client, client) -> None:
    """The admin, the archive, the topic feeds, the web digest and the digest email."""
    topic = TopicFactory(slug="hostile-corpus", name="Hostile corpus", keywords="attention")
    PaperTopic.objects.bulk_create(
        [PaperTopic(paper=paper, topic=topic, score=5.0, manual=True) for paper in papers],
        ignore_conflicts=True,
    )
    reader = SubscriberFactory(topics=[topic])
    today = timezone.localdate()
    delivery = Delivery.objects.create(
        subscriber=reader,
        edition_date=today,
        status=Delivery.Status.SENT,
        paper_ids=[paper.pk for paper in papers],
        sent_at=timezone.now(),
    )

    pages = {
        "admin paper list": "/admin/papers/paper/",
        "admin topic (preview)": f"/admin/papers/topic/{topic.pk}/change/",
        "admin source list": "/admin/papers/source/",
        "admin source": f"/admin/papers/source/{source.pk}/change/",
    }
    for url in pages.values():
        _assert_inert(_get(admin_client, url), url)
    for paper in papers:
        url = f"/admin/papers/paper/{paper.pk}/change/"
        html = _get(admin_client, url)
        _assert_inert(html, url)
        # The title is shown, as text: markup in it was escaped, not run and not lost.
        assert " ".join(paper.title.split())[:200] in _text_of(html), url

    for url in ("/archive/", f"/digest/{digest_token(delivery.pk)}/"):
        _assert_inert(_get(client, url), url)
    day = f"/archive/{today.isoformat()}/"
    if papers:
        _assert_inert(_get(client, day), day)
    else:
        assert client.get(day).status_code == 404  # an edition with no papers has no page

    for url in (f"/topics/{topic.slug}/feed/", f"/topics/{topic.slug}/feed/atom/"):
        _assert_feed_inert(_get(client, url), url)

    email = render_digest(subscriber=reader, papers=papers, edition_date=today, delivery_id=delivery.pk)
    _assert_inert(email.html, "digest email")
    # The subject and the text part are plain text: stored text shows there as written (markup is
    # only characters), and every link the digest itself offers there is a web link.
    labels = (
        "Abstract",
        "PDF",
        "Code",
        "Hugging Face",
        "More like this",
        "Less like this",
        "View in browser",
    )
    for line in (email.subject + "\n" + email.text).splitlines():
        label, _, url = line.strip().partition(": ")
        if label in labels:
            assert url.startswith(("https://", "http://")), (label, url)


def _assert_feed_inert(xml: str, where: str) -> None:
    """Our own topic feeds: links are web links; descriptions, read as HTML by feed readers, are inert."""
    root = ET.fromstring(xml.encode())  # noqa: S314 - our own output, not a feed from outside
    atom = "{http://www.w3.org/2005/Atom}"
    for element in root.iter():
        if element.tag in ("link", "guid") and element.text:
            assert not element.text.strip().lower().startswith(_SCRIPT_SCHEMES), (where, element.text)
        if element.tag == f"{atom}link":
            assert not element.get("href", "").lower().startswith(_SCRIPT_SCHEMES), (where, element.attrib)
        if element.tag in ("description", f"{atom}summary") and element.text:
            _assert_inert(element.text, f"{where} {element.tag}")


# --- The corpus -----------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_hostile_feed(case, loopback, admin_client, client):
    source = _serve(loopback, case)

    status = _fetch(source)

    # The error (or its absence) is recorded on the Source.
    assert status == source.last_status == case.status, source.last_error
    assert source.last_http_status == 200
    if case.error:
        assert case.error in source.last_error
    else:
        assert source.last_error == ""
    assert source.last_counts.items() >= case.counts.items(), source.last_counts
    assert source.consecutive_failures == (1 if case.status == corpus.ERROR else 0)

    # The good entries landed with their fields; the hostile ones as the case says.
    assert Paper.objects.count() == case.papers
    for guid, fields in case.expected.items():
        paper = _paper(source, guid)
        assert {name: getattr(paper, name) for name in fields} == fields, guid
    stored = _stored_text()
    for text in case.forbidden:
        assert text not in stored, text
    _assert_stored_values_are_clean()
    # Only the feed itself was requested: no entity, DTD or link was followed.
    assert {request.path for request in loopback.requests} == {f"/feeds/{case.name}"}

    # The same feed again adds nothing.
    _fetch(source)
    assert Paper.objects.count() == case.papers
    if case.status != corpus.ERROR:
        assert source.last_counts["new"] == 0, source.last_counts

    papers = list(Paper.objects.order_by("pk"))
    _assert_every_page_inert(source=source, papers=papers, admin_client=admin_client, client=client)


def test_corpus_covers_every_source_kind():
    assert {case.kind for case in CASES} == set(CONTENT_TYPES)
    assert len({case.name for case in CASES}) == len(CASES)


# --- Bodies too big to keep -----------------------------------------------------------------------


def _good_source(loopback) -> Source:
    """A source that served a good feed once; its papers must survive what it serves next."""
    loopback.route(
        "/feeds/huge",
        Response(200, corpus.rss(GOOD_RSS_ITEMS), headers={"Content-Type": CONTENT_TYPES["rss_atom"]}),
    )
    source = SourceFactory(
        kind="rss_atom", url=loopback.url("/feeds/huge"), fetch_interval=timedelta(hours=1)
    )
    assert _fetch(source) == Source.Status.OK
    return source


def _assert_refused_and_nothing_lost(source: Source) -> None:
    assert source.last_status == Source.Status.ERROR
    assert "limit" in source.last_error and source.consecutive_failures == 1
    assert source.last_counts == {
        "fetched": 0,
        "new": 0,
        "updated": 0,
        "unchanged": 0,
        "skipped": 0,
        "errors": 1,
    }
    assert Paper.objects.count() == 2
    for guid, fields in GOOD_GENERIC.items():
        paper = _paper(source, guid)
        assert {name: getattr(paper, name) for name in fields} == fields


def _peak_memory(call) -> int:
    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_50_mb_body_with_its_length_is_refused_unread(loopback, settings):
    source = _good_source(loopback)
    body = corpus.huge_feed()
    loopback.route("/feeds/huge", Response(200, body, headers={"Content-Type": CONTENT_TYPES["rss_atom"]}))

    peak = _peak_memory(lambda: _fetch(source))

    _assert_refused_and_nothing_lost(source)
    assert f"{len(body)} bytes" in source.last_error
    assert peak < 4 * corpus.MB  # refused on its Content-Length: none of it was read


def test_a_50_mb_body_without_a_length_is_cut_at_the_limit(loopback):
    source = _good_source(loopback)
    head, tail = corpus.rss(GOOD_RSS_ITEMS).rsplit(b"</channel>", 1)
    block = corpus.item(b"Filler " + b"f" * 900, b"filler") * 64  # about 64 kB

    def chunks():
        yield head
        for _ in range(corpus.HUGE_BYTES // len(block)):
            yield block
        yield b"</channel>" + tail

    with StreamingServer(chunks, content_type=CONTENT_TYPES["rss_atom"]) as server:
        Source.objects.filter(pk=source.pk).update(url=server.url("/feed"))
        source.refresh_from_db()
        peak = _peak_memory(lambda: _fetch(source))

    _assert_refused_and_nothing_lost(source)
    limit = setting("FETCH_MAX_BYTES")
    assert server.requests == 1 and server.bytes_sent < corpus.HUGE_BYTES  # the read stopped early
    assert peak < limit + 8 * corpus.MB  # never more than the cap in memory


def test_a_gzip_bomb_is_cut_at_the_limit_once_inflated(loopback):
    source = _good_source(loopback)
    bomb = corpus.gzip_bomb()
    assert len(bomb) < corpus.MB  # small on the wire, 50 MB inflated
    loopback.route(
        "/feeds/huge",
        Response(200, bomb, headers={"Content-Type": CONTENT_TYPES["rss_atom"], "Content-Encoding": "gzip"}),
    )

    peak = _peak_memory(lambda: _fetch(source))

    _assert_refused_and_nothing_lost(source)
    assert peak < setting("FETCH_MAX_BYTES") + 8 * corpus.MB


def test_committed_corpus_files_are_current():
    # The files under hostile/feeds/ are what corpus.py builds (regenerate with hostile.generate).
    assert sorted(path.name for path in FEEDS_DIR.iterdir()) == sorted(case.file_name for case in CASES)
    for case in CASES:
        assert (FEEDS_DIR / case.file_name).read_bytes() == case.body, case.name
