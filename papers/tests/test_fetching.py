"""Fetching over a loopback HTTP server: conditional GET, Retry-After, failures, odd bodies."""

import ssl
import time
from datetime import timedelta

import httpx
import pytest
from django.core.cache import cache
from django.utils import timezone

from papers.exceptions import FeedFetchError
from papers.fetching import ARXIV_SLOT_KEY, fetch_feed, parse_retry_after, user_agent
from papers.ingest import source_fetch
from papers.models import Paper, Source
from papers.tests.conftest import feed_bytes, feed_response
from testsupport.http import Response

pytestmark = pytest.mark.django_db

RSS = Source.Kind.ARXIV_RSS
CL_FEED = "arxiv-rss-cs.CL-2026-02-02.xml"


def test_each_format_is_ingested_with_its_fields(serve_feed):
    rss = serve_feed("/rss/cs.CL", RSS, feed_bytes(CL_FEED))
    api = serve_feed("/api/query", Source.Kind.ARXIV_API, feed_bytes("arxiv-api-2026-02-02.xml"))
    hf = serve_feed("/api/daily_papers", Source.Kind.HF_DAILY, feed_bytes("hf-daily-papers-2026-02-02.json"))
    for source in (rss, api, hf):
        report = source_fetch(source=source)
        assert report.status == Source.Status.OK, report.error
    paper = Paper.objects.get(arxiv_id="2601.22181")
    assert paper.authors == ["Qingyuan Tian", "Wenhong Zhu", "Xiaoran Liu", "Xiaofeng Wang", "Rui Wang"]
    assert paper.version == 1 and paper.categories[0] == "cs.CL"
    assert paper.abs_url == "https://arxiv.org/abs/2601.22181"
    api_paper = Paper.objects.get(arxiv_id="2601.22160")
    assert api_paper.primary_category == "cs.GR" and len(api_paper.authors) == 8
    hf_paper = Paper.objects.get(arxiv_id="2601.23169")
    assert hf_paper.hf_upvotes == 76 and hf_paper.hf_comments == 3 and hf_paper.trending_score > 0
    assert not Paper.objects.filter(arxiv_id__contains="v").exists()


def test_user_agent_names_service_and_contact(serve_feed, loopback, settings):
    settings.PAPERBOY_CONTACT_EMAIL = "ops@papers.example"
    source = serve_feed("/rss", RSS, feed_bytes(CL_FEED))
    source_fetch(source=source)
    agent = loopback.requests_to("/rss")[0].headers["User-Agent"]
    assert agent == user_agent()
    assert (
        agent.startswith("Paperboy/") and "mailto:ops@papers.example" in agent and settings.SITE_URL in agent
    )


def test_fetches_share_one_tls_context_that_verifies_certificates(serve_feed, monkeypatch):
    contexts = []

    class Client(httpx.Client):
        def __init__(self, *args, **kwargs):
            contexts.append(kwargs.get("verify"))
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(httpx, "Client", Client)
    first = serve_feed("/rss/a", RSS, feed_bytes(CL_FEED))
    second = serve_feed("/rss/b", RSS, feed_bytes(CL_FEED))
    for source in (first, second):
        assert source_fetch(source=source).status == Source.Status.OK
    assert len(contexts) == 2 and contexts[0] is contexts[1]
    context = contexts[0]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.cert_store_stats()["x509_ca"] > 0  # a trust store is loaded


def test_304_means_nothing_new_and_keeps_the_papers(serve_feed, loopback):
    source = serve_feed(
        "/rss",
        RSS,
        responses=[
            feed_response(
                feed_bytes(CL_FEED), RSS, ETag='"v1"', **{"Last-Modified": "Mon, 02 Feb 2026 05:00:02 GMT"}
            ),
            Response(304, b"", headers={"ETag": '"v1"'}),
        ],
    )
    source_fetch(source=source)
    report = source_fetch(source=source)
    second = loopback.requests_to("/rss")[1]
    assert second.headers["If-None-Match"] == '"v1"'
    assert second.headers["If-Modified-Since"] == "Mon, 02 Feb 2026 05:00:02 GMT"
    assert report.status == Source.Status.NOT_MODIFIED
    source.refresh_from_db()
    assert source.last_status == Source.Status.NOT_MODIFIED and source.consecutive_failures == 0
    assert Paper.objects.count() == 86


