"""Text rules every app shares: what a column can store, feed HTML made plain, stored text shown on one
line, web links, author lists.

The lowest layer of the project: it imports nothing of it, so papers, subscriptions and newsletter
all use these rules instead of keeping copies that drift apart.
"""

import html
import re
from collections.abc import Sequence
from urllib.parse import urlsplit

import nh3

# What no column should hold: NUL (Postgres refuses it in text and JSON) and lone surrogates (no
# encoding can store them); with them the other C0 controls but white space, and DEL, which no
# title, id or provider message carries on purpose.
_UNSTORABLE_RE = re.compile("[\x00-\x08\x0e-\x1b\x7f\ud800-\udfff]")
# The ASCII characters that can be stored: deleting them from ASCII text leaves what _UNSTORABLE_RE finds.
_STORABLE_ASCII = bytes(code for code in range(128) if not _UNSTORABLE_RE.match(chr(code)))
# Text on one line (an id, an address, a link) holds no control character at all, white space ones included.
_UNSTORABLE_IN_LINE_RE = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")
# Shown text also loses the white-space controls XML 1.0 cannot carry (vertical tab, form feed, the
# information separators): dropped, not turned into spaces. Tab, CR and LF collapse into spaces.
_NOT_SHOWN_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ue000\ue001]")
_NOT_SHOWN_KEEPING_EMPHASIS_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
# Emphasis (LaTeX's \textit and \emph) in a paper's display text (papers.latex): two private-use
# characters no feed text keeps, made <em> in HTML (emphasis_html) and dropped everywhere else.
EMPHASIS_START = "\ue000"
EMPHASIS_END = "\ue001"
_EMPHASIS_SPLIT_RE = re.compile("([\ue000\ue001])")
# Something that really is a tag (not "x<y" in an abstract), so the text needs HTML stripping.
_TAG_RE = re.compile(r"<(?:[a-zA-Z][a-zA-Z0-9]*|/[a-zA-Z][a-zA-Z0-9]*|!--)[^<>]*>")
# Paper's URL columns hold this many characters; no real paper link is longer.
URL_MAX_LENGTH = 1000
SHOWN_AUTHORS = 3  # "A, B, C et al.": enough to recognise a paper's group
AUTHOR_MAX_CHARS = 100  # a feed may send a whole paragraph as one author's "name"


def is_storable(text: str) -> bool:
    """Whether `text` holds nothing `storable` would take out."""
    if text.isascii():  # bytes.translate runs several times the regex's pace
        return not text.encode("ascii").translate(None, _STORABLE_ASCII)
    return not _UNSTORABLE_RE.search(text)


def storable(text: str, *, replacement: str = "", one_line: bool = False) -> str:
    """`text` without what a column cannot (or should not) hold, each such character made `replacement`.

    `one_line`: for ids, addresses and links, tabs and line breaks go too.
    """
    return (_UNSTORABLE_IN_LINE_RE if one_line else _UNSTORABLE_RE).sub(replacement, text)


def collapse_whitespace(text: str | None) -> str:
    """One space between words: undoes the arXiv API's hard-wrapping (70/80 columns)."""
    if not text:
        return ""
    # str.split() without arguments splits on any run of whitespace, in C: several times faster than re.sub.
    return " ".join(text.split())


def text_from_html(text: str | None) -> str:
    """Plain text from feed text that may be HTML (generic feeds): what is stored.

    Titles and abstracts are stored as plain text and escaped when rendered. Markup is dropped
    only when the text really holds tags, so that "x<y" or "<script>" written as text in an
    abstract survives as text; script and style contents are dropped with their tags.
    """
    if not text:
        return ""
    if _TAG_RE.search(text):
        # nh3 with no allowed tags keeps the text content of every element (except script/style)
        # and escapes what is left; unescape turns that back into plain text.
        text = nh3.clean(text, tags=set(), attributes={}, strip_comments=True)
        text = html.unescape(text)
    elif "&" in text:
        text = html.unescape(text)
    return collapse_whitespace(text)


def plain_text(value, *, limit: int | None = None) -> str:
    """Stored text as shown: as written, on one line, within `limit` characters ("" for a non-string).

    It is plain text already (`text_from_html` made it so at ingest): "x<y and z>w" and "The &lt;b&gt;
    tag" are words to show, not markup to strip or entities to decode a second time; templates and
    feed generators escape it. Only control characters (XML 1.0 cannot carry them) and runs of white
    space go.
    """
    return _shown(value, limit=limit, pattern=_NOT_SHOWN_RE)


def _shown(value, *, limit: int | None, pattern: re.Pattern) -> str:
    if not isinstance(value, str):
        return ""
    value = collapse_whitespace(pattern.sub("", value))
    if limit and len(value) > limit:
        value = value[: limit - 1].rstrip() + "…"
    return value


def shown_with_emphasis(value, *, limit: int | None = None) -> str:
    """`plain_text`, keeping the emphasis markers of a display text (for `emphasis_html` later)."""
    return _shown(value, limit=limit, pattern=_NOT_SHOWN_KEEPING_EMPHASIS_RE)


def strip_emphasis(value: str) -> str:
    """Text with emphasis markers, as plain text."""
    return value.replace(EMPHASIS_START, "").replace(EMPHASIS_END, "") if "\ue000" in value else value


def emphasis_html(value: str) -> str:
    """Text with emphasis markers as HTML: the text escaped, then each emphasised run wrapped in <em>.

    Only the markers become tags, always balanced (a run cut short by a limit is closed, a stray end
    marker dropped, nesting flattened); everything else is escaped text.
    """
    if EMPHASIS_START not in value and EMPHASIS_END not in value:
        return html.escape(value, quote=False)
    out: list[str] = []
    depth = 0
    for piece in _EMPHASIS_SPLIT_RE.split(value):
        if piece == EMPHASIS_START:
            if not depth:
                out.append("<em>")
            depth += 1
        elif piece == EMPHASIS_END:
            if depth == 1:
                out.append("</em>")
            depth = max(0, depth - 1)
        elif piece:
            out.append(html.escape(piece, quote=False))
    if depth:
        out.append("</em>")
    return "".join(out)


def http_url(value) -> str:
    """The URL when it is an absolute http(s) link with a host, else "": feed links must never become
    javascript:, data: or relative links, and none holds white space, a control or a lone surrogate."""
    url = value.strip() if isinstance(value, str) else ""
    if not url or len(url) > URL_MAX_LENGTH:
        return ""
    if any(ord(char) < 33 or 0xD800 <= ord(char) <= 0xDFFF for char in url):
        return ""
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return ""
    return url if parts.scheme.lower() in ("http", "https") and parts.netloc else ""


def short_authors(authors: Sequence[str] | None) -> str:
    """'A, B, C et al.' from a paper's stored author list, trusting nothing about the JSON."""
    if not isinstance(authors, list | tuple):
        return ""
    names = [
        name
        for author in authors
        if isinstance(author, str) and (name := plain_text(author, limit=AUTHOR_MAX_CHARS))
    ]
    if len(names) > SHOWN_AUTHORS:
        return ", ".join(names[:SHOWN_AUTHORS]) + " et al."
    return ", ".join(names)
