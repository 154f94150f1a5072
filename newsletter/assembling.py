"""The chunk path's digest renderer: each paper rendered once per process, each digest assembled.

`DigestAssembler` renders each paper once per process into an inlined HTML fragment and a text
fragment, renders the frame around them (head, headline, footer) once per shape with sentinel
values, and assembles each subscriber's digest by joins, filling the sentinels with the subscriber's
values escaped exactly as css-inline's serialiser escapes text. The result is byte-identical to the
reference render (newsletter.rendering.render_digest_direct). Each batch of fragments is checked
against the full document it was cut from, and digests whose values hold characters an HTML parser
would rewrite are rendered by the reference path instead.

A digest is assembled straight into its JSON form (newsletter.wire): every literal piece is kept
JSON-escaped, so a batch request is joined from shared pieces and no body is decoded to text unless
something reads it.
"""

from __future__ import annotations

import re
import secrets
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from django.conf import settings

from .rendering import (
    DigestLinks,
    RenderedDigest,
    date_label,
    digest_headings,
    name_list,
    paper_card,
    render_digest_direct,
    render_templates,
)
from .wire import AssembledDigest, json_escape

# How css-inline (html5ever) serialises text and attribute values; a value rendered by Django's
# escape and re-serialised by the inliner comes out exactly like this.
_TEXT_ESCAPES = str.maketrans({"&": "&amp;", "\xa0": "&nbsp;", "<": "&lt;", ">": "&gt;"})
_ATTR_ESCAPES = str.maketrans({"&": "&amp;", "\xa0": "&nbsp;", '"': "&quot;"})
# An HTML parser rewrites these (CR becomes LF, NUL becomes U+FFFD): such values take the reference path.
_PARSER_REWRITES = re.compile("[\r\x00\ud800-\udfff]")
_PAPER_START = '<tr><td class="paper"'
_BLOCK_END = "</td></tr>"
_SLOTS = (
    "subject",
    "preheader",
    "headline",
    "topics",
    "keywords",
    "manage",
    "unsubscribe",
    "view",
    "more",
    "less",
    "why",
)
_LINK_SLOTS = frozenset({"manage", "unsubscribe", "view", "more", "less"})
# A URL made only of these characters reads the same in text, in an attribute and in JSON: the
# feedback links (twenty per digest) nearly always are, and skip three escapings each.
_PLAIN_URL = re.compile(r"[A-Za-z0-9._~:/?#\[\]@!$'()*+,;=%-]*")
# Escaped reader values kept per process (topic lists, keywords, subjects recur across readers).
_MAX_ESCAPES = 5_000
# Frames kept per process: one per (edition date, shape, "Trending today" strip); a morning has a few
# dates and one or two strips (one per reading window), so this bound is only a guard.
_MAX_FRAMES = 256


class AssemblyError(Exception):
    """A rendered document did not have the shape the assembler cuts it by (it falls back)."""


@dataclass(frozen=True)
class _Frame:
    """A digest without its papers: literal strings and slot names, for the HTML and the text."""

    html_head: tuple[str, ...]
    html_tail: tuple[str, ...]
    text_head: tuple[str, ...]
    text_tail: tuple[str, ...]

    def json_parts(self) -> tuple[tuple, ...]:
        """The four part lists with their literals as JSON-escaped UTF-8 (slot names stay)."""
        return tuple(
            _json_parts(parts) for parts in (self.html_head, self.html_tail, self.text_head, self.text_tail)
        )


@dataclass(frozen=True)
class _Fragment:
    """One paper, rendered for every reader: literal parts with the reader's "Why:" line and feedback
    links as slots (text, why, text, more, text, less, text)."""

    html: tuple[str, ...]  # the paper's inlined <tr>…</tr>
    text: tuple[str, ...]  # the paper's text block after "\n<n>. "
    title: str  # plain text, for the preheader
    html_json: tuple
    text_json: tuple


def _json_parts(parts: tuple[str, ...]) -> tuple:
    return tuple(json_escape(p) if n % 2 == 0 else p for n, p in enumerate(parts))


