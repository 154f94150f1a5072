"""Re-ranking a reader's digest by what they told us ("more like this" / "less like this").

A reader's profile is the centroid of the tf-idf vectors (papers.relevance's text features) of the
papers they liked, minus a share of the centroid of those they disliked, shrunk towards nothing
while there is little feedback. `rerank` moves each candidate by its similarity to that profile on
top of its place in the topic ranking, so the topic ranking stays the prior ("regularised towards
the reader's topics"): a candidate can move up or down, but `rerank` only ever reorders the
candidates it is given, so feedback never brings in a paper from outside the reader's topics.

For the digest path:

    profiles = reader_profiles_load(subscriber_ids=chunk)   # 1 query for the chunk (+1 for new papers)
    vectors = paper_vectors()                               # per process, per tagger version
    order = rerank(candidate_ids, profiles.get(subscriber_id), vectors=vectors)

Readers without feedback are not in `profiles`; for them `rerank` returns the candidates as given,
without touching a vector, so they cost nothing.
"""

import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from scipy import sparse

from papers.models import Paper
from papers.relevance.loading import active_tagger
from subscriptions.models import PaperFeedback

# How far feedback moves a paper per standard deviation of the candidates' similarity to the profile,
# against the topic ranking's spread of 1.0 from first to last (before shrinkage).
FEEDBACK_WEIGHT = 0.6
DISLIKE_SHARE = 0.8  # a dislike counts a little less than a like: it often means "not today"
# Shrinkage: with n choices the profile counts n / (n + PRIOR_CHOICES) of its full weight.
PRIOR_CHOICES = 1.0
MAX_FEEDBACK_PER_READER = 200  # the newest choices; older tastes fade out
# A candidate this many standard deviations closer to the profile than the others is one the reader's
# likes chose: the digest gives "like papers you liked" as its reason.
LIFTED_BY_LIKES = 1.0


@dataclass(frozen=True)
class ReaderProfile:
    subscriber_id: int
    vector: sparse.csr_matrix  # 1 x vocabulary
    strength: float  # n / (n + PRIOR_CHOICES): little feedback, little change
    liked: frozenset[int]
    disliked: frozenset[int]
    fingerprint: object  # the text features it was built with


class PaperVectors:
    """tf-idf rows of papers, computed once per process for a given tagger version, and again for a
    paper whose text changed (each row keeps the `updated_at` of the text it was made from)."""

    def __init__(self, tagger):
        self.tagger = tagger
        self.fingerprint = tagger.fingerprint
        self._rows: dict[int, sparse.csr_matrix] = {}
        self._versions: dict[int, datetime] = {}
        self._lock = threading.Lock()

    def ensure(self, papers: Mapping[int, datetime] | Iterable[int]) -> None:
        """Vectorise the papers not seen yet: one query, one batched transform.

        Given {paper id: updated_at} (what the caller read with the ids), a paper edited since its
        row was made is vectorised again: a curator who fixes an abstract changes what "more like
        this" means from the next chunk on, not from the worker's next restart. Given ids alone,
        only the missing ones are read.
        """
        if isinstance(papers, Mapping):
            versions = self._versions
            missing = [pid for pid, updated_at in papers.items() if versions.get(pid) != updated_at]
        else:
            missing = [pid for pid in set(papers) if pid not in self._rows]
        if not missing:
            return
        fields = ("id", "title", "abstract", "categories", "primary_category", "updated_at")
        loaded = list(Paper.objects.filter(pk__in=missing).only(*fields))
        if not loaded:
            return
        matrix = self.tagger.text_vectors(loaded)
        with self._lock:
            for row, paper in enumerate(loaded):
                self._rows[paper.pk] = matrix[row]
                self._versions[paper.pk] = paper.updated_at

    def matrix(self, paper_ids: Sequence[int]) -> sparse.csr_matrix:
        """Rows for these ids (an empty row for a paper that is gone)."""
        width = len(self.tagger.features.vectorizer.vocabulary_)
        empty = sparse.csr_matrix((1, width))
        return sparse.vstack([self._rows.get(paper_id, empty) for paper_id in paper_ids], format="csr")

    def __len__(self) -> int:
        return len(self._rows)


_vectors: PaperVectors | None = None
_vectors_lock = threading.Lock()


def paper_vectors() -> PaperVectors:
    """The process's paper vectors for the current tagger (a new tagger starts a new cache)."""
    global _vectors
    tagger = active_tagger()
    with _vectors_lock:
        if _vectors is None or _vectors.fingerprint != tagger.fingerprint:
            _vectors = PaperVectors(tagger)
        return _vectors


