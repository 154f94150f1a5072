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

`score_topics()` is the seam for other taggers: anything returning {topic_id: score} can replace it.
"""

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

TITLE_WEIGHT = 2.0  # a keyword in the title says more about the paper than one in the abstract
ABSTRACT_WEIGHT = 1.0
ABSTRACT_REPEAT_WEIGHT = 0.5  # each further mention in the abstract, up to ABSTRACT_MAX_MENTIONS
ABSTRACT_MAX_MENTIONS = 3
# A lone common word ("reasoning", "robot") is weaker evidence than a phrase or an acronym.
SINGLE_WORD_SPECIFICITY = 0.6
PRIMARY_CATEGORY_WEIGHT = 1.0
CROSS_LIST_CATEGORY_WEIGHT = 0.5

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
        return {
            topic.topic_id: round(score, 3)
            for topic, score in zip(self.topics, raw, strict=True)
            if score > 0 and score >= topic.threshold
        }

    def score_many(self, papers: Sequence) -> list[dict[int, float]]:
        """score() for each of these papers (anything with title, abstract, categories, primary_category)."""
        return [
            self.score(
                title=paper.title,
                abstract=paper.abstract,
                categories=paper.categories or [],
                primary_category=paper.primary_category,
            )
            for paper in papers
        ]


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
