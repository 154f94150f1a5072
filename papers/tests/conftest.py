"""Fixtures for the papers tests: fixture feeds from the repo and sources pointing at the loopback server."""

from datetime import timedelta
from pathlib import Path

import pytest

from papers.models import Source
from papers.relevance import loading
from papers.relevance.labelled import load_devset
from papers.tests.factories import SourceFactory
from testsupport.http import Response

FEEDS = Path(__file__).resolve().parent.parent / "fixtures" / "feeds"

CONTENT_TYPES = {
    Source.Kind.ARXIV_RSS: "application/rss+xml; charset=utf-8",
    Source.Kind.ARXIV_API: "application/atom+xml; charset=utf-8",
    Source.Kind.HF_DAILY: "application/json; charset=utf-8",
    Source.Kind.RSS_ATOM: "application/rss+xml; charset=utf-8",
}


def feed_bytes(name: str) -> bytes:
    return (FEEDS / name).read_bytes()


def feed_response(body: bytes, kind: str, **headers: str) -> Response:
    return Response(200, body, headers={"Content-Type": CONTENT_TYPES[kind], **headers})


@pytest.fixture(autouse=True)
def _no_arxiv_pause(settings):
    """The loopback server is not arXiv: no 3-second pause between requests (one test turns it on)."""
    settings.PAPERS_ARXIV_MIN_INTERVAL = 0


@pytest.fixture
def serve_feed(loopback):
    """serve_feed(path, kind, body=None or responses=[...]) -> a Source fetching loopback's `path`."""

    def _serve(path: str, kind: str, body: bytes | None = None, responses=None, **source_fields) -> Source:
        if responses is None:
            responses = feed_response(body, kind)
        loopback.route(path, responses)
        return SourceFactory(
            kind=kind, url=loopback.url(path), fetch_interval=timedelta(hours=1), **source_fields
        )

    return _serve


@pytest.fixture
def fresh_tagger():
    """Each test fits its own tagger: nothing cached by an earlier test's topics."""
    loading.forget_tagger()
    yield
    loading.forget_tagger()


@pytest.fixture(scope="module")
def devset():
    return load_devset()
