"""Reads for curators, all on the tagger's own scale: what a topic tags among recent papers, which
papers sit just above and below its threshold, which papers to ask a curator about, and why.

Every score here comes from the one tagger that writes PaperTopic rows (`loading.active_tagger`, or
for an inactive topic the same fit with it included), so a paper listed as matching is a paper the
next re-tag tags, and the reasons are that tagger's features times its weights.
"""

from dataclasses import dataclass

import numpy as np

from papers.models import Paper, PaperTopic, Topic

from .asking import question_indexes
from .loading import active_tagger, tagger_for
from .model import Reason, TopicTagger

SCAN = 500  # the newest papers the admin page scores
ASK_SCAN = 2000  # the newest papers questions are chosen from


@dataclass(frozen=True)
class ScoredPaper:
    paper: Paper
    score: float
    tagged: bool  # the tagger's decision: the score reaches the threshold
    decision: str  # "pinned", "removed" or "" (a curator's correction, which wins over the score)
    reasons: tuple[Reason, ...] = ()


# The near-threshold list's rows (the name the admin and its tests know).
NearPaper = ScoredPaper


@dataclass(frozen=True)
class TopicReview:
    preview: list[ScoredPaper]  # newest papers the tagger tags
    near: list[ScoredPaper]  # just above, then just below the threshold
    questions: list[ScoredPaper]  # the papers whose verdict would teach the topic most


def topic_tagger(topic: Topic) -> TopicTagger:
    """The tagger that tags this topic: the active one, or for an inactive topic the same fit with it."""
    tagger = active_tagger().restricted([topic.pk]) if topic.active else None
    if tagger is not None and tagger.topics:
        return tagger
    others = list(Topic.objects.filter(active=True).exclude(pk=topic.pk).order_by("display_order", "pk"))
    return tagger_for([*others, topic]).restricted([topic.pk])


def _decisions(topic: Topic, paper_ids: list[int]) -> dict[int, str]:
    return {
        paper_id: ("removed" if excluded else "pinned")
        for paper_id, excluded in PaperTopic.objects.filter(topic=topic, paper_id__in=paper_ids)
        .filter(manual=True)
        .values_list("paper_id", "excluded")
    }


def _recent(scan: int) -> list[Paper]:
    return list(
        Paper.objects.filter(hidden=False)
        .only("id", "arxiv_id", "title", "abstract", "categories", "primary_category", "first_seen_at")
        .order_by("-first_seen_at", "-id")[:scan]
    )


def _rows(tagger, topic, papers, scores, indexes, decisions) -> list[ScoredPaper]:
    chosen = [papers[i] for i in indexes]
    reasons = tagger.explain(chosen, topic.pk) if chosen else []
    return [
        ScoredPaper(
            paper=papers[i],
            score=round(float(scores[i]), 3),
            tagged=bool(scores[i] > 0 and scores[i] >= topic.threshold),
            decision=decisions.get(papers[i].pk, ""),
            reasons=tuple(why),
        )
        for i, why in zip(indexes, reasons, strict=True)
    ]


def _near_indexes(scores: np.ndarray, threshold: float, each_side: int) -> list[int]:
    above = sorted((i for i, s in enumerate(scores) if s > 0 and s >= threshold), key=lambda i: scores[i])[
        :each_side
    ]
    # A paper with no evidence at all (score 0) is not near the line, however few papers there are.
    below = sorted((i for i, s in enumerate(scores) if 0 < s < threshold), key=lambda i: -scores[i])
    return [*reversed(above), *below[:each_side]]


def topic_questions(*, topic: Topic, count: int, scan: int = ASK_SCAN) -> list[ScoredPaper]:
    """The papers to ask a curator about next (none already decided), best question first."""
    tagger = topic_tagger(topic)
    papers = _recent(scan)
    if not papers or not tagger.topics:
        return []
    scores = tagger.scores(papers)[:, 0]
    decisions = _decisions(topic, [paper.pk for paper in papers])
    skip = frozenset(i for i, paper in enumerate(papers) if paper.pk in decisions)
    indexes = question_indexes(tagger, papers, scores, topic.threshold, count, skip)
    return _rows(tagger, topic, papers, scores, indexes, decisions)


def topic_review(
    *, topic: Topic, scan: int = SCAN, preview: int = 15, each_side: int = 8, questions: int = 0
) -> TopicReview:
    """What the admin's topic page shows, from one scoring pass of the newest `scan` papers."""
    tagger = topic_tagger(topic)
    papers = _recent(scan)
    if not papers or not tagger.topics:
        return TopicReview([], [], [])
    scores = tagger.scores(papers)[:, 0]
    decisions = _decisions(topic, [paper.pk for paper in papers])
    tagged = [i for i, s in enumerate(scores) if s > 0 and s >= topic.threshold][:preview]
    near = _near_indexes(scores, topic.threshold, each_side)
    skip = frozenset(i for i, paper in enumerate(papers) if paper.pk in decisions)
    asked = question_indexes(tagger, papers, scores, topic.threshold, questions, skip)
    return TopicReview(
        preview=_rows(tagger, topic, papers, scores, tagged, decisions),
        near=_rows(tagger, topic, papers, scores, near, decisions),
        questions=_rows(tagger, topic, papers, scores, asked, decisions),
    )


def topic_near_threshold(*, topic: Topic, scan: int = SCAN, each_side: int = 8) -> list[ScoredPaper]:
    """The `each_side` recent papers just above and just below the threshold, closest first on each side."""
    if not topic.active:
        return []
    return topic_review(topic=topic, scan=scan, preview=0, each_side=each_side).near


def paper_reasons(paper: Paper) -> dict[int, tuple[float, tuple[Reason, ...]]]:
    """{topic id: (the tagger's score now, why)} for every active topic, for the paper's admin page."""
    tagger = active_tagger()
    if not tagger.topics:
        return {}
    scores = tagger.scores([paper])[0]
    reasons = tagger.explain_all([paper])
    return {
        topic_id: (round(float(scores[i]), 3), tuple(reasons[topic_id][0]))
        for i, topic_id in enumerate(tagger.topic_ids)
    }
