"""What an ingest credits to its source: the papers it gave, and when the last new ones came."""

import pytest

from papers.ingest import source_fetch, source_ingest_bytes
from papers.models import PaperSighting, Source
from papers.parsing import parse_feed
from papers.selectors import sources_with_paper_counts
from papers.tests.conftest import feed_bytes
from papers.tests.factories import SourceFactory

pytestmark = pytest.mark.django_db

LG, CL = "arxiv-rss-cs.LG-2026-02-02.xml", "arxiv-rss-cs.CL-2026-02-02.xml"
API = "arxiv-api-2026-02-02.xml"


def _ids(name: str, kind: str = "arxiv_rss") -> set[str]:
    return {r.arxiv_id for r in parse_feed(kind, feed_bytes(name)).records}


def _paper_count(source: Source) -> int:
    return sources_with_paper_counts(sources=Source.objects.filter(pk=source.pk)).get().paper_count


def test_a_local_file_credits_its_new_papers_to_the_source_and_leaves_fetch_health_alone():
    source = SourceFactory()
    report = source_ingest_bytes(source=source, body=feed_bytes(LG))
    source.refresh_from_db()
    assert report.counts.new > 0
    assert source.last_new_papers == report.counts.new == _paper_count(source)
    assert source.last_new_papers_at is not None
    # What the network fetch records is not touched: the source was never fetched.
    assert (source.last_status, source.last_fetched_at, source.last_counts) == (Source.Status.NEVER, None, {})

    first_new_at = source.last_new_papers_at
    source_ingest_bytes(source=source, body=feed_bytes(LG))  # nothing new the second time
    source.refresh_from_db()
    assert (source.last_new_papers_at, source.last_new_papers) == (first_new_at, report.counts.new)


def test_a_fetch_credits_its_new_papers_to_the_source(serve_feed):
    source = serve_feed("/rss", "arxiv_rss", feed_bytes(CL))
    report = source_fetch(source=source)
    source.refresh_from_db()
    assert source.last_status == Source.Status.OK
    assert source.last_new_papers == report.counts.new == _paper_count(source) > 0
    assert source.last_new_papers_at == source.last_fetched_at


def test_a_paper_a_source_shows_under_two_entry_ids_counts_once():
    # The demo credits both arXiv's RSS listing and its API answer to one source.
    source = SourceFactory()
    rss = source_ingest_bytes(source=source, body=feed_bytes(LG))
    api = source_ingest_bytes(source=source, body=feed_bytes(API), kind="arxiv_api")
    shared = _ids(LG) & _ids(API, "arxiv_api")
    assert shared
    assert PaperSighting.objects.filter(source=source, paper__arxiv_id__in=shared).count() == 2 * len(shared)
    assert _paper_count(source) == rss.counts.new + api.counts.new == len(_ids(LG) | _ids(API, "arxiv_api"))
    assert _paper_count(SourceFactory()) == 0
