"""What tagging costs (for bench_ingest): fitting the active topics' models, scoring a thousand papers,
the models' memory."""

import time
import tracemalloc
from collections.abc import Sequence

from papers.models import Topic
from papers.relevance.loading import forget_tagger, tagger_for
from papers.relevance.model import PaperText


def tagging_cost(papers: Sequence, *, rounds: int = 3) -> dict[str, float]:
    """Fit seconds, seconds per 1,000 papers (best of `rounds`), model MB."""
    texts = [PaperText.of(paper) for paper in papers]
    topics = list(Topic.objects.filter(active=True).order_by("display_order", "pk"))
    forget_tagger()
    tracemalloc.start()
    start = time.perf_counter()
    tagger = tagger_for(topics)
    fit_s = time.perf_counter() - start
    traced_mb = tracemalloc.get_traced_memory()[0] / 1e6
    tracemalloc.stop()
    best = float("inf")
    for _ in range(max(1, rounds)):
        start = time.perf_counter()
        tagger.score_many(texts)
        best = min(best, time.perf_counter() - start)
    return {
        "tagging_fit_s": round(fit_s, 3),
        "tagging_per_1000_s": round(best / max(len(texts), 1) * 1000, 4),
        "tagging_model_mb": round(tagger.memory_bytes() / 1e6, 2),
        "tagging_fit_traced_mb": round(traced_mb, 2),
        "tagging_modelled_topics": sum(1 for topic in tagger.topics if topic.has_model),
    }
