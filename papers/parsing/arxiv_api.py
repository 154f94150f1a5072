"""export.arxiv.org/api/query Atom: hard-wrapped text, and errors reported as a 200 feed."""

from papers.normalise import (
    arxiv_abs_url,
    arxiv_pdf_url,
    parse_arxiv_id,
    parse_datetime,
    parse_doi,
)
from papers.text import collapse_whitespace

from .feeds import detail_text, parse_xml, tag_terms
from .records import EntryError, FeedFormatError, PaperRecord, ParseResult


def _is_error_entry(entry) -> bool:
    return "/api/errors" in (entry.get("id") or "") and (entry.get("title") or "").strip() == "Error"


def parse(body: bytes) -> ParseResult:
    parsed, errors, warning = parse_xml(body)
    if len(parsed.entries) == 1 and _is_error_entry(parsed.entries[0]):
        message = collapse_whitespace(parsed.entries[0].get("summary")) or "unknown error"
        raise FeedFormatError(f"arXiv API error: {message}")
    result = ParseResult(errors=errors, warning=warning)
    for position, entry in enumerate(parsed.entries):
        guid = str(entry.get("id") or "")
        arxiv_id, version = parse_arxiv_id(guid)
        title = detail_text(entry, "title")
        if not arxiv_id or not title:
            reason = "no arXiv id" if not arxiv_id else "no title"
            result.errors.append(EntryError(position=position, guid=guid, reason=reason))
            continue
        categories = tag_terms(entry)
        primary = ((entry.get("arxiv_primary_category") or {}).get("term") or "").strip()
        if primary:
            categories = [primary, *(c for c in categories if c != primary)]
        result.records.append(
            PaperRecord(
                guid=guid,
                title=title,
                abstract=detail_text(entry, "summary"),
                arxiv_id=arxiv_id,
                version=version,
                doi=parse_doi(entry.get("arxiv_doi")),
                authors=tuple(
                    collapse_whitespace(a.get("name")) for a in entry.get("authors") or [] if a.get("name")
                ),
                categories=tuple(categories),
                primary_category=primary or (categories[0] if categories else ""),
                comment=collapse_whitespace(entry.get("arxiv_comment")),
                abs_url=arxiv_abs_url(arxiv_id),
                pdf_url=arxiv_pdf_url(arxiv_id),
                published_at=parse_datetime(entry.get("published_parsed")),
            )
        )
    return result
