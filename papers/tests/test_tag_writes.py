"""Topic tag writes: ingest tags new papers; re-tagging follows topic changes and respects curators."""

import pytest

from papers.ingest import source_ingest_bytes
from papers.models import PaperTopic, Topic
from papers.tag_writes import papers_retag, topic_retag
from papers.tests.conftest import feed_bytes
from papers.tests.factories import PaperFactory, PaperTopicFactory, SourceFactory, TopicFactory

pytestmark = pytest.mark.django_db

CL = "arxiv-rss-cs.CL-2026-02-02.xml"


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
