from datetime import date, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from newsletter.assembling import DigestAssembler
from newsletter.composing import (
    SKIP_INACTIVE,
    SKIP_NOTHING_NEW,
    render_digest,
    select_papers_for,
    subscriber_links,
)
from newsletter.messages import DigestMessage, digest_message
from newsletter.models import Delivery
from newsletter.selectors import previous_digest_starts
from papers.models import Paper, PaperTopic
from subscriptions.models import Subscriber
from subscriptions.tokens import manage_url, unsubscribe_url

from .digest_data import (
    HOSTILE_ABSTRACT,
    HOSTILE_TITLE,
    compose_deliveries,
    html_links,
    html_problems,
    paper,
    subscriber,
    topics,
)
from .html_safety import unsafe_markup, visible_text

pytestmark = pytest.mark.django_db
TODAY = date(2026, 4, 28)


def test_selection_keeps_the_subscribers_topics_and_keywords_only():
    quant, code, agents = topics()
    q = paper((quant, 2.0), title="Quantized transformers")
    c = paper((code, 2.0), title="Code models")
    paper((agents, 2.0), title="Agents everywhere")
    kw = paper(title="A LoRA adapter study")
    reader = subscriber(quant, code, keywords="lora")
    chosen = select_papers_for(reader, edition_date=TODAY)
    assert {p.pk for p in chosen} == {q.pk, c.pk, kw.pk}


def test_selection_drops_hidden_papers_excluded_topics_and_papers_seen_before_the_window():
    quant, _code, _agents = topics()
    kept = paper((quant, 1.0))
    paper((quant, 1.0), hidden=True)
    excluded = paper((quant, 1.0))
    PaperTopic.objects.filter(paper=excluded).update(excluded=True)
    paper((quant, 1.0), seen=timezone.now() - timedelta(days=3))  # before a daily reader's window
    reader = subscriber(quant)
    assert [p.pk for p in select_papers_for(reader, edition_date=TODAY)] == [kept.pk]


def test_selection_starts_after_the_previous_digest():
    quant, _code, _agents = topics()
    reader = subscriber(quant)
    old = paper((quant, 1.0), seen=timezone.now() - timedelta(hours=20))
    new = paper((quant, 1.0), seen=timezone.now() - timedelta(hours=2))
    Delivery.objects.create(
        subscriber=reader,
        edition_date=TODAY - timedelta(days=1),
        status=Delivery.Status.SENT,
        sending_started_at=timezone.now() - timedelta(hours=10),
    )
    assert [p.pk for p in select_papers_for(reader, edition_date=TODAY)] == [new.pk]
    assert old.pk not in [p.pk for p in select_papers_for(reader, edition_date=TODAY)]


def _a_year_of_digests(reader) -> datetime:
    now = timezone.now()
    Delivery.objects.bulk_create(
        Delivery(
            subscriber=reader,
            edition_date=TODAY - timedelta(days=n),
            status=Delivery.Status.SENT,
            sending_started_at=now - timedelta(days=n),
            paper_ids=[],
        )
        for n in range(1, 366)
    )
    return now


def test_the_previous_digest_is_the_last_one_sent_before_the_edition():
    reader, other = subscriber(topics()[0]), subscriber(topics()[0])
    now = _a_year_of_digests(reader)
    Delivery.objects.create(
        subscriber=reader, edition_date=TODAY, status=Delivery.Status.SENT, sending_started_at=now
    )  # this very edition: not "previous"
    Delivery.objects.create(
        subscriber=other, edition_date=TODAY - timedelta(days=1), status=Delivery.Status.SKIPPED
    )
    assert previous_digest_starts([reader.pk, other.pk], before=TODAY) == {reader.pk: now - timedelta(days=1)}


