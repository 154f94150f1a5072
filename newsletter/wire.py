"""A digest body as the pieces of its JSON string literal: the form the assembler builds a digest in and
a JSON provider API's request is joined from.

Postmark's batch endpoint takes each message as JSON (mailing.backends.postmark); a digest is mostly
paper fragments every reader shares. JSON escapes character by character, so the escape of a
concatenation is the concatenation of the escapes: each piece (a paper's fragment, a frame's text, a
reader's value) is escaped once and joined into many bodies, and the backend joins a message's
pieces straight into its request body without the text ever being decoded. A backend asks a message
for them with `prepared_json()` (newsletter.messages.DigestMessage), which gives them only while they
still are the message's bodies.
"""

from __future__ import annotations

import json


def json_escape(text: str) -> bytes:
    """The inside of a JSON string literal for `text`, as UTF-8 (what json.dumps(text,
    ensure_ascii=False) puts between its quotes)."""
    return json.dumps(text, ensure_ascii=False)[1:-1].encode()


class AssembledDigest:
    """A digest the assembler made: the same attributes as RenderedDigest, but each body is kept as
    the list of pieces of its JSON string literal (UTF-8), mostly the per-paper fragments every
    digest shares. A JSON provider API joins the pieces straight into its request (one copy of the
    bytes, for the whole batch); `html_json` / `text_json` join them on demand, and `html` / `text`
    are decoded from those only when something reads them (another backend, a preview, a test).

    A digest in memory is then a few hundred bytes of references instead of 40 kB of text, and
    building it is list appends.
    """

    __slots__ = ("_html", "_text", "html_parts", "subject", "text_parts")

    def __init__(self, *, subject: str, html_parts: list[bytes], text_parts: list[bytes]) -> None:
        self.subject = subject
        self.html_parts = html_parts
        self.text_parts = text_parts
        self._html: str | None = None
        self._text: str | None = None

    @property
    def html_json(self) -> bytes:
        return b"".join(self.html_parts)

    @property
    def text_json(self) -> bytes:
        return b"".join(self.text_parts)

    @property
    def html(self) -> str:
        if self._html is None:
            self._html = json.loads(self.html_json)
        return self._html

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = json.loads(self.text_json)
        return self._text