def test_429_with_a_short_retry_after_is_waited_out(serve_feed, loopback):
    source = serve_feed(
        "/rss",
        RSS,
        responses=[
            Response(429, b"slow down", headers={"Retry-After": "1"}),
            feed_response(feed_bytes(CL_FEED), RSS),
        ],
    )
    started = time.monotonic()
    report = source_fetch(source=source)
    assert report.status == Source.Status.OK
    assert time.monotonic() - started >= 1.0
    assert len(loopback.requests_to("/rss")) == 2


def test_429_with_a_long_retry_after_defers_the_source(serve_feed, loopback):
    source = serve_feed("/rss", RSS, responses=Response(429, b"", headers={"Retry-After": "7200"}))
    before = timezone.now()
    report = source_fetch(source=source)
    assert report.status == Source.Status.ERROR and len(loopback.requests_to("/rss")) == 1
    source.refresh_from_db()
    assert source.last_http_status == 429 and source.consecutive_failures == 1
    assert source.next_fetch_at >= before + timedelta(seconds=7200)


def test_500_is_recorded_and_backs_off_more_each_time(serve_feed):
    source = serve_feed("/rss", RSS, responses=Response(500, b"oops"))
    source_fetch(source=source)
    source.refresh_from_db()
    first_pause = source.next_fetch_at - source.last_fetched_at
    source_fetch(source=source)
    source.refresh_from_db()
    assert source.last_status == Source.Status.ERROR and source.last_http_status == 500
    assert "HTTP 500" in source.last_error and source.consecutive_failures == 2
    assert source.next_fetch_at - source.last_fetched_at == 2 * first_pause


def test_a_timeout_is_an_error_not_a_hang(serve_feed, settings):
    settings.PAPERS_FETCH_READ_TIMEOUT = 0.3
    source = serve_feed("/rss", RSS, responses=Response(200, b"<rss/>", delay=2))
    started = time.monotonic()
    report = source_fetch(source=source)
    assert time.monotonic() - started < 1.5
    assert report.status == Source.Status.ERROR and "timed out" in report.error


