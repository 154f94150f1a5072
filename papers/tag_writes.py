"""Writing topic tags: a paper's PaperTopic rows follow its scores, never overriding a curator's rows.

`paper_topics_assign` is the one write; the ingest calls it for new and changed papers,
`topic_retag` after a topic's rules change, `papers_retag` for an admin's selection.
"""

from collections.abc import Iterable, Sequence

from django.db import transaction

from .bulk import BATCH_SIZE, chunks, insert_rows
from .models import Paper, PaperTopic, Topic
from .relevance.loading import active_tagger
from .relevance.model import TopicTagger
from .tagging import TopicIndex


def active_topic_index() -> TopicTagger:
    """The active topics' tagger (rules + text model), fitted once per process per version."""
    return active_tagger()


def paper_topics_assign(
    *,
    papers: Sequence[Paper],
    index: TopicTagger | TopicIndex | None = None,
    new_paper_ids: Iterable[int] = (),
) -> dict[str, int]:
    """Compute topics for these papers and write only the differences.

    Rows a person made (manual) or removed (excluded) are never touched. Topics outside `index`
    (inactive ones) keep their rows; `topic_retag` handles a topic that changed. Papers listed in
    `new_paper_ids` were just created and have no rows to compare with.
    """
    index = index if index is not None else active_topic_index()
    counts = {"created": 0, "updated": 0, "deleted": 0}
    if not papers or not index.topics:
        return counts
    indexed_topic_ids = {topic.topic_id for topic in index.topics}
    new_ids = set(new_paper_ids)
    paper_ids = [paper.pk for paper in papers if paper.pk not in new_ids]
    existing: dict[tuple[int, int], PaperTopic] = {}
    for chunk in chunks(paper_ids):
        for row in PaperTopic.objects.filter(paper_id__in=chunk, topic_id__in=indexed_topic_ids):
            existing[(row.paper_id, row.topic_id)] = row
    to_create, to_update = [], []
    # One vectorised pass over the batch (papers.relevance); TopicIndex offers the same call.
    for paper, scores in zip(papers, index.score_many(papers), strict=True):
        for topic_id, score in scores.items():
            row = existing.pop((paper.pk, topic_id), None)
            if row is None:
                to_create.append((paper.pk, topic_id, score))
            elif not (row.manual or row.excluded) and row.score != score:
                row.score = score
                to_update.append(row)
    # What is left of the existing rows no longer matches.
    to_delete = [row.pk for row in existing.values() if not (row.manual or row.excluded)]
    if to_create:
        insert_rows(
            PaperTopic,
            columns=("paper", "topic", "score", "manual", "excluded"),
            rows=[(paper_id, topic_id, score, False, False) for paper_id, topic_id, score in to_create],
            ignore_conflicts=True,
        )
    if to_update:
        PaperTopic.objects.bulk_update(to_update, ["score"], batch_size=BATCH_SIZE)
    for chunk in chunks(to_delete):
        PaperTopic.objects.filter(pk__in=chunk).delete()
    counts.update(created=len(to_create), updated=len(to_update), deleted=len(to_delete))
    return counts


def topic_retag(*, topic_id: int, chunk_size: int = 2000) -> dict[str, int]:
    """Re-tag every paper for one topic after its keywords, categories, threshold or state changed."""
    topic = Topic.objects.get(pk=topic_id)
    totals = {"created": 0, "updated": 0, "deleted": 0}
    if not topic.active:
        deleted, _ = PaperTopic.objects.filter(topic=topic, manual=False, excluded=False).delete()
        totals["deleted"] = deleted
        return totals
    index = active_tagger().restricted([topic.pk])
    last_id = 0
    while True:
        papers = list(
            Paper.objects.filter(pk__gt=last_id)
            .order_by("pk")
            .only("id", "title", "abstract", "categories", "primary_category")[:chunk_size]
        )
        if not papers:
            return totals
        with transaction.atomic():
            counts = paper_topics_assign(papers=papers, index=index)
        for key, value in counts.items():
            totals[key] += value
        last_id = papers[-1].pk


def papers_retag(*, paper_ids: Sequence[int]) -> dict[str, int]:
    """Re-tag these papers against every active topic (admin action)."""
    index = active_topic_index()
    totals = {"created": 0, "updated": 0, "deleted": 0}
    for chunk in chunks(list(paper_ids)):
        papers = list(
            Paper.objects.filter(pk__in=chunk).only(
                "id", "title", "abstract", "categories", "primary_category"
            )
        )
        with transaction.atomic():
            counts = paper_topics_assign(papers=papers, index=index)
        for key, value in counts.items():
            totals[key] += value
    return totals
