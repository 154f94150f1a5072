"""Curators' decisions: featured papers lead digests, hidden ones are shown nowhere, and a verdict on
a paper for a topic (pin it, remove it) teaches the topic's model.

`topic_verdicts_record` is the one way a verdict is recorded, for the admin's ✓ / ✗ buttons and
`manage.py curate_topic` alike: it writes the curator's rows, refits the tagger (a correction
changes its fingerprint) and re-tags the topic's papers before it returns.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from .models import Paper, PaperTopic, Topic
from .tag_writes import topic_retag


def papers_set_featured(*, paper_ids: Sequence[int], featured: bool) -> int:
    return (
        Paper.objects.filter(pk__in=paper_ids)
        .exclude(featured=featured)
        .update(featured=featured, updated_at=timezone.now())
    )


def papers_set_hidden(*, paper_ids: Sequence[int], hidden: bool) -> int:
    return (
        Paper.objects.filter(pk__in=paper_ids)
        .exclude(hidden=hidden)
        .update(hidden=hidden, updated_at=timezone.now())
    )


def paper_topic_set(*, paper_id: int, topic_id: int, on: bool) -> bool:
    """A curator gives a paper a topic or takes it away; True when that changed anything.

    Either way the row is `manual`, so re-tagging keeps the decision; taking a topic away marks the
    row `excluded` rather than deleting it, so that re-tagging does not bring it back.
    """
    row, created = PaperTopic.objects.get_or_create(
        paper_id=paper_id,
        topic_id=topic_id,
        defaults={"manual": True, "excluded": not on, "score": 1.0 if on else 0.0},
    )
    if created:
        if on:
            Paper.objects.filter(pk=paper_id).update(updated_at=timezone.now())
        return on
    changed = row.excluded == on
    PaperTopic.objects.filter(pk=row.pk).update(manual=True, excluded=not on)
    if changed:
        Paper.objects.filter(pk=paper_id).update(updated_at=timezone.now())
    return changed


def topic_tagged_count(topic: Topic) -> int:
    """Papers carrying the topic (a curator's removals do not count)."""
    return PaperTopic.objects.filter(topic=topic, excluded=False).count()


@dataclass(frozen=True)
class VerdictResult:
    pinned: int
    removed: int
    before: int  # papers tagged with the topic before the verdicts
    after: int  # and after the refit and re-tag
    retag: dict


def paper_topic_set_verdict(*, paper_ids: Sequence[int], topic: Topic, belongs: bool) -> int:
    """Record a curator's verdict on these papers for this topic: pinned (belongs) or removed.

    The rows are marked manual, so re-tagging never overrides them, and they are the topic model's
    corrections. A pinned paper keeps the score it had, or gets the threshold's.
    """
    existing = {row.paper_id: row for row in PaperTopic.objects.filter(topic=topic, paper_id__in=paper_ids)}
    to_create, to_update = [], []
    for paper_id in dict.fromkeys(paper_ids):
        row = existing.get(paper_id)
        if row is None:
            to_create.append(
                PaperTopic(
                    paper_id=paper_id,
                    topic=topic,
                    score=topic.threshold if belongs else 0.0,
                    manual=True,
                    excluded=not belongs,
                )
            )
        elif not row.manual or row.excluded == belongs:
            row.manual, row.excluded = True, not belongs
            to_update.append(row)
    PaperTopic.objects.bulk_create(to_create)
    PaperTopic.objects.bulk_update(to_update, ["manual", "excluded"])
    return len(to_create) + len(to_update)


def topic_verdicts_record(
    *, topic: Topic, pin: Sequence[int] = (), remove: Sequence[int] = ()
) -> VerdictResult:
    """Pin and remove these papers (ids) for the topic, refit its model and re-tag its papers."""
    overlap = set(pin) & set(remove)
    if overlap:
        raise ValueError(f"papers both pinned and removed: {sorted(overlap)}")
    before = topic_tagged_count(topic)
    with transaction.atomic():
        pinned = paper_topic_set_verdict(paper_ids=list(pin), topic=topic, belongs=True)
        removed = paper_topic_set_verdict(paper_ids=list(remove), topic=topic, belongs=False)
        # The topic page's cached previews and questions are keyed by the topic's edit time.
        Topic.objects.filter(pk=topic.pk).update(updated_at=timezone.now())
    # The corrections changed the tagger's fingerprint: the re-tag fits the model again first.
    counts = topic_retag(topic_id=topic.pk)
    return VerdictResult(
        pinned=pinned, removed=removed, before=before, after=topic_tagged_count(topic), retag=counts
    )
