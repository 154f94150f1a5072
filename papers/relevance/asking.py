"""Which papers to ask a curator about: the verdicts that would teach a topic most (no database)."""

import math

import numpy as np

from .model import TopicTagger

# Two questions whose papers' tf-idf vectors are closer than this would teach the same thing twice.
ASK_MAX_SIMILARITY = 0.5


def question_indexes(
    tagger: TopicTagger, papers: list, scores: np.ndarray, threshold: float, count: int, skip=frozenset()
) -> list[int]:
    """The `count` papers whose verdict would teach the topic most: uncertainty, diversified.

    Closest to the threshold first (on the log scale the scores' odds live on), skipping a paper too
    like one already chosen (cosine of their tf-idf rows), so ten questions cover ten kinds of
    borderline paper rather than ten copies of one. A paper with no evidence at all (score 0) is
    never asked about: its answer is almost always no, and teaches nothing.
    """
    if count <= 0 or not len(papers):
        return []
    threshold = max(threshold, 1e-6)
    distance = np.array([abs(math.log(s / threshold)) if s > 0 else math.inf for s in scores.tolist()])
    order = [
        i for i in np.argsort(distance, kind="stable").tolist() if i not in skip and distance[i] < math.inf
    ]
    vectors = tagger.text_vectors([papers[i] for i in order]) if order else None
    chosen: list[int] = []
    chosen_rows: list[int] = []
    for position, i in enumerate(order):
        if len(chosen) >= count:
            break
        if chosen_rows:
            similarity = (vectors[chosen_rows] @ vectors[position].T).toarray().max()
            if similarity > ASK_MAX_SIMILARITY:
                continue
        chosen.append(i)
        chosen_rows.append(position)
    if len(chosen) < count:  # too few distinct papers: fill with the closest left
        chosen += [i for i in order if i not in set(chosen)][: count - len(chosen)]
    return chosen
