"""Active learning for curators: the questions, and verdicts through the command and the admin alike."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from papers.models import Paper, PaperTopic, Topic
from papers.relevance import loading
from papers.relevance.selectors import topic_questions
from papers.tests.factories import PaperFactory, TopicFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_tagger")]


@pytest.fixture
def corpus(devset):
    return [
        PaperFactory(
            arxiv_id=record["arxiv_id"],
            title=record["title"],
            abstract=record["abstract"],
            categories=record["categories"],
            primary_category=record["primary_category"],
        )
        for record in devset[:200]
    ]


@pytest.fixture
def new_topic():
    return TopicFactory(
        slug="pruning",
        name="Pruning",
        description="Pruning weights, neurons and layers of neural networks to make them smaller.",
        keywords="pruning\nsparse network",
    )


def _ask(slug: str, count: int) -> list[tuple[str, str]]:
    out = StringIO()
    call_command("curate_topic", slug, "--ask", str(count), stdout=out)
    return [tuple(line.split("\t", 1)) for line in out.getvalue().splitlines()]


def test_ask_prints_undecided_papers_nearest_the_threshold_one_a_line(corpus, new_topic):
    lines = _ask("pruning", 5)
    assert len(lines) == 5
    by_arxiv = {paper.arxiv_id: paper for paper in corpus}
    assert all(
        arxiv_id in by_arxiv and by_arxiv[arxiv_id].title.startswith(title[:30]) for arxiv_id, title in lines
    )
    assert len({arxiv_id for arxiv_id, _ in lines}) == 5
    # Nearest the threshold first: the questions are the closest papers the topic has evidence on.
    questions = topic_questions(topic=new_topic, count=5)
    assert [q.paper.arxiv_id for q in questions] == [arxiv_id for arxiv_id, _ in lines]
    assert all(q.score > 0 for q in questions)


def test_verdicts_from_the_command_are_recorded_refit_and_retagged(corpus, new_topic):
    asked = [arxiv_id for arxiv_id, _ in _ask("pruning", 6)]
    before_model = loading.active_tagger()
    out = StringIO()
    call_command("curate_topic", "pruning", "--pin", *asked[:3], "--remove", *asked[3:], stdout=out)
    assert "3 pinned, 3 removed; model refitted; tagged papers before" in out.getvalue()
    rows = PaperTopic.objects.filter(topic=new_topic, paper__arxiv_id__in=asked)
    assert {(row.paper.arxiv_id, row.manual, row.excluded) for row in rows} == {
        *((arxiv_id, True, False) for arxiv_id in asked[:3]),
        *((arxiv_id, True, True) for arxiv_id in asked[3:]),
    }
    assert loading.active_tagger() is not before_model  # the corrections changed the fit
    # The re-tag ran with the refitted model: the topic's automatic rows are its decisions now.
    tagger = loading.active_tagger().restricted([new_topic.pk])
    tagged = {
        pk for pk, scores in zip([p.pk for p in corpus], tagger.score_many(corpus), strict=True) if scores
    }
    automatic = set(
        PaperTopic.objects.filter(topic=new_topic, manual=False).values_list("paper_id", flat=True)
    )
    decided = set(rows.values_list("paper_id", flat=True))
    assert automatic == tagged - decided
    # Decided papers are never asked again.
    assert not set(asked) & {arxiv_id for arxiv_id, _ in _ask("pruning", 5)}


def test_unknown_papers_and_topics_are_errors():
    TopicFactory(slug="pruning")
    with pytest.raises(CommandError, match=r"unknown papers: 2601\.99999"):
        call_command("curate_topic", "pruning", "--pin", "2601.99999")
    with pytest.raises(CommandError, match="no topic"):
        call_command("curate_topic", "nope", "--ask", "3")


def test_the_admin_asks_the_same_questions_and_records_a_click(admin_client, corpus, new_topic):
    url = reverse("admin:papers_topic_change", args=[new_topic.pk])
    response = admin_client.get(url)
    questions = response.context["topic_questions"]
    assert [q.paper.pk for q in questions] == [q.paper.pk for q in topic_questions(topic=new_topic, count=5)]
    page = response.content.decode()
    verdict_url = reverse("admin:papers_topic_verdict", args=[new_topic.pk])
    assert f'formaction="{verdict_url}"' in page and f'value="pin:{questions[0].paper.pk}"' in page
    before = PaperTopic.objects.filter(topic=new_topic, excluded=False).count()
    response = admin_client.post(verdict_url, {"verdict": f"remove:{questions[0].paper.pk}"}, follow=True)
    row = PaperTopic.objects.get(topic=new_topic, paper=questions[0].paper)
    assert row.manual and row.excluded
    after = PaperTopic.objects.filter(topic=new_topic, excluded=False).count()
    message = " ".join(str(m) for m in response.context["messages"])
    assert f"tags {after} papers (was {before})" in message
    assert questions[0].paper.pk not in {q.paper.pk for q in response.context["topic_questions"]}


def test_the_verdict_url_needs_post_and_csrf(client, admin_user, corpus, new_topic):
    paper = Paper.objects.first()
    verdict_url = reverse("admin:papers_topic_verdict", args=[new_topic.pk])
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(admin_user)
    assert strict.get(verdict_url).status_code == 405
    assert strict.post(verdict_url, {"verdict": f"pin:{paper.pk}"}).status_code == 403
    assert not PaperTopic.objects.filter(topic=new_topic, paper=paper, manual=True).exists()
    # A signed-out visitor is sent to the login page.
    assert client.post(verdict_url, {"verdict": f"pin:{paper.pk}"}).status_code == 302
    assert Topic.objects.get(pk=new_topic.pk).paper_topics.filter(manual=True).count() == 0
