"""The topic model: rule features plus tf-idf, one small logistic regression per topic.

A paper is described once per batch by one sparse row:

    [ tf-idf of title (counted twice) + abstract | arXiv categories | every topic's rule score |
      every cue's score ]

and each topic's model reads the columns that concern it (tf-idf, categories, all rule scores,
its own cues), so scoring a batch against every topic is one sparse matrix product. A topic's
training papers are the examples shipped for its slug, the papers curators pinned to it (positive)
or removed from it (negative), and a short document made of its name, description and keywords.

Scores: a topic with a model scores a paper by the odds its model gives, divided by the odds at
DECISION_PROBABILITY, so 1.0 (Topic.threshold's default) is the model's operating point, 2.0 twice
as sure. A topic with fewer than MIN_POSITIVES examples (a topic an admin just created) keeps the
rule score of papers.tagging, whose threshold means the same as it always did.

Nothing here touches the database: papers.relevance.loading feeds it rows.
"""

import math
import sys
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from scipy import sparse

from papers.tagging import TOKEN_RE, TopicIndex, column_counts, token_columns, tokenise

from . import coldstart
from .cues import CUES

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import TfidfVectorizer

# scikit-learn is imported where a model is fitted or applied, not with this module: every process
# imports this module (the Celery app loads all tasks), and a mail worker that never tags a paper
# would otherwise carry ~80 MB of scikit-learn it never calls.

MIN_POSITIVES = 3  # fewer pinned papers than this and a model would learn the examples by heart
DECISION_PROBABILITY = 0.6  # the probability that scores 1.0; chosen by cross-validation on the dev set
REGULARISATION_C = 1.0  # logistic regression's inverse regularisation strength (cross-validated)
CORRECTION_WEIGHT = 3.0  # a curator's decision on a live paper outweighs a shipped example
DESCRIPTION_WEIGHT = 1.0
CATEGORY_WEIGHT = 0.5  # a category is weaker evidence than the words (cs.RO papers on motors)
TFIDF_WEIGHT = 2.0
BACKGROUND_WEIGHT = 0.1  # a shipped example as evidence against a topic it was never labelled for
MAX_SCORE = 1000.0  # odds beyond this say nothing more to a curator
# A topic whose labels are only a curator's verdicts keeps its cold-start model (adapted to them)
# until it has this many pinned papers: ten verdicts teach a fresh model less than they correct
# the cold-start one (measured: python -m papers.devset.evaluate --cold).
WARM_POSITIVES = 20


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """What the model needs of a Topic row."""

    id: int
    slug: str
    name: str
    description: str
    keywords: tuple[str, ...]
    categories: tuple[str, ...]
    threshold: float

    @classmethod
    def from_topic(cls, topic) -> "TopicSpec":
        return cls(
            id=topic.id,
            slug=topic.slug,
            name=topic.name,
            description=topic.description or "",
            keywords=tuple(topic.keyword_list),
            categories=tuple(topic.category_list),
            threshold=float(topic.threshold),
        )


@dataclass(frozen=True, slots=True)
class PaperText:
    title: str
    abstract: str
    categories: tuple[str, ...] = ()
    primary_category: str = ""

    @classmethod
    def of(cls, paper) -> "PaperText":
        """From a Paper, a dev-set record (dict) or anything with the four fields."""
        get = paper.get if isinstance(paper, Mapping) else lambda name, default: getattr(paper, name, default)
        categories = tuple(get("categories", None) or ())
        return cls(
            title=get("title", "") or "",
            abstract=get("abstract", "") or "",
            categories=categories,
            primary_category=get("primary_category", "") or (categories[0] if categories else ""),
        )


@dataclass(frozen=True, slots=True)
class Example:
    """A labelled paper. `labels`: topic slug -> in/out. `complete`: every other topic is out."""

    text: PaperText
    labels: Mapping[str, bool]
    complete: bool = False
    weight: float = 1.0
    # For a complete example: the topics it was labelled for. Any other topic (one an installation
    # added) may well be about this paper, so it is only weak background evidence against.
    labelled_slugs: frozenset[str] | None = None

    def label(self, slug: str) -> bool | None:
        if slug in self.labels:
            return self.labels[slug]
        return False if self.complete else None

    def weight_for(self, slug: str) -> float:
        if self.labelled_slugs is not None and slug not in self.labelled_slugs and slug not in self.labels:
            return self.weight * BACKGROUND_WEIGHT
        return self.weight


