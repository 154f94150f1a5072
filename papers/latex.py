"""Titles and abstracts as a reader sees them: the LaTeX arXiv authors write turned into Unicode text.

`display_text(source)` is computed once per paper when the paper is stored (papers.upsert, Paper.save,
a data migration for older rows), never per reader. The conversion is pylatexenc's latex2text with a
few specs of our own; what latex2text leaves out, sub- and superscripts in math ("$O(n^2)$" → O(n²)),
is done on its parse tree here. The result is plain text, escaped wherever it is shown; emphasis
(\\textit, \\emph) is kept as two private-use marker characters that papers.text turns into <em> for
HTML and drops for everything else. Whatever the parser cannot take (unbalanced input, a nesting
bomb, a macro used wrongly) falls back to the source text: a render never fails on it.
"""

from __future__ import annotations

import logging
import re
import time

from pylatexenc import latexwalker
from pylatexenc.latex2text import LatexNodes2Text, MacroTextSpec, get_default_latex_context_db
from pylatexenc.macrospec import MacroSpec

from .text import EMPHASIS_END, EMPHASIS_START, collapse_whitespace, shown_with_emphasis, strip_emphasis

logger = logging.getLogger(__name__)
# The parser reports every input it had to be tolerant about at INFO: feed text, not our concern.
logging.getLogger("pylatexenc").setLevel(logging.WARNING)

# Only text holding one of these can read differently once converted; the rest (most Hugging Face
# and generic-feed text) is shown as it is, without a parse.
_LATEX_HINT_RE = re.compile(r"[\\$^_{}~]|``|''|--")
# Deeper nesting is no real title or abstract, and the parser recurses per group: refused up front.
MAX_GROUP_DEPTH = 50
# Longer text is no real title or abstract either (arXiv caps abstracts at 1,920 characters).
MAX_SOURCE_CHARS = 20_000
# What the parser reads once plain words are swapped out: under 500 characters for every text of a
# 1,163-paper arXiv listing. The parser spends up to ~100 µs a character on hostile input ("\\\\…"),
# so more is not parsed.
MAX_PARSED_CHARS = 1_500
# Seconds one feed's conversions may take: a real 1,163-paper listing takes about half a second.
FEED_BUDGET_SECONDS = 10.0
# Characters latex2text would read as LaTeX specials that authors mostly mean literally: a bare "50%"
# would start a comment and swallow the rest of the line, "&" is a table column, "#" a macro argument.
_LITERAL_SPECIALS_RE = re.compile(r"(?<!\\)([%&#])")
# Web addresses pass through untouched ("~user" is no non-breaking space, "a_b" no subscript): each
# is swapped for one private-use character before the parse and put back after. So are runs of plain
# words (single hyphens included): the parser reads text one character at a time (~25 µs each), and
# an abstract is mostly such runs. A run never starts inside a macro's name, right after an accent
# macro (\'e, \"o, \~n…) or on a hyphen (so "--" stays a dash).
_URL_RE = re.compile(r"https?://[^\s{}\\$]+")
_WORDS_RE = re.compile(r"(?<![-\\A-Za-z@'\"^~`=.])(?!-)(?:[^\W_]|[ .,;:()!?/\"=+*<>@|]|-(?!-))+(?<=\w)")
_MIN_KEPT_RUN = 12  # shorter runs are cheaper to parse than to swap
_KEPT_BASE = 0xF0000  # supplementary private-use area, far from the emphasis markers
_MAX_KEPT = 60_000
_KEPT_CHAR_RE = re.compile("[\U000f0000-\U000ffffd]")
_PRIVATE_USE_RE = re.compile("[\ue000\ue001\U000f0000-\U000ffffd]")

