"""Any RSS or Atom feed: HTML in titles and summaries becomes plain text; arXiv links give ids."""

import hashlib

from papers.normalise import (
    arxiv_abs_url,
    arxiv_id_from_url,
    arxiv_pdf_url,
    parse_arxiv_id,
    parse_datetime,
    parse_doi,
    split_authors,
)
from papers.text import collapse_whitespace, http_url

from .arxiv_rss import ARXIV_DESCRIPTION_RE
from .feeds import arxiv_categories, detail_text, parse_xml, tag_terms
from .records import EntryError, PaperRecord, ParseResult


def _abstract(entry) -> str:
    if entry.get("summary"):
        return detail_text(entry, "summary")
    for content in entry.get("content") or []:
        if content.get("value"):
            return detail_text({"c": content.get("value"), "c_detail": content}, "c")
    return ""


def _doi(entry) -> str | None:
    for key in ("prism_doi", "dc_identifier", "id", "link"):
        doi = parse_doi(entry.get(key))
        if doi:
            return doi
    return None


def parse(body: bytes) -> ParseResult:
    parsed, errors, warning = parse_xml(body)
    result = ParseResult(errors=errors, warning=warning)
    for position, entry in enumerate(parsed.entries):
        link = http_url(entry.get("link"))
        title = detail_text(entry, "title")
        guid = str(entry.get("id") or link or "")
        if not guid and title:
            # No id and no link: the title is the only stable thing the entry has.
            guid = "title:" + hashlib.sha256(title.encode()).hexdigest()
        if not title:
            result.errors.append(EntryError(position=position, guid=guid, reason="no title"))
            continue
        arxiv_id, version = arxiv_id_from_url(link)
        if not arxiv_id and guid.lower().startswith(("oai:arxiv.org:", "arxiv:")):
            arxiv_id, version = parse_arxiv_id(guid)
        categories = arxiv_categories(tag_terms(entry))
        authors = [collapse_whitespace(a.get("name")) for a in entry.get("authors") or [] if a.get("name")]
        abstract = _abstract(entry)
        arxiv_listing = ARXIV_DESCRIPTION_RE.match(abstract)
        if arxiv_listing:
            # An arXiv listing added as a generic feed: same layout as the arxiv_rss kind.
            abstract = arxiv_listing.group("abstract").strip()
            if len(authors) == 1:
                authors = split_authors(authors[0])
        result.records.append(
            PaperRecord(
                guid=guid,
                title=title,
                abstract=abstract,
                arxiv_id=arxiv_id,
                version=version,
                doi=_doi(entry),
                authors=tuple(authors),
                categories=tuple(categories),
                primary_category=categories[0] if categories else "",
                abs_url=arxiv_abs_url(arxiv_id) if arxiv_id else link,
                pdf_url=arxiv_pdf_url(arxiv_id) if arxiv_id else "",
                published_at=parse_datetime(
                    dict.get(entry, "published_parsed") or dict.get(entry, "updated_parsed")
                ),
            )
        )
    return result
