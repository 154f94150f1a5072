"""Why a paper is in a reader's digest, in a few words on one line: "Quantization · mentions KV cache".

A paper reaches a digest because it carries one of the reader's topics, mentions one of their
keywords, or (for a reader who gave feedback) because their likes moved it up
(newsletter.reranking.rerank_explained). The line names those, in that order: the topics as the
chips order them, then the keywords as the reader wrote them. Papers followed by author are not a
reason yet: readers cannot follow authors.

The line depends only on the reader's topics, keywords and liked set, so it recurs across readers
and the assembler keeps its escapes (newsletter.assembling).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

MAX_TOPICS = 2
MAX_KEYWORDS = 2
MAX_CHARS = 80  # one line in a phone's mail client, beside nothing else
LIKED = "like papers you liked"
SEPARATOR = " · "


def why_line(
    paper,
    *,
    topics: Collection[str],
    keyword_hits: Iterable[tuple[str, Collection[int]]],
    liked: Collection[int] = (),
) -> str:
    """The reason `paper` is in the digest of a reader with these topic names, these (keyword, ids
    of the papers it matches) pairs and these liked-lifted paper ids; "" when none applies."""
    parts = [name for name in getattr(paper, "digest_topics", ()) if name in topics][:MAX_TOPICS]
    parts += [f"mentions {keyword}" for keyword, hits in keyword_hits if paper.pk in hits][:MAX_KEYWORDS]
    if paper.pk in liked:
        parts.append(LIKED)
    line = ""
    for part in parts:
        longer = f"{line}{SEPARATOR}{part}" if line else part
        if len(longer) > MAX_CHARS:
            if not line:  # a single 100-character keyword: cut it rather than say nothing
                line = part[: MAX_CHARS - 1].rstrip() + "…"
            break
        line = longer
    return line


def why_lines(
    papers: Sequence,
    *,
    topics: Collection[str],
    keyword_hits: Sequence[tuple[str, Collection[int]]],
    liked: Collection[int] = (),
) -> list[str]:
    """`why_line` of each paper, in order."""
    topic_set = frozenset(topics)
    return [why_line(p, topics=topic_set, keyword_hits=keyword_hits, liked=liked) for p in papers]
