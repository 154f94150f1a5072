"""feedparser on bytes, with its HTML sanitizer and URI rewriting off, and its complaints kept."""

import io
import re

import feedparser

from papers.text import collapse_whitespace, text_from_html

from .records import EntryError, FeedFormatError

# feedparser flags these, but they do not make a feed unreliable.
_HARMLESS_BOZO = (feedparser.CharacterEncodingOverride,)
_CLOSING_TAG_RE = re.compile(rb"</(?:[\w]+:)?(?:rss|feed|RDF)>\s*$")
_ARXIV_CATEGORY_RE = re.compile(r"^[a-z][a-z\-]*(?:\.[A-Za-z][A-Za-z\-]*)?$")
_CHAR_REF_RE = re.compile(rb"&#(?:[xX]([0-9a-fA-F]{1,8})|([0-9]{1,10}));")


def _xml_char_allowed(code_point: int) -> bool:
    """The characters XML 1.0 allows (its production `Char`)."""
    return (
        code_point in (0x9, 0xA, 0xD)
        or 0x20 <= code_point <= 0xD7FF
        or 0xE000 <= code_point <= 0xFFFD
        or 0x10000 <= code_point <= 0x10FFFF
    )


def _replace_forbidden_char_ref(match: re.Match) -> bytes:
    code_point = int(match[1], 16) if match[1] else int(match[2])
    return match[0] if _xml_char_allowed(code_point) else b"&#xFFFD;"


def parse_xml(body: bytes) -> tuple[feedparser.FeedParserDict, list[EntryError], str]:
    """Parse an RSS/Atom document; returns (parsed, errors for dropped entries, warning).

    feedparser is handed a stream, never a string: given a str or bytes it may treat the value as
    a URL or a file name and open it. Sanitizing is off because it eats text such as "x<y" in
    abstracts; cleaning is done per field instead (papers.text, papers.normalise).
    """
    if not body.strip():
        raise FeedFormatError("the response body is empty")
    # A reference to a character XML forbids (&#0;, &#xD800;) makes feedparser give up on the whole
    # document (a lone surrogate cannot be re-encoded), losing every good entry: it reads as U+FFFD.
    body = _CHAR_REF_RE.sub(_replace_forbidden_char_ref, body)
    try:
        parsed = feedparser.parse(io.BytesIO(body), sanitize_html=False, resolve_relative_uris=False)
    except Exception as exc:
        # feedparser's encoding detection raises on some bytes (a NUL, an invalid start byte). The
        # body is untrusted input: whatever breaks the parser makes it an unreadable document.
        raise FeedFormatError(f"unreadable feed ({type(exc).__name__}: {exc})") from exc
    errors: list[EntryError] = []
    warning = ""
    if parsed.bozo and not isinstance(parsed.bozo_exception, _HARMLESS_BOZO):
        warning = f"malformed feed: {parsed.bozo_exception}"
        if not parsed.entries and not parsed.get("version"):
            raise FeedFormatError(f"not an RSS or Atom feed ({parsed.bozo_exception})")
        if parsed.entries and not _CLOSING_TAG_RE.search(body[-200:]):
            # A cut-off document: the last entry may hold half an abstract, so it is not used.
            last = parsed.entries.pop()
            errors.append(
                EntryError(
                    position=len(parsed.entries),
                    guid=str(last.get("id") or last.get("link") or ""),
                    reason="entry cut off by the end of a truncated document",
                )
            )
            warning = f"truncated feed: {parsed.bozo_exception}"
    elif not parsed.get("version") and not parsed.entries:
        raise FeedFormatError("not an RSS or Atom feed")
    return parsed, errors, warning


def detail_text(entry, key: str) -> str:
    """A text field as plain text, honouring the content type feedparser detected for it."""
    value = dict.get(entry, key) or ""
    detail = dict.get(entry, f"{key}_detail") or {}
    if "html" in (detail.get("type") or ""):
        return text_from_html(value)
    return collapse_whitespace(value)


def tag_terms(entry) -> list[str]:
    terms: list[str] = []
    for tag in dict.get(entry, "tags") or []:
        term = (dict.get(tag, "term") or "").strip()  # the stored key: FeedParserDict.get maps aliases
        if term and term not in terms:
            terms.append(term)
    return terms


def arxiv_categories(terms: list[str]) -> list[str]:
    """Only terms shaped like arXiv categories (cs.LG, hep-th, math.OC) count as categories."""
    return [term for term in terms if _ARXIV_CATEGORY_RE.match(term)]
