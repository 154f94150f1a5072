"""The one shape every feed is normalised to before it reaches the database."""

from dataclasses import dataclass, field
from datetime import datetime

from papers.exceptions import FeedFormatError

__all__ = ["EntryError", "FeedFormatError", "PaperRecord", "ParseResult"]


@dataclass(frozen=True, slots=True)
class PaperRecord:
    """One entry of one feed, cleaned: plain-text title and abstract, version-free arXiv id."""

    guid: str
    title: str
    abstract: str = ""
    arxiv_id: str | None = None
    version: int | None = None
    doi: str | None = None
    authors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    primary_category: str = ""
    comment: str = ""
    abs_url: str = ""
    pdf_url: str = ""
    code_url: str = ""
    project_url: str = ""
    hf_url: str = ""
    published_at: datetime | None = None
    hf_upvotes: int | None = None
    hf_comments: int | None = None
    ai_summary: str = ""
    # arXiv RSS: new / cross / replace / replace-cross; empty elsewhere.
    announce_type: str = ""


@dataclass(frozen=True, slots=True)
class EntryError:
    """An entry that could not be used, and why (kept for the source's health report)."""

    position: int
    guid: str
    reason: str


@dataclass(slots=True)
class ParseResult:
    records: list[PaperRecord] = field(default_factory=list)
    errors: list[EntryError] = field(default_factory=list)
    # A problem with the document as a whole (malformed XML, truncated): good entries still land.
    warning: str = ""

    @property
    def entry_count(self) -> int:
        return len(self.records) + len(self.errors)
