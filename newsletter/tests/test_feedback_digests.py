"""Readers' "more / less like this" in digests: the links on each paper and the next digest they change."""

import re
from datetime import date, timedelta
from urllib.parse import urlsplit

import pytest
from django.utils import timezone

from newsletter import reranking
from newsletter.models import Delivery
from newsletter.sending import deliveries_send_chunk
from papers.models import PaperTopic, Topic
from papers.relevance import loading
from papers.relevance.labelled import load_devset
from papers.tests.factories import PaperFactory, PaperTopicFactory
from subscriptions.models import PaperFeedback
from subscriptions.tokens import make_link_token

from .digest_data import compose_deliveries, paper, subscriber, topics

pytestmark = pytest.mark.django_db
TODAY = date(2026, 4, 28)
_MORE = re.compile(r"More like this: (\S+)")
_LESS = re.compile(r"Less like this: (\S+)")
_WHY = re.compile(r"^   Why: (.+)$", re.MULTILINE)


@pytest.fixture(autouse=True)
def _fresh_models():
    """No tagger or paper vectors from another test (paper ids are reused after a rollback)."""
    loading.forget_tagger()
    reranking._vectors = None
    yield
    loading.forget_tagger()
    reranking._vectors = None


@pytest.fixture(scope="module")
def devset():
    return load_devset()


def _topic(slug: str, name: str) -> Topic:
    topic, _ = Topic.objects.get_or_create(slug=slug, defaults={"name": name})
    return topic


def _real_papers(devset, slug: str, count: int) -> list[dict]:
    return [r for r in devset if r["labels"] == [slug]][:count]


def _paper(record: dict, *topic_scores, seen):
    p = PaperFactory(
        arxiv_id=record["arxiv_id"],
        title=record["title"],
        abstract=record["abstract"],
        categories=record["categories"],
        primary_category=record["primary_category"],
        authors=[f"Author {record['arxiv_id']}"],  # one of their own: no two papers share an author
        first_seen_at=seen,
    )
    for topic, score in topic_scores:
        PaperTopicFactory(paper=p, topic=topic, score=score)
    return p


def _links(pattern, body: str) -> list[str]:
    return [urlsplit(url).path for url in pattern.findall(body)]


def _send(readers, *, edition_date, now, outbox) -> dict[int, tuple[list[int], str]]:
    """Plan and send one edition for these readers through the chunk path; each reader's papers and text."""
    ids = [Delivery.objects.create(subscriber=r, edition_date=edition_date).pk for r in readers]
    sent_before = len(outbox)
    report = deliveries_send_chunk(delivery_ids=ids, now=now)
    assert report.sent == len(readers)
    bodies = {message.to[0]: message.body for message in outbox[sent_before:]}
    return {
        r.pk: (Delivery.objects.get(subscriber=r, edition_date=edition_date).paper_ids, bodies[r.email])
        for r in readers
    }


