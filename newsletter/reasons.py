"""Why a paper is in a reader's digest, in a few words on one line: "Quantization · mentions KV cache".

A paper reaches a digest because it carries one of the reader's topics, mentions one of their
keywords, or (for a reader who gave feedback) because their likes moved it up
(newsletter.reranking.rerank_explained), or because it is by an author they follow
(subscriptions.seeds). The line names those: the author first, then the topics as the chips order
them, the keywords as the reader wrote them, the likes.

The line depends only on the reader's topics, keywords, liked set and followed authors, so for most
readers it recurs across readers and the assembler keeps its escapes (newsletter.assembling).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

MAX_TOPICS = 2
MAX_KEYWORDS = 2
MAX_CHARS = 80  # one line in a phone's mail client, beside nothing else
LIKED = "like papers you liked"
FOLLOWED = "by an author you follow"
SEPARATOR = " · "


def why_line(
    paper,
    *,
    topics: Collection[str],
    keyword_hits: Iterable[tuple[str, Collection[int]]],
    liked: Collection[int] = (),
    followed: Collection[int] = (),
) -> str:
    """The reason `paper` is in the digest of a reader with these topic names, these (keyword, ids
    of the papers it matches) pairs, these liked-lifted paper ids and these papers by authors they
    follow; "" when none applies.

    The line reads author, topics, keywords, likes; what does not fit in MAX_CHARS is left out
    topics first (the chips above the line name them already), and a topic gives way to a second
    one only when nothing else is said."""
    followed_parts = [FOLLOWED] if paper.pk in followed else []
    topic_parts = [name for name in getattr(paper, "digest_topics", ()) if name in topics]
    keyword_parts = [f"mentions {keyword}" for keyword, hits in keyword_hits if paper.pk in hits]
    liked_parts = [LIKED] if paper.pk in liked else []
    others = keyword_parts[:MAX_KEYWORDS] + liked_parts
    topic_parts = topic_parts[: 1 if others or followed_parts else MAX_TOPICS]
    by_priority = followed_parts + liked_parts + keyword_parts[:MAX_KEYWORDS] + topic_parts
    kept: set[str] = set()
    length = 0
    for part in by_priority:
        longer = length + len(part) + (len(SEPARATOR) if kept else 0)
        if longer <= MAX_CHARS:
            kept.add(part)
            length = longer
    if not kept and by_priority:  # a single 100-character keyword: cut it rather than say nothing
        return by_priority[0][: MAX_CHARS - 1].rstrip() + "…"
    return SEPARATOR.join(part for part in followed_parts + topic_parts + others if part in kept)


def why_lines(
    papers: Sequence,
    *,
    topics: Collection[str],
    keyword_hits: Sequence[tuple[str, Collection[int]]],
    liked: Collection[int] = (),
    followed: Collection[int] = (),
) -> list[str]:
    """`why_line` of each paper, in order."""
    topic_set = frozenset(topics)
    return [
        why_line(p, topics=topic_set, keyword_hits=keyword_hits, liked=liked, followed=followed)
        for p in papers
    ]