@pytest.mark.postgres  # a Postgres query plan
def test_the_previous_digest_is_found_without_reading_the_readers_whole_history():
    """A year of daily digests is 365 rows a reader; each chunk used to aggregate all of them to find
    the last one (0.2-0.8 s a chunk of 500 readers). Only the editions that can still move the window
    (two weeks and a bit) are read."""
    reader = subscriber(topics()[0])
    now = _a_year_of_digests(reader)
    with CaptureQueriesContext(connection) as queries:
        assert previous_digest_starts([reader.pk], before=TODAY) == {reader.pk: now - timedelta(days=1)}
    (query,) = queries.captured_queries
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {query['sql']}")
        (plan,) = cursor.fetchone()

    def rows_read(node) -> int:
        own = node.get("Actual Rows", 0) if node.get("Relation Name") == Delivery._meta.db_table else 0
        return own + sum(rows_read(child) for child in node.get("Plans", ()))

    assert rows_read(plan[0]["Plan"]) <= 20


def _ranking_papers(now):
    quant, code, _agents = topics()
    return (
        quant,
        code,
        {
            "low": paper((quant, 1.0), seen=now - timedelta(hours=1)),
            "featured": paper((quant, 0.5), featured=True, seen=now - timedelta(hours=5)),
            "two_topics": paper((quant, 1.0), (code, 1.0), seen=now - timedelta(hours=6)),
            "trending": paper((quant, 1.0), trending_score=9.0, seen=now - timedelta(hours=7)),
            "older": paper((quant, 1.0), seen=now - timedelta(hours=8)),  # ties with `low` but older
        },
    )


def test_closest_to_my_topics_ranks_featured_then_topic_score_then_trending_then_recency(settings):
    settings.NEWSLETTER_DIGEST_SIZE = 4
    now = timezone.now()
    quant, code, p = _ranking_papers(now)
    reader = subscriber(quant, code, ranking=Subscriber.Ranking.TOPICS)
    ranked = [x.pk for x in select_papers_for(reader, edition_date=TODAY, now=now)]
    assert ranked == [p["featured"].pk, p["two_topics"].pk, p["trending"].pk, p["low"].pk]
    assert p["older"].pk not in ranked


def test_balanced_moves_a_discussed_paper_above_a_more_relevant_quiet_one(settings):
    settings.NEWSLETTER_DIGEST_SIZE = 4
    now = timezone.now()
    quant, code, p = _ranking_papers(now)
    reader = subscriber(quant, code)  # the default reading order
    assert reader.ranking == Subscriber.Ranking.BALANCED
    ranked = [x.pk for x in select_papers_for(reader, edition_date=TODAY, now=now)]
    assert ranked == [p["featured"].pk, p["trending"].pk, p["two_topics"].pk, p["low"].pk]


def test_balanced_keeps_relevance_in_the_order_of_discussed_papers(settings):
    quant, _code, _agents = topics()
    now = timezone.now()
    sure = paper((quant, 900.0), trending_score=5.0, hf_upvotes=5)
    borderline = paper((quant, 1.1), trending_score=8.0, hf_upvotes=8)
    quiet = paper((quant, 1000.0))
    reader = subscriber(quant, trending_strip=False)
    ranked = [x.pk for x in select_papers_for(reader, edition_date=TODAY, now=now)]
    assert ranked == [sure.pk, borderline.pk, quiet.pk]
    reader.ranking = Subscriber.Ranking.DISCUSSED
    reader.save()
    ranked = [x.pk for x in select_papers_for(reader, edition_date=TODAY, now=now)]
    assert ranked == [borderline.pk, sure.pk, quiet.pk]
    reader.ranking = Subscriber.Ranking.TOPICS
    reader.save()
    ranked = [x.pk for x in select_papers_for(reader, edition_date=TODAY, now=now)]
    assert ranked == [quiet.pk, sure.pk, borderline.pk]


def test_subject_names_count_topics_and_date():
    quant, code, _agents = topics()
    papers = [paper((quant, 1.0)) for _ in range(4)] + [paper((code, 1.0)) for _ in range(3)]
    reader = subscriber(quant, code)
    chosen = select_papers_for(reader, edition_date=TODAY)
    rendered = render_digest(subscriber=reader, papers=chosen, edition_date=TODAY, delivery_id=42)
    assert len(chosen) == len(papers)
    assert rendered.subject == "7 new papers on Quantization and Code LLMs — Apr 28"


