"""huggingface.co/api/daily_papers: a JSON array of {paper: {...}, numComments, ...}.

Upvotes, githubRepo, projectPage and ai_summary sit inside `paper`; numComments sits outside.
Every field but the paper id and title is optional.
"""

import json

from papers.normalise import arxiv_abs_url, arxiv_pdf_url, parse_arxiv_id, parse_datetime
from papers.text import collapse_whitespace, http_url, text_from_html

from .records import EntryError, FeedFormatError, PaperRecord, ParseResult

# The largest count the database column holds (PositiveIntegerField); anything above is no real count.
_MAX_COUNT = 2**31 - 1


def _count(value) -> int | None:
    # bool is an int in Python; a JSON true is not a count.
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= _MAX_COUNT:
        return value
    return None


def _text(value) -> str:
    return text_from_html(value) if isinstance(value, str) else ""


def parse(body: bytes) -> ParseResult:
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FeedFormatError(f"not valid JSON: {exc}") from exc
    except RecursionError as exc:
        # The decoder recurses once per nested array or object; no daily papers list is that deep.
        raise FeedFormatError("not valid JSON: nested too deeply") from exc
    if not isinstance(data, list):
        raise FeedFormatError(f"expected a JSON array of daily papers, got {type(data).__name__}")
    result = ParseResult()
    for position, item in enumerate(data):
        if not isinstance(item, dict):
            result.errors.append(EntryError(position=position, guid="", reason="entry is not an object"))
            continue
        paper = item.get("paper") if isinstance(item.get("paper"), dict) else {}
        raw_id = paper.get("id") if isinstance(paper.get("id"), str) else ""
        arxiv_id, _version = parse_arxiv_id(raw_id)
        title = _text(paper.get("title")) or _text(item.get("title"))
        if not arxiv_id or not title:
            reason = "no arXiv id" if not arxiv_id else "no title"
            result.errors.append(EntryError(position=position, guid=raw_id, reason=reason))
            continue
        authors = [
            collapse_whitespace(author.get("name"))
            for author in paper.get("authors") or []
            if isinstance(author, dict) and isinstance(author.get("name"), str) and author.get("name").strip()
        ]
        result.records.append(
            PaperRecord(
                guid=arxiv_id,
                title=title,
                abstract=_text(paper.get("summary")) or _text(item.get("summary")),
                arxiv_id=arxiv_id,
                # Hugging Face does not say which arXiv version it shows.
                version=None,
                authors=tuple(authors),
                abs_url=arxiv_abs_url(arxiv_id),
                pdf_url=arxiv_pdf_url(arxiv_id),
                code_url=http_url(
                    paper.get("githubRepo") if isinstance(paper.get("githubRepo"), str) else ""
                ),
                project_url=http_url(
                    paper.get("projectPage") if isinstance(paper.get("projectPage"), str) else ""
                ),
                hf_url=f"https://huggingface.co/papers/{arxiv_id}",
                published_at=parse_datetime(paper.get("publishedAt") or item.get("publishedAt")),
                hf_upvotes=_count(paper.get("upvotes")),
                hf_comments=_count(item.get("numComments")),
                ai_summary=_text(paper.get("ai_summary")),
            )
        )
    return result
