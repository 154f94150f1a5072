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
with papers.relevance's tf-idf), every token is looked up once among the keywords' word forms, single
words are counted by one sparse product over the batch, phrases are matched word by word for the
whole batch at once (`_PhraseTrie`, in numpy), and only acronyms are checked paper by paper, in
capitals. Tests hold the two paths equal.
"""

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from itertools import chain, product, repeat

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

# A word of a keyword or a text: a run of letters and digits (an underscore separates words). Public
# because papers.relevance must agree on it: a cue phrase without one compiles to no keyword.
TOKEN_RE = re.compile(r"[^\W_]+")
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
    tokens = TOKEN_RE.findall(text)
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


# ASCII text is split without the regex: every character that is not a letter or a digit becomes a
# space and capitals become small letters (one bytes.translate), then str.split. The same tokens as
# TOKEN_RE.findall(text.lower()), in a fraction of the time; other text goes through the regex.
_ASCII_WORD_TABLE = bytes(
    ord(chr(code).lower()) if chr(code).isalnum() else ord(" ") for code in range(128)
) + bytes(range(128, 256))


def lower_tokens(text: str) -> list[str]:
    """The lower-case tokens of `text` in order: runs of letters and digits (regex `[^\\W_]+`)."""
    if text.isascii():
        return text.encode("ascii").translate(_ASCII_WORD_TABLE).decode("ascii").split()
    return TOKEN_RE.findall(text.lower())


class Tokens:
    """One text read once for matching: the text (acronyms are confirmed in capitals) and its lower-case
    tokens in order. `counts` (how often each token occurs) is worked out on first use only: a batch
    counts all its texts' tokens at once with `term_counts`."""

    __slots__ = ("_counts", "text", "tokens")

    def __init__(self, text: str, tokens: list[str]):
        self.text = text
        self.tokens = tokens
        self._counts: Counter | None = None

    @property
    def counts(self) -> Counter:
        if self._counts is None:
            self._counts = Counter(self.tokens)
        return self._counts


def tokenise(text: str) -> Tokens:
    return Tokens(text, lower_tokens(text))


def token_columns(
    token_lists: Sequence[list[str]], columns: Mapping[str, int]
) -> tuple[np.ndarray, np.ndarray]:
    """(column of every token of these lists, -1 for a token not in `columns`; each list's length).

    One dict lookup per token, made in C by map(): no Python runs per token.
    """
    lengths = np.fromiter(map(len, token_lists), dtype=np.intp, count=len(token_lists))
    found = np.fromiter(
        map(columns.get, chain.from_iterable(token_lists), repeat(-1)),
        dtype=np.intp,
        count=int(lengths.sum()),
    )
    return found, lengths


def column_counts(
    found: np.ndarray, lengths: np.ndarray, width: int, *, keep: np.ndarray | None = None
) -> sparse.csr_matrix:
    """texts x columns: how often each column occurs in each text, from `token_columns` (float counts).

    The sparse constructor adds up the repeats. `keep`: one bool per text; the others' rows stay empty.
    """
    row_of_token = np.repeat(np.arange(len(lengths)), lengths)
    known = found >= 0
    if keep is not None:
        known &= keep[row_of_token]
    return sparse.csr_matrix(
        (np.ones(int(known.sum())), (row_of_token[known], found[known])), shape=(len(lengths), width)
    )


def term_counts(token_lists: Sequence[list[str]], columns: Mapping[str, int]) -> sparse.csr_matrix:
    """texts x columns: how often each term of `columns` occurs in each token list (float counts)."""
    return column_counts(*token_columns(token_lists, columns), len(columns))


