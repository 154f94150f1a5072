"""A real arXiv day with Hugging Face's list of that day: the community's signal reaches the digest.

The fixtures are the repository's 2026-02-02 feeds (papers/fixtures/feeds: cs.LG and cs.CL RSS, the
arXiv API page, the Hugging Face daily list with its synthetic upvotes), ingested like the demo.
"""

import io
import re
from datetime import date

import pytest
from django.utils import timezone

from newsletter.assembling import DigestAssembler
from newsletter.composing import render_digest, select_papers_for, trending_strip_for
from newsletter.delivery_rows import planned_rows
from newsletter.models import Delivery
from newsletter.ranking import STRIP_SIZE
from newsletter.selectors import forget_pool
from papers import demo
from papers.models import Paper, PaperTopic, Topic
from subscriptions.models import Subscriber
from subscriptions.tests.factories import SubscriberFactory
from subscriptions.tokens import make_link_token

from .digest_data import compose_deliveries, paper, subscriber, topics

pytestmark = pytest.mark.django_db
READER_TOPICS = ("diffusion", "agents", "graph-learning", "vision-language")


@pytest.fixture
def day():
    """The 2026-02-02 feeds ingested; the tagger and pool caches start clean."""
    forget_pool()
    demo.seed(stdout=io.StringIO())
    yield
    forget_pool()


def _reader(**fields) -> Subscriber:
    return SubscriberFactory(topics=list(Topic.objects.filter(slug__in=READER_TOPICS)), **fields)


def _most_upvoted_matching(reader: Subscriber, count: int = 3) -> list[Paper]:
    """The day's most-upvoted papers that carry one of the reader's topics (from the database)."""
    tagged = PaperTopic.objects.filter(topic__in=reader.topics.all(), excluded=False).values("paper_id")
    return list(Paper.objects.filter(pk__in=tagged, hf_upvotes__gt=0).order_by("-hf_upvotes", "pk")[:count])


def _edition() -> date:
    return timezone.localdate()


def test_a_default_readers_first_five_hold_the_days_three_most_upvoted_papers_of_their_topics(day):
    reader = _reader(trending_strip=False)
    assert reader.ranking == Subscriber.Ranking.BALANCED
    top = _most_upvoted_matching(reader)
    assert [p.hf_upvotes for p in top] == [51, 38, 34]  # the fixture day's, for this reader
    first_five = select_papers_for(reader, edition_date=_edition())[:5]
    assert {p.pk for p in top} <= {p.pk for p in first_five}


def test_with_the_strip_on_they_are_in_the_strip_or_the_first_five_and_shown_with_their_upvotes(day):
    reader = _reader()  # every default: balanced, strip on
    top = _most_upvoted_matching(reader)
    delivery = Delivery.objects.create(subscriber=reader, edition_date=_edition())
    (composed,) = compose_deliveries(planned_rows([delivery.pk]))  # the chunk path, as a send does
    strip = trending_strip_for(reader, edition_date=_edition())
    papers = select_papers_for(reader, edition_date=_edition())
    assert composed.paper_ids == [p.pk for p in papers]
    assert {p.pk for p in top} <= {p.pk for p in strip} | {p.pk for p in papers[:5]}
    text = composed.message.body
    html = composed.message.alternatives[0][0]
    for shown in top:
        stats = f"▲ {shown.hf_upvotes} · {shown.hf_comments} comment"
        assert stats in text
        assert re.search(rf"(&#9650;|▲) {shown.hf_upvotes} (&middot;|·) {shown.hf_comments} comment", html)


def test_the_strip_holds_the_days_most_upvoted_papers_of_any_topic_not_repeated_below(day):
    reader = _reader()
    strip = trending_strip_for(reader, edition_date=_edition())
    day_top = list(Paper.objects.filter(hf_upvotes__gt=0).order_by("-hf_upvotes", "pk")[:STRIP_SIZE])
    assert [p.pk for p in strip] == [p.pk for p in day_top]
    assert not any(p.digest_topics for p in strip[:2])  # the day's two biggest carry none of our topics
    papers = select_papers_for(reader, edition_date=_edition())
    assert len(papers) == 10
    assert not {p.pk for p in strip} & {p.pk for p in papers}
    rendered = render_digest(subscriber=reader, papers=papers, edition_date=_edition(), trending=strip)
    assert "Trending today" in rendered.text and "Trending today" in rendered.html
    assert rendered.text.index("Trending today") < rendered.text.index(papers[0].title[:40])
    for shown in strip:
        assert rendered.text.count(shown.title[:40]) == 1