def _centroid(matrix: sparse.csr_matrix) -> sparse.csr_matrix:
    centroid = sparse.csr_matrix(matrix.sum(axis=0))
    norm = np.sqrt(centroid.multiply(centroid).sum())
    return centroid / norm if norm else centroid


def build_profile(
    *, subscriber_id: int, choices: Mapping[int, int], vectors: PaperVectors
) -> ReaderProfile | None:
    """A reader's profile from {paper id: +1 | -1}; None when there is nothing to learn from."""
    liked = [paper_id for paper_id, value in choices.items() if value > 0]
    disliked = [paper_id for paper_id, value in choices.items() if value < 0]
    if not liked and not disliked:
        return None
    width = len(vectors.tagger.features.vectorizer.vocabulary_)
    vector = sparse.csr_matrix((1, width))
    if liked:
        vector = vector + _centroid(vectors.matrix(liked))
    if disliked:
        vector = vector - DISLIKE_SHARE * _centroid(vectors.matrix(disliked))
    count = len(liked) + len(disliked)
    return ReaderProfile(
        subscriber_id=subscriber_id,
        vector=sparse.csr_matrix(vector),
        strength=count / (count + PRIOR_CHOICES),
        liked=frozenset(liked),
        disliked=frozenset(disliked),
        fingerprint=vectors.fingerprint,
    )


def reader_profiles_load(
    *, subscriber_ids: Iterable[int], vectors: PaperVectors | None = None
) -> dict[int, ReaderProfile]:
    """Profiles of the readers of a chunk who gave feedback: one query for all their choices."""
    vectors = vectors or paper_vectors()
    choices: dict[int, dict[int, int]] = {}
    versions: dict[int, datetime] = {}
    rows = (
        PaperFeedback.objects.filter(subscriber_id__any_of=list(subscriber_ids))
        .order_by("subscriber_id", "-updated_at")
        .values_list("subscriber_id", "paper_id", "value", "paper__updated_at")
    )
    for subscriber_id, paper_id, value, paper_updated_at in rows:
        reader = choices.setdefault(subscriber_id, {})
        if len(reader) < MAX_FEEDBACK_PER_READER:
            reader[paper_id] = value
            versions[paper_id] = paper_updated_at
    if not choices:
        return {}
    vectors.ensure(versions)
    profiles = {}
    for subscriber_id, reader in choices.items():
        profile = build_profile(subscriber_id=subscriber_id, choices=reader, vectors=vectors)
        if profile is not None:
            profiles[subscriber_id] = profile
    return profiles


def rerank(candidates: Sequence[int], profile: ReaderProfile | None, *, vectors: PaperVectors) -> list[int]:
    """The candidates (paper ids, best first by topic ranking) reordered for this reader.

    Pure apart from vectorising candidates not seen before (one query for the whole pool is
    cheaper: call `vectors.ensure(pool)` once per chunk). Returns the same ids, never others.
    """
    return rerank_explained(candidates, profile, vectors=vectors)[0]


def rerank_explained(
    candidates: Sequence[int], profile: ReaderProfile | None, *, vectors: PaperVectors
) -> tuple[list[int], frozenset[int]]:
    """`rerank`'s order, and the candidates the reader's likes lifted: those at least LIFTED_BY_LIKES
    standard deviations closer to the profile than the candidates' mean, for a reader who liked
    something (a profile of dislikes only lifts nothing: it pushes others down). The digest says
    "like papers you liked" of those."""
    candidates = list(candidates)
    if profile is None or len(candidates) < 2:
        return candidates, frozenset()
    vectors.ensure(candidates)
    similarity = np.asarray((vectors.matrix(candidates) @ profile.vector.T).todense()).ravel()
    # Similarities of tf-idf rows are small and vary by day: compare candidates with each other.
    spread = similarity.std()
    relative = (similarity - similarity.mean()) / spread if spread > 1e-9 else np.zeros_like(similarity)
    shift = FEEDBACK_WEIGHT * profile.strength * relative
    count = len(candidates)
    # Rank prior: the first candidate 1.0, the last 0.0, plus the feedback shift.
    combined = [
        (1.0 - position / (count - 1))
        + shift[position]
        - (1.0 if paper_id in profile.disliked else 0.0)  # the very paper they turned down: last
        for position, paper_id in enumerate(candidates)
    ]
    order = sorted(range(count), key=lambda position: (-combined[position], position))
    lifted = frozenset(
        paper_id
        for position, paper_id in enumerate(candidates)
        if profile.liked and relative[position] >= LIFTED_BY_LIKES and similarity[position] > 0
    )
    return [candidates[position] for position in order], lifted
