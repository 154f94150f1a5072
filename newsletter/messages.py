"""A digest's email: its headers and metadata, and the message object a backend sends.

- `digest_message(...)` makes one message, the plain way (DigestMessage's constructor);
- `DigestMessages()` makes a chunk's messages: the settings it needs are read once, and each
  message is a copy of a prototype the constructor made, its containers fresh (Django's and
  anymail's constructors set ~25 attributes: 5.9 µs a message, against 1.4). A test holds both ways
  to the same message.
"""

from __future__ import annotations

from datetime import date
from email.utils import formataddr, parseaddr
from functools import lru_cache
from urllib.parse import urlsplit

from anymail.message import AnymailMessage, AnymailStatus
from django.conf import settings
from django.core.mail.message import EmailAlternative

from .conf import setting
from .rendering import DigestLinks, RenderedDigest
from .wire import AssembledDigest


@lru_cache(maxsize=8)
def _domain_of(site_url: str) -> str:
    return urlsplit(site_url).hostname or "localhost"


def _site_domain() -> str:
    return _domain_of(settings.SITE_URL)


def digest_message_id(delivery_id: int, edition_date: date) -> str:
    """Stable per delivery: a copy sent again by a person carries the same Message-ID, so receivers
    that de-duplicate on it show one message."""
    return f"<digest.{delivery_id}.{edition_date:%Y%m%d}@{_site_domain()}>"


def _unsubscribe_mailto() -> str:
    return _mailto(setting("UNSUBSCRIBE_MAILTO"), settings.DEFAULT_FROM_EMAIL)


@lru_cache(maxsize=8)
def _mailto(configured: str, from_email: str) -> str:
    # Parsed once per setting value: address parsing cost more than the rest of a message.
    return f"mailto:{configured or parseaddr(from_email)[1]}?subject=unsubscribe"


@lru_cache(maxsize=8)
def _list_id(site_name: str, domain: str) -> str:
    return formataddr((f"{site_name} digest", f"digest.{domain}"))


class DigestMessage(AnymailMessage):
    """A digest email whose bodies stay the assembler's JSON until something reads them as text.

    `body` and `alternatives` behave as on any EmailMultiAlternatives; the first read decodes them
    (SMTP, the outbox, anymail's builder). A JSON backend asks `prepared_json()` instead and sends the
    assembled bytes as they are, which it may only while nothing could have changed the bodies: never
    read, or read and still the very strings decoded from those pieces.
    """

    def __init__(self, *, rendered, **kwargs) -> None:
        super().__init__(**kwargs)
        self._rendered = rendered
        self._body = self._alternatives = _UNREAD

    @property
    def body(self):
        if self._body is _UNREAD:
            self._body = self._rendered.text
        return self._body

    @body.setter
    def body(self, value) -> None:
        self._body = value

    @property
    def alternatives(self):
        if self._alternatives is _UNREAD:
            self._alternatives = [EmailAlternative(self._rendered.html, "text/html")]
        return self._alternatives

    @alternatives.setter
    def alternatives(self, value) -> None:
        self._alternatives = value

    def bodies_unread(self) -> bool:
        """True while body and alternatives are the assembled ones, untouched (a text body plus one
        text/html alternative)."""
        return self._body is _UNREAD and self._alternatives is _UNREAD

    def prepared_json(self) -> tuple[list[bytes], list[bytes]] | None:
        """The pieces of the (HTML, text) bodies as JSON string literals, while they still are this
        message's bodies (see AssembledDigest)."""
        rendered = self._rendered
        if self.bodies_unread():
            return rendered.html_parts, rendered.text_parts
        alternatives = self.alternatives
        if (
            self.body is rendered.text
            and len(alternatives) == 1
            and alternatives[0][0] is rendered.html
            and alternatives[0][1] == "text/html"
        ):
            return rendered.html_parts, rendered.text_parts
        return None


_UNREAD = object()


def _headers(*, unsubscribe_url: str, mailto: str, list_id: str, message_id: str) -> dict[str, str]:
    return {
        # RFC 2369 + RFC 8058: mail clients show an unsubscribe button that POSTs one click.
        "List-Unsubscribe": f"<{unsubscribe_url}>, <{mailto}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "List-Id": list_id,
        "Message-ID": message_id,
    }


