"""The fitted tagger of the active topics, cached per process and refitted when curators change something.

A fit takes a second or two, so it happens once per process per version of the inputs: the active
topics (their `updated_at` moves on every save) and the curators' corrections (every manual or
excluded PaperTopic row). The newest papers (the cold-start corpus) are read at each fit but are
not part of the version: new papers alone do not refit. Checking the version costs two small
queries per ingest batch; refitting only happens after a curator saved something, and the next
batch picks the change up by itself.
"""

import hashlib
import threading

from django.db.models import Q

from papers.conf import setting
from papers.models import Paper, PaperTopic, Topic

from .examples import shipped_examples
from .model import CORRECTION_WEIGHT, Example, PaperText, TopicSpec, TopicTagger, fit_tagger

_lock = threading.Lock()
_cached: TopicTagger | None = None


def _corrections(topic_ids: list[int]) -> list[tuple[int, int, bool]]:
    """(paper id, topic id, in?) for every row a curator set or removed on these topics."""
    rows = (
        PaperTopic.objects.filter(topic_id__in=topic_ids)
        .filter(Q(manual=True) | Q(excluded=True))
        .order_by("topic_id", "paper_id")
        .values_list("paper_id", "topic_id", "excluded")
    )
    return [(paper_id, topic_id, not excluded) for paper_id, topic_id, excluded in rows]


def _fingerprint(topics: list[Topic], corrections: list[tuple[int, int, bool]]) -> str:
    digest = hashlib.sha256()
    for topic in topics:
        digest.update(f"{topic.pk}|{topic.updated_at.isoformat() if topic.updated_at else ''}|".encode())
        digest.update(f"{topic.threshold}|{topic.keywords}|{topic.categories}|{topic.description}\n".encode())
    for row in corrections:
        digest.update(f"{row}".encode())
    return digest.hexdigest()


def correction_examples(topics: list[Topic], corrections: list[tuple[int, int, bool]]) -> list[Example]:
    """One example per corrected paper, labelled only for the topics a curator decided on."""
    slug_by_id = {topic.pk: topic.slug for topic in topics}
    labels: dict[int, dict[str, bool]] = {}
    for paper_id, topic_id, positive in corrections:
        labels.setdefault(paper_id, {})[slug_by_id[topic_id]] = positive
    papers = Paper.objects.filter(pk__in=list(labels)).only(
        "id", "title", "abstract", "categories", "primary_category"
    )
    return [
        Example(text=PaperText.of(paper), labels=labels[paper.pk], weight=CORRECTION_WEIGHT)
        for paper in papers.iterator(chunk_size=1000)
    ]


def tagger_for(topics: list[Topic]) -> TopicTagger:
    """A tagger for these topics, from the shipped examples and the curators' corrections (no cache)."""
    corrections = _corrections([topic.pk for topic in topics])
    return _fit(topics, corrections, _fingerprint(topics, corrections))


def _fit(topics: list[Topic], corrections, fingerprint: str) -> TopicTagger:
    corrected = correction_examples(topics, corrections)
    # A curator's decision replaces what a shipped example says about the same paper and topic.
    decided = {(example.text.title, slug) for example in corrected for slug in example.labels}
    slugs = [topic.slug for topic in topics]
    shipped = []
    for example in shipped_examples():
        overridden = {slug for (title, slug) in decided if title == example.text.title}
        if overridden:
            labels = {slug: bool(example.label(slug)) for slug in slugs if slug not in overridden}
            example = Example(text=example.text, labels=labels, weight=example.weight)
        shipped.append(example)
    specs = [TopicSpec.from_topic(topic) for topic in topics]
    return fit_tagger(specs, [*shipped, *corrected], fingerprint=fingerprint, corpus=corpus_texts())


def corpus_texts() -> list[PaperText]:
    """The newest papers' texts: the unlabelled corpus a cold-start model learns from."""
    size = int(setting("COLD_START_CORPUS"))
    if size <= 0:
        return []
    papers = (
        Paper.objects.filter(hidden=False)
        .order_by("-first_seen_at", "-id")
        .only("title", "abstract", "categories", "primary_category")[:size]
    )
    return [PaperText.of(paper) for paper in papers]


def active_tagger() -> TopicTagger:
    """The tagger of the active topics, refitted only when a topic or a correction changed."""
    global _cached
    topics = list(Topic.objects.filter(active=True).order_by("display_order", "pk"))
    corrections = _corrections([topic.pk for topic in topics])
    fingerprint = _fingerprint(topics, corrections)
    cached = _cached
    if cached is not None and cached.fingerprint == fingerprint:
        return cached
    with _lock:
        if _cached is None or _cached.fingerprint != fingerprint:
            _cached = _fit(topics, corrections, fingerprint)
        return _cached


def forget_tagger() -> None:
    """Drop the cached tagger (tests; a process that must refit at once)."""
    global _cached
    with _lock:
        _cached = None