def test_digest_shows_each_paper_and_the_subscribers_own_links(settings):
    settings.PAPERBOY_POSTAL_ADDRESS = "Paperboy Ltd, 9 Test Road, Testville"
    quant, _code, _agents = topics()
    p = paper(
        (quant, 1.0),
        title="Tiny weights, big models",
        authors=["Ada", "Alan", "Grace", "Edsger"],
        hf_upvotes=123,
        hf_comments=4,
        code_url="https://github.com/example/tiny",
        hf_url="https://huggingface.co/papers/2601.00001",
        abstract=" ".join(f"w{i}" for i in range(100)),
    )
    reader = subscriber(quant)
    rendered = render_digest(subscriber=reader, papers=[p], edition_date=TODAY, delivery_id=7)
    for body in (rendered.html, rendered.text):
        assert "Tiny weights, big models" in body
        assert "Ada, Alan, Grace et al." in body
        assert "▲ 123 · 4 comments" in body
        assert "w59" in body and "w60" not in body  # the first 60 words of the abstract
        assert manage_url(reader) in body and unsubscribe_url(reader) in body
        assert "/digest/7." in body  # view in browser
        assert "Paperboy Ltd, 9 Test Road, Testville" in body
        assert "Quantization" in body  # chip and "why you got this"
    links = html_links(rendered.html)
    assert p.abs_url in links and p.pdf_url in links
    assert "https://github.com/example/tiny" in links and "https://huggingface.co/papers/2601.00001" in links
    assert 'name="color-scheme"' in rendered.html and "prefers-color-scheme: dark" in rendered.html
    assert 'style="' in rendered.html  # CSS inlined for mail clients
    assert "max-width: 600px" in rendered.html


def test_hostile_feed_text_is_escaped_everywhere_in_the_html():
    quant, _code, _agents = topics()
    p = paper(
        (quant, 1.0),
        title=HOSTILE_TITLE,
        abstract=HOSTILE_ABSTRACT,
        authors=['<script>alert("a")</script>Eve'],
        abs_url="javascript:alert(4)",
        pdf_url="data:text/html,<script>alert(5)</script>",
        code_url="  javascript:alert(6)",
        hf_url='https://huggingface.co/papers/x" onmouseover="alert(7)',
    )
    reader = subscriber(quant)
    delivery = Delivery.objects.create(subscriber=reader, edition_date=TODAY)
    (item,) = compose_deliveries([Delivery.objects.select_related("subscriber").get(pk=delivery.pk)])
    papers = select_papers_for(reader, edition_date=TODAY)
    assert [x.pk for x in papers] == [p.pk]
    rendered = render_digest(subscriber=reader, papers=papers, edition_date=TODAY, delivery_id=delivery.pk)
    # The assembled digest is the reference render, byte for byte, hostile text included.
    assert (item.message.alternatives[0][0], item.message.body) == (rendered.html, rendered.text)
    # Read by a real HTML parser: nothing executable, every link a web link.
    assert unsafe_markup(rendered.html) == [] and html_problems(rendered.html) == []
    assert f"https://arxiv.org/abs/{p.arxiv_id}" in html_links(rendered.html)  # fallback for a bad link
    # Stored text is plain text: what looks like markup is shown as the characters it is, once.
    shown = visible_text(rendered.html)
    assert HOSTILE_TITLE in shown
    assert '<script>alert("a")</script>Eve' in shown
    assert "We propose &lt;script&gt; things." in shown  # an entity in the text is text too
    assert HOSTILE_TITLE in rendered.text and "We propose &lt;script&gt; things." in rendered.text


def test_stored_text_is_shown_as_written_on_one_line_within_its_limits():
    quant, _code, _agents = topics()
    comparison = paper((quant, 3.0), title="Bounds when x<y and z>w hold", abstract="If a<b & b>c then…")
    entity = paper((quant, 2.0), title="The &lt;b&gt; tag", abstract="Kept\x01 as\n\n  written\x1f.")
    long = paper((quant, 1.0), title="Long " + "title " * 100)
    reader = subscriber(quant)
    rendered = render_digest(
        subscriber=reader, papers=[comparison, entity, long], edition_date=TODAY, delivery_id=1
    )
    shown = visible_text(rendered.html)
    for body in (shown, rendered.text):
        assert "Bounds when x<y and z>w hold" in body and "If a<b & b>c then…" in body
        assert "The &lt;b&gt; tag" in body
        assert "Kept as written." in body  # control characters and runs of white space go
        assert ("Long " + "title " * 48).strip() in body and "title " * 50 not in body  # 300 characters
    assert "Bounds when x&lt;y and z&gt;w hold" in rendered.html
    assert "The &amp;lt;b&amp;gt; tag" in rendered.html
    assert unsafe_markup(rendered.html) == []


