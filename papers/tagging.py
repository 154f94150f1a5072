"""Rule-based topic scoring from a paper's title, abstract and arXiv categories.

A topic's keyword lines are words or phrases. Matching is on whole words, case-insensitive, and
word forms count: "quantization" also finds "quantize", "quantized" and "quantizing"; a phrase
matches whatever separates its words ("chain of thought" = "chain-of-thought"). Keywords written
in capitals (RAG, CLIP, DPO) are acronyms and match only in capitals, because their lower-case
spellings are ordinary words ("rag", "clip").

Score of a topic = sum over its keywords of specificity x (title weight if in the title + abstract
weight growing with repeats) + category weights. A paper gets the topic when the score reaches
the topic's threshold. Text is matched by token lookups, not one regex per keyword, so tagging a
thousand papers against a dozen topics takes milliseconds.

Two paths compute the same scores. `score()` reads one paper the plain way and is the reference;
`score_many()` / `keyword_matrix()` tag a batch: each text is tokenised once (`tokenise`, shared
with papers.relevance's tf-idf), single-word keywords are counted by one sparse product over the
batch, and only phrases and acronyms are checked paper by paper. Tests hold the two paths equal.

`score_topics()` is the seam for other taggers: anything returning {topic_id: score} can replace it.
"""

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from itertools import combinations, product

import numpy as np
from scipy import sparse

TITLE_WEIGHT = 2.0  # a keyword in the title says more about the paper than one in the abstract
ABSTRACT_WEIGHT = 1.0
ABSTRACT_REPEAT_WEIGHT = 0.5  # each further mention in the abstract, up to ABSTRACT_MAX_MENTIONS
ABSTRACT_MAX_MENTIONS = 3
# A lone common word ("reasoning", "robot") is weaker evidence than a phrase or an acronym.
SINGLE_WORD_SPECIFICITY = 0.6
PRIMARY_CATEGORY_WEIGHT = 1.0
CROSS_LIST_CATEGORY_WEIGHT = 0.5
# A score is a sum whose order follows set iteration, so its last bits vary between processes:
# rounded to this many places before the threshold, 0.6 + 0.4 reaches 1.0 every time.
SCORE_DECIMALS = 9

_TOKEN_RE = re.compile(r"[^\W_]+")
# Suffix families: a keyword ending in one of these matches the same stem with any ending of its family.
_IZE_FAMILY = (
    "izations", "isations", "ization", "isation", "izing", "ising", "izers", "izer",
    "ized", "ised", "izes", "ises", "ize", "ise",
)  # fmt: skip
_GENERIC_SUFFIXES = ("ations", "ation", "ings", "ing", "ers", "er", "ed", "es", "s", "e")
_GENERIC_ENDINGS = (
    "", "s", "es", "e", "ed", "d", "ing", "ings", "er", "ers", "ation", "ations", "al", "ic", "ics",
)  # fmt: skip
_MIN_STEM = 4  # shorter stems would match unrelated words
_VOWELS = set("aeiou")


def word_forms(word: str) -> frozenset[str]:
    """The lower-case surface forms a keyword word matches: 'quantization' -> quantize, quantized, …"""
    word = word.lower()
    if not word.isalpha() or len(word) < _MIN_STEM:
        return frozenset({word, word + "s"})
    for suffix in _IZE_FAMILY:
        stem = word[: -len(suffix)]
        if word.endswith(suffix) and len(stem) >= _MIN_STEM - 1:
            return frozenset({stem + ending for ending in _IZE_FAMILY} | {word})
    stem = word
    for suffix in _GENERIC_SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= _MIN_STEM:
            stem = word[: -len(suffix)]
            break
    forms = {stem + ending for ending in _GENERIC_ENDINGS} | {word}
    # "planning" -> "plann": also "plan", "plans".
    if len(stem) > _MIN_STEM and stem[-1] == stem[-2] and stem[-1] not in _VOWELS:
        forms |= {stem[:-1], stem[:-1] + "s"}
    return frozenset(forms)