def _document(text: PaperText) -> str:
    # The title counted twice: what a paper is about is said first in its title.
    return f"{text.title}. {text.title}. {text.abstract}"


def _description_example(topic: TopicSpec) -> Example:
    abstract = ". ".join(part for part in (topic.description, ", ".join(topic.keywords)) if part)
    return Example(
        text=PaperText(title=topic.name, abstract=abstract, categories=topic.categories),
        labels={topic.slug: True},
        weight=DESCRIPTION_WEIGHT,
    )


@dataclass
class _Features:
    """Turns papers into rows of the shared feature matrix."""

    vectorizer: "TfidfVectorizer"
    categories: dict[str, int]
    # One compiled index: topic i's keywords first, then its shipped cues; each keyword one column.
    cues: TopicIndex
    # For each keyword of `cues`: the topic position whose rule score it adds to, or -1 (a cue only).
    rule_of_keyword: list[int]
    # Each keyword of `cues` as written (what a reason names).
    cue_phrases: list[str] = field(default_factory=list)
    # Each topic position's slug (the rule-score columns' names).
    topic_slugs: list[str] = field(default_factory=list)
    width: int = 0
    category_offset: int = 0
    rule_offset: int = 0
    cue_offset: int = 0

    def __post_init__(self):
        self.category_offset = len(self.vectorizer.vocabulary_)
        self.rule_offset = self.category_offset + len(self.categories)
        self.cue_offset = self.rule_offset + len(self.cues.topics)
        self.width = self.cue_offset + len(self.cues.keywords)
        # keywords x topic positions: 1 where a keyword adds to a topic's rule score.
        ruled = [k for k, position in enumerate(self.rule_of_keyword) if position >= 0]
        self._rule_incidence = sparse.csr_matrix(
            (np.ones(len(ruled)), (ruled, [self.rule_of_keyword[k] for k in ruled])),
            shape=(len(self.rule_of_keyword), len(self.cues.topics)),
        )
        self._analyse = self.vectorizer.build_analyzer()
        # Every word the features read -> one number, so that each token of a batch is looked up once:
        # the keywords' forms keep their columns, the tf-idf terms not among them follow.
        forms, vocabulary = self.cues.form_columns, self.vectorizer.vocabulary_
        terms = dict(forms)
        for term in vocabulary:
            terms.setdefault(term, len(terms))
        self._terms = terms
        # Term number -> its form column, its tf-idf column (-1: none). The extra last entry answers
        # the -1 of a token that is no term.
        self._form_of = np.full(len(terms) + 1, -1, dtype=np.intp)
        self._form_of[: len(forms)] = np.arange(len(forms))
        self._tfidf_of = np.full(len(terms) + 1, -1, dtype=np.intp)
        for term, column in vocabulary.items():
            self._tfidf_of[terms[term]] = column
        self._names: list[tuple[str, str]] | None = None

    def names(self) -> list[tuple[str, str]]:
        """(kind, label) of every column: ("word", w), ("category", c), ("rules", slug), ("phrase", p)."""
        if self._names is None:
            words = [""] * len(self.vectorizer.vocabulary_)
            for term, column in self.vectorizer.vocabulary_.items():
                words[column] = term
            categories = [""] * len(self.categories)
            for name, column in self.categories.items():
                categories[column] = name
            slugs = self.topic_slugs or [str(i) for i in range(len(self.cues.topics))]
            phrases = self.cue_phrases or [" ".join(sorted(k.words[0].forms)[:1]) for k in self.cues.keywords]
            self._names = [
                *(("word", w) for w in words),
                *(("category", c) for c in categories),
                *(("rules", slug) for slug in slugs),
                *(("phrase", p) for p in phrases),
            ]
        return self._names

    def text_matrix(self, texts: Sequence[PaperText], tokens=None, columns=None) -> sparse.csr_matrix:
        """L2-normalised tf-idf rows: the text part alone (also what reader profiles are built from).

        The same rows as `vectorizer.transform`, from the tokens the keyword rules read: the document
        is the title twice and the abstract, so its counts are 2 x the title's + the abstract's. The
        vectorizer's terms are runs of two or more regex word characters, which are letters and digits
        (str.isalnum) and the underscore; its stop words are never terms. So the tokens differ only
        where there is an underscore, which the vectorizer keeps inside a word: those papers are read
        by the vectorizer's own analyzer. (Lower-casing the title and the abstract apart or in the
        joined document gives the same letters: the one context rule, a final sigma, sees the same
        context across ". ".) `columns`: the titles' and the abstracts' `token_columns` over the
        vocabulary, when the caller has looked them up already.
        """
        if tokens is None:
            tokens = [(tokenise(text.title), tokenise(text.abstract)) for text in texts]
        vocabulary = self.vectorizer.vocabulary_
        if columns is None:
            columns = (
                token_columns([title.tokens for title, _ in tokens], vocabulary),
                token_columns([abstract.tokens for _, abstract in tokens], vocabulary),
            )
        shape = (len(texts), len(vocabulary))
        simple = np.ones(len(texts), dtype=bool)
        rows, found_columns, counts = [], [], []
        for row, text in enumerate(texts):
            if "_" in text.title or "_" in text.abstract:
                simple[row] = False
                document = Counter(self._analyse(_document(text)))
                found = document.keys() & vocabulary.keys()
                rows.extend([row] * len(found))
                found_columns.extend(map(vocabulary.__getitem__, found))
                counts.extend(map(document.__getitem__, found))
        # The other papers' counts, for the whole batch at once: 2 x the title's + the abstract's.
        (title_columns, title_lengths), (abstract_columns, abstract_lengths) = columns
        matrix = (
            2 * column_counts(title_columns, title_lengths, shape[1], keep=simple)
            + column_counts(abstract_columns, abstract_lengths, shape[1], keep=simple)
            + sparse.csr_matrix((np.array(counts, dtype=np.float64), (rows, found_columns)), shape=shape)
        )
        matrix.sort_indices()
        # What TfidfTransformer.transform does with sublinear_tf and l2 norm.
        np.log(matrix.data, matrix.data)
        matrix.data += 1.0
        matrix.data *= self.vectorizer.idf_[matrix.indices]
        from sklearn.preprocessing import normalize  # see the note on imports at the top

        return normalize(matrix, norm="l2", copy=False)

    def matrix(self, texts: Sequence[PaperText]) -> sparse.csr_matrix:
        """One row per paper: [tf-idf | categories | rule scores | cue scores], for a batch at once."""
        tokens = [(tokenise(text.title), tokenise(text.abstract)) for text in texts]
        titles, abstracts = [title for title, _ in tokens], [abstract for _, abstract in tokens]
        title_terms, title_lengths = token_columns([title.tokens for title in titles], self._terms)
        abstract_terms, abstract_lengths = token_columns(
            [abstract.tokens for abstract in abstracts], self._terms
        )
        found = self.cues.keyword_matrix(
            titles,
            abstracts,
            forms=(
                (self._form_of[title_terms], title_lengths),
                (self._form_of[abstract_terms], abstract_lengths),
            ),
        )
        cue_block = found.copy()
        np.log1p(cue_block.data, cue_block.data)
        rule = self.cues.category_matrix(texts) + (found @ self._rule_incidence).toarray()
        rule_block = sparse.csr_matrix(np.log1p(rule))
        rows, cols, values = [], [], []
        category_columns = self.categories
        for row, text in enumerate(texts):
            for category in set(text.categories):
                column = category_columns.get(category)
                if column is not None:
                    rows.append(row)
                    cols.append(column)
                    values.append(CATEGORY_WEIGHT * (1.0 if category == text.primary_category else 0.5))
        category_block = sparse.csr_matrix(
            (values, (rows, cols)), shape=(len(texts), len(category_columns)), dtype=np.float64
        )
        tfidf_columns = (
            (self._tfidf_of[title_terms], title_lengths),
            (self._tfidf_of[abstract_terms], abstract_lengths),
        )
        tfidf = self.text_matrix(texts, tokens, tfidf_columns) * TFIDF_WEIGHT
        return sparse.hstack([tfidf, category_block, rule_block, cue_block], format="csr")