def test_shared_rendering_is_byte_identical_to_the_direct_render():
    quant, code, _agents = topics()
    for n in range(3):
        paper((quant, 1.0 + n), title=f"Quantization paper {n}")
    paper((code, 1.0), title='Code & "quotes" <ok>')
    readers = [subscriber(quant, code) for _ in range(3)]
    deliveries = [Delivery.objects.create(subscriber=r, edition_date=TODAY) for r in readers]
    renderer = DigestAssembler()
    composed = compose_deliveries(
        list(Delivery.objects.filter(pk__in=[d.pk for d in deliveries]).select_related("subscriber")),
        renderer=renderer,
    )
    assert renderer.fragment_renders == 1 and renderer.fallbacks == 0  # all papers rendered at once
    for item in composed:
        reader = item.delivery.subscriber
        papers = select_papers_for(reader, edition_date=TODAY)
        direct = render_digest(
            subscriber=reader, papers=papers, edition_date=TODAY, delivery_id=item.delivery.pk
        )
        html_part = item.message.alternatives[0][0]
        assert item.message.subject == direct.subject
        assert item.message.body == direct.text
        assert html_part == direct.html
        assert unsubscribe_url(reader) in html_part


def test_message_headers_metadata_and_alternative():
    quant, _code, _agents = topics()
    paper((quant, 1.0))
    reader = subscriber(quant)
    delivery = Delivery.objects.create(subscriber=reader, edition_date=TODAY)
    (item,) = compose_deliveries([Delivery.objects.select_related("subscriber").get(pk=delivery.pk)])
    message = item.message
    headers = message.extra_headers
    assert headers["List-Unsubscribe"].startswith(f"<{unsubscribe_url(reader)}>, <mailto:")
    assert headers["List-Unsubscribe"].endswith("?subject=unsubscribe>")
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert headers["List-Id"] == "Paperboy digest <digest.127.0.0.1>"
    assert headers["Message-ID"] == f"<digest.{delivery.pk}.20260428@127.0.0.1>"
    assert message.metadata == {"delivery_id": str(delivery.pk)}
    assert message.tags == ["digest"]
    assert message.to == [reader.email]
    assert message.alternatives[0][1] == "text/html"
    parsed = message.message()
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_a_chunks_messages_are_what_the_constructor_makes_and_share_nothing_mutable():
    quant, _code, _agents = topics()
    paper((quant, 1.0))
    readers = [subscriber(quant), subscriber(quant)]
    rows = [Delivery.objects.create(subscriber=r, edition_date=TODAY) for r in readers]
    loaded = Delivery.objects.filter(pk__in=[r.pk for r in rows]).select_related("subscriber").order_by("pk")
    first, second = (c.message for c in compose_deliveries(list(loaded)))
    assert type(first) is DigestMessage and first._rendered is not None
    plain = digest_message(
        subscriber=readers[0],
        rendered=first._rendered,
        delivery_id=rows[0].pk,
        edition_date=TODAY,
        links=subscriber_links(readers[0], rows[0].pk),
    )
    by_value = lambda m: {**vars(m), "anymail_status": vars(m.anymail_status)}  # noqa: E731
    assert by_value(first) == by_value(plain)
    for name, value in vars(first).items():
        if isinstance(value, (list, dict)) or name == "anymail_status":
            assert value is not getattr(second, name), name
    # What sending reads of it: the bodies decode, the SMTP form has the list headers.
    assert first.body == first._rendered.text and first.alternatives[0][1] == "text/html"
    assert first.message()["List-Id"] == plain.message()["List-Id"]