def _is_acronym(word: str) -> bool:
    letters = [c for c in word if c.isalpha()]
    return len(letters) >= 2 and all(c.isupper() for c in letters)


@dataclass(frozen=True, slots=True)
class _WordMatcher:
    forms: frozenset[str]  # lower-case surface forms
    case_sensitive: bool  # an acronym: must also match in capitals


@dataclass(frozen=True, slots=True)
class _Keyword:
    topic_index: int
    words: tuple[_WordMatcher, ...]
    specificity: float
    # For keywords with an acronym: a case-sensitive pattern that confirms (and counts) the match.
    exact: re.Pattern | None
    # A keyword that is one acronym ("LLM"): confirmed by counting tokens, no pattern needed.
    acronym: str | None = None


def _exact_pattern(words: list[_WordMatcher], originals: list[str]) -> re.Pattern:
    parts = []
    for word, original in zip(words, originals, strict=True):
        if word.case_sensitive:
            parts.append(f"(?:{re.escape(original)}s?)")
        else:
            alternatives = "|".join(re.escape(form) for form in sorted(word.forms, key=len, reverse=True))
            parts.append(f"(?i:{alternatives})")
    return re.compile(r"(?<![^\W_])" + r"[\W_]+".join(parts) + r"(?![^\W_])")


def _compile_keyword(text: str, topic_index: int) -> _Keyword | None:
    tokens = _TOKEN_RE.findall(text)
    if not tokens:
        return None
    words = []
    for position, token in enumerate(tokens):
        if _is_acronym(token):
            words.append(_WordMatcher(frozenset({token.lower(), token.lower() + "s"}), case_sensitive=True))
        elif position == len(tokens) - 1:
            # Word forms on the head word only: "graph neural networks", not "graphs neural network".
            words.append(_WordMatcher(word_forms(token), case_sensitive=False))
        else:
            words.append(_WordMatcher(frozenset({token.lower()}), case_sensitive=False))
    single_plain_word = len(tokens) == 1 and not words[0].case_sensitive
    specificity = SINGLE_WORD_SPECIFICITY if single_plain_word else 1.0
    exact = _exact_pattern(words, tokens) if any(word.case_sensitive for word in words) else None
    acronym = tokens[0] if len(tokens) == 1 and words[0].case_sensitive else None
    return _Keyword(
        topic_index=topic_index, words=tuple(words), specificity=specificity, exact=exact, acronym=acronym
    )


@dataclass(frozen=True, slots=True)
class Tokens:
    """One text read once for matching: the text (acronyms are confirmed in capitals), its lower-case
    tokens in order (phrases) and how often each occurs (single words; papers.relevance's tf-idf)."""

    text: str
    tokens: list[str]
    counts: Counter


def tokenise(text: str) -> Tokens:
    tokens = _TOKEN_RE.findall(text.lower())
    return Tokens(text, tokens, Counter(tokens))


@dataclass(frozen=True)
class _BatchTables:
    """The keywords arranged for tagging a batch (built once per TopicIndex, on first use)."""

    # Every lower-case form of every keyword word -> its column in a batch's form-count matrix.
    form_columns: dict[str, int]
    # forms x keywords: 1 where a form is a single plain word keyword's (their counts, by one product).
    single_incidence: sparse.csr_matrix
    # Phrases and acronyms have one slot per word. forms x slots: 1 where a form fills the slot;
    # slots x keywords: 1 where the slot is the keyword's. A paper is a candidate for a keyword when it
    # holds a form for every slot; only candidates are then checked word by word, in order.
    slot_incidence: sparse.csr_matrix
    slot_keywords: sparse.csr_matrix
    slots_needed: np.ndarray
    # Phrases two of whose words share a form ("data to data"): two mentions may share words, which
    # counting substrings would miss, so these are counted position by position.
    self_overlapping: frozenset[int]
    # Every other phrase: its spellings up to the last word (" w1  w2  "), and the last word's forms.
    phrase_spellings: dict[int, tuple[tuple[str, ...], frozenset[str]]]
    # One pattern finding every single acronym in capitals. It has no lookbehind so the regex engine
    # can skip to capitals; a match's start is checked by hand.
    acronym_re: re.Pattern | None
    specificity: np.ndarray
    # keywords x topics, 1 where the keyword is the topic's.
    keyword_topics: sparse.csr_matrix
    # arXiv category -> indexes of the topics listing it.
    category_topics: dict[str, list[int]]


