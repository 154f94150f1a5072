"""Cold start: a model for a topic nobody has labelled, from its text and the unlabelled papers.

A topic an admin just wrote (name, description, keywords) has no labelled paper, but every source
brings in unlabelled papers each day. This module turns those into a linear model in the tagger's
own feature space, so the topic is scored, thresholded and explained like any other:

- the description as a query over the corpus (tf-idf cosine);
- term associations: the words of the corpus papers most like the description (one step of
  co-occurrence: papers near the query, then the words those papers share);
- the keywords' rule score, and each keyword weighted by how rare it is in the corpus (a keyword
  half the papers use says little) and by being a phrase or an acronym;
- self-training: the papers the first stage is surest of become a centroid (pseudo-relevance
  feedback), and similarity to it is one more feature;
- a shared model over these topic-independent features, trained on the topics that do have labels
  (the default topics and the shipped dev set): it learns how much each kind of evidence is worth
  and where the line falls (the probability at which those topics' F1 peaks).

Each feature is linear in the tagger's feature row (a word vector, the rule column, the cue
columns), so the shared model folds into one weight column plus an intercept; the one nonlinear
part, "the keyword rules alone reach the threshold", is a per-topic bonus on the rule column.

Verdicts a curator gives before the topic has enough of them for its own model adapt this one:
pinned papers join the centroid, removed ones are subtracted from it, and the intercept moves to
where the verdicts say the line is (a one-parameter fit pulled towards no move).

Nothing here touches the database.
"""

import math
from dataclasses import dataclass

import numpy as np
from scipy import sparse

RULE_LINE = 1.0  # the rule score papers.tagging tags at by default: the bonus feature's line
MIN_CORPUS = 100  # fewer unlabelled papers than this and the statistics mean nothing: rules only
MIN_TEACHERS = 2  # labelled topics the shared model needs to learn from
PSEUDO_FRACTION = 0.15  # at most this share of the corpus counts as confident matches
MIN_PSEUDO = 5
VERDICT_CENTROID_WEIGHT = 0.5  # pinned / removed papers in the centroid, against the pseudo-labels
SHIFT_PRIOR = 2.0  # how strongly the verdict fit of the intercept is pulled towards no move


@dataclass
class ColdInputs:
    """One topic's ingredients, all over the tagger's feature columns."""

    query: np.ndarray  # tf-idf vector of the description (length: vocabulary)
    rule_column: int  # the topic's column in the feature matrix's rule block
    cue_columns: np.ndarray  # the topic's own keywords' columns in the cue block
    phrase: np.ndarray  # per own keyword: 1 for a phrase or an acronym


def _cosines(text: sparse.csr_matrix, vector: np.ndarray) -> np.ndarray:
    return np.asarray(text @ vector).ravel()