def test_nothing_new_is_skipped_or_a_quiet_day_email_by_setting(settings):
    quant, _code, _agents = topics()
    reader = subscriber(quant)
    gone = subscriber(quant, status=Subscriber.Status.UNSUBSCRIBED)
    rows = [Delivery.objects.create(subscriber=s, edition_date=TODAY) for s in (reader, gone)]
    load = lambda: list(Delivery.objects.filter(pk__in=[r.pk for r in rows]).select_related("subscriber"))  # noqa: E731
    settings.NEWSLETTER_QUIET_DAY = "skip"
    by_subscriber = {c.delivery.subscriber_id: c for c in compose_deliveries(load())}
    assert (
        by_subscriber[reader.pk].skip_reason == SKIP_NOTHING_NEW and by_subscriber[reader.pk].message is None
    )
    assert by_subscriber[gone.pk].skip_reason == SKIP_INACTIVE
    settings.NEWSLETTER_QUIET_DAY = "email"
    by_subscriber = {c.delivery.subscriber_id: c for c in compose_deliveries(load())}
    quiet = by_subscriber[reader.pk].message
    assert quiet.subject == "A quiet day on Quantization — Apr 28"
    assert "A quiet day" in quiet.body
    assert by_subscriber[gone.pk].message is None


def test_composing_a_chunk_takes_the_same_few_queries_for_5_or_50_subscribers(django_assert_max_num_queries):
    quant, code, agents = topics()
    for n in range(30):
        paper(((quant, code, agents)[n % 3], 1.0))

    def chunk(count):
        readers = [subscriber(quant, (code, agents)[i % 2], keywords="study") for i in range(count)]
        ids = [Delivery.objects.create(subscriber=r, edition_date=TODAY).pk for r in readers]
        return list(Delivery.objects.filter(pk__in=ids).select_related("subscriber"))

    small, large = chunk(5), chunk(50)
    # subscribers' topics, previous digests, pool fingerprint, readers' feedback; then papers, their
    # topics, topics
    with django_assert_max_num_queries(7):
        composed = compose_deliveries(small)
    assert all(c.message is not None for c in composed)
    # The next chunk of the same edition reuses the process's pool: the fingerprint query only.
    with django_assert_max_num_queries(4):
        composed = compose_deliveries(large)
    assert len(composed) == 50 and all(c.message is not None for c in composed)


def test_cached_pool_is_rebuilt_when_a_paper_is_hidden_retagged_or_new():
    quant, code, _agents = topics()
    first = paper((quant, 1.0), title="First quantization paper")
    second = paper((quant, 2.0), title="Second quantization paper")
    reader = subscriber(quant)

    def chosen():
        return [p.pk for p in select_papers_for(reader, edition_date=TODAY)]

    assert chosen() == [second.pk, first.pk]
    PaperTopic.objects.filter(paper=first).update(score=5.0)  # a re-tag: no paper timestamp changes
    assert chosen() == [first.pk, second.pk]
    PaperTopic.objects.filter(paper=first).update(excluded=True)  # a curator removed the topic
    assert chosen() == [second.pk]
    Paper.objects.filter(pk=second.pk).update(hidden=True, updated_at=timezone.now())
    assert chosen() == []
    third = paper((quant, 1.0), title="A new one")
    assert chosen() == [third.pk]
    code.active = False
    code.save()
    PaperTopic.objects.create(paper=third, topic=code, score=1.0)
    assert [p.digest_topics for p in select_papers_for(reader, edition_date=TODAY)] == [["Quantization"]]


def test_chunk_links_are_the_tokens_the_site_accepts():
    from newsletter.composing import _ChunkLinks, subscriber_links

    reader = subscriber(topics()[0])
    chunk, reference = _ChunkLinks().links(reader, 1234), subscriber_links(reader, 1234)
    assert (chunk.manage_url, chunk.unsubscribe_url, chunk.view_url) == (
        reference.manage_url,
        reference.unsubscribe_url,
        reference.view_url,
    )
    assert [chunk.feedback(pid) for pid in (1, 77, 9000)] == [
        reference.feedback(pid) for pid in (1, 77, 9000)
    ]
