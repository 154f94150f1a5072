"""Every paper in a digest says in one line why it is there: the reader's topics, keywords, likes."""

import re
from types import SimpleNamespace

import pytest
from django.utils import timezone

from newsletter.assembling import DigestAssembler
from newsletter.composing import render_digest
from newsletter.models import Delivery
from newsletter.reasons import MAX_CHARS, why_line

from .digest_data import compose_deliveries, paper, subscriber, topics

_WHY_TEXT = re.compile(r"^   Why: (.+)$", re.MULTILINE)
_WHY_HTML = re.compile(r'<p class="why"[^>]*>Why: (.*?)</p>')


def _paper(pk, *chips):
    return SimpleNamespace(pk=pk, digest_topics=list(chips))


def test_the_line_names_the_readers_topics_then_keywords_then_likes():
    p = _paper(7, "Quantization", "Efficient attention", "Code LLMs")
    hits = [("kv cache", {7}), ("pruning", {8}), ("sparsity", {7})]
    # Only the reader's own topics and the keywords this paper matches; one topic when more is said.
    line = why_line(p, topics={"Quantization", "Code LLMs"}, keyword_hits=hits, liked={7})
    assert line == "Quantization · mentions kv cache · mentions sparsity · like papers you liked"
    assert why_line(p, topics={"Quantization", "Code LLMs"}, keyword_hits=[]) == "Quantization · Code LLMs"
    assert why_line(_paper(9), topics=set(), keyword_hits=[], liked={9}) == "like papers you liked"
    assert why_line(_paper(9, "Agents"), topics={"Quantization"}, keyword_hits=hits) == ""


def test_what_does_not_fit_gives_way_topics_first_and_the_like_last():
    long_topics = _paper(1, "Efficient Attention & Long Context", "Quantization & Compression")
    topics = {"Efficient Attention & Long Context", "Quantization & Compression"}
    line = why_line(long_topics, topics=topics, keyword_hits=[("kv cache", {1})], liked={1})
    assert line == "Efficient Attention & Long Context · mentions kv cache · like papers you liked"
    long_keyword = "x" * 100
    p = _paper(1, "Quantization", "Code LLMs", "Agents")
    kept = why_line(p, topics={"Agents"}, keyword_hits=[(long_keyword, {1})], liked={1})
    assert kept == "Agents · like papers you liked"  # never half a reason beside whole ones
    alone = why_line(_paper(1), topics=set(), keyword_hits=[(long_keyword, {1})])
    assert len(alone) == MAX_CHARS and alone.endswith("…") and alone.startswith("mentions xxx")
    many = why_line(p, topics={"Quantization", "Code LLMs", "Agents"}, keyword_hits=[("a b", {1})] * 5)
    assert many == "Quantization · mentions a b · mentions a b"  # one topic, two keywords at most
    for shown in (line, kept, alone, many):
        assert len(shown) <= MAX_CHARS and "\n" not in shown


@pytest.mark.django_db
def test_each_paper_of_a_sent_digest_says_why_in_both_parts_and_matches_the_reference():
    quant, code, agents = topics()
    kv = paper((quant, 3.0), title="KV cache quantization at 2 bits", abstract="We quantize the KV cache.")
    both = paper((quant, 2.0), (code, 2.0), title="Quantized code models", abstract="Smaller coders.")
    word = paper((agents, 2.5), title="Agents that plan", abstract="A KV cache for tool calls.")
    reader = subscriber(quant, code, keywords="KV cache, <b>sparse</b>")
    delivery = Delivery.objects.create(subscriber=reader, edition_date=timezone.localdate())
    renderer = DigestAssembler()
    rows = [Delivery.objects.select_related("subscriber").get(pk=delivery.pk)]
    (composed,) = compose_deliveries(rows, renderer=renderer)
    assert renderer.fallbacks == 0  # assembled from the fragments, the reasons in their slots
    text, html = composed.message.body, composed.message.alternatives[0][0]

    expected = {
        kv.pk: "Quantization · mentions kv cache",
        both.pk: "Quantization · Code LLMs",
        word.pk: "mentions kv cache",  # not on the reader's topics: there for their keyword alone
    }
    assert _WHY_TEXT.findall(text) == [expected[pid] for pid in composed.paper_ids]
    assert _WHY_HTML.findall(html) == [expected[pid] for pid in composed.paper_ids]
    # The chunk's assembled email and the reference render agree byte for byte, reasons included.
    papers = {p.pk: p for p in (kv, both, word)}
    kv.digest_topics, both.digest_topics, word.digest_topics = (
        ["Quantization"],
        ["Quantization", "Code LLMs"],
        ["Agents"],
    )
    reference = render_digest(
        subscriber=reader,
        papers=[papers[pid] for pid in composed.paper_ids],
        edition_date=delivery.edition_date,
        delivery_id=delivery.pk,
    )
    assert (reference.text, reference.html) == (text, html)


@pytest.mark.django_db
def test_a_reason_is_text_never_markup():
    quant, _code, _agents = topics()
    paper((quant, 1.0), title="Tags", abstract='Uses <script>alert(1)</script> and "quotes" & more.')
    reader = subscriber(quant, keywords='alert(1)</script>, quotes" & more')
    delivery = Delivery.objects.create(subscriber=reader, edition_date=timezone.localdate())
    renderer = DigestAssembler()
    rows = [Delivery.objects.select_related("subscriber").get(pk=delivery.pk)]
    (composed,) = compose_deliveries(rows, renderer=renderer)
    assert renderer.fallbacks == 0
    html = composed.message.alternatives[0][0]
    (why,) = _WHY_HTML.findall(html)
    assert why == 'Quantization · mentions alert(1)&lt;/script&gt; · mentions quotes" &amp; more'
    assert "<script>" not in html and "</script>" not in html
    (why_text,) = _WHY_TEXT.findall(composed.message.body)
    assert why_text == 'Quantization · mentions alert(1)</script> · mentions quotes" & more'


@pytest.mark.django_db
def test_followed_authors_come_after_featured_papers_and_fill_at_most_half_the_digest(settings):
    settings.NEWSLETTER_DIGEST_SIZE = 4
    quant, _code, agents = topics()
    featured = paper((quant, 1.0), title="Featured", featured=True, authors=["Someone Else"])
    on_topic = [paper((quant, 5.0 - n), title=f"On topic {n}", authors=["Someone Else"]) for n in range(3)]
    by_ada = [paper((agents, 1.0), title=f"Ada {n}", authors=["Ada Lovelace"]) for n in range(3)]
    reader = subscriber(quant, followed_authors=["Lovelace, A."])
    delivery = Delivery.objects.create(subscriber=reader, edition_date=timezone.localdate())
    (composed,) = compose_deliveries([Delivery.objects.select_related("subscriber").get(pk=delivery.pk)])
    ids = composed.paper_ids
    assert ids[0] == featured.pk  # a curator's pick stays first
    assert len([pid for pid in ids if pid in {p.pk for p in by_ada}]) == 2  # half of four
    assert set(ids[1:3]) <= {p.pk for p in by_ada}  # then the followed author's, before the topics
    assert ids[3] == on_topic[0].pk  # the reader's topics keep the rest
    assert _WHY_TEXT.findall(composed.message.body)[1] == "by an author you follow"
