"""Parsers, one module per wire format; each turns bytes into a ParseResult of PaperRecords."""

import hashlib
from dataclasses import replace
from operator import attrgetter

from papers.models import Source
from papers.text import is_storable, storable

from . import arxiv_api, arxiv_rss, hf_daily, rss_atom
from .records import EntryError, FeedFormatError, PaperRecord, ParseResult

_PARSERS = {
    Source.Kind.ARXIV_RSS: arxiv_rss.parse,
    Source.Kind.ARXIV_API: arxiv_api.parse,
    Source.Kind.HF_DAILY: hf_daily.parse,
    Source.Kind.RSS_ATOM: rss_atom.parse,
}
# PaperSighting.guid holds this many characters; a longer id is kept as its hash so that the same
# entry is recognised on the next fetch instead of becoming a new paper each time.
_GUID_MAX = 1000
_TEXT_FIELDS = (
    "guid", "title", "abstract", "doi", "primary_category", "comment",
    "abs_url", "pdf_url", "code_url", "project_url", "hf_url", "ai_summary", "announce_type",
)  # fmt: skip
_TUPLE_FIELDS = ("authors", "categories")


_text_values = attrgetter(*_TEXT_FIELDS)


def _storable(record: PaperRecord) -> PaperRecord:
    """The record without what no column can hold (papers.text.storable); a too long guid hashed."""
    # Nearly every record is storable as it is: one check of all its text (joined by a newline, which
    # is storable) says so, instead of one search per field.
    everything = "\n".join([*filter(None, _text_values(record)), *record.authors, *record.categories])
    if len(record.guid) <= _GUID_MAX and is_storable(everything):
        return record
    changes = {}
    for name in _TEXT_FIELDS:
        value = getattr(record, name)
        if value and not is_storable(value):
            changes[name] = storable(value)
    for name in _TUPLE_FIELDS:
        values = getattr(record, name)
        if not all(is_storable(value) for value in values):
            changes[name] = tuple(cleaned for v in values if (cleaned := storable(v)))
    guid = changes.get("guid", record.guid)
    if len(guid) > _GUID_MAX:
        changes["guid"] = "sha256:" + hashlib.sha256(guid.encode()).hexdigest()
    return replace(record, **changes) if changes else record


def parse_feed(kind: str, body: bytes) -> ParseResult:
    """Parse a fetched body of a source of this kind; raises FeedFormatError when nothing is usable."""
    try:
        parser = _PARSERS[Source.Kind(kind)]
    except ValueError as exc:
        raise FeedFormatError(f"unknown source kind {kind!r}") from exc
    result = parser(body)
    result.records = [_storable(record) for record in result.records]
    return result


__all__ = ["EntryError", "FeedFormatError", "PaperRecord", "ParseResult", "parse_feed"]
