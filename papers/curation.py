"""Curators' decisions on papers: featured papers lead digests, hidden ones are shown nowhere."""

from collections.abc import Sequence

from django.utils import timezone

from .models import Paper, PaperTopic


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
    row = PaperTopic.objects.filter(paper_id=paper_id, topic_id=topic_id).first()
    if row is None:
        if not on:
            PaperTopic.objects.create(paper_id=paper_id, topic_id=topic_id, manual=True, excluded=True)
            return False
        PaperTopic.objects.create(paper_id=paper_id, topic_id=topic_id, manual=True, score=1.0)
        Paper.objects.filter(pk=paper_id).update(updated_at=timezone.now())
        return True
    changed = row.excluded == on
    PaperTopic.objects.filter(pk=row.pk).update(manual=True, excluded=not on)
    if changed:
        Paper.objects.filter(pk=paper_id).update(updated_at=timezone.now())
    return changed
