"""Trending score: Hugging Face upvotes and comments, decaying with time since Paperboy first saw the paper.

score = (upvotes + COMMENT_WEIGHT x comments) x 0.5 ^ (hours since first seen / half-life)

The clock starts at first_seen_at, not the arXiv date: a paper trends when readers discover it,
which on Hugging Face is often days after submission. Featured papers are pinned by curators
separately (Paper.featured) and never need a high score.

`papers_rank` stores the score of papers whose counts changed (the ingest); `trending_recompute`
decays every recent paper's score (beat, `recompute_trending`).
"""

from collections.abc import Sequence
from datetime import datetime, timedelta

from django.utils import timezone

from .bulk import BATCH_SIZE
from .conf import setting
from .models import Paper

# A comment takes more effort than an upvote and signals discussion.
COMMENT_WEIGHT = 2.0


def trending_score(
    *, upvotes: int | None, comments: int | None, since: datetime, now: datetime, half_life_hours=None
) -> float:
    half_life = half_life_hours or setting("TRENDING_HALF_LIFE_HOURS")
    engagement = (upvotes or 0) + COMMENT_WEIGHT * (comments or 0)
    if engagement <= 0:
        return 0.0
    age_hours = max((now - since).total_seconds() / 3600, 0.0)
    return round(engagement * 0.5 ** (age_hours / half_life), 4)


def papers_rank(*, papers: Sequence[Paper], now: datetime | None = None) -> int:
    """Recompute the trending score of these papers; writes only scores that changed."""
    now = now or timezone.now()
    changed = []
    for paper in papers:
        score = trending_score(
            upvotes=paper.hf_upvotes, comments=paper.hf_comments, since=paper.first_seen_at, now=now
        )
        if paper.trending_score != score:
            paper.trending_score = score
            changed.append(paper)
    if changed:
        Paper.objects.bulk_update(changed, ["trending_score"], batch_size=BATCH_SIZE)
    return len(changed)


def trending_recompute(*, now: datetime | None = None) -> int:
    """Decay every recent paper's score; papers past the window drop to 0 (they no longer trend)."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=setting("TRENDING_WINDOW_DAYS"))
    recent = list(
        Paper.objects.filter(first_seen_at__gte=cutoff)
        .exclude(hf_upvotes__isnull=True, hf_comments__isnull=True)
        .only("id", "hf_upvotes", "hf_comments", "first_seen_at", "trending_score")
    )
    changed = papers_rank(papers=recent, now=now)
    changed += Paper.objects.filter(first_seen_at__lt=cutoff, trending_score__gt=0).update(trending_score=0.0)
    return changed
