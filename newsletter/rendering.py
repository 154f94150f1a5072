"""Turning a subscriber's papers into the digest's subject, HTML and text.

Feed text is untrusted: titles and abstracts are reduced to plain text and autoescaped by the
templates, and only http(s) links are ever put in an href. The HTML is laid out with tables for mail
clients; its CSS is inlined by css-inline, except one <style> block (kept with data-css-inline="keep")
holding the dark-mode and small-screen rules that cannot be inlined.

Two paths produce byte-identical output:
- `render_digest_direct` renders the templates with the subscriber's real links (one subscriber);
- `DigestRenderer` renders once per distinct (papers, topics, date) with placeholder links and fills
  in each subscriber's links afterwards, so subscribers with the same selection share one rendering.
"""

from __future__ import annotations

import html
import re
import secrets
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from urllib.parse import quote, urlsplit

import css_inline
import nh3
from django.conf import settings
from django.template.loader import get_template
from django.utils.html import escape

ABSTRACT_WORDS = 60  # enough to judge a paper, short enough for ten of them in one email
MAX_TITLE_CHARS = 300  # a feed may send a 10,000-character "title"
MAX_AUTHORS = 3  # "A, B, C et al."

_INLINER = css_inline.CSSInliner(load_remote_stylesheets=False)
_WHITESPACE = re.compile(r"\s+")


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


def plain_text(value: str, *, limit: int | None = None) -> str:
    """Feed text as plain text: markup dropped (script/style with their content), entities decoded."""
    if not value:
        return ""
    if "<" in value or "&" in value:
        value = html.unescape(nh3.clean(value, tags=set()))
    value = _WHITESPACE.sub(" ", value).strip()
    if limit and len(value) > limit:
        value = value[: limit - 1].rstrip() + "…"
    return value


def http_url(url: str) -> str:
    """The URL when it is an absolute http(s) link, else "" (no javascript:, data:, relative links)."""
    url = (url or "").strip()
    if not url or len(url) > 2000 or any(ord(c) < 33 for c in url):
        return ""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    return url if parts.scheme.lower() in ("http", "https") and parts.netloc else ""


def short_authors(authors) -> str:
    names = [plain_text(str(a), limit=100) for a in (authors or []) if str(a).strip()]
    if len(names) > MAX_AUTHORS:
        return ", ".join(names[:MAX_AUTHORS]) + " et al."
    return ", ".join(names)


def abstract_excerpt(abstract: str) -> str:
    words = plain_text(abstract).split(" ")
    if len(words) > ABSTRACT_WORDS:
        return " ".join(words[:ABSTRACT_WORDS]).rstrip(",;:") + " …"
    return " ".join(words)


def paper_card(paper) -> dict:
    """What the templates show of one paper, every string already reduced to plain text."""
    page = http_url(paper.abs_url)
    if not page and paper.arxiv_id:
        page = f"https://arxiv.org/abs/{quote(paper.arxiv_id, safe='./')}"
    return {
        "title": plain_text(paper.title, limit=MAX_TITLE_CHARS) or "(untitled)",
        "url": page,
        "authors": short_authors(paper.authors),
        "topics": list(getattr(paper, "digest_topics", ())),
        "upvotes": paper.hf_upvotes,
        "comments": paper.hf_comments,
        "abstract": abstract_excerpt(paper.abstract),
        "pdf_url": http_url(paper.pdf_url),
        "code_url": http_url(paper.code_url),
        "hf_url": http_url(paper.hf_url),
        "featured": paper.featured,
    }


def date_label(edition_date: date) -> str:
    return f"{edition_date:%b} {edition_date.day}"


def _name_list(names: Sequence[str]) -> str:
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
        return "your keywords" if papers else (_name_list(list(your_topics)[:2]) or "your topics")
    if len(present) > 2:
        return f"{present[0]}, {present[1]} and more"
    return _name_list(present)


