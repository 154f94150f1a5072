"""rss.arxiv.org listings: one comma-joined dc:creator, the abstract after 'Announce Type: … Abstract:'."""

import re

from papers.normalise import (
    arxiv_abs_url,
    arxiv_pdf_url,
    parse_arxiv_id,
    parse_datetime,
    split_authors,
)
from papers.text import collapse_whitespace

from .feeds import detail_text, parse_xml, tag_terms
from .records import EntryError, PaperRecord, ParseResult

# FeedParserDict.get maps aliases on every call; the stored keys are read directly on this hot path.
_get = dict.get
# "arXiv:2601.22161v1 Announce Type: new \nAbstract: We present …"
ARXIV_DESCRIPTION_RE = re.compile(
    r"^\s*arXiv:(?P<id>\S+)\s+Announce Type:\s*(?P<type>[\w-]+)\s*Abstract:\s*(?P<abstract>.*)$",
    re.DOTALL,
)


def parse(body: bytes) -> ParseResult:
    parsed, errors, warning = parse_xml(body)
    result = ParseResult(errors=errors, warning=warning)
    for position, entry in enumerate(parsed.entries):
        guid = str(_get(entry, "id") or _get(entry, "link") or "")
        description = _get(entry, "summary") or ""
        match = ARXIV_DESCRIPTION_RE.match(description)
        # The description of an arXiv listing is plain text (TeX included), whatever RSS says it is.
        abstract = collapse_whitespace(match.group("abstract") if match else description)
        arxiv_id, version = parse_arxiv_id(match.group("id") if match else guid)
        if not arxiv_id:
            arxiv_id, version = parse_arxiv_id(_get(entry, "link"))
        title = detail_text(entry, "title")
        if not arxiv_id or not title:
            reason = "no arXiv id" if not arxiv_id else "no title"
            result.errors.append(EntryError(position=position, guid=guid, reason=reason))
            continue
        announce_type = (_get(entry, "arxiv_announce_type") or (match.group("type") if match else "")).strip()
        categories = tag_terms(entry)
        result.records.append(
            PaperRecord(
                guid=guid or f"arxiv:{arxiv_id}",
                title=title,
                abstract=abstract,
                arxiv_id=arxiv_id,
                version=version,
                authors=tuple(split_authors(_get(entry, "author"))),
                categories=tuple(categories),
                # The listing does not mark the primary category; the first one listed is it.
                primary_category=categories[0] if categories else "",
                abs_url=arxiv_abs_url(arxiv_id),
                pdf_url=arxiv_pdf_url(arxiv_id),
                published_at=parse_datetime(_get(entry, "published_parsed")),
                announce_type=announce_type,
            )
        )
    return result