def digest_message(
    *,
    subscriber,
    rendered: RenderedDigest | AssembledDigest,
    delivery_id: int,
    edition_date: date,
    links: DigestLinks,
) -> AnymailMessage:
    """The email: HTML with a plain-text alternative, list headers, provider metadata and tag."""
    fields = {
        "subject": rendered.subject,
        "from_email": settings.DEFAULT_FROM_EMAIL,
        "to": [subscriber.email],
        "headers": _headers(
            unsubscribe_url=links.unsubscribe_url,
            mailto=_unsubscribe_mailto(),
            list_id=_list_id(settings.SITE_NAME, _site_domain()),
            message_id=digest_message_id(delivery_id, edition_date),
        ),
        # Provider events (bounces, opens) come back carrying these, which ties them to the Delivery.
        "metadata": {"delivery_id": str(delivery_id)},
        "tags": ["digest"],
    }
    if isinstance(rendered, AssembledDigest):
        message = DigestMessage(rendered=rendered, **fields)
    else:
        message = AnymailMessage(body=rendered.text, **fields)
        message.attach_alternative(rendered.html, "text/html")
    message.delivery_id = delivery_id
    return message


# Attributes DigestMessages sets for each message; everything else comes from the prototype.
_PER_MESSAGE = frozenset({"to", "subject", "extra_headers", "metadata", "anymail_status", "_rendered"})
_SHAREABLE = (str, bytes, int, float, bool, tuple, frozenset, type(None), type)


class DigestMessages:
    """A chunk's digest messages, each the same as `digest_message` makes (a test holds them equal).

    A message is a DigestMessage whose attributes are those of a prototype made by the constructor:
    immutable values and sentinels shared, lists and dicts copied, and the message's own values set.
    Should a new Django or anymail version give a message an attribute of another kind (which could
    be mutable and shared by mistake), every message is made by the constructor instead.
    """

    def __init__(self) -> None:
        self.from_email = settings.DEFAULT_FROM_EMAIL
        self._domain = _site_domain()
        self._list_id = _list_id(settings.SITE_NAME, self._domain)
        self._mailto = _unsubscribe_mailto()
        self._dates: dict[date, str] = {}
        prototype = DigestMessage(
            rendered=None,
            subject="",
            from_email=self.from_email,
            to=[],
            headers={},
            metadata={},
            tags=["digest"],
        )
        self._shared: dict | None = {}
        self._copied: list[tuple[str, list | dict]] = []
        for name, value in vars(prototype).items():
            if name in _PER_MESSAGE:
                continue
            if type(value) in (list, dict):
                self._copied.append((name, value))
            elif isinstance(value, _SHAREABLE) or value is _UNREAD:
                self._shared[name] = value
            else:
                self._shared = None
                break

    def make(
        self,
        *,
        email: str,
        rendered: AssembledDigest,
        delivery_id: int,
        edition_date: date,
        unsubscribe_url: str,
    ) -> DigestMessage:
        day = self._dates.get(edition_date)
        if day is None:
            day = self._dates[edition_date] = f"{edition_date:%Y%m%d}"
        headers = _headers(
            unsubscribe_url=unsubscribe_url,
            mailto=self._mailto,
            list_id=self._list_id,
            # digest_message_id's, with the date formatted once per chunk
            message_id=f"<digest.{delivery_id}.{day}@{self._domain}>",
        )
        metadata = {"delivery_id": str(delivery_id)}
        if self._shared is None:
            message = DigestMessage(
                rendered=rendered,
                subject=rendered.subject,
                from_email=self.from_email,
                to=[email],
                headers=headers,
                metadata=metadata,
                tags=["digest"],
            )
        else:
            message = DigestMessage.__new__(DigestMessage)
            state = message.__dict__
            state.update(self._shared)
            for name, value in self._copied:
                state[name] = value.copy()
            state["to"] = [email]
            state["subject"] = rendered.subject
            state["extra_headers"] = headers
            state["metadata"] = metadata
            state["anymail_status"] = AnymailStatus()
            state["_rendered"] = rendered
        message.delivery_id = delivery_id
        return message
