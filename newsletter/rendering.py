"""Turning a subscriber's papers into the digest's subject, HTML and text.

Feed text is untrusted: titles and abstracts are stored as plain text, shown as written and
autoescaped by the templates, and only http(s) links are ever put in an href. The HTML is laid out
with tables for mail clients; its CSS is inlined by css-inline, except one <style> block (kept with
data-css-inline="keep") holding the dark-mode and small-screen rules that cannot be inlined.

Two paths produce byte-identical output: `render_digest_direct` here renders the templates (Django
templates + css-inline) for one subscriber: the reference, used for previews, the web and tests;
`newsletter.assembling.DigestAssembler` renders each paper once per process and assembles each
subscriber's digest from the pieces (the chunk path).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from urllib.parse import quote

import css_inline
from django.conf import settings
from django.template.loader import get_template
from django.utils.safestring import mark_safe

from papers.text import (
    emphasis_html,
    http_url,
    plain_text,
    short_authors,
    shown_with_emphasis,
    strip_emphasis,
)

ABSTRACT_WORDS = 60  # enough to judge a paper, short enough for ten of them in one email
MAX_TITLE_CHARS = 300  # a feed may send a 10,000-character "title"

_INLINER = css_inline.CSSInliner(load_remote_stylesheets=False)


@dataclass(frozen=True)
class RenderedDigest:
    subject: str
    html: str
    text: str


@dataclass(frozen=True)
class DigestLinks:
    """The per-subscriber parts of a digest."""

    manage_url: str
    unsubscribe_url: str
    view_url: str = ""  # empty when there is no sent delivery to view (a preview)
    # paper id -> ("more like this" URL, "less like this" URL), signed for this reader
    # (subscriptions.tokens.feedback_link_maker); None shows no feedback links (admin previews).
    feedback: Callable[[int], tuple[str, str]] | None = None


def abstract_excerpt(abstract: str) -> str:
    """The first ABSTRACT_WORDS words of a display text, its emphasis markers kept."""
    words = shown_with_emphasis(abstract).split(" ")
    if len(words) > ABSTRACT_WORDS:
        return " ".join(words[:ABSTRACT_WORDS]).rstrip(",;:") + " …"
    return " ".join(words)


def paper_card(paper) -> dict:
    """What the templates show of one paper: plain text, and for the HTML the same text escaped with
    its LaTeX emphasis as <em> (papers.text.emphasis_html); the text was converted at ingest."""
    page = http_url(paper.abs_url)
    if not page and paper.arxiv_id:
        page = f"https://arxiv.org/abs/{quote(paper.arxiv_id, safe='./')}"
    title = shown_with_emphasis(paper.display_title or paper.title, limit=MAX_TITLE_CHARS)
    if not strip_emphasis(title).strip():
        title = "(untitled)"
    abstract = abstract_excerpt(paper.display_abstract or paper.abstract)
    return {
        "id": paper.pk,
        "title": strip_emphasis(title),
        "title_html": mark_safe(emphasis_html(title)),  # noqa: S308 - escaped text and <em> only
        "url": page,
        "authors": short_authors(paper.authors),
        "topics": list(getattr(paper, "digest_topics", ())),
        "upvotes": paper.hf_upvotes,
        "comments": paper.hf_comments,
        "abstract": strip_emphasis(abstract),
        "abstract_html": mark_safe(emphasis_html(abstract)),  # noqa: S308 - escaped text and <em> only
        "pdf_url": http_url(paper.pdf_url),
        "code_url": http_url(paper.code_url),
        "hf_url": http_url(paper.hf_url),
        "featured": paper.featured,
    }


@lru_cache(maxsize=64)  # a morning has one or two dates; strftime per digest showed
def date_label(edition_date: date) -> str:
    return f"{edition_date:%b} {edition_date.day}"


def name_list(names: Sequence[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"


def subject_topics(papers, your_topics: Sequence[str]) -> str:
    """The subscriber's topics this digest is mostly about: the two most frequent, "and more" after."""
    counts = dict.fromkeys(your_topics, 0)
    for paper in papers:
        for name in getattr(paper, "digest_topics", ()):
            if name in counts:
                counts[name] += 1
    present = sorted((n for n, c in counts.items() if c), key=lambda n: -counts[n])  # stable: topic order
    if not present:
        return "your keywords" if papers else (name_list(list(your_topics)[:2]) or "your topics")
    if len(present) > 2:
        return f"{present[0]}, {present[1]} and more"
    return name_list(present)


