"""Reads for curators: which recent papers sit just above and just below a topic's threshold."""

from dataclasses import dataclass

from papers.models import Paper, PaperTopic, Topic

from .loading import active_tagger


@dataclass(frozen=True)
class NearPaper:
    paper: Paper
    score: float
    tagged: bool  # at or above the threshold
    decision: str  # "pinned", "removed" or "" (a curator's correction, if any)


def topic_near_threshold(*, topic: Topic, scan: int = 500, each_side: int = 8) -> list[NearPaper]:
    """The `each_side` recent papers just above and just below the threshold, closest first on each side.

    Scores the `scan` newest visible papers with the current model (one batched pass), so curators
    see where the line falls before re-tagging runs, and which papers a small change would move.
    """
    if not topic.active:
        return []
    tagger = active_tagger().restricted([topic.pk])
    if not tagger.topics:
        return []
    papers = list(
        Paper.objects.filter(hidden=False)
        .only("id", "title", "abstract", "categories", "primary_category", "first_seen_at")
        .order_by("-first_seen_at", "-id")[:scan]
    )
    if not papers:
        return []
    scores = tagger.scores(papers)[:, 0]
    decisions = {
        paper_id: ("removed" if excluded else "pinned")
        for paper_id, excluded in PaperTopic.objects.filter(
            topic=topic, paper_id__in=[paper.pk for paper in papers]
        )
        .filter(manual=True)
        .values_list("paper_id", "excluded")
    }
    threshold = topic.threshold
    above = sorted((i for i, s in enumerate(scores) if s >= threshold), key=lambda i: scores[i])[:each_side]
    # A paper with no evidence at all (score 0) is not near the line, however few papers there are.
    below = sorted((i for i, s in enumerate(scores) if 0 < s < threshold), key=lambda i: -scores[i])
    below = below[:each_side]
    return [
        NearPaper(
            paper=papers[i],
            score=round(float(scores[i]), 3),
            tagged=scores[i] >= threshold,
            decision=decisions.get(papers[i].pk, ""),
        )
        for i in [*reversed(above), *below]
    ]
