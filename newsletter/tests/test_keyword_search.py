"""Keyword search: the case-folded str.find path finds exactly what the case-insensitive regex finds."""

import random
import re

from newsletter.selectors import _FOLDS_TO_ASCII, find_keyword, fold_to_ascii

# Characters that case rules make tricky: dotted and dotless i, long s, Kelvin sign, sharp s, Greek
# sigma forms, a combining dot, and word and non-word neighbours.
TRICKY = [
    "\u0130",
    "\u0131",
    "\u017f",
    "\u212a",
    "ß",
    "Σ",
    "ς",
    "\u03c3",
    "\u0307",
    "É",
    "é",
    "_",
    "-",
    " ",
    ".",
    "'",
]
TRICKY += ["3", "\u00a0"]
LETTERS = list("quantizsdkISKQ")


def _corpus(rng: random.Random, texts: int) -> tuple[str, list[int], list[int]]:
    parts = []
    for _ in range(texts):
        length = rng.randint(0, 40)
        parts.append("".join(rng.choice(LETTERS + TRICKY) for _ in range(length)))
    starts, position = [], 0
    for text in parts:
        starts.append(position)
        position += len(text) + 1
    return "\n".join(parts), starts, list(range(100, 100 + texts))


def test_the_folds_are_every_non_ascii_character_the_regex_engine_matches_to_ascii():
    everything = "".join(chr(c) for c in range(0x80, 0x110000) if not 0xD800 <= c <= 0xDFFF)
    matched = set(re.findall(r"[\x20-\x7e]", everything, re.IGNORECASE))
    handled = {char for char, _ascii in _FOLDS_TO_ASCII} | {c for c in everything if c.lower().isascii()}
    assert matched == handled
    for char, ascii_char in _FOLDS_TO_ASCII:
        assert re.fullmatch(ascii_char, char, re.IGNORECASE)


def test_folded_search_finds_exactly_what_the_regex_finds():
    rng = random.Random(5)
    for _round in range(200):
        corpus, starts, ids = _corpus(rng, texts=rng.randint(1, 30))
        folded = fold_to_ascii(corpus)
        assert folded is not None and len(folded) == len(corpus)
        for _ in range(10):
            keyword = "".join(rng.choice("quantizsdk3 -'.") for _ in range(rng.randint(1, 4))).strip() or "s"
            fast = list(find_keyword(keyword, corpus, starts, ids, folded=folded))
            reference = list(find_keyword(keyword, corpus, starts, ids, folded=None))
            assert fast == reference, (keyword, corpus)


def test_the_search_ignores_case_and_keeps_to_word_starts():
    first, second = "Quantized \u017fparse KERNELS", "Dequantized \u0130nt8"
    corpus = f"{first}\n{second}\nquantization"
    starts = [0, len(first) + 1, len(first) + len(second) + 2]
    folded = fold_to_ascii(corpus)
    assert list(find_keyword("quantiz", corpus, starts, [1, 2, 3], folded=folded)) == [1, 3]
    assert list(find_keyword("sparse", corpus, starts, [1, 2, 3], folded=folded)) == [1]
    assert list(find_keyword("kernels", corpus, starts, [1, 2, 3], folded=folded)) == [1]
    assert list(find_keyword("int8", corpus, starts, [1, 2, 3], folded=folded)) == [2]
