"""Upsert, dedupe, versions, idempotence, re-tagging that respects curators."""

from dataclasses import replace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from papers.ingest import source_fetch, source_ingest_bytes
from papers.models import Paper, PaperSighting, PaperTopic, Source, Topic
from papers.parsing import PaperRecord, parse_feed
from papers.selectors import sources_with_paper_counts
from papers.services import paper_upsert_many, papers_retag, topic_retag
from papers.tests.conftest import feed_bytes
from papers.tests.factories import PaperFactory, PaperTopicFactory, SourceFactory, TopicFactory

pytestmark = pytest.mark.django_db

LG, CL = "arxiv-rss-cs.LG-2026-02-02.xml", "arxiv-rss-cs.CL-2026-02-02.xml"
HF = "hf-daily-papers-2026-02-02.json"
API = "arxiv-api-2026-02-02.xml"


def _ids(name: str, kind: str = "arxiv_rss") -> set[str]:
    return {r.arxiv_id for r in parse_feed(kind, feed_bytes(name)).records}


def test_dedupe_across_sources_gives_one_paper_with_upvotes():
    lg, cl, hf = (SourceFactory(slug=s) for s in ("lg", "cl", "hf"))
    source_ingest_bytes(source=lg, body=feed_bytes(LG))
    source_ingest_bytes(source=cl, body=feed_bytes(CL))
    report = source_ingest_bytes(source=hf, body=feed_bytes(HF), kind="hf_daily")
    expected = _ids(LG) | _ids(CL) | _ids(HF, "hf_daily")
    assert Paper.objects.count() == len(expected) < len(_ids(LG)) + len(_ids(CL)) + 40
    cross_listed = (_ids(LG) & _ids(CL)).pop()
    assert set(Paper.objects.get(arxiv_id=cross_listed).sources.values_list("slug", flat=True)) == {
        "lg",
        "cl",
    }
    on_both = (_ids(LG) & _ids(HF, "hf_daily")).pop()
    paper = Paper.objects.get(arxiv_id=on_both)
    assert paper.hf_upvotes is not None and paper.hf_url and paper.authors
    assert report.counts.new + report.counts.updated == 40


def test_a_newer_version_updates_title_and_abstract_in_place():
    source = SourceFactory()
    record = PaperRecord(guid="oai:arXiv.org:2601.00001v1", arxiv_id="2601.00001", version=1,
                         title="First title", abstract="First abstract.", categories=("cs.LG",))  # fmt: skip
    paper_upsert_many(source=source, records=[record])
    paper = Paper.objects.get()
    v2 = replace(record, guid="oai:arXiv.org:2601.00001v2", version=2, title="Better title", abstract="New.")
    result = paper_upsert_many(source=source, records=[v2])
    assert result.updated == 1 and result.new == 0
    paper.refresh_from_db()
    assert (paper.pk, paper.version, paper.title, paper.abstract) == (paper.pk, 2, "Better title", "New.")
    # An older version seen later (another feed lagging behind) never rolls the text back.
    paper_upsert_many(source=SourceFactory(), records=[record])
    paper.refresh_from_db()
    assert paper.version == 2 and paper.title == "Better title" and Paper.objects.count() == 1


def test_dedupe_by_doi_then_by_source_guid():
    blog = SourceFactory(kind=Source.Kind.RSS_ATOM)
    first = PaperRecord(guid="post-1", title="A paper", doi="10.1000/xyz")
    paper_upsert_many(source=blog, records=[first])
    paper_upsert_many(
        source=SourceFactory(), records=[PaperRecord(guid="other", title="A paper", doi="10.1000/XYZ")]
    )
    no_ids = PaperRecord(guid="post-2", title="Untitled musings")
    paper_upsert_many(source=blog, records=[no_ids])
    paper_upsert_many(source=blog, records=[replace(no_ids, title="Edited musings")])
    assert Paper.objects.count() == 2
    assert Paper.objects.get(doi="10.1000/xyz").sightings.count() == 2
    assert Paper.objects.filter(title="Edited musings").count() == 1


def test_second_ingest_of_an_unchanged_feed_writes_nothing(serve_feed):
    TopicFactory(keywords="language model\nreasoning")
    source = serve_feed("/rss", "arxiv_rss", feed_bytes(CL))  # no ETag: the whole path runs again
    source_fetch(source=source)
    state = (
        Paper.objects.count(),
        PaperSighting.objects.count(),
        list(PaperTopic.objects.values_list("pk", "score")),
        max(Paper.objects.values_list("updated_at", flat=True)),
    )
    with CaptureQueriesContext(connection) as queries:
        report = source_fetch(source=source)
    writes = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE", "COPY"))
    ]
    assert report.counts.unchanged == 86 and report.counts.new == report.counts.updated == 0
    assert len(writes) == 1 and "papers_source" in writes[0]  # only the source's health
    assert len(queries.captured_queries) <= 8  # lookups in bulk, not per paper
    assert state == (
        Paper.objects.count(),
        PaperSighting.objects.count(),
        list(PaperTopic.objects.values_list("pk", "score")),
        max(Paper.objects.values_list("updated_at", flat=True)),
    )


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


def test_ingest_tags_new_papers_with_scores():
    topic = TopicFactory(keywords="rotary position embedding\nRoPE", threshold=1.0)
    source_ingest_bytes(source=SourceFactory(), body=feed_bytes(CL))
    tagged = PaperTopic.objects.get(paper__arxiv_id="2601.22181", topic=topic)
    assert tagged.score >= 2.0 and not tagged.manual


def test_retagging_never_overrides_manual_or_excluded_rows():
    Topic.objects.update(active=False)  # only this test's topics take part
    topic = TopicFactory(keywords="quantization")
    other = TopicFactory(keywords="nothing matches this")
    quantized = PaperFactory(title="Quantized transformers")
    plain = PaperFactory(title="Plain transformers")
    excluded = PaperTopicFactory(paper=quantized, topic=topic, score=0, excluded=True)
    manual = PaperTopicFactory(paper=plain, topic=other, score=5, manual=True)
    papers_retag(paper_ids=[quantized.pk, plain.pk])
    topic_retag(topic_id=topic.pk)
    topic_retag(topic_id=other.pk)
    excluded.refresh_from_db()
    manual.refresh_from_db()
    assert excluded.excluded and excluded.score == 0
    assert manual.manual and manual.score == 5
    assert PaperTopic.objects.count() == 2


def test_topic_retag_follows_keyword_changes_and_deactivation():
    topic = TopicFactory(keywords="diffusion")
    paper = PaperFactory(title="Diffusion models for audio")
    topic_retag(topic_id=topic.pk)
    assert PaperTopic.objects.filter(paper=paper, topic=topic).exists()
    topic.keywords = "graph neural network"
    topic.save()
    topic_retag(topic_id=topic.pk)
    assert not PaperTopic.objects.filter(paper=paper, topic=topic).exists()
    topic.keywords, topic.active = "diffusion", False
    topic.save()
    assert topic_retag(topic_id=topic.pk)["created"] == 0
    assert not PaperTopic.objects.filter(topic=topic).exists()


def test_within_one_feed_the_newest_version_wins():
    source = SourceFactory()
    v1 = PaperRecord(guid="a-v1", arxiv_id="2601.00009", version=1, title="Old")
    v3 = replace(v1, guid="a-v3", version=3, title="New")
    result = paper_upsert_many(source=source, records=[v3, v1])
    assert result.new == 1 and result.skipped == 1
    assert Paper.objects.get().title == "New"