def test_feedback_reorders_the_next_digest_within_the_readers_topics(settings, client, mailoutbox, devset):
    settings.NEWSLETTER_DIGEST_SIZE = 6
    diffusion = _topic("diffusion", "Diffusion models")
    robots = _topic("robot-learning", "Robot learning")
    other = _topic("digest-feedback-other", "Somebody else's topic")
    diffusion_records = _real_papers(devset, "diffusion", 9)
    robot_records = _real_papers(devset, "robot-learning", 13)
    yesterday = timezone.now() - timedelta(days=1)
    now = timezone.now()

    # Yesterday's digest: one paper of each topic.
    liked_topic_paper = _paper(robot_records[0], (robots, 2.0), seen=yesterday - timedelta(hours=1))
    disliked_topic_paper = _paper(diffusion_records[0], (diffusion, 2.1), seen=yesterday - timedelta(hours=1))
    reader, control = subscriber(diffusion, robots), subscriber(diffusion, robots)
    first = _send([reader, control], edition_date=TODAY - timedelta(days=1), now=yesterday, outbox=mailoutbox)
    papers, text = first[reader.pk]
    assert papers == [disliked_topic_paper.pk, liked_topic_paper.pk]
    more_links, less_links = _links(_MORE, text), _links(_LESS, text)
    assert len(more_links) == len(less_links) == 2  # one pair per paper, in the digest's order

    # The reader follows the links in their email: "more" on the robot paper, "less" on the diffusion one.
    assert client.post(more_links[1]).status_code == 200
    assert client.post(less_links[0]).status_code == 200
    assert {(f.paper_id, f.value) for f in PaperFeedback.objects.filter(subscriber=reader)} == {
        (liked_topic_paper.pk, 1),
        (disliked_topic_paper.pk, -1),
    }
    assert not PaperFeedback.objects.filter(subscriber=control).exists()

    # Today: eight papers of each topic, interleaved by the topic ranking (diffusion first), and robot
    # papers close to the liked one that carry only a topic the reader does not follow.
    fresh = now - timedelta(hours=1)
    today_diffusion = [
        _paper(r, (diffusion, 3.0 - 0.2 * n), seen=fresh) for n, r in enumerate(diffusion_records[1:9])
    ]
    today_robots = [_paper(r, (robots, 2.9 - 0.2 * n), seen=fresh) for n, r in enumerate(robot_records[1:9])]
    outside = [_paper(r, (other, 5.0), seen=fresh) for r in robot_records[9:13]]
    second = _send([reader, control], edition_date=TODAY, now=now, outbox=mailoutbox)

    control_papers, _ = second[control.pk]
    reader_papers, reader_text = second[reader.pk]
    robot_ids = {p.pk for p in today_robots}
    diffusion_ids = {p.pk for p in today_diffusion}
    # Without feedback: the topic ranking, unchanged.
    assert (
        control_papers
        == [
            pid
            for pair in zip(today_diffusion, today_robots, strict=True)
            for pid in (pair[0].pk, pair[1].pk)
        ][:6]
    )

    def mean_robot_position(order):
        positions = [n for n, pid in enumerate(order) if pid in robot_ids]
        return sum(positions) / len(positions)

    # Papers like the liked one moved up, papers like the disliked one down.
    assert sum(pid in robot_ids for pid in reader_papers) >= 5
    assert sum(pid in diffusion_ids for pid in reader_papers) < sum(
        pid in diffusion_ids for pid in control_papers
    )
    assert mean_robot_position(reader_papers) < mean_robot_position(control_papers)
    # Never a paper from outside the reader's topics, however close to what they liked.
    assert len(reader_papers) == 6 and set(reader_papers) <= robot_ids | diffusion_ids
    assert not set(reader_papers) & {p.pk for p in outside}
    # The email shows them in that order, each with its own pair of links.
    assert len(_links(_MORE, reader_text)) == 6
    assert [int(path.split(".")[1]) for path in _links(_MORE, reader_text)] == reader_papers

    # Each paper says why it is there; the ones the like lifted say so, in the email and its web copy.
    liked = Delivery.objects.get(subscriber=reader, edition_date=TODAY).liked_ids
    assert liked and set(liked) <= robot_ids
    whys = _WHY.findall(reader_text)
    assert len(whys) == 6
    for pid, why in zip(reader_papers, whys, strict=True):
        assert why.startswith(robots.name if pid in robot_ids else diffusion.name)
        assert ("like papers you liked" in why) == (pid in liked)
    assert "like papers you liked" not in second[control.pk][1]
    view_url = reader_text.split("View in browser: ")[1].split()[0]
    page = client.get(urlsplit(view_url).path).content.decode()
    assert page.count("like papers you liked") == len(liked)


def test_feedback_links_are_signed_for_their_reader_and_paper(client):
    quant, _code, _agents = topics()
    first, second = paper((quant, 2.0), title="First"), paper((quant, 1.0), title="Second")
    alice, bob = subscriber(quant), subscriber(quant)
    rows = [Delivery.objects.create(subscriber=s, edition_date=TODAY) for s in (alice, bob)]
    composed = compose_deliveries(
        list(Delivery.objects.filter(pk__in=[r.pk for r in rows]).select_related("subscriber"))
    )
    texts = {c.delivery.subscriber_id: c.message.body for c in composed}
    alice_more, bob_more = _links(_MORE, texts[alice.pk]), _links(_MORE, texts[bob.pk])
    assert [path.split("/")[2].split(".")[:3] for path in alice_more] == [
        [str(alice.pk), str(first.pk), "m"],
        [str(alice.pk), str(second.pk), "m"],
    ]
    assert set(alice_more).isdisjoint(bob_more)
    # Bob's signature under Alice's id is refused and records nothing.
    forged = alice_more[0].replace(alice_more[0].split(".")[-1], bob_more[0].split(".")[-1])
    assert client.post(forged).status_code == 404
    assert not PaperFeedback.objects.exists()
    html = {c.delivery.subscriber_id: c.message.alternatives[0][0] for c in composed}
    assert (
        html[alice.pk].count(">More like this</a>") == 2 and html[alice.pk].count(">Less like this</a>") == 2
    )