def digest_headings(*, papers, edition_date: date, your_topics: Sequence[str]) -> tuple[str, str, str]:
    """(subject, headline, date label) of a digest of `papers` (their `digest_topics` name the subject)."""
    count = len(papers)
    about = subject_topics(papers, your_topics)
    when = date_label(edition_date)
    plural = "s" if count != 1 else ""
    if count:
        subject = f"{count} new paper{plural} on {about} — {when}"
        headline = f"{count} new paper{plural} on {about}"
    else:
        subject, headline = f"A quiet day on {about} — {when}", ""
    return _subject_text(subject), headline, when


@lru_cache(maxsize=4096)  # subjects recur across readers: the same counts, topics and date
def _subject_text(subject: str) -> str:
    return plain_text(subject, limit=250)


def _preheader(cards: Sequence[dict]) -> str:
    # Shown by mail clients next to the subject: the first three titles.
    return " · ".join(card["title"] for card in cards[:3])


def digest_context(
    *,
    papers,
    edition_date: date,
    your_topics: Sequence[str],
    keywords: Sequence[str],
    trending=(),
    reasons: Sequence[str] = (),
):
    """The templates' context; `reasons` gives each paper its "Why:" line (newsletter.reasons)."""
    subject, headline, when = digest_headings(
        papers=papers, edition_date=edition_date, your_topics=your_topics
    )
    cards = [paper_card(p) for p in papers]
    if reasons:
        for card, why in zip(cards, reasons, strict=True):
            card["why"] = why
    return {
        "subject": subject,
        "headline": headline,
        "date_label": when,
        "edition_date": edition_date,
        "papers": cards,
        # "Trending today": the day's most-upvoted papers of any topic, above the reader's own.
        "trending": [paper_card(p) for p in trending],
        "preheader": _preheader(cards),
        "your_topics": list(your_topics),
        "your_topics_text": name_list(list(your_topics)),
        "keywords": list(keywords),
        "site_name": settings.SITE_NAME,
        "site_url": settings.SITE_URL,
        "sender_name": settings.PAPERBOY_SENDER_NAME,
        "postal_address": settings.PAPERBOY_POSTAL_ADDRESS,
    }


def render_templates(context: dict) -> tuple[str, str]:
    """The digest templates rendered with `context`: (the HTML with its CSS inlined, the text)."""
    html = _INLINER.inline(get_template("emails/digest.html").render(context))
    return html, get_template("emails/digest.txt").render(context)


def _render(context: dict, links: DigestLinks) -> RenderedDigest:
    context = {**context, "manage_url": links.manage_url, "unsubscribe_url": links.unsubscribe_url}
    context["view_url"] = links.view_url
    if links.feedback is not None:
        context["papers"] = [
            {**card, **dict(zip(("more_url", "less_url"), links.feedback(card["id"]), strict=True))}
            for card in context["papers"]
        ]
    html_body, text_body = render_templates(context)
    # A plain str, not the SafeString the template engine returns: the text part is rendered with
    # autoescape off, so a page that shows it (the admin preview) must escape it like any text.
    return RenderedDigest(subject=context["subject"], html=html_body, text=str.__str__(text_body))


def render_digest_direct(
    *,
    papers,
    edition_date: date,
    your_topics: Sequence[str],
    keywords: Sequence[str],
    links: DigestLinks,
    trending=(),
    reasons: Sequence[str] = (),
) -> RenderedDigest:
    """The straightforward render for one subscriber (previews, tests, the reference for the cache)."""
    context = digest_context(
        papers=papers,
        edition_date=edition_date,
        your_topics=your_topics,
        keywords=keywords,
        trending=trending,
        reasons=reasons,
    )
    return _render(context, links)