def _paper_link_values(links: list[tuple[str, str]]) -> list:
    """Each paper's (more, less) links as _link_values gives them; one pattern match for the whole
    digest when every link is a plain URL (as signed links on a plain SITE_URL always are)."""
    if _PLAIN_URL.fullmatch("".join(url for pair in links for url in pair)):
        encoded = []
        for more, less in links:
            more_bytes, less_bytes = more.encode(), less.encode()
            encoded.append(((more_bytes, more_bytes), (less_bytes, less_bytes)))
        return encoded
    return [_link_values(more, less) for more, less in links]


def _link_values(more: str, less: str) -> tuple[tuple[bytes, bytes], tuple[bytes, bytes]]:
    """One paper's feedback links, each as (in the text, in an HTML attribute), JSON-escaped UTF-8."""
    if _PLAIN_URL.fullmatch(more) and _PLAIN_URL.fullmatch(less):
        plain_more, plain_less = more.encode(), less.encode()
        return (plain_more, plain_more), (plain_less, plain_less)
    if _PARSER_REWRITES.search(more) or _PARSER_REWRITES.search(less):
        raise AssemblyError("a feedback link an HTML parser would rewrite")
    return tuple((json_escape(url), json_escape(url.translate(_ATTR_ESCAPES))) for url in (more, less))


def _frame_key(edition_date: date, flags: tuple) -> tuple:
    site = (
        settings.SITE_NAME,
        settings.SITE_URL,
        settings.PAPERBOY_SENDER_NAME,
        settings.PAPERBOY_POSTAL_ADDRESS,
    )
    return (edition_date, flags, site)