@dataclass(frozen=True, slots=True)
class Reason:
    """One piece of evidence behind a topic score: what it is and how much it moved the score.

    `kind`: "word" (a term of the text model), "phrase" (a keyword or cue found), "category" (an arXiv
    category) or "rules" (the rule score of the topic named by `label`). `weight`: its contribution
    to the model's log-odds, or, for a topic scored by its rules, to the rule score; negative when it
    counted against the topic.
    """

    kind: str
    label: str
    weight: float

    def __str__(self) -> str:
        sign = "+" if self.weight >= 0 else "\u2212"
        if self.kind == "phrase":
            label = f"\u201c{self.label}\u201d"
        elif self.kind == "rules":
            label = f"keyword rules of {self.label}"
        elif self.kind == "category":
            label = f"category {self.label}"
        else:
            label = self.label
        return f"{label} {sign}{abs(self.weight):.2f}"


@dataclass
class _TopicModel:
    spec: TopicSpec
    has_model: bool  # scored by a logistic model (its own, or the cold-start one): odds scale
    positives: int
    negatives: int
    kind: str = ""  # "model" (its own labels), "cold" (papers.relevance.coldstart) or "rules"

    def __post_init__(self):
        if not self.kind:
            self.kind = "model" if self.has_model else "rules"

    @property
    def topic_id(self) -> int:
        return self.spec.id