@dataclass(frozen=True)
class _PhraseTrie:
    """Every spelling of every phrase keyword, as a trie over form columns, for matching a whole batch.

    Prefixes of spellings are numbered. A token whose form starts a spelling starts the prefix
    `first[its form column]`; prefix p followed by form column c becomes prefix `next_prefix[i]`
    where `codes[i] == p * forms + c` (codes sorted, so a batch's steps are one searchsorted).
    """

    forms: int
    first: np.ndarray  # form column -> number of the one-word prefix, or -1
    codes: np.ndarray
    next_prefix: np.ndarray
    # prefixes x keywords: 1 where the prefix is a whole spelling of the keyword.
    spells: sparse.csr_matrix
    longest: int

    @classmethod
    def build(cls, keywords: Sequence["_Keyword"], form_columns: dict[str, int]) -> "_PhraseTrie":
        number: dict[tuple[int, ...], int] = {}
        spelled_rows, spelled_cols = [], []
        longest = 0
        for keyword_index, keyword in enumerate(keywords):
            if len(keyword.words) < 2:
                continue
            longest = max(longest, len(keyword.words))
            columns = [sorted(form_columns[form] for form in word.forms) for word in keyword.words]
            for spelling in product(*columns):
                for end in range(1, len(spelling) + 1):
                    number.setdefault(spelling[:end], len(number))
                spelled_rows.append(number[spelling])
                spelled_cols.append(keyword_index)
        forms = len(form_columns)
        first = np.full(forms, -1, dtype=np.intp)
        steps: dict[int, int] = {}
        for prefix, prefix_number in number.items():
            if len(prefix) == 1:
                first[prefix[0]] = prefix_number
            else:
                steps[number[prefix[:-1]] * forms + prefix[-1]] = prefix_number
        codes = np.array(sorted(steps), dtype=np.int64)
        return cls(
            forms=forms,
            first=first,
            codes=codes,
            next_prefix=np.array([steps[code] for code in codes.tolist()], dtype=np.intp),
            spells=_incidence(spelled_rows, spelled_cols, (len(number), len(keywords))),
            longest=longest,
        )

    def mentions(self, found: np.ndarray, lengths: np.ndarray) -> sparse.csr_matrix:
        """texts x keywords: at how many positions each phrase is written, word by word.

        `found` and `lengths` are `token_columns` of the texts over the form columns. All texts
        advance together, one word of the phrases at a time, in numpy.
        """
        texts = len(lengths)
        ends = np.cumsum(lengths)
        row_of_token = np.repeat(np.arange(texts), lengths)
        positions = np.flatnonzero(found >= 0)
        prefixes = self.first[found[positions]]
        alive = prefixes >= 0
        positions, prefixes = positions[alive], prefixes[alive]
        rows, matched = [], []
        for offset in range(1, self.longest):
            following = positions + offset
            inside = following < ends[row_of_token[positions]]  # a phrase never runs into the next text
            positions, prefixes, following = positions[inside], prefixes[inside], following[inside]
            columns = found[following]
            codes = prefixes.astype(np.int64) * self.forms + columns
            at = np.minimum(np.searchsorted(self.codes, codes), len(self.codes) - 1)
            step = (columns >= 0) & (self.codes[at] == codes)
            positions, prefixes = positions[step], self.next_prefix[at[step]]
            rows.append(row_of_token[positions])
            matched.append(prefixes)
            if not len(positions):
                break
        if not rows:
            return sparse.csr_matrix((texts, self.spells.shape[1]))
        rows, matched = np.concatenate(rows), np.concatenate(matched)
        at_prefix = sparse.csr_matrix(
            (np.ones(len(rows)), (rows, matched)), shape=(texts, self.spells.shape[0])
        )
        return (at_prefix @ self.spells).tocsr()


