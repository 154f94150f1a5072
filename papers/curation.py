"""Curators' decisions on papers: featured papers lead digests, hidden ones are shown nowhere."""

from collections.abc import Sequence

from django.utils import timezone

from .models import Paper


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