@dataclass
class TopicTagger:
    """Scores papers against a set of topics. Build with `fit_tagger`; safe to share between threads."""

    topics: list[_TopicModel]
    features: _Features | None
    weights: np.ndarray = field(repr=False)  # width x topics (zero columns for rule-scored topics)
    intercepts: np.ndarray = field(repr=False)
    fingerprint: object = None
    # Each topic's column in the rule block (its position when the features were built).
    rule_positions: list[int] = field(default_factory=list)
    # Per topic: added to the log-odds when its keyword rules alone reach coldstart.RULE_LINE.
    bonus: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self):
        if not self.rule_positions:
            self.rule_positions = list(range(len(self.topics)))
        if self.bonus is None:
            self.bonus = np.zeros(len(self.topics))

    def _bonus(self, matrix) -> np.ndarray:
        """papers x topics: each topic's bonus where its rule score reaches the line, else 0."""
        result = np.zeros((matrix.shape[0], len(self.topics)))
        topics = np.flatnonzero(self.bonus)
        if not len(topics):
            return result
        # One column slice for every topic with a bonus: slicing them one by one was most of the cost.
        columns = [self.features.rule_offset + self.rule_positions[i] for i in topics]
        rules = np.expm1(matrix[:, columns].toarray())
        result[:, topics] = self.bonus[topics] * (rules >= coldstart.RULE_LINE - 1e-9)
        return result

    @property
    def topic_ids(self) -> list[int]:
        return [topic.spec.id for topic in self.topics]

    def scores(self, papers: Sequence) -> np.ndarray:
        """papers x topics: every score, whatever the thresholds (the admin's near-threshold view)."""
        texts = [paper if isinstance(paper, PaperText) else PaperText.of(paper) for paper in papers]
        result = np.zeros((len(texts), len(self.topics)))
        if not texts or not self.topics:
            return result
        matrix = self.features.matrix(texts)
        logits = matrix @ self.weights + self.intercepts + self._bonus(matrix)
        shift = math.log(DECISION_PROBABILITY / (1 - DECISION_PROBABILITY))
        modelled = np.array([topic.has_model for topic in self.topics])
        result[:, modelled] = np.minimum(np.exp(np.asarray(logits)[:, modelled] - shift), MAX_SCORE)
        # Topics without a model: papers.tagging's rule score, from the block the matrix already holds.
        rule_columns = [
            self.features.rule_offset + self.rule_positions[i]
            for i, topic in enumerate(self.topics)
            if not topic.has_model
        ]
        if rule_columns:
            result[:, ~modelled] = np.expm1(matrix[:, rule_columns].toarray())
        return result

    def restricted(self, topic_ids: Iterable[int]) -> "TopicTagger":
        """The same models, scoring only these topics (re-tagging one topic)."""
        wanted = set(topic_ids)
        keep = [i for i, topic in enumerate(self.topics) if topic.spec.id in wanted]
        return TopicTagger(
            topics=[self.topics[i] for i in keep],
            features=self.features,
            weights=self.weights[:, keep],
            intercepts=self.intercepts[keep],
            fingerprint=self.fingerprint,
            rule_positions=[self.rule_positions[i] for i in keep],
            bonus=self.bonus[keep],
        )

    def score_many(self, papers: Sequence) -> list[dict[int, float]]:
        """{topic_id: score} per paper, for the topics whose score reaches their threshold."""
        scores = self.scores(papers)
        thresholds = np.array([topic.spec.threshold for topic in self.topics], dtype=float)
        ids = self.topic_ids
        result: list[dict[int, float]] = [{} for _ in range(len(scores))]
        rows, cols = np.nonzero((scores > 0) & (scores >= thresholds))
        for row, col in zip(rows.tolist(), cols.tolist(), strict=True):
            result[row][ids[col]] = round(float(scores[row, col]), 3)
        return result

    def score(
        self, *, title: str, abstract: str, categories: Sequence[str], primary_category: str = ""
    ) -> dict[int, float]:
        """The same as papers.tagging.TopicIndex.score, for one paper (prefer score_many for many)."""
        text = PaperText(title, abstract, tuple(categories), primary_category)
        return self.score_many([text])[0]

    def explain(
        self, papers: Sequence, topic_id: int, *, top: int = 6, matrix: sparse.csr_matrix | None = None
    ) -> list[list[Reason]]:
        """Per paper: the `top` pieces of evidence that moved `topic_id`'s score most, largest first.

        The same features and weights `scores` multiplies: for a topic with a model, each column's
        value x its weight (its share of the log-odds); for a topic scored by its rules, each of its
        keywords' and categories' share of the rule score. `matrix` is these papers' feature matrix
        when the caller has it already (one paper explained for every topic: see explain_all).
        """
        texts = [paper if isinstance(paper, PaperText) else PaperText.of(paper) for paper in papers]
        if not texts:
            return []
        position = self.topic_ids.index(topic_id)
        matrix = self.features.matrix(texts) if matrix is None else matrix
        names = self.features.names()
        if self.topics[position].has_model:
            contributions = matrix.multiply(self.weights[:, position][np.newaxis, :]).tocsr()
            bonus = self._bonus(matrix)[:, position]
            if bonus.any():  # named by the rule column: "the keyword rules reach the line"
                column = self.features.rule_offset + self.rule_positions[position]
                rows = np.flatnonzero(bonus)
                contributions = contributions + sparse.csr_matrix(
                    (bonus[rows], (rows, np.full(len(rows), column))), shape=contributions.shape
                )
        else:
            rule_position = self.rule_positions[position]
            features = self.features
            keep = np.zeros(features.width)
            own = [
                features.cue_offset + k
                for k, owner in enumerate(features.rule_of_keyword)
                if owner == rule_position
            ]
            keep[own] = 1.0
            contributions = matrix.multiply(keep[np.newaxis, :]).tocsr()
            contributions.data = np.expm1(contributions.data)  # the cue block holds log1p(rule value)
            categories = features.cues.category_matrix(texts)[:, rule_position]
            topic_categories = features.cues.topics[rule_position].categories
            extra_rows, extra_cols, extra_values = [], [], []
            for row, text in enumerate(texts):
                if categories[row]:
                    for category in text.categories:
                        column = features.categories.get(category)
                        if category in topic_categories and column is not None:
                            extra_rows.append(row)
                            extra_cols.append(features.category_offset + column)
                            extra_values.append(float(categories[row]))
                            break
            contributions = contributions + sparse.csr_matrix(
                (extra_values, (extra_rows, extra_cols)), shape=contributions.shape
            )
        contributions = contributions.tocsr()
        contributions.eliminate_zeros()
        result = []
        for row in range(len(texts)):
            start, end = contributions.indptr[row], contributions.indptr[row + 1]
            columns, values = contributions.indices[start:end], contributions.data[start:end]
            order = np.argsort(-np.abs(values), kind="stable")[:top]
            reasons = []
            for i in order.tolist():
                kind, label = names[columns[i]]
                if abs(values[i]) >= 0.005:
                    reasons.append(Reason(kind, label, round(float(values[i]), 3)))
            result.append(reasons)
        return result

    def explain_all(self, papers: Sequence, *, top: int = 6) -> dict[int, list[list[Reason]]]:
        """`explain` for every topic, the papers' features computed once."""
        texts = [paper if isinstance(paper, PaperText) else PaperText.of(paper) for paper in papers]
        if not texts:
            return {topic_id: [] for topic_id in self.topic_ids}
        matrix = self.features.matrix(texts)
        return {t: self.explain(texts, t, top=top, matrix=matrix) for t in self.topic_ids}

    def text_vectors(self, papers: Sequence) -> sparse.csr_matrix:
        """L2-normalised tf-idf rows of these papers (the features reader profiles use)."""
        texts = [paper if isinstance(paper, PaperText) else PaperText.of(paper) for paper in papers]
        return self.features.text_matrix(texts)

    def memory_bytes(self) -> int:
        """Roughly what the fitted tagger holds: vocabulary, idf, weights, compiled rules."""
        vectorizer = self.features.vectorizer
        vocabulary = sum(sys.getsizeof(term) + 100 for term in vectorizer.vocabulary_)  # key, int, slot
        arrays = vectorizer.idf_.nbytes + self.weights.nbytes + self.intercepts.nbytes
        rules = sum(sys.getsizeof(form) for form in self.features.cues._starts)
        return vocabulary + arrays + rules * 4