def digest_context(*, papers, edition_date: date, your_topics: Sequence[str], keywords: Sequence[str]):
    count = len(papers)
    about = subject_topics(papers, your_topics)
    when = date_label(edition_date)
    if count:
        subject = f"{count} new paper{'s' if count != 1 else ''} on {about} — {when}"
    else:
        subject = f"A quiet day on {about} — {when}"
    return {
        "subject": plain_text(subject, limit=250),
        "headline": f"{count} new paper{'s' if count != 1 else ''} on {about}" if count else "",
        "date_label": when,
        "edition_date": edition_date,
        "papers": [paper_card(p) for p in papers],
        "your_topics": list(your_topics),
        "your_topics_text": _name_list(list(your_topics)),
        "keywords": list(keywords),
        "site_name": settings.SITE_NAME,
        "site_url": settings.SITE_URL,
        "sender_name": settings.PAPERBOY_SENDER_NAME,
        "postal_address": settings.PAPERBOY_POSTAL_ADDRESS,
    }


def _render(context: dict, links: DigestLinks) -> RenderedDigest:
    context = {**context, "manage_url": links.manage_url, "unsubscribe_url": links.unsubscribe_url}
    context["view_url"] = links.view_url
    html_body = _INLINER.inline(get_template("emails/digest.html").render(context))
    text_body = get_template("emails/digest.txt").render(context)
    return RenderedDigest(subject=context["subject"], html=html_body, text=text_body)


def render_digest_direct(
    *, papers, edition_date: date, your_topics: Sequence[str], keywords: Sequence[str], links: DigestLinks
) -> RenderedDigest:
    """The straightforward render for one subscriber (previews, tests, the reference for the cache)."""
    context = digest_context(
        papers=papers, edition_date=edition_date, your_topics=your_topics, keywords=keywords
    )
    return _render(context, links)


class DigestRenderer:
    """Renders each distinct digest once; each subscriber's links are filled into placeholders after.

    Placeholders carry a random per-process nonce, so feed text can never forge one. The cache is an
    LRU bounded in entries; keys include each paper's updated_at and topics, so an edited paper is
    rendered afresh.
    """

    def __init__(self, *, max_entries: int = 512) -> None:
        nonce = secrets.token_hex(8)
        self._placeholders = DigestLinks(
            manage_url=f"https://pb{nonce}.invalid/manage",
            unsubscribe_url=f"https://pb{nonce}.invalid/unsubscribe",
            view_url=f"https://pb{nonce}.invalid/view",
        )
        self._cache: OrderedDict[tuple, RenderedDigest] = OrderedDict()
        self._max_entries = max_entries
        self.hits = self.misses = 0

    def render(
        self,
        *,
        papers,
        edition_date: date,
        your_topics: Sequence[str],
        keywords: Sequence[str],
        links: DigestLinks,
    ) -> RenderedDigest:
        has_view = bool(links.view_url)
        key = (
            edition_date,
            tuple((p.pk, p.updated_at, tuple(getattr(p, "digest_topics", ()))) for p in papers),
            tuple(your_topics),
            tuple(keywords),
            has_view,
            (
                settings.SITE_NAME,
                settings.SITE_URL,
                settings.PAPERBOY_SENDER_NAME,
                settings.PAPERBOY_POSTAL_ADDRESS,
            ),
        )
        shared = self._cache.get(key)
        if shared is None:
            self.misses += 1
            placeholders = (
                self._placeholders
                if has_view
                else DigestLinks(self._placeholders.manage_url, self._placeholders.unsubscribe_url, "")
            )
            context = digest_context(
                papers=papers, edition_date=edition_date, your_topics=your_topics, keywords=keywords
            )
            shared = _render(context, placeholders)
            self._cache[key] = shared
            if len(self._cache) > self._max_entries:
                self._cache.popitem(last=False)
        else:
            self.hits += 1
            self._cache.move_to_end(key)
        return self._personalise(shared, links)

    def _personalise(self, shared: RenderedDigest, links: DigestLinks) -> RenderedDigest:
        html_body, text_body = shared.html, shared.text
        for placeholder, real in (
            (self._placeholders.manage_url, links.manage_url),
            (self._placeholders.unsubscribe_url, links.unsubscribe_url),
            (self._placeholders.view_url, links.view_url),
        ):
            if not real:
                continue
            html_body = html_body.replace(placeholder, escape(real))
            text_body = text_body.replace(placeholder, real)
        return RenderedDigest(subject=shared.subject, html=html_body, text=text_body)