def test_a_chunk_of_readers_with_feedback_stays_within_a_few_queries(django_assert_max_num_queries, devset):
    quant, code, _agents = topics()
    records = [r for r in devset if r["labels"]][:30]
    papers = [
        _paper(r, ((quant, code)[n % 2], 1.0 + n / 10), seen=timezone.now() - timedelta(hours=1))
        for n, r in enumerate(records)
    ]

    def chunk(count):
        readers = [subscriber(quant, code) for _ in range(count)]
        for n, reader in enumerate(readers):
            PaperFeedback.objects.create(subscriber=reader, paper=papers[n % 5], value=1 if n % 2 else -1)
        ids = [Delivery.objects.create(subscriber=r, edition_date=TODAY).pk for r in readers]
        return list(Delivery.objects.filter(pk__in=ids).select_related("subscriber"))

    small, large = chunk(5), chunk(60)
    composed = compose_deliveries(small)  # loads the pool, fits the tagger, vectorises the candidates
    assert all(c.message is not None for c in composed)
    # Warm: fingerprint, topics, previous digests, feedback, and the tagger's two version checks.
    with django_assert_max_num_queries(6):
        composed = compose_deliveries(large)
    assert len(composed) == 60 and all(len(c.paper_ids) == 10 for c in composed)
    assert (
        PaperTopic.objects.filter(paper_id__in=composed[0].paper_ids, topic__in=[quant, code]).count() >= 10
    )


def test_papers_a_reader_pasted_and_an_author_they_follow_shape_the_next_digest(
    settings, client, mailoutbox, devset
):
    """The reader pastes two robot papers' ids and follows one author on the manage page; the next
    digest, through the chunk path, opens with that author's new paper (on a topic they do not
    follow) and has the papers near the two moved up, against a reader who gave nothing."""
    settings.NEWSLETTER_DIGEST_SIZE = 6
    diffusion = _topic("diffusion", "Diffusion models")
    robots = _topic("robot-learning", "Robot learning")
    other = _topic("digest-seeds-other", "Somebody else's topic")
    diffusion_records = _real_papers(devset, "diffusion", 8)
    robot_records = _real_papers(devset, "robot-learning", 10)
    now = timezone.now()
    earlier = now - timedelta(days=3)  # known to Paperboy, not new today
    liked = [_paper(r, (robots, 2.0), seen=earlier) for r in robot_records[:2]]
    reader, control = subscriber(diffusion, robots), subscriber(diffusion, robots)
    manage = f"/manage/{make_link_token(reader, 'manage')}/"
    form = {
        "topics": ["diffusion", "robot-learning"],
        "frequency": "daily",
        "delivery_hour": "7",
        "timezone": "UTC",
        "trending_strip": "on",
        "liked_papers": "\n".join(f"https://arxiv.org/abs/{p.arxiv_id}" for p in liked),
        "follow_authors": "Lovelace, A.",
    }
    assert client.post(manage, form).status_code == 302

    fresh = now - timedelta(hours=1)
    today_diffusion = [
        _paper(r, (diffusion, 3.0 - 0.2 * n), seen=fresh) for n, r in enumerate(diffusion_records)
    ]
    today_robots = [_paper(r, (robots, 2.9 - 0.2 * n), seen=fresh) for n, r in enumerate(robot_records[2:10])]
    by_ada = PaperFactory(
        title="Notes on an analytical engine", authors=["Ada Lovelace"], first_seen_at=fresh
    )
    PaperTopicFactory(paper=by_ada, topic=other, score=0.5)
    sent = _send([reader, control], edition_date=TODAY, now=now, outbox=mailoutbox)

    reader_papers, reader_text = sent[reader.pk]
    control_papers, control_text = sent[control.pk]
    robot_ids = {p.pk for p in today_robots}
    # The followed author's paper comes first, saying why; nobody else gets it.
    assert reader_papers[0] == by_ada.pk and by_ada.pk not in control_papers
    whys = _WHY.findall(reader_text)
    assert whys[0] == "by an author you follow"
    assert sum("by an author you follow" in why for why in whys) == 1  # Ada's paper and no other
    assert "by an author you follow" not in control_text
    # The pasted papers count as "more like this": robot papers move up, within the reader's topics.
    reader_robots = [pid for pid in reader_papers if pid in robot_ids]
    control_robots = [pid for pid in control_papers if pid in robot_ids]
    assert len(reader_robots) > len(control_robots)
    assert set(reader_papers) <= robot_ids | {p.pk for p in today_diffusion} | {by_ada.pk}
    assert "like papers you liked" in reader_text