def _cue_lists(topics: Sequence[TopicSpec]) -> list[list[str]]:
    """Per topic: its own keywords, then the shipped cues for its slug, each phrase once."""
    lists = []
    for topic in topics:
        shipped = CUES.get(topic.slug, {})
        seen: dict[str, None] = {}
        for phrase in (*topic.keywords, *shipped.get("in", ()), *shipped.get("out", ())):
            seen.setdefault(phrase.strip(), None)
        # Only phrases with a word in them compile to a keyword: one phrase, one column.
        lists.append([phrase for phrase in seen if TOKEN_RE.search(phrase)])
    return lists


def fit_tagger(
    topics: Iterable[TopicSpec],
    examples: Sequence[Example],
    *,
    fingerprint=None,
    corpus: Sequence[PaperText] = (),
    fit_only: Iterable[str] | None = None,
) -> TopicTagger:
    """Fit every topic's model on these examples (plus each topic's own description).

    `corpus`: unlabelled papers (the newest ingested). With enough of them, a topic without enough
    labels gets a cold-start model (papers.relevance.coldstart) instead of its bare rule score.
    `fit_only`: slugs of the topics to fit (the dev-set harness scores one topic at a time); the
    others keep their rule scores, and their labels still teach the cold-start model.
    """
    only = None if fit_only is None else set(fit_only)
    from sklearn.feature_extraction.text import TfidfVectorizer  # see the note on imports at the top
    from sklearn.linear_model import LogisticRegression

    topics = list(topics)
    labelled_count = len(examples)
    examples = list(examples) + [_description_example(topic) for topic in topics]
    texts = [example.text for example in examples]
    corpus = [text if isinstance(text, PaperText) else PaperText.of(text) for text in corpus]

    vectorizer = TfidfVectorizer(
        ngram_range=(1, 1), sublinear_tf=True, min_df=2, stop_words="english", dtype=np.float64
    )
    vectorizer.fit([_document(text) for text in [*texts, *corpus]])
    category_names = sorted({category for text in texts for category in text.categories})
    cues = TopicIndex()
    rule_of_keyword: list[int] = []
    cue_phrases: list[str] = []
    cue_ranges = []
    for position, (topic, cue_list) in enumerate(zip(topics, _cue_lists(topics), strict=True)):
        start = len(rule_of_keyword)
        rule_words = {keyword.strip() for keyword in topic.keywords}
        # One keyword per phrase: _cue_lists keeps only phrases with a word, the ones TopicIndex compiles.
        cues.add(topic_id=topic.id, keywords=cue_list, categories=topic.categories, threshold=0.0)
        rule_of_keyword.extend(position if phrase in rule_words else -1 for phrase in cue_list)
        cue_phrases.extend(cue_list)
        cue_ranges.append(range(start, len(rule_of_keyword)))
    features = _Features(
        vectorizer=vectorizer,
        categories={name: i for i, name in enumerate(category_names)},
        cues=cues,
        rule_of_keyword=rule_of_keyword,
        cue_phrases=cue_phrases,
        topic_slugs=[topic.slug for topic in topics],
    )
    matrix = features.matrix(texts)

    shared = np.zeros(features.width, dtype=bool)
    shared[: features.cue_offset] = True
    weights = np.zeros((features.width, len(topics)))
    intercepts = np.zeros(len(topics))
    bonus = np.zeros(len(topics))
    fitted: list[_TopicModel] = []
    cold = _ColdStart(features, topics, examples[:labelled_count], matrix[:labelled_count], corpus)
    for position, topic in enumerate(topics):
        rows, labels, sample_weights = [], [], []
        for row, example in enumerate(examples):
            label = example.label(topic.slug)
            if label is not None:
                rows.append(row)
                labels.append(label)
                sample_weights.append(example.weight_for(topic.slug))
        positives = sum(labels) - 1  # the description does not count as a pinned paper
        negatives = len(labels) - sum(labels)
        if only is not None and topic.slug not in only:
            fitted.append(
                _TopicModel(topic, has_model=False, positives=max(positives, 0), negatives=negatives)
            )
            continue
        if cold.applies(position) and positives < WARM_POSITIVES:
            weights[:, position], intercepts[position], bonus[position] = cold.fit(position)
            fitted.append(
                _TopicModel(
                    topic, has_model=True, positives=max(positives, 0), negatives=negatives, kind="cold"
                )
            )
            continue
        if positives < MIN_POSITIVES or negatives == 0:
            fitted.append(
                _TopicModel(topic, has_model=False, positives=max(positives, 0), negatives=negatives)
            )
            continue
        columns = shared.copy()
        columns[[features.cue_offset + i for i in cue_ranges[position]]] = True
        column_index = np.flatnonzero(columns)
        model = LogisticRegression(C=REGULARISATION_C, class_weight="balanced", max_iter=2000)
        model.fit(matrix[rows][:, column_index], labels, sample_weight=sample_weights)
        weights[column_index, position] = model.coef_[0]
        intercepts[position] = model.intercept_[0]
        fitted.append(_TopicModel(topic, has_model=True, positives=positives, negatives=negatives))
    return TopicTagger(
        topics=fitted,
        features=features,
        weights=weights,
        intercepts=intercepts,
        fingerprint=fingerprint,
        bonus=bonus,
    )