def test_a_closest_to_my_topics_reader_keeps_a_relevance_first_order(day):
    reader = _reader(ranking=Subscriber.Ranking.TOPICS, trending_strip=False)
    papers = select_papers_for(reader, edition_date=_edition())
    mine = set(reader.topics.values_list("pk", flat=True))
    scores = dict.fromkeys(PaperTopic.objects.filter(topic__in=mine).values_list("paper_id", flat=True), 0.0)
    for pid, score in PaperTopic.objects.filter(topic__in=mine, excluded=False).values_list(
        "paper_id", "score"
    ):
        scores[pid] += score
    relevance = [scores[p.pk] for p in papers if not p.featured]
    assert relevance == sorted(relevance, reverse=True)
    balanced = select_papers_for(_reader(trending_strip=False), edition_date=_edition())
    assert [p.pk for p in papers] != [p.pk for p in balanced]  # the reading order is the reader's choice


def test_switching_the_strip_off_on_the_manage_page_leaves_it_out_of_the_digest(day, client):
    reader = _reader()
    assert trending_strip_for(reader, edition_date=_edition())
    page = client.get(f"/manage/{make_link_token(reader, 'manage')}/").content.decode()
    assert "Trending today" in page and "Most discussed first" in page
    assert re.search(r'name="trending_strip"[^>]*checked', page)
    form = {
        "topics": list(READER_TOPICS),
        "frequency": "daily",
        "delivery_hour": "7",
        "timezone": "UTC",
        "ranking": "discussed",
    }  # the checkbox unticked: browsers send nothing for it
    response = client.post(f"/manage/{make_link_token(reader, 'manage')}/", form)
    assert response.status_code == 302
    reader.refresh_from_db()
    assert reader.trending_strip is False and reader.ranking == Subscriber.Ranking.DISCUSSED
    assert trending_strip_for(reader, edition_date=_edition()) == []
    delivery = Delivery.objects.create(subscriber=reader, edition_date=_edition())
    (composed,) = compose_deliveries(planned_rows([delivery.pk]))
    assert "Trending today" not in composed.message.body
    assert "Trending today" not in composed.message.alternatives[0][0]


def test_the_chunk_paths_digest_with_a_strip_is_byte_identical_to_the_direct_render():
    quant, code, _agents = topics()
    for n in range(4):
        paper((quant, 1.0 + n), title=f"Quantization paper {n}")
    paper((code, 1.0), title='Trending & "quoted" <ok>', hf_upvotes=62, hf_comments=3, trending_score=68.0)
    paper(title="Big paper of another field", hf_upvotes=90, hf_comments=1, trending_score=92.0)
    paper((quant, 2.0), title="One upvote", hf_upvotes=1, hf_comments=None, trending_score=1.0)
    readers = [subscriber(quant, code), subscriber(quant), subscriber(quant, trending_strip=False)]
    edition = _edition()
    deliveries = [Delivery.objects.create(subscriber=r, edition_date=edition) for r in readers]
    renderer = DigestAssembler()
    composed = compose_deliveries(planned_rows([d.pk for d in deliveries]), renderer=renderer)
    assert renderer.fallbacks == 0
    for item in composed:
        reader = item.delivery.subscriber
        strip = trending_strip_for(reader, edition_date=edition)
        assert [p.title for p in strip] == (
            []
            if not reader.trending_strip
            else ["Big paper of another field", 'Trending & "quoted" <ok>', "One upvote"]
        )
        papers = select_papers_for(reader, edition_date=edition)
        direct = render_digest(
            subscriber=reader,
            papers=papers,
            edition_date=edition,
            delivery_id=item.delivery.pk,
            trending=strip,
        )
        assert item.message.subject == direct.subject
        assert item.message.body == direct.text
        assert item.message.alternatives[0][0] == direct.html
    assert "▲ 62 · 3 comments" in composed[0].message.body and "▲ 1\n" in composed[0].message.body
