"""The ingest's lean bulk writes: every field stored as given, ids matched to the right rows, conflicts."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from papers import bulk, upsert
from papers.models import Paper, PaperSighting, PaperTopic
from papers.parsing import PaperRecord, parse_feed
from papers.tag_writes import paper_topics_assign
from papers.tagging import TopicIndex
from papers.tests.conftest import feed_bytes
from papers.tests.factories import PaperFactory, PaperTopicFactory, SourceFactory, TopicFactory
from papers.upsert import paper_upsert_many

pytestmark = pytest.mark.django_db

_WRITES = ("INSERT", "UPDATE", "DELETE", "COPY")
# Text that trips up hand-made SQL, array literals ({}, ", \) and COPY's text format (\N, tabs).
AWKWARD = "x<y & \"quoted\" {braces}, back\\slash \\N tab\there\nnew line 100% %s ☺ 'apostrophe'"


def _write_statements(queries) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if q["sql"].lstrip().upper().startswith(_WRITES)]


def test_a_large_first_ingest_matches_every_id_to_its_own_row():
    records = parse_feed("arxiv_rss", feed_bytes("arxiv-rss-cs-large.xml")).records
    source = SourceFactory()

    with CaptureQueriesContext(connection) as queries:
        result = paper_upsert_many(source=source, records=records)

    assert result.new == Paper.objects.count() > bulk.BATCH_SIZE * 2  # several statements' worth
    stored = {
        pk: (arxiv_id, title) for pk, arxiv_id, title in Paper.objects.values_list("pk", "arxiv_id", "title")
    }
    assert {p.pk: (p.arxiv_id, p.title) for p in result.papers_to_tag} == stored
    assert sorted(result.new_paper_ids) == sorted(stored)
    sighted = dict(PaperSighting.objects.filter(source=source).values_list("guid", "paper__arxiv_id"))
    assert sighted == {r.guid: r.arxiv_id for r in records}
    # Few statements, and all of them visible to query capture (COPY included).
    writes = _write_statements(queries)
    assert any("papers_paper" in sql for sql in writes) and any(
        "papers_papersighting" in sql for sql in writes
    )
    assert len(writes) <= 8


def test_a_new_paper_stores_every_field_as_given():
    now = datetime(2026, 2, 2, 8, 30, tzinfo=UTC)
    published = datetime(2026, 2, 1, 23, 15, tzinfo=timezone(timedelta(hours=-5)))
    record = PaperRecord(
        guid="guid-" + AWKWARD,
        title="Title " + AWKWARD,
        abstract="Abstract " + AWKWARD,
        arxiv_id="2602.00001",
        version=3,
        doi="10.1000/awkward",
        authors=("Zoë O'Brien", 'A. "Quote" Person', "Back\\slash {Brace}"),
        categories=("cs.LG", "stat.ML"),
        primary_category="cs.LG",
        comment="12 pages, 100% \\N",
        abs_url="https://arxiv.org/abs/2602.00001",
        pdf_url="https://arxiv.org/pdf/2602.00001",
        code_url="https://github.com/example/code",
        project_url="https://example.org/project",
        hf_url="https://huggingface.co/papers/2602.00001",
        published_at=published,
        hf_upvotes=17,
        hf_comments=0,
        ai_summary="Summary " + AWKWARD,
    )

    result = paper_upsert_many(source=SourceFactory(), records=[record], now=now)

    paper = Paper.objects.get()
    expected = {
        "arxiv_id": "2602.00001",
        "version": 3,
        "doi": "10.1000/awkward",
        "title": "Title " + AWKWARD,
        "abstract": "Abstract " + AWKWARD,
        "authors": ["Zoë O'Brien", 'A. "Quote" Person', "Back\\slash {Brace}"],
        "categories": ["cs.LG", "stat.ML"],
        "primary_category": "cs.LG",
        "comment": "12 pages, 100% \\N",
        "abs_url": record.abs_url,
        "pdf_url": record.pdf_url,
        "code_url": record.code_url,
        "project_url": record.project_url,
        "hf_url": record.hf_url,
        "published_at": published,  # the same instant, whatever zone it was given in
        "first_seen_at": now,
        "updated_at": now,
        "hf_upvotes": 17,
        "hf_comments": 0,
        "ai_summary": "Summary " + AWKWARD,
        "featured": False,
        "hidden": False,
        "trending_score": 0.0,
    }
    assert {name: getattr(paper, name) for name in expected} == expected
    # The instances handed to tagging and ranking are the stored rows.
    (created,) = result.papers_to_tag
    assert result.papers_to_rank == [created]
    assert {name: getattr(created, name) for name in expected} == expected
    assert created.pk == paper.pk and not created._state.adding
    assert PaperSighting.objects.get().guid == "guid-" + AWKWARD


def test_a_paper_inserted_concurrently_is_merged_on_retry(monkeypatch):
    """Another worker inserts the paper after this one looked: the insert fails and is redone as a merge."""
    other = PaperFactory(arxiv_id="2602.00002", version=1, title="Seen first elsewhere", abstract="")
    real_existing = upsert._existing
    lookups = []

    def stale_then_real(source, records):
        lookups.append(source)
        if len(lookups) == 1:
            return {}, {}, {}  # what this worker saw before the other one committed
        return real_existing(source, records)

    monkeypatch.setattr(upsert, "_existing", stale_then_real)
    record = PaperRecord(
        guid="g", arxiv_id="2602.00002", version=1, title="Seen first elsewhere", abstract="Text."
    )

    result = paper_upsert_many(source=SourceFactory(), records=[record])

    assert len(lookups) == 2
    assert (result.new, result.updated) == (0, 1)
    assert Paper.objects.get().pk == other.pk
    other.refresh_from_db()
    assert other.abstract == "Text." and PaperSighting.objects.get().paper_id == other.pk


def test_topic_rows_another_worker_wrote_first_are_left_alone():
    topic = TopicFactory(keywords="quantization", threshold=1.0)
    paper = PaperFactory(title="Quantization of transformers", abstract="We study quantization.")
    kept = PaperTopicFactory(paper=paper, topic=topic, score=9.0, manual=True)

    index = TopicIndex()
    index.add(topic_id=topic.pk, keywords=["quantization"], categories=[], threshold=1.0)

    # Called as for a just-created paper (no rows compared), while a row exists: no error, no change.
    counts = paper_topics_assign(papers=[paper], index=index, new_paper_ids=[paper.pk])

    assert counts["created"] == 1  # attempted
    assert list(PaperTopic.objects.values_list("pk", "score", "manual")) == [(kept.pk, 9.0, True)]