class _ColdStart:
    """Cold-start models for the topics of one fit (papers.relevance.coldstart), in its feature space."""

    def __init__(self, features: _Features, topics, examples, matrix, corpus):
        self.features, self.topics, self.examples = features, topics, examples
        self.vocabulary = len(features.vectorizer.vocabulary_)
        self.shared = None
        self.inputs: dict[int, coldstart.ColdInputs] = {}
        if len(corpus) < coldstart.MIN_CORPUS:
            return
        self.corpus_matrix = features.matrix(corpus)
        self.corpus_text = self._text(self.corpus_matrix)
        self.labelled_matrix = matrix
        self.labelled_text = self._text(matrix)
        queries = features.text_matrix([_description_example(topic).text for topic in topics]).toarray()
        for position in range(len(topics)):
            own = [k for k, owner in enumerate(features.rule_of_keyword) if owner == position]
            self.inputs[position] = coldstart.ColdInputs(
                query=queries[position],
                rule_column=features.rule_offset + position,
                cue_columns=np.array([features.cue_offset + k for k in own], dtype=np.intp),
                phrase=np.array(
                    [
                        float(
                            len(features.cues.keywords[k].words) > 1
                            or features.cues.keywords[k].acronym is not None
                        )
                        for k in own
                    ]
                ),
            )
        self.shared = coldstart.fit_shared(self._teachers())

    def _text(self, matrix) -> sparse.csr_matrix:
        return (matrix[:, : self.vocabulary] / TFIDF_WEIGHT).tocsr()

    def _labels(self, slug: str) -> tuple[list[int], list[bool]]:
        """Rows labelled for this topic at full weight (not background), and their labels."""
        rows, labels = [], []
        for row, example in enumerate(self.examples):
            label = example.label(slug)
            if label is not None and example.weight_for(slug) >= 1.0:
                rows.append(row)
                labels.append(label)
        return rows, labels

    def _teachers(self):
        teachers = []
        for position, topic in enumerate(self.topics):
            rows, labels = self._labels(topic.slug)
            if sum(labels) < 2 * MIN_POSITIVES or len(rows) < coldstart.MIN_CORPUS:
                continue
            inputs = self.inputs[position]
            stats = coldstart.topic_stats(inputs, self.corpus_text, self.corpus_matrix)
            teachers.append(
                (
                    inputs,
                    stats,
                    (self.corpus_text, self.corpus_matrix),
                    (self.labelled_text[rows], self.labelled_matrix[rows]),
                    np.array(labels, dtype=float),
                )
            )
        return teachers

    def applies(self, position: int) -> bool:
        return self.shared is not None

    def fit(self, position: int) -> tuple[np.ndarray, float, float]:
        """(weight column, intercept, bonus) of the topic's cold-start model on the tagger's scale."""
        shared, inputs = self.shared, self.inputs[position]
        stats = coldstart.topic_stats(inputs, self.corpus_text, self.corpus_matrix)
        first = coldstart.stage_features(inputs, stats, self.corpus_text, self.corpus_matrix, second=False)
        probabilities = 1.0 / (1.0 + np.exp(-(first @ shared.first + shared.first_bias)))
        rows, labels = self._labels(self.topics[position].slug)
        verdicts = np.array(labels, dtype=bool)
        rows = np.array(rows, dtype=np.intp)
        coldstart.set_centroid(
            stats,
            probabilities,
            self.corpus_text,
            pinned=self.labelled_text[rows[verdicts]] if len(rows) else None,
            removed=self.labelled_text[rows[~verdicts]] if len(rows) else None,
        )
        w = shared.second
        column = np.zeros(self.features.width)
        text_weights = (
            w[0] / stats.spread[0] * stats.query
            + w[1] / stats.spread[1] * stats.association
            + w[7] / stats.spread[2] * stats.centroid
        ) / TFIDF_WEIGHT
        column[: self.vocabulary] = text_weights
        column[inputs.rule_column] = w[2]
        if len(inputs.cue_columns):
            column[inputs.cue_columns] = w[3] + w[4] * stats.idf + w[5] * inputs.phrase
        intercept = (
            shared.second_bias
            - w[0] * stats.mean[0] / stats.spread[0]
            - w[1] * stats.mean[1] / stats.spread[1]
            - w[7] * stats.mean[2] / stats.spread[2]
        )
        if len(rows):  # the verdicts say where the line is
            verdict_rows = coldstart.stage_features(
                inputs, stats, self.labelled_text[rows], self.labelled_matrix[rows], second=True
            )
            decision = verdict_rows @ w + shared.second_bias - coldstart.logit(shared.line)
            intercept += coldstart.verdict_shift(decision, verdicts.astype(float))
        intercept += math.log(DECISION_PROBABILITY / (1 - DECISION_PROBABILITY)) - coldstart.logit(
            shared.line
        )
        return column, intercept, float(w[6])