def _normalise(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector


def association_vector(corpus_text: sparse.csr_matrix, query: np.ndarray) -> np.ndarray:
    """Words the papers nearest the query share: corpusᵀ (corpus · query)², normalised."""
    near = np.maximum(_cosines(corpus_text, query), 0.0) ** 2
    return _normalise(np.asarray(corpus_text.T @ near).ravel())


def centroid(corpus_text: sparse.csr_matrix, probabilities: np.ndarray, extra=None) -> np.ndarray:
    """The weighted centre of the papers a first stage is surest of (self-training's positives)."""
    count = int(
        np.clip(probabilities.sum(), MIN_PSEUDO, max(MIN_PSEUDO, PSEUDO_FRACTION * len(probabilities)))
    )
    top = np.argsort(-probabilities, kind="stable")[:count]
    vector = np.asarray(corpus_text[top].T @ probabilities[top]).ravel()
    vector = _normalise(vector)
    if extra is not None:
        vector = _normalise(vector + extra)
    return vector


@dataclass
class TopicStats:
    """One topic's word vectors and the corpus mean and spread of each similarity."""

    query: np.ndarray
    association: np.ndarray
    idf: np.ndarray  # per own keyword: its rarity in the corpus
    mean: np.ndarray  # of desc, association (and centroid once set)
    spread: np.ndarray
    centroid: np.ndarray | None = None


def topic_stats(inputs: ColdInputs, corpus_text, corpus_matrix) -> TopicStats:
    association = association_vector(corpus_text, inputs.query)
    sims = np.column_stack([_cosines(corpus_text, inputs.query), _cosines(corpus_text, association)])
    present = (
        (corpus_matrix[:, inputs.cue_columns] > 0).sum(axis=0) if len(inputs.cue_columns) else np.zeros(0)
    )
    n = corpus_matrix.shape[0]
    idf = np.log((1 + n) / (1 + np.asarray(present).ravel()))
    return TopicStats(
        query=inputs.query,
        association=association,
        idf=idf,
        mean=sims.mean(axis=0),
        spread=sims.std(axis=0) + 1e-9,
    )


def stage_features(inputs: ColdInputs, stats: TopicStats, text, matrix, *, second: bool) -> np.ndarray:
    """Topic-independent feature rows: [desc, association, rule, keywords, rare, phrases, bonus
    (, centroid)]; the similarities standardised by the corpus' mean and spread."""
    sims = [_cosines(text, stats.query), _cosines(text, stats.association)]
    if second:
        sims.append(_cosines(text, stats.centroid))
    sims = (np.column_stack(sims) - stats.mean[: len(sims)]) / stats.spread[: len(sims)]
    cues = (
        matrix[:, inputs.cue_columns].toarray() if len(inputs.cue_columns) else np.zeros((matrix.shape[0], 0))
    )
    rule = matrix[:, inputs.rule_column].toarray().ravel()
    return np.column_stack(
        [
            sims[:, :2],
            rule,
            cues.sum(axis=1),
            cues @ stats.idf,
            cues @ inputs.phrase,
            np.expm1(rule) >= RULE_LINE - 1e-9,
            *([sims[:, 2]] if second else []),
        ]
    )


def set_centroid(stats: TopicStats, corpus_probabilities, corpus_text, pinned=None, removed=None) -> None:
    extra = None
    if (pinned is not None and pinned.shape[0]) or (removed is not None and removed.shape[0]):
        extra = np.zeros(corpus_text.shape[1])
        if pinned is not None and pinned.shape[0]:
            extra += VERDICT_CENTROID_WEIGHT * _normalise(np.asarray(pinned.sum(axis=0)).ravel())
        if removed is not None and removed.shape[0]:
            extra -= VERDICT_CENTROID_WEIGHT * _normalise(np.asarray(removed.sum(axis=0)).ravel())
    stats.centroid = centroid(corpus_text, corpus_probabilities, extra)
    sims = _cosines(corpus_text, stats.centroid)
    stats.mean = np.r_[stats.mean[:2], sims.mean()]
    stats.spread = np.r_[stats.spread[:2], sims.std() + 1e-9]


@dataclass
class SharedModel:
    """Weights of the topic-independent features, learnt on labelled topics, for both stages."""

    first: np.ndarray
    first_bias: float
    second: np.ndarray
    second_bias: float
    line: float  # the probability at which the teachers' F1 peaks: score 1.0


def _logistic(features: np.ndarray, labels: np.ndarray, *, penalty: float = 1.0, steps: int = 25):
    """L2-penalised logistic regression by Newton's method (scikit-learn's C=1 objective, unpenalised
    intercept): a handful of features, so each step is one small linear solve."""
    rows, width = features.shape
    design = np.column_stack([features.astype(float), np.ones(rows)])
    ridge = np.full(width + 1, penalty)
    ridge[-1] = 0.0
    beta = np.zeros(width + 1)
    for _ in range(steps):
        p = _sigmoid(design @ beta)
        gradient = design.T @ (p - labels) + ridge * beta
        hessian = (design * (p * (1 - p))[:, None]).T @ design + np.diag(ridge) + 1e-9 * np.eye(width + 1)
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if np.abs(step).max() < 1e-8:
            break
    return beta[:-1], float(beta[-1])


def _sigmoid(values: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(values, -30, 30)))


def _f1(predicted: np.ndarray, labels: np.ndarray) -> float:
    tp = int((predicted & labels).sum())
    wrong = int((predicted != labels).sum())
    return 2 * tp / (2 * tp + wrong) if tp else 0.0


def fit_shared(teachers: list[tuple[ColdInputs, TopicStats, tuple, tuple, np.ndarray]]) -> SharedModel | None:
    """teachers: (inputs, stats, (corpus text, corpus matrix), (labelled text, labelled matrix), labels)."""
    if len(teachers) < MIN_TEACHERS:
        return None
    rows = [stage_features(i, s, lt, lm, second=False) for i, s, _, (lt, lm), _ in teachers]
    labels = [y for *_, y in teachers]
    if not any(y.any() for y in labels):
        return None
    first, first_bias = _logistic(np.vstack(rows), np.concatenate(labels))
    second_rows = []
    for inputs, stats, (ct, cm), (lt, lm), _ in teachers:
        corpus_p = _sigmoid(stage_features(inputs, stats, ct, cm, second=False) @ first + first_bias)
        set_centroid(stats, corpus_p, ct)
        second_rows.append(stage_features(inputs, stats, lt, lm, second=True))
    second, second_bias = _logistic(np.vstack(second_rows), np.concatenate(labels))
    probabilities = [_sigmoid(r @ second + second_bias) for r in second_rows]
    lines = np.arange(0.1, 0.9, 0.02)
    scores = [
        np.mean([_f1(p >= line, y.astype(bool)) for p, y in zip(probabilities, labels, strict=True)])
        for line in lines
    ]
    return SharedModel(first, first_bias, second, second_bias, float(lines[int(np.argmax(scores))]))


def verdict_shift(logits: np.ndarray, labels: np.ndarray) -> float:
    """The intercept move that best fits the verdicts' yes/no, pulled towards 0 (few verdicts)."""
    if not len(labels):
        return 0.0
    grid = np.linspace(-4, 4, 81)
    losses = [
        float(np.sum(np.logaddexp(0, -(2 * labels - 1) * (logits + shift)))) + SHIFT_PRIOR * shift**2 / 2
        for shift in grid
    ]
    return float(grid[int(np.argmin(losses))])


def logit(probability: float) -> float:
    return math.log(probability / (1 - probability))
