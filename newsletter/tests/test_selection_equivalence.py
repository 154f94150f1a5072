"""The fast selection (threshold merge of ranked lists, shared answers) against the plain reference."""

import random
from datetime import timedelta

import pytest
from django.utils import timezone

from newsletter.selectors import PaperPool, Reader
from papers.models import Paper, PaperTopic, Topic
from subscriptions.models import Subscriber

pytestmark = pytest.mark.django_db
WORDS = ["sparse", "quantized", "graph", "agents", "diffusion", "kernels", "retrieval", "vision"]


def _pool_data(rng: random.Random, *, papers: int, topics: int, scores=(0.0, 0.5, 1.0, 1.0, 1.5, 2.25)):
    now = timezone.now()
    made = [Topic.objects.create(slug=f"eq-{n}", name=f"Eq {n}", display_order=n) for n in range(topics)]
    rows = []
    for n in range(papers):
        words = rng.sample(WORDS, 3)
        p = Paper.objects.create(
            title=f"{words[0].title()} {words[1]} paper {n}",
            abstract=f"We study {words[2]} and more.",
            first_seen_at=now - timedelta(hours=rng.choice([1, 2, 2, 5, 30, 50])),
            featured=rng.random() < 0.05,
            # Few distinct values, so that ties on score and trending are common.
            trending_score=rng.choice([0.0, 0.0, 1.5, 3.0, 40.0]),
        )
        for topic in rng.sample(made, rng.randint(1, 3)):
            rows.append(PaperTopic(paper=p, topic=topic, score=rng.choice(scores)))
    PaperTopic.objects.bulk_create(rows)
    return now, made


@pytest.mark.parametrize(
    "seed, scores",
    [
        (1, (0.0, 0.5, 1.0, 1.0, 1.5, 2.25)),
        (2, (0.0, 0.5, 1.0, 1.0, 1.5, 2.25)),
        (3, (0.1, 0.2, 0.30000001, 0.3, 1e-7)),  # sums that round alike at six decimals
        (4, (-1.0, 0.5, 2.0)),  # a negative score: the exact fallback
    ],
)
def test_fast_selection_equals_the_reference_for_many_readers(seed, scores):
    rng = random.Random(seed)
    now, made = _pool_data(rng, papers=160, topics=6, scores=scores)
    pool = PaperPool(since=now - timedelta(days=3), until=now)
    for _ in range(300):
        reader = Reader(
            subscriber_id=1,
            topic_ids=tuple(sorted(t.pk for t in rng.sample(made, rng.randint(0, 4)))),
            keywords=tuple(rng.sample(WORDS, rng.choice([0, 0, 1, 2]))),
            since=now - timedelta(hours=rng.choice([3, 24, 48, 72])),
            ranking=rng.choice(Subscriber.Ranking.values),  # every reading order keeps the bound
        )
        limit = rng.choice([1, 3, 10, 200])
        expected = [p.pk for p in pool.select_reference(reader, limit=limit)]
        assert [p.pk for p in pool.select(reader, limit=limit)] == expected, reader
        assert [p.pk for p in pool.select(reader, limit=limit)] == expected  # the shared answer


def test_keyword_search_over_the_corpus_finds_word_starts_in_titles_and_abstracts():
    now = timezone.now()
    title_hit = Paper.objects.create(title="Quantized nets", abstract="", first_seen_at=now)
    abstract_hit = Paper.objects.create(title="Other", abstract="we quantize", first_seen_at=now)
    Paper.objects.create(title="Unquantized nets", abstract="nothing", first_seen_at=now)  # not a word start
    later = Paper.objects.create(title="Unquantized, then QUANTIZED", abstract="", first_seen_at=now)
    overlap = Paper.objects.create(title="xa a a", abstract="", first_seen_at=now)  # "a a" at 3, not 1
    pool = PaperPool(since=now - timedelta(hours=1), until=now + timedelta(seconds=1))
    assert pool.keyword_hits("quantiz") == {title_hit.pk, abstract_hit.pk, later.pk}
    assert pool.keyword_hits("a a") == {overlap.pk}
    assert pool.keyword_hits("nets other") == frozenset()  # never across two fields or papers
