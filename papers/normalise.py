"""Turn what feeds say into clean values: version-free arXiv ids, DOIs, author lists, dates."""

import re
from datetime import UTC, datetime, timedelta

from .text import collapse_whitespace

# New-style ids (0704.0001 onwards: YYMM.NNNN, YYMM.NNNNN since 2015) and old-style ids
# (archive[.SUBJ]/YYMMNNN), each optionally followed by a version.
_NEW_ID = r"(?P<new>\d{4}\.\d{4,5})"
_OLD_ID = r"(?P<old>[a-z][a-z\-]*(?:\.[A-Z]{2})?/\d{7})"
_ARXIV_ID_RE = re.compile(
    rf"(?:^|[^\w.]){_NEW_ID}(?:v(?P<v1>\d+))?(?!\d)|(?:^|[^\w]){_OLD_ID}(?:v(?P<v2>\d+))?"
)
_ARXIV_URL_RE = re.compile(r"arxiv\.org/(?:abs|pdf|html)/([^\s?#]+)", re.IGNORECASE)
_DOI_RE = re.compile(r"\b(10\.\d{4,9}/[^\s\"<>]+)", re.IGNORECASE)
# Between two authors: a comma, or a last " and " joining the final name in some feeds ("A, B and C").
_AUTHOR_SEPARATOR_RE = re.compile(r",\s*|\s+and\s+")
# Publication dates outside this window are a feed's mistake (year 1, year 9999), not dates to show or
# sort by; the extreme ones also overflow when a page converts them to a local time zone.
_EARLIEST_DATE = datetime(1900, 1, 1, tzinfo=UTC)
_FUTURE_SLACK = timedelta(days=2)


def parse_arxiv_id(value: str | None) -> tuple[str | None, int | None]:
    """('2601.22161', 2) from '2601.22161v2', 'oai:arXiv.org:2601.22161v2' or an abs/pdf URL."""
    if not value:
        return None, None
    url_match = _ARXIV_URL_RE.search(value)
    candidate = url_match.group(1) if url_match else value
    candidate = candidate.removesuffix(".pdf")
    match = _ARXIV_ID_RE.search(candidate)
    if not match:
        return None, None
    arxiv_id = match.group("new") or match.group("old")
    version = match.group("v1") or match.group("v2")
    return arxiv_id, int(version) if version else None


def arxiv_id_from_url(url: str | None) -> tuple[str | None, int | None]:
    """Only an arxiv.org link counts, so that a random number in a blog URL is never taken for an id."""
    if not url or not _ARXIV_URL_RE.search(url):
        return None, None
    return parse_arxiv_id(url)


def parse_doi(value: str | None) -> str | None:
    """A bare DOI from 'doi:10.1/x', 'https://doi.org/10.1/X' or '10.1/x', lower-cased (DOIs ignore case)."""
    if not value:
        return None
    match = _DOI_RE.search(value)
    if not match:
        return None
    return match.group(1).rstrip(".,;)").lower()


def split_authors(value: str | None) -> list[str]:
    """arXiv RSS joins all authors into one dc:creator: 'A. One, B. Two, C. Three'."""
    if not value:
        return []
    value = collapse_whitespace(value)
    parts = _AUTHOR_SEPARATOR_RE.split(value)
    return [part.strip() for part in parts if part.strip()]


def parse_datetime(value) -> datetime | None:
    """A UTC datetime from feedparser's struct_time or an ISO 8601 string; None if unreadable or absurd."""
    if value is None or value == "":
        return None
    try:
        if isinstance(value, str):
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
            parsed = parsed.astimezone(UTC)
        else:
            parsed = datetime(*value[:6], tzinfo=UTC)
    except (TypeError, ValueError, OverflowError):
        return None
    if not _EARLIEST_DATE <= parsed <= datetime.now(UTC) + _FUTURE_SLACK:
        return None
    return parsed


def arxiv_abs_url(arxiv_id: str) -> str:
    return f"https://arxiv.org/abs/{arxiv_id}"


def arxiv_pdf_url(arxiv_id: str) -> str:
    return f"https://arxiv.org/pdf/{arxiv_id}"
