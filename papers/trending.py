"""Trending score: Hugging Face upvotes and comments, decaying with time since Paperboy first saw the paper.

score = (upvotes + COMMENT_WEIGHT x comments) x 0.5 ^ (hours since first seen / half-life)

The clock starts at first_seen_at, not the arXiv date: a paper trends when readers discover it,
which on Hugging Face is often days after submission. Featured papers are pinned by curators
separately (Paper.featured) and never need a high score.
"""

from datetime import datetime

from .conf import setting

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