def test_truncated_xml_keeps_the_complete_entries_and_refetches_next_time(serve_feed):
    body = feed_bytes(CL_FEED)
    cut = body[: body.index(b"<item>", len(body) // 2) + 300]  # in the middle of an item
    source = serve_feed("/rss", RSS, responses=feed_response(cut, RSS, ETag='"cut"'))
    report = source_fetch(source=source)
    source.refresh_from_db()
    assert source.last_status == Source.Status.PARTIAL and "truncated" in source.last_error
    assert 30 < Paper.objects.count() < 86 and report.counts.errors == 1
    assert source.etag == ""  # a truncated document must not be answered by 304 next time
    assert not Paper.objects.filter(abstract="").exists()


def test_wrong_content_type_is_refused(serve_feed):
    source = serve_feed(
        "/rss", RSS, responses=Response(200, feed_bytes(CL_FEED), headers={"Content-Type": "text/html"})
    )
    report = source_fetch(source=source)
    assert report.status == Source.Status.ERROR and "content type" in report.error
    assert Paper.objects.count() == 0


def test_a_body_over_the_size_limit_is_refused(serve_feed, settings):
    settings.PAPERS_FETCH_MAX_BYTES = 10_000
    source = serve_feed("/rss", RSS, feed_bytes(CL_FEED))
    report = source_fetch(source=source)
    assert report.status == Source.Status.ERROR and "limit" in report.error


def test_an_empty_weekend_feed_is_normal(serve_feed):
    body = feed_bytes(CL_FEED)
    empty = body[: body.index(b"<item>")] + b"</channel></rss>"
    source = serve_feed("/rss", RSS, empty)
    report = source_fetch(source=source)
    source.refresh_from_db()
    assert report.status == source.last_status == Source.Status.EMPTY
    assert source.last_error == "" and source.consecutive_failures == 0


def test_arxiv_api_error_feed_over_http(serve_feed):
    source = serve_feed("/api/query", Source.Kind.ARXIV_API, feed_bytes("arxiv-api-error.xml"))
    report = source_fetch(source=source)
    source.refresh_from_db()
    assert report.status == Source.Status.ERROR and source.last_http_status == 200
    assert "incorrect id format" in source.last_error and not Paper.objects.filter(title="Error").exists()


def test_arxiv_requests_are_spaced_across_callers(loopback, settings):
    settings.PAPERS_ARXIV_MIN_INTERVAL = 1
    loopback.route("/rss", feed_response(feed_bytes(CL_FEED), RSS))
    started = time.monotonic()
    fetch_feed(url=loopback.url("/rss"), kind=RSS)
    assert cache.get(ARXIV_SLOT_KEY) is not None  # the slot is shared through the cache
    fetch_feed(url=loopback.url("/rss"), kind=RSS)
    assert time.monotonic() - started >= 1.0


def test_connection_refused_is_transient(settings):
    with pytest.raises(FeedFetchError):
        fetch_feed(url="http://127.0.0.1:9/feed.xml", kind=Source.Kind.RSS_ATOM)


def test_retry_after_accepts_seconds_and_dates():
    now = timezone.now()
    assert parse_retry_after("120") == 120
    date = (now + timedelta(seconds=60)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert 55 <= parse_retry_after(date, now=now) <= 61
    assert parse_retry_after("soon") is None


def test_hf_json_with_optional_fields_missing_over_http(serve_feed):
    import json

    items = json.loads(feed_bytes("hf-daily-papers-2026-02-02.json"))[:3]
    for key in ("upvotes", "githubRepo", "ai_summary", "authors", "summary"):
        items[0]["paper"].pop(key, None)
    items[0].pop("summary")  # the outer copy of the abstract, used when the inner one is missing
    items[1].pop("numComments")
    items[2]["paper"].pop("id")
    source = serve_feed("/api/daily_papers", Source.Kind.HF_DAILY, json.dumps(items).encode())
    report = source_fetch(source=source)
    assert report.status == Source.Status.PARTIAL and report.counts.new == 2 and report.counts.errors == 1
    bare = Paper.objects.get(arxiv_id=items[0]["paper"]["id"])
    assert (bare.hf_upvotes, bare.code_url, bare.authors, bare.abstract) == (None, "", [], "")
    assert bare.hf_comments == items[0]["numComments"]
    assert Paper.objects.get(arxiv_id=items[1]["paper"]["id"]).hf_comments is None


def test_a_replaced_version_updates_the_paper_in_place_over_http(serve_feed):
    v1 = feed_bytes(CL_FEED)
    v2 = (
        v1.replace(b"oai:arXiv.org:2601.22181v1", b"oai:arXiv.org:2601.22181v2")
        .replace(b"arXiv:2601.22181v1 Announce Type: new", b"arXiv:2601.22181v2 Announce Type: replace")
        .replace(b"MrRoPE: Mixed-radix Rotary Position Embedding", b"MrRoPE, revised")
    )
    source = serve_feed("/rss", RSS, responses=[feed_response(v1, RSS), feed_response(v2, RSS)])
    source_fetch(source=source)
    paper_id = Paper.objects.get(arxiv_id="2601.22181").pk
    report = source_fetch(source=source)
    paper = Paper.objects.get(arxiv_id="2601.22181")
    assert (paper.pk, paper.version, paper.title) == (paper_id, 2, "MrRoPE, revised")
    assert report.counts.updated == 1 and report.counts.new == 0 and Paper.objects.count() == 86