class DigestAssembler:
    """Per-process digest renderer: fragments per paper, frames per shape, one join per subscriber."""

    def __init__(self, *, max_fragments: int = 20_000) -> None:
        nonce = secrets.token_hex(6)
        # Letters and digits only: nothing in escaping or inlining touches them, and feed text never
        # contains them (a fresh nonce per process).
        self._sentinels = {name: f"pb{nonce}{name}x" for name in _SLOTS}
        self._slot_of = {value: name for name, value in self._sentinels.items()}
        self._split = re.compile("(" + "|".join(self._sentinels.values()) + ")")
        self._frames: dict[tuple, _Frame] = {}
        self._json_frames: dict[int, tuple[tuple, ...]] = {}
        self._fragments: OrderedDict[tuple, _Fragment] = OrderedDict()
        self._max_fragments = max_fragments
        self._html_separator: str | None = None
        self._json_separator = b""
        self._escapes: dict[tuple[bool, str], tuple[bytes, bytes]] = {}
        self._reason_escapes: dict[tuple[str, ...], list[tuple[bytes, bytes]]] = {}
        self.fallbacks = 0
        self.fragment_renders = 0

    # -- public ------------------------------------------------------------------------------

    def render(
        self,
        *,
        papers,
        edition_date: date,
        your_topics: Sequence[str],
        keywords: Sequence[str],
        links: DigestLinks,
        trending: Sequence = (),
        reasons: Sequence[str] = (),
    ) -> RenderedDigest | AssembledDigest:
        """A reader's digest. The "Trending today" strip is the same for every reader of a window, so
        it is part of the frame (rendered once per strip), not a per-reader value. `reasons` gives
        each paper its "Why:" line (newsletter.reasons); a paper without one takes the reference
        path, as the fragments are cut with the line."""
        subject, headline, _when = digest_headings(
            papers=papers, edition_date=edition_date, your_topics=your_topics
        )
        topics_text = name_list(list(your_topics))
        keywords_text = ", ".join(keywords)
        values = {
            "subject": subject,
            "headline": headline,
            "topics": topics_text,
            "keywords": keywords_text,
            "manage": links.manage_url,
            "unsubscribe": links.unsubscribe_url,
            "view": links.view_url,
        }
        try:
            if links.feedback is None:
                raise AssemblyError("fragments are cut with feedback links; previews go without")
            if len(reasons) != len(papers) or not all(reasons):
                raise AssemblyError("fragments are cut with a reason line; a paper has none")
            if _PARSER_REWRITES.search("".join(values.values())):  # one search: none of them has one
                raise AssemblyError("a value an HTML parser would rewrite")
            fragments = self.fragments(papers)
            paper_links = _paper_link_values([links.feedback(p.id) for p in papers])
            flags = (bool(links.view_url), bool(keywords), bool(your_topics), bool(papers))
            frame = self._frame(edition_date, flags, tuple(trending))
        except AssemblyError:
            self.fallbacks += 1
            return render_digest_direct(
                papers=papers,
                edition_date=edition_date,
                your_topics=your_topics,
                keywords=keywords,
                links=links,
                trending=trending,
                reasons=reasons,
            )
        values["preheader"] = " · ".join(f.title for f in fragments[:3])
        html_values, text_values = {}, {}
        for name, value in values.items():
            html_values[name], text_values[name] = self._escaped(name, value)
        html_head, html_tail, text_head, text_tail = self._json_frames[id(frame)]
        # Each body is a flat list of pieces: the frame's literals with the reader's values, and per
        # paper its fragment's three literals around the reader's two links.
        html = [b'"']
        html += [html_values[part] if n % 2 else part for n, part in enumerate(html_head)]
        text = [b'"']
        text += [text_values[part] if n % 2 else part for n, part in enumerate(text_head)]
        separator = self._json_separator
        whys = self._escaped_reasons(reasons)
        for n, (fragment, (more, less), why) in enumerate(zip(fragments, paper_links, whys, strict=True), 1):
            h, t = fragment.html_json, fragment.text_json
            if n > 1:
                html.append(separator)
            html += (h[0], why[0], h[2], more[1], h[4], less[1], h[6])
            text += (b"\\n%d. " % n, t[0], why[1], t[2], more[0], t[4], less[0], t[6])
        html += [html_values[part] if n % 2 else part for n, part in enumerate(html_tail)]
        html.append(b'"')
        text += [text_values[part] if n % 2 else part for n, part in enumerate(text_tail)]
        text.append(b'"')
        return AssembledDigest(subject=subject, html_parts=html, text_parts=text)

    def _escaped(self, name: str, value: str) -> tuple[bytes, bytes]:
        """A reader's value as it goes into the HTML and the text, each as JSON-escaped UTF-8.

        Most values recur across readers (topic lists, keywords, subjects, the first titles of a
        shared selection), so the escapes are kept, up to a bound, per (slot kind, value)."""
        link = name in _LINK_SLOTS
        key = (link, value)
        found = self._escapes.get(key)
        if found is None:
            if link and _PLAIN_URL.fullmatch(value):
                plain = value.encode()
                found = (plain, plain)
            else:
                html_value = value.translate(_ATTR_ESCAPES if link else _TEXT_ESCAPES)
                found = (json_escape(html_value), json_escape(value))
            if len(self._escapes) >= _MAX_ESCAPES:
                self._escapes.clear()
            if not link:  # links are the reader's own: seldom seen twice
                self._escapes[key] = found
        return found

    def _escaped_reasons(self, reasons: Sequence[str]) -> list[tuple[bytes, bytes]]:
        """The reasons' escapes (see _escaped); a digest's list recurs across the readers who share
        its selection, so lists are kept whole, up to a bound."""
        key = tuple(reasons)
        found = self._reason_escapes.get(key)
        if found is None:
            found = [self._escaped("why", why) for why in reasons]
            if len(self._reason_escapes) >= _MAX_ESCAPES:
                self._reason_escapes.clear()
            self._reason_escapes[key] = found
        return found

    def fragments(self, papers) -> list[_Fragment]:
        """Each paper's fragments, rendering the missing ones in one document."""
        keys = [self._paper_key(p) for p in papers]
        missing = {key: p for key, p in zip(keys, papers, strict=True) if key not in self._fragments}
        if missing:
            self._render_fragments(missing)
        found = []
        for key in keys:
            fragment = self._fragments[key]
            self._fragments.move_to_end(key)
            found.append(fragment)
        return found

    def warm(self, papers: Iterable) -> None:
        """Render the fragments of many papers at once (a chunk's whole selection), 200 per document.

        A batch that cannot be cut into fragments is left alone: each digest then renders its own
        missing papers and falls back to the reference path for the one that fails."""
        missing = {}
        for p in {id(p): p for p in papers}.values():  # the same paper object in many selections
            key = self._paper_key(p)
            if key not in self._fragments:
                missing[key] = p
        items = list(missing.items())
        for start in range(0, len(items), 200):
            try:
                self._render_fragments(dict(items[start : start + 200]))
            except AssemblyError:
                continue

    # -- fragments ---------------------------------------------------------------------------

    @staticmethod
    def _paper_key(paper) -> tuple:
        """(id, edit time, topic chips): what a paper's fragment depends on. Kept on the paper object
        while its edit time and chip list are the very objects it was made from (a digest asks for
        each of its ten papers' keys; a pool's papers serve thousands of digests)."""
        topics, updated = getattr(paper, "digest_topics", ()), paper.updated_at
        cached = getattr(paper, "_digest_key", None)
        if cached is not None and cached[0] is topics and cached[1] is updated:
            return cached[2]
        key = (paper.pk, updated, tuple(topics))
        paper._digest_key = (topics, updated, key)
        return key

    def _render_fragments(self, missing: dict[tuple, object]) -> None:
        cards = [paper_card(p) for p in missing.values()]
        for card in cards:  # the reader's reason and feedback links are filled in per digest
            card["more_url"], card["less_url"] = self._sentinels["more"], self._sentinels["less"]
            card["why"] = self._sentinels["why"]
        context = self._sentinel_context(
            cards, edition_date=date(2000, 1, 1), flags=(False, False, False, True)
        )
        html_doc, text_doc = render_templates(context)
        frame = self._frame(date(2000, 1, 1), (False, False, False, True))
        html_blocks = self._cut_html(html_doc, frame, len(cards))
        text_blocks = self._cut_text(text_doc, frame, len(cards))
        self.fragment_renders += 1
        for key, card, html_block, text_block in zip(missing, cards, html_blocks, text_blocks, strict=True):
            html_parts, text_parts = self._parts(html_block), self._parts(text_block)
            slots = ("why", "more", "less")
            if html_parts[1::2] != slots or text_parts[1::2] != slots:
                raise AssemblyError("a paper's fragment is not: text, why, text, more, text, less, text")
            self._fragments[key] = _Fragment(
                html=html_parts,
                text=text_parts,
                title=card["title"],
                html_json=_json_parts(html_parts),
                text_json=_json_parts(text_parts),
            )  # fmt: skip
        while len(self._fragments) > self._max_fragments:
            self._fragments.popitem(last=False)

    def _cut_html(self, doc: str, frame: _Frame, count: int) -> list[str]:
        head, tail = self._raw(frame.html_head), self._raw(frame.html_tail)
        if not (doc.startswith(head) and doc.endswith(tail)) or len(doc) < len(head) + len(tail):
            raise AssemblyError("the HTML document does not start and end like its frame")
        region = doc[len(head) : len(doc) - len(tail)]
        blocks, position = [], 0
        for n in range(count):
            if n and not region.startswith(self._html_separator, position):
                raise AssemblyError("unexpected text between two papers")
            position += len(self._html_separator) if n else 0
            if not region.startswith(_PAPER_START, position):
                raise AssemblyError("a paper block does not start where expected")
            end = region.index(_BLOCK_END, position) + len(_BLOCK_END)
            blocks.append(region[position:end])
            position = end
        if position != len(region) or self._html_separator.join(blocks) != region:
            raise AssemblyError("the HTML papers do not add up to the document")
        return blocks

    def _cut_text(self, doc: str, frame: _Frame, count: int) -> list[str]:
        head, tail = self._raw(frame.text_head), self._raw(frame.text_tail)
        if not (doc.startswith(head) and doc.endswith(tail)) or len(doc) < len(head) + len(tail):
            raise AssemblyError("the text document does not start and end like its frame")
        region = doc[len(head) : len(doc) - len(tail)]
        starts = []
        position = 0
        for n in range(1, count + 1):
            marker = f"\n{n}. "
            position = region.find(marker, position)
            if position < 0 or (n == 1 and position != 0):
                raise AssemblyError("a numbered paper is missing from the text")
            starts.append(position)
            position += len(marker)
        starts.append(len(region))
        blocks = [region[starts[n] + len(f"\n{n + 1}. ") : starts[n + 1]] for n in range(count)]
        if "".join(f"\n{n}. {b}" for n, b in enumerate(blocks, 1)) != region:
            raise AssemblyError("the text papers do not add up to the document")
        return blocks

    # -- frames ------------------------------------------------------------------------------

    def _sentinel_context(
        self, cards: list[dict], *, edition_date: date, flags: tuple, trending: tuple = ()
    ) -> dict:
        has_view, has_keywords, has_topics, _has_papers = flags
        s = self._sentinels
        return {
            "subject": s["subject"],
            "headline": s["headline"],
            "date_label": date_label(edition_date),
            "edition_date": edition_date,
            "papers": cards,
            "trending": [paper_card(p) for p in trending],
            "preheader": s["preheader"],
            "your_topics": [s["topics"]] if has_topics else [],
            "your_topics_text": s["topics"] if has_topics else "",
            "keywords": [s["keywords"]] if has_keywords else [],
            "site_name": settings.SITE_NAME,
            "site_url": settings.SITE_URL,
            "sender_name": settings.PAPERBOY_SENDER_NAME,
            "postal_address": settings.PAPERBOY_POSTAL_ADDRESS,
            "manage_url": s["manage"],
            "unsubscribe_url": s["unsubscribe"],
            "view_url": s["view"] if has_view else "",
        }

    def _frame(self, edition_date: date, flags: tuple, trending: tuple = ()) -> _Frame:
        strip = tuple((*self._paper_key(p), p.hf_upvotes, p.hf_comments) for p in trending)
        key = (*_frame_key(edition_date, flags), strip)
        frame = self._frames.get(key)
        if frame is None:
            frame = self._build_frame(edition_date, flags, trending)
            if len(self._frames) >= _MAX_FRAMES:
                self._frames.clear()
                self._json_frames.clear()
            self._frames[key] = frame
            self._json_frames[id(frame)] = frame.json_parts()
        return frame

    def _build_frame(self, edition_date: date, flags: tuple, trending: tuple = ()) -> _Frame:
        """Render the frame (with its strip) around two placeholder papers and cut the papers out."""
        has_papers = flags[3]
        dummy = {"title": "placeholder", "title_html": "placeholder", "abstract_html": "", "url": "",
                 "authors": "", "topics": [], "upvotes": None,
                 "comments": None, "abstract": "", "pdf_url": "", "code_url": "", "hf_url": "",
                 "featured": False}  # fmt: skip
        cards = [dummy, dummy] if has_papers else []
        context = self._sentinel_context(cards, edition_date=edition_date, flags=flags, trending=trending)
        html_doc, text_doc = render_templates(context)
        if not has_papers:
            return _Frame(self._parts(html_doc), (), self._parts(text_doc), ())
        first = html_doc.find(_PAPER_START)
        if first < 0 or html_doc.count(_PAPER_START) != 2:
            raise AssemblyError("the digest template's paper blocks were not found")
        first_end = html_doc.index(_BLOCK_END, first) + len(_BLOCK_END)
        second = html_doc.index(_PAPER_START, first_end)
        second_end = html_doc.index(_BLOCK_END, second) + len(_BLOCK_END)
        block = html_doc[first:first_end]
        if html_doc[second:second_end] != block:
            raise AssemblyError("two identical papers rendered differently")
        separator = html_doc[first_end:second]
        if self._html_separator not in (None, separator):
            raise AssemblyError("the separator between papers changed")
        self._html_separator = separator
        self._json_separator = json_escape(separator)
        one, two = text_doc.find("\n1. placeholder"), text_doc.find("\n2. placeholder")
        if one < 0 or two < 0:
            raise AssemblyError("the text template's numbered papers were not found")
        text_block = text_doc[one + 4 : two]
        text_end = two + 4 + len(text_block)
        if text_doc[two + 4 : text_end] != text_block:
            raise AssemblyError("two identical papers' texts differ")
        return _Frame(
            self._parts(html_doc[:first]),
            self._parts(html_doc[second_end:]),
            self._parts(text_doc[:one]),
            self._parts(text_doc[text_end:]),
        )

    def _parts(self, text: str) -> tuple[str, ...]:
        """The text split at sentinels: literals at even positions, slot names at odd ones."""
        pieces = self._split.split(text)
        return tuple(self._slot_of[p] if n % 2 else p for n, p in enumerate(pieces))

    def _raw(self, parts: tuple[str, ...]) -> str:
        return "".join(self._sentinels[p] if n % 2 else p for n, p in enumerate(parts))