def _incidence(rows, cols, shape) -> sparse.csr_matrix:
    return sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=shape)


def _acronym_pattern(acronyms: Iterable[str]) -> re.Pattern | None:
    alternatives = sorted(set(acronyms), key=lambda a: (-len(a), a))
    if not alternatives:
        return None
    return re.compile("(?:" + "|".join(map(re.escape, alternatives)) + r")s?(?![^\W_])")


@dataclass
class _CompiledTopic:
    topic_id: int
    threshold: float
    categories: frozenset[str]


def _positions(tokens: list[str], token: str):
    start = 0
    while True:
        try:
            position = tokens.index(token, start)
        except ValueError:
            return
        yield position
        start = position + 1


@dataclass
class TopicIndex:
    """Topics compiled once for a batch of papers."""

    topics: list[_CompiledTopic] = field(default_factory=list)
    keywords: list[_Keyword] = field(default_factory=list)
    # Lower-case first word of each keyword -> indexes into `keywords`, and the same words as a set.
    _first: dict[str, list[int]] = field(default_factory=dict)
    _starts: set[str] = field(default_factory=set)

    def add(self, *, topic_id: int, keywords: Iterable[str], categories: Iterable[str], threshold: float):
        self.__dict__.pop("_batch", None)  # the batch tables are rebuilt with this topic
        topic_index = len(self.topics)
        self.topics.append(_CompiledTopic(topic_id, threshold, frozenset(c.strip() for c in categories)))
        for text in keywords:
            keyword = _compile_keyword(text, topic_index)
            if keyword is None:
                continue
            keyword_index = len(self.keywords)
            self.keywords.append(keyword)
            for form in keyword.words[0].forms:
                self._first.setdefault(form, []).append(keyword_index)
                self._starts.add(form)

    def _mentions(self, text: str) -> dict[int, int]:
        """keyword index -> number of mentions in text.

        Runs for every paper against every topic, so the work is done in C where possible: one
        tokenisation of the lower-cased text, a set intersection to find the few tokens that can
        start a keyword, list.index to find where they are; only those positions are checked in
        Python. Keywords with an acronym are then confirmed in capitals by their own pattern.
        """
        lower = _TOKEN_RE.findall(text.lower())
        hits = self._starts.intersection(lower)
        if not hits:
            return {}
        counts: dict[int, int] = {}
        to_confirm: set[int] = set()
        keywords, length = self.keywords, len(lower)
        for token in hits:
            candidates = self._first[token]
            for position in _positions(lower, token):
                for keyword_index in candidates:
                    words = keywords[keyword_index].words
                    if position + len(words) > length or not all(
                        lower[position + offset] in word.forms
                        for offset, word in enumerate(words[1:], start=1)
                    ):
                        continue
                    if keywords[keyword_index].exact is not None:
                        to_confirm.add(keyword_index)
                    else:
                        counts[keyword_index] = counts.get(keyword_index, 0) + 1
        original: list[str] | None = None
        for keyword_index in to_confirm:
            acronym = keywords[keyword_index].acronym
            if acronym is not None:
                # Tokens are whole words: counting "LLM" and "LLMs" among them is the pattern's job, in C.
                if original is None:
                    original = _TOKEN_RE.findall(text)
                mentions = original.count(acronym) + original.count(acronym + "s")
            else:
                mentions = len(keywords[keyword_index].exact.findall(text))
            if mentions:
                counts[keyword_index] = mentions
        return counts

    def keyword_scores(self, *, title: str, abstract: str) -> dict[int, float]:
        """{keyword index: its weighted mentions} for the keywords found (features for papers.relevance)."""
        scores: dict[int, float] = {}
        for keyword_index in self._mentions(title):
            scores[keyword_index] = TITLE_WEIGHT * self.keywords[keyword_index].specificity
        for keyword_index, mentions in self._mentions(abstract).items():
            repeats = min(mentions, ABSTRACT_MAX_MENTIONS) - 1
            scores[keyword_index] = scores.get(keyword_index, 0.0) + self.keywords[
                keyword_index
            ].specificity * (ABSTRACT_WEIGHT + ABSTRACT_REPEAT_WEIGHT * repeats)
        return scores

    def category_scores(self, *, categories: Sequence[str], primary_category: str = "") -> list[float]:
        """Each topic's category weight for a paper with these categories, in `topics` order."""
        primary = primary_category or (categories[0] if categories else "")
        category_set = set(categories)
        result = [0.0] * len(self.topics)
        for index, topic in enumerate(self.topics):
            if topic.categories:
                if primary in topic.categories:
                    result[index] = PRIMARY_CATEGORY_WEIGHT
                elif category_set & topic.categories:
                    result[index] = CROSS_LIST_CATEGORY_WEIGHT
        return result

    def raw_scores(
        self, *, title: str, abstract: str, categories: Sequence[str], primary_category: str = ""
    ) -> list[float]:
        """Every topic's score in `topics` order, whatever its threshold."""
        raw = self.category_scores(categories=categories, primary_category=primary_category)
        for keyword_index, value in self.keyword_scores(title=title, abstract=abstract).items():
            raw[self.keywords[keyword_index].topic_index] += value
        return raw

    def score(
        self, *, title: str, abstract: str, categories: Sequence[str], primary_category: str = ""
    ) -> dict[int, float]:
        """{topic_id: score} for every topic whose score reaches its threshold."""
        raw = self.raw_scores(
            title=title, abstract=abstract, categories=categories, primary_category=primary_category
        )
        raw = [round(score, SCORE_DECIMALS) for score in raw]
        return {
            topic.topic_id: round(score, 3)
            for topic, score in zip(self.topics, raw, strict=True)
            if score > 0 and score >= topic.threshold
        }

    @cached_property
    def _batch(self) -> _BatchTables:
        form_columns: dict[str, int] = {}
        single_rows, single_cols, slot_rows, slot_cols, slot_owner = [], [], [], [], []
        slots_needed = np.zeros(len(self.keywords))
        for keyword_index, keyword in enumerate(self.keywords):
            if len(keyword.words) == 1 and keyword.acronym is None:
                for form in keyword.words[0].forms:
                    single_rows.append(form_columns.setdefault(form, len(form_columns)))
                    single_cols.append(keyword_index)
                continue
            slots_needed[keyword_index] = len(keyword.words)
            for word in keyword.words:
                slot = len(slot_owner)
                slot_owner.append(keyword_index)
                for form in word.forms:
                    slot_rows.append(form_columns.setdefault(form, len(form_columns)))
                    slot_cols.append(slot)
        category_topics: dict[str, list[int]] = {}
        for topic_index, topic in enumerate(self.topics):
            for category in topic.categories:
                category_topics.setdefault(category, []).append(topic_index)
        forms, keywords, slots = len(form_columns), len(self.keywords), len(slot_owner)
        overlapping = {
            keyword_index
            for keyword_index, keyword in enumerate(self.keywords)
            if any(a.forms & b.forms for a, b in combinations(keyword.words, 2))
        }
        return _BatchTables(
            form_columns=form_columns,
            single_incidence=_incidence(single_rows, single_cols, (forms, keywords)),
            slot_incidence=_incidence(slot_rows, slot_cols, (forms, slots)),
            slot_keywords=_incidence(range(slots), slot_owner, (slots, keywords)),
            slots_needed=slots_needed,
            self_overlapping=frozenset(overlapping),
            phrase_spellings={
                keyword_index: (
                    tuple(
                        " " + "".join(form + "  " for form in spelling)
                        for spelling in product(*(sorted(word.forms) for word in keyword.words[:-1]))
                    ),
                    keyword.words[-1].forms,
                )
                for keyword_index, keyword in enumerate(self.keywords)
                if len(keyword.words) > 1 and keyword_index not in overlapping
            },
            acronym_re=_acronym_pattern(k.acronym for k in self.keywords if k.acronym is not None),
            specificity=np.array([keyword.specificity for keyword in self.keywords], dtype=float),
            keyword_topics=_incidence(
                range(keywords), [k.topic_index for k in self.keywords], (keywords, len(self.topics))
            ),
            category_topics=category_topics,
        )

    def _confirmed_mentions(
        self, tables: _BatchTables, text: Tokens, candidates: Iterable[int]
    ) -> dict[int, int]:
        """keyword index -> mentions, for candidate phrases and acronyms: what `_mentions` finds for them."""
        counts: dict[int, int] = {}
        keywords, lower, length = self.keywords, text.tokens, len(text.tokens)
        acronyms: Counter | None = None
        joined: str | None = None
        for keyword_index in candidates:
            keyword = keywords[keyword_index]
            if keyword.acronym is not None:
                if acronyms is None:
                    acronyms = self._acronyms(tables, text.text)
                mentions = acronyms[keyword.acronym] + acronyms[keyword.acronym + "s"]
            elif keyword_index in tables.self_overlapping:
                words, mentions = keyword.words, 0
                for form in text.counts.keys() & words[0].forms:
                    for position in _positions(lower, form):
                        if position + len(words) <= length and all(
                            lower[position + offset] in word.forms
                            for offset, word in enumerate(words[1:], start=1)
                        ):
                            mentions += 1
            else:
                # Tokens joined by two spaces: " w1  w2 " occurs once per place the phrase is written,
                # and str.count finds them all in C, since no two occurrences can share a token.
                if joined is None:
                    joined = " " + "  ".join(lower) + " "
                prefixes, head_forms = tables.phrase_spellings[keyword_index]
                mentions = sum(
                    joined.count(prefix + head + " ")
                    for head in text.counts.keys() & head_forms
                    for prefix in prefixes
                )
                if mentions and keyword.exact is not None:
                    mentions = len(keyword.exact.findall(text.text))
            if mentions:
                counts[keyword_index] = mentions
        return counts

    @staticmethod
    def _acronyms(tables: _BatchTables, text: str) -> Counter:
        """How often each acronym occurs as a whole token, in capitals (its plural too)."""
        found: Counter = Counter()
        for match in tables.acronym_re.finditer(text):
            start = match.start()
            if start == 0 or not text[start - 1].isalnum():  # str.isalnum() is regex's [^\W_]
                found[match.group()] += 1
        return found

    def _mention_matrix(self, tables: _BatchTables, texts: Sequence[Tokens]) -> sparse.csr_matrix:
        """papers x keywords: how often each keyword occurs in each text."""
        columns = tables.form_columns
        rows, cols, counts = [], [], []
        for row, text in enumerate(texts):
            forms = text.counts.keys() & columns.keys()
            if forms:
                rows.extend([row] * len(forms))
                cols.extend(map(columns.__getitem__, forms))
                counts.extend(map(text.counts.__getitem__, forms))
        found = sparse.csr_matrix(
            (np.array(counts, dtype=float), (rows, cols)), shape=(len(texts), len(columns))
        )
        single = found @ tables.single_incidence
        filled = found.sign() @ tables.slot_incidence
        filled = (filled.sign() @ tables.slot_keywords).tocoo()
        candidate = filled.data == tables.slots_needed[filled.col]
        by_row: dict[int, list[int]] = {}
        for row, keyword_index in zip(
            filled.row[candidate].tolist(), filled.col[candidate].tolist(), strict=True
        ):
            by_row.setdefault(row, []).append(keyword_index)
        rows, cols, counts = [], [], []
        for row, candidates in by_row.items():
            for keyword_index, mentions in self._confirmed_mentions(tables, texts[row], candidates).items():
                rows.append(row)
                cols.append(keyword_index)
                counts.append(mentions)
        other = sparse.csr_matrix((np.array(counts, dtype=float), (rows, cols)), shape=single.shape)
        return (single + other).tocsr()

    def keyword_matrix(self, titles: Sequence[Tokens], abstracts: Sequence[Tokens]) -> sparse.csr_matrix:
        """papers x keywords: `keyword_scores` of every paper of a batch, as one sparse matrix."""
        tables = self._batch
        specificity = tables.specificity
        title = self._mention_matrix(tables, titles)
        title.data = TITLE_WEIGHT * specificity[title.indices]
        abstract = self._mention_matrix(tables, abstracts)
        repeats = np.minimum(abstract.data, ABSTRACT_MAX_MENTIONS) - 1
        abstract.data = specificity[abstract.indices] * (ABSTRACT_WEIGHT + ABSTRACT_REPEAT_WEIGHT * repeats)
        return (title + abstract).tocsr()

    def category_matrix(self, papers: Sequence) -> np.ndarray:
        """papers x topics: `category_scores` of every paper (anything with categories, primary_category)."""
        category_topics = self._batch.category_topics
        result = np.zeros((len(papers), len(self.topics)))
        half_rows, half_cols, full_rows, full_cols = [], [], [], []
        for row, paper in enumerate(papers):
            categories = paper.categories or ()
            for category in set(categories):
                for topic_index in category_topics.get(category, ()):
                    half_rows.append(row)
                    half_cols.append(topic_index)
            primary = paper.primary_category or (categories[0] if categories else "")
            for topic_index in category_topics.get(primary, ()):
                full_rows.append(row)
                full_cols.append(topic_index)
        result[half_rows, half_cols] = CROSS_LIST_CATEGORY_WEIGHT
        result[full_rows, full_cols] = PRIMARY_CATEGORY_WEIGHT  # the primary category wins
        return result

    def raw_score_matrix(self, papers: Sequence) -> np.ndarray:
        """papers x topics: `raw_scores` of every paper, with one tokenisation of each text."""
        if not papers or not self.topics:
            return np.zeros((len(papers), len(self.topics)))
        values = self.keyword_matrix(
            [tokenise(paper.title or "") for paper in papers],
            [tokenise(paper.abstract or "") for paper in papers],
        )
        return self.category_matrix(papers) + (values @ self._batch.keyword_topics).toarray()

    def score_many(self, papers: Sequence) -> list[dict[int, float]]:
        """score() for each of these papers (anything with title, abstract, categories, primary_category)."""
        raw = np.round(self.raw_score_matrix(papers), SCORE_DECIMALS)
        thresholds = np.array([topic.threshold for topic in self.topics], dtype=float)
        ids = [topic.topic_id for topic in self.topics]
        result: list[dict[int, float]] = [{} for _ in papers]
        rows, cols = np.nonzero((raw > 0) & (raw >= thresholds))
        for row, col in zip(rows.tolist(), cols.tolist(), strict=True):
            result[row][ids[col]] = round(float(raw[row, col]), 3)
        return result


def compile_topics(topics: Iterable) -> TopicIndex:
    """A TopicIndex from Topic rows (or anything with id, keyword_list, category_list, threshold)."""
    index = TopicIndex()
    for topic in topics:
        index.add(
            topic_id=topic.id,
            keywords=topic.keyword_list,
            categories=topic.category_list,
            threshold=topic.threshold,
        )
    return index


def score_topics(
    title: str, abstract: str, categories: Sequence[str], topics: Iterable | TopicIndex
) -> dict[int, float]:
    """{topic_id: score} of the topics a paper matches; pass a TopicIndex when scoring many papers."""
    index = topics if isinstance(topics, TopicIndex) else compile_topics(topics)
    return index.score(title=title, abstract=abstract, categories=list(categories))