@dataclass(frozen=True)
class _BatchTables:
    """The keywords arranged for tagging a batch (built once per TopicIndex, on first use)."""

    # Every lower-case form of every keyword word -> its column in a batch's form-count matrix.
    form_columns: dict[str, int]
    # forms x keywords: 1 where a form is a single plain word keyword's (their counts, by one product).
    single_incidence: sparse.csr_matrix
    # forms x keywords: 1 where a form is a single acronym's, in lower case: only texts holding one
    # are read again for the acronym in capitals.
    acronym_incidence: sparse.csr_matrix
    # Phrases, matched word by word over the whole batch.
    phrases: "_PhraseTrie"
    # Per keyword: True for a phrase with an acronym in it, whose matches in lower case are confirmed
    # (and counted) in capitals.
    exact_phrase: np.ndarray
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
        lower = TOKEN_RE.findall(text.lower())
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
                    original = TOKEN_RE.findall(text)
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
        single_rows, single_cols, acronym_rows, acronym_cols = [], [], [], []
        for keyword_index, keyword in enumerate(self.keywords):
            for word in keyword.words:
                for form in word.forms:
                    form_columns.setdefault(form, len(form_columns))
            if len(keyword.words) == 1:
                rows, cols = (
                    (single_rows, single_cols) if keyword.acronym is None else (acronym_rows, acronym_cols)
                )
                for form in keyword.words[0].forms:
                    rows.append(form_columns[form])
                    cols.append(keyword_index)
        category_topics: dict[str, list[int]] = {}
        for topic_index, topic in enumerate(self.topics):
            for category in topic.categories:
                category_topics.setdefault(category, []).append(topic_index)
        forms, keywords = len(form_columns), len(self.keywords)
        return _BatchTables(
            form_columns=form_columns,
            single_incidence=_incidence(single_rows, single_cols, (forms, keywords)),
            acronym_incidence=_incidence(acronym_rows, acronym_cols, (forms, keywords)),
            phrases=_PhraseTrie.build(self.keywords, form_columns),
            exact_phrase=np.array(
                [len(keyword.words) > 1 and keyword.exact is not None for keyword in self.keywords],
                dtype=bool,
            ),
            acronym_re=_acronym_pattern(k.acronym for k in self.keywords if k.acronym is not None),
            specificity=np.array([keyword.specificity for keyword in self.keywords], dtype=float),
            keyword_topics=_incidence(
                range(keywords), [k.topic_index for k in self.keywords], (keywords, len(self.topics))
            ),
            category_topics=category_topics,
        )

    @staticmethod
    def _acronyms(tables: _BatchTables, text: str) -> Counter:
        """How often each acronym occurs as a whole token, in capitals (its plural too)."""
        found: Counter = Counter()
        for match in tables.acronym_re.finditer(text):
            start = match.start()
            if start == 0 or not text[start - 1].isalnum():  # str.isalnum() is regex's [^\W_]
                found[match.group()] += 1
        return found

    def _mention_matrix(
        self,
        tables: _BatchTables,
        texts: Sequence[Tokens],
        forms: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> sparse.csr_matrix:
        """papers x keywords: how often each keyword occurs in each text (what `_mentions` finds).

        Single words are counted by one sparse product over the batch's form counts, phrases by the
        trie word by word; only keywords with an acronym are then checked text by text, in capitals,
        and only in the texts where their lower-case spelling occurs. `forms`: the texts'
        `token_columns` over `form_columns`, when the caller has looked the tokens up already.
        """
        if forms is None:
            forms = token_columns([text.tokens for text in texts], tables.form_columns)
        found_columns, lengths = forms
        found = column_counts(found_columns, lengths, len(tables.form_columns))
        single = found @ tables.single_incidence
        phrases = tables.phrases.mentions(found_columns, lengths).tocoo()
        exact = tables.exact_phrase[phrases.col]
        rows, cols, counts = [], [], []
        for row, keyword_index in zip(phrases.row[exact].tolist(), phrases.col[exact].tolist(), strict=True):
            mentions = len(self.keywords[keyword_index].exact.findall(texts[row].text))
            if mentions:
                rows.append(row)
                cols.append(keyword_index)
                counts.append(mentions)
        candidates = (found @ tables.acronym_incidence).tocoo()
        in_capitals: dict[int, Counter] = {}
        for row, keyword_index in zip(candidates.row.tolist(), candidates.col.tolist(), strict=True):
            acronyms = in_capitals.get(row)
            if acronyms is None:
                acronyms = in_capitals[row] = self._acronyms(tables, texts[row].text)
            acronym = self.keywords[keyword_index].acronym
            mentions = acronyms[acronym] + acronyms[acronym + "s"]
            if mentions:
                rows.append(row)
                cols.append(keyword_index)
                counts.append(mentions)
        plain = ~exact
        other = sparse.csr_matrix(
            (
                np.concatenate([phrases.data[plain], np.array(counts, dtype=float)]),
                (
                    np.concatenate([phrases.row[plain], np.array(rows, dtype=phrases.row.dtype)]),
                    np.concatenate([phrases.col[plain], np.array(cols, dtype=phrases.col.dtype)]),
                ),
            ),
            shape=single.shape,
        )
        return (single + other).tocsr()

    @property
    def form_columns(self) -> dict[str, int]:
        """Every lower-case form of every keyword word -> its column (the tokens a batch looks up)."""
        return self._batch.form_columns

    def keyword_matrix(
        self,
        titles: Sequence[Tokens],
        abstracts: Sequence[Tokens],
        *,
        forms: tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None,
    ) -> sparse.csr_matrix:
        """papers x keywords: `keyword_scores` of every paper of a batch, as one sparse matrix.

        `forms`: (titles', abstracts') `token_columns` over `form_columns`, if already looked up.
        """
        tables = self._batch
        specificity = tables.specificity
        title_forms, abstract_forms = forms if forms is not None else (None, None)
        title = self._mention_matrix(tables, titles, title_forms)
        title.data = TITLE_WEIGHT * specificity[title.indices]
        abstract = self._mention_matrix(tables, abstracts, abstract_forms)
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
