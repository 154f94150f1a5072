"""A digest built from a LaTeX-heavy arXiv listing: readable text in both parts, on both render paths."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from newsletter.assembling import DigestAssembler
from newsletter.composing import render_digest
from newsletter.models import Delivery
from papers.models import Paper, PaperTopic
from papers.parsing import parse_feed
from papers.tests.conftest import feed_bytes
from papers.tests.factories import SourceFactory
from papers.upsert import paper_upsert_many

from .digest_data import compose_deliveries, subscriber, topics
from .html_safety import unsafe_markup, visible_text

pytestmark = pytest.mark.django_db

LATEX_LEFT_RE = re.compile(r"\\[A-Za-z]+|\$[^$]+\$")
EMPHASIS_RE = re.compile(r"\\(?:textit|emph)\{")


def _latex_heavy_papers(count: int = 10) -> list[Paper]:
    """Papers of the bundled arXiv listing whose text holds the most LaTeX, one with italics first."""
    records = parse_feed("arxiv_rss", feed_bytes("arxiv-rss-cs-large.xml")).records

    def weight(record) -> int:
        return len(LATEX_LEFT_RE.findall(record.title + " " + record.abstract))

    italic = next(r for r in records if EMPHASIS_RE.search(r.abstract[:300]))
    chosen = [italic, *sorted((r for r in records if r is not italic), key=weight, reverse=True)[: count - 1]]
    paper_upsert_many(source=SourceFactory(), records=chosen)
    return list(Paper.objects.filter(arxiv_id__in=[r.arxiv_id for r in chosen]))


def test_a_latex_heavy_digest_has_no_command_and_no_dollar_math_in_either_part():
    quant, _code, _agents = topics()
    papers = _latex_heavy_papers()
    assert sum(bool(LATEX_LEFT_RE.search(p.title + p.abstract)) for p in papers) == len(papers)
    seen = timezone.now() - timedelta(hours=1)
    Paper.objects.filter(pk__in=[p.pk for p in papers]).update(first_seen_at=seen)
    PaperTopic.objects.bulk_create([PaperTopic(paper=p, topic=quant, score=1.0) for p in papers])
    reader = subscriber(quant)
    delivery = Delivery.objects.create(subscriber=reader, edition_date=timezone.localdate())

    composed = compose_deliveries(
        list(Delivery.objects.filter(pk=delivery.pk).select_related("subscriber")), renderer=DigestAssembler()
    )[0]
    assert len(composed.paper_ids) == 10
    html, text = composed.message.alternatives[0][0], composed.message.body
    for body in (visible_text(html), text, composed.subject):
        assert LATEX_LEFT_RE.findall(body) == []
    assert "<em>" in html and "<em>" not in text  # \textit and \emph: italics in HTML, plain text in text
    assert unsafe_markup(html) == []

    # The reference render (previews, the web copy) says the same.
    chosen = list(Paper.objects.filter(pk__in=composed.paper_ids))
    chosen.sort(key=lambda p: composed.paper_ids.index(p.pk))
    for p in chosen:
        p.digest_topics = [quant.name]
    direct = render_digest(subscriber=reader, papers=chosen, edition_date=delivery.edition_date)
    for body in (visible_text(direct.html), direct.text):
        assert LATEX_LEFT_RE.findall(body) == []