_SUPERSCRIPTS = dict(
    zip(
        "0123456789+-=()niabcdefghjklmoprstuvwxyzABDEGHIJKLMNOPRTUVW′'*−",  # noqa: RUF001
        "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿⁱᵃᵇᶜᵈᵉᶠᵍʰʲᵏˡᵐᵒᵖʳˢᵗᵘᵛʷˣʸᶻᴬᴮᴰᴱᴳᴴᴵᴶᴷᴸᴹᴺᴼᴾᴿᵀᵁⱽᵂ′′*⁻",  # noqa: RUF001
        strict=True,
    )
)
_SUBSCRIPTS = dict(zip("0123456789+-=()aehijklmnoprstuvx−", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ₋", strict=True))  # noqa: RUF001


def _script(text: str, marker: str) -> str:
    """`text` raised (marker "^") or lowered ("_") in Unicode where every character has a form, else
    written out: x^(ab)."""
    text = text.strip()
    table = _SUPERSCRIPTS if marker == "^" else _SUBSCRIPTS
    if text and all(char in table for char in text):
        return "".join(table[char] for char in text)
    if len(text) <= 1:
        return marker + text
    return f"{marker}({text})"


def _emphasis(node, l2tobj) -> str:
    inner = l2tobj.nodelist_to_text(node.nodeargd.argnlist[-1:]) if node.nodeargd else ""
    return f"{EMPHASIS_START}{inner}{EMPHASIS_END}" if inner.strip() else inner


def _last_argument(node, l2tobj) -> str:
    return l2tobj.nodelist_to_text(node.nodeargd.argnlist[-1:]) if node.nodeargd else ""


def _context_db():
    db = get_default_latex_context_db()
    db.add_context_category(
        "paperboy",
        prepend=True,
        macros=[
            MacroTextSpec("textit", simplify_repl=_emphasis),
            MacroTextSpec("emph", simplify_repl=_emphasis),
            MacroTextSpec("textsl", simplify_repl=_emphasis),
            # Readable words, where latex2text's defaults drop them or add markup-like brackets.
            *(
                MacroTextSpec(name, simplify_repl=_last_argument)
                for name in ("texttt", "textsf", "textup", "textmd", "textnormal", "mathrm", "mathsf")
            ),
            MacroTextSpec("url", simplify_repl=_last_argument),
            MacroTextSpec("href", simplify_repl=_last_argument),  # the words, never the target
            MacroTextSpec("cite", discard=True),
            MacroTextSpec("citep", discard=True),
            MacroTextSpec("citet", discard=True),
            MacroTextSpec("footnote", discard=True),
            MacroTextSpec("ref", discard=True),
            MacroTextSpec("eqref", discard=True),
        ],
    )
    return db


class _Converter(LatexNodes2Text):
    """latex2text, plus sub- and superscripts in math."""

    def math_node_to_text(self, node):
        self._math_depth = getattr(self, "_math_depth", 0) + 1
        try:
            return super().math_node_to_text(node)
        finally:
            self._math_depth -= 1

    def nodelist_to_text(self, nodelist):
        if not getattr(self, "_math_depth", 0):
            return super().nodelist_to_text(nodelist)
        out: list[str] = []
        pending = ""  # "^" or "_" waiting for the node it applies to
        previous = None
        for node in nodelist:
            if node is None:
                continue
            after_macro, previous = previous, node
            if node.isNodeType(latexwalker.LatexCharsNode):
                chars = node.chars
                if self._is_bare_macro_node(after_macro):  # "\log n" keeps its space, as latex2text does
                    chars = after_macro.macro_post_space + chars
                position = 0
                if pending and chars:
                    out.append(_script(chars[0], pending))
                    pending, position = "", 1
                while position < len(chars):
                    char = chars[position]
                    if char in "^_":
                        if position + 1 < len(chars):
                            out.append(_script(chars[position + 1], char))
                            position += 2
                            continue
                        pending = char
                    else:
                        out.append(char)
                    position += 1
                continue
            text = self.node_to_text(node)
            if pending:
                out.append(_script(text, pending))
                pending = ""
            else:
                out.append(text)
        if pending:
            out.append(pending)
        return "".join(out)


def _walker_context_db():
    db = latexwalker.get_default_latex_context_db()
    # \href's two arguments, so that its target is an argument (dropped), not text.
    db.add_context_category("paperboy", prepend=True, macros=[MacroSpec("href", "{{")])
    return db


_WALKER_CONTEXT = _walker_context_db()
_CONVERTER = _Converter(latex_context=_context_db(), math_mode="text", strict_latex_spaces=False)


def _too_deep(text: str) -> bool:
    if text.count("{") <= MAX_GROUP_DEPTH:
        return False
    depth = 0
    for char in text:
        if char == "{":
            depth += 1
            if depth > MAX_GROUP_DEPTH:
                return True
        elif char == "}":
            depth = max(0, depth - 1)
    return False


def needs_conversion(source: str) -> bool:
    return bool(_LATEX_HINT_RE.search(source) or _PRIVATE_USE_RE.search(source))


def display_text(source: str | None, *, parse: bool = True) -> str:
    """What a reader is shown for a stored title or abstract: LaTeX turned into Unicode text, on one
    line, emphasis marked; the source as it is when it holds no LaTeX or the parser cannot read it
    (or, with `parse=False`, is not asked to)."""
    if not source:
        return ""
    # On one line, without the control characters no reader is shown (papers.text.plain_text).
    source = shown_with_emphasis(_PRIVATE_USE_RE.sub("", source))
    if not parse or not needs_conversion(source) or len(source) > MAX_SOURCE_CHARS or _too_deep(source):
        return source
    kept: list[str] = []

    def keep(match: re.Match) -> str:
        text = match.group(0)
        if (len(text) < _MIN_KEPT_RUN and not text.startswith("http")) or len(kept) >= _MAX_KEPT:
            return text
        kept.append(text)
        return chr(_KEPT_BASE + len(kept) - 1)

    prepared = _LITERAL_SPECIALS_RE.sub(r"\\\1", _WORDS_RE.sub(keep, _URL_RE.sub(keep, source)))
    if len(prepared) > MAX_PARSED_CHARS:
        return source
    try:
        converted = _CONVERTER.latex_to_text(prepared, tolerant_parsing=True, latex_context=_WALKER_CONTEXT)
    except Exception:
        logger.debug("LaTeX not converted; the source is shown", exc_info=True)
        return source
    if kept:
        converted = _KEPT_CHAR_RE.sub(lambda m: _kept_text(kept, m.group(0)), converted)
    converted = collapse_whitespace(_PRIVATE_USE_RE.sub(_keep_emphasis, converted))
    if not strip_emphasis(converted).strip():
        return source
    return converted


def _keep_emphasis(match: re.Match) -> str:
    char = match.group(0)
    return char if char in (EMPHASIS_START, EMPHASIS_END) else ""


def _kept_text(kept: list[str], char: str) -> str:
    index = ord(char) - _KEPT_BASE
    return kept[index] if index < len(kept) else ""


def stored_display_text(source: str | None, *, parse: bool = True) -> str:
    """What Paper.display_title / display_abstract hold: the display text, or "" where it is the source
    itself (most papers: no LaTeX), so that those rows and the digest's paper pool stay their size."""
    if not source or not needs_conversion(source):
        # Nothing to convert: what a reader sees differs from the source at most in white space and
        # control characters, which every page's plain_text drops from the source anyway.
        return ""
    shown = display_text(source, parse=parse)
    return "" if shown == source else shown


class FeedConversions:
    """`stored_display_text` for one feed's papers within a time budget: past it (a hostile feed of
    pathological LaTeX), the rest are shown as their source wrote them."""

    def __init__(self, budget_seconds: float = FEED_BUDGET_SECONDS) -> None:
        self._left = budget_seconds

    def __call__(self, source: str | None) -> str:
        if self._left <= 0:
            return stored_display_text(source, parse=False)
        started = time.perf_counter()
        try:
            return stored_display_text(source)
        finally:
            self._left -= time.perf_counter() - started
