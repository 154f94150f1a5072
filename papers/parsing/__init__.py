"""Parsers, one module per wire format; each turns bytes into a ParseResult of PaperRecords."""

from papers.models import Source

from . import arxiv_api, arxiv_rss, hf_daily, rss_atom
from .records import EntryError, FeedFormatError, PaperRecord, ParseResult

_PARSERS = {
    Source.Kind.ARXIV_RSS: arxiv_rss.parse,
    Source.Kind.ARXIV_API: arxiv_api.parse,
    Source.Kind.HF_DAILY: hf_daily.parse,
    Source.Kind.RSS_ATOM: rss_atom.parse,
}


def parse_feed(kind: str, body: bytes) -> ParseResult:
    """Parse a fetched body of a source of this kind; raises FeedFormatError when nothing is usable."""
    try:
        parser = _PARSERS[Source.Kind(kind)]
    except ValueError as exc:
        raise FeedFormatError(f"unknown source kind {kind!r}") from exc
    return parser(body)


__all__ = ["EntryError", "FeedFormatError", "PaperRecord", "ParseResult", "parse_feed"]
