"""Composing digests: what each subscriber gets, rendered, as a ready-to-send email message.

Public surface (the web pages and admin use the first two):
- `select_papers_for(subscriber, *, edition_date, since=None)` -> ranked papers for one subscriber;
- `render_digest(*, subscriber, papers, edition_date, delivery_id=None)` -> RenderedDigest;
- `ChunkComposer(deliveries, *, now)` selects papers for a whole chunk in a handful of queries and
  then `compose(delivery)` makes each digest; `compose_deliveries` composes the whole chunk at once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from email.utils import formataddr, parseaddr
from functools import lru_cache
from urllib.parse import urlsplit

from anymail.message import AnymailMessage
from django.conf import settings
from django.core.mail.message import EmailAlternative
from django.utils import timezone
from django.utils.encoding import force_bytes

from papers.models import Paper, Topic
from subscriptions.feedback import feedback_link_maker
from subscriptions.hmacs import PreparedHmac
from subscriptions.models import Subscriber
from subscriptions.tokens import manage_url, unsubscribe_url

from .links import digest_view_url
from .models import Delivery
from .rendering import AssembledDigest, DigestAssembler, DigestLinks, RenderedDigest, render_digest_direct
from .selectors import parse_keywords, select_papers_bulk

SKIP_NOTHING_NEW = "nothing new on your topics"
SKIP_INACTIVE = "subscriber is no longer active"

# One per process: each paper is rendered once and reused across the chunks this worker sends.
_renderer = DigestAssembler()


def _topic_order(topic: Topic) -> tuple:
    return (topic.display_order, topic.name.lower(), topic.pk)


def select_papers_for(
    subscriber: Subscriber, *, edition_date: date, since: datetime | None = None, now: datetime | None = None
) -> list[Paper]:
    """The ranked papers of `subscriber`'s digest for `edition_date` (see newsletter.selectors)."""
    selection = select_papers_bulk(
        [subscriber], edition_dates={subscriber.pk: edition_date}, now=now, since=since
    )
    return selection.papers.get(subscriber.pk, [])


def _your_topics(subscriber: Subscriber) -> list[str]:
    return [t.name for t in sorted(subscriber.topics.filter(active=True), key=_topic_order)]


def subscriber_links(subscriber: Subscriber, delivery_id: int | None) -> DigestLinks:
    return DigestLinks(
        manage_url=manage_url(subscriber),
        unsubscribe_url=unsubscribe_url(subscriber),
        view_url=digest_view_url(delivery_id, subscriber.token_key) if delivery_id else "",
        feedback=feedback_link_maker(subscriber_id=subscriber.pk, token_key=subscriber.token_key),
    )


class _LinkSigner:
    """The same links as `subscriber_links`, four HMACs per subscriber without re-deriving keys.

    Django's salted_hmac derives its key (a hash of salt and SECRET_KEY) on every call; here each
    key is derived once per chunk and its HMAC states prepared once (subscriptions.hmacs). A test
    holds the output to subscriptions.tokens and newsletter.links, which stay the definition of
    these tokens.
    """

    def __init__(self) -> None:
        secret = force_bytes(settings.SECRET_KEY)
        self._site = settings.SITE_URL
        self._link = PreparedHmac(hashlib.sha256(b"paperboy.subscriptions.link" + secret).digest())
        self._view = PreparedHmac(hashlib.sha256(b"paperboy.newsletter.view" + secret).digest())
        self._view_key = PreparedHmac(hashlib.sha256(b"paperboy.newsletter.view.key" + secret).digest())

    def links(self, subscriber: Subscriber, delivery_id: int) -> DigestLinks:
        sid, key = subscriber.pk, subscriber.token_key
        manage = self._link.urlsafe(f"manage:{sid}:{key}".encode(), 18)
        unsubscribe = self._link.urlsafe(f"unsubscribe:{sid}:{key}".encode(), 18)
        fingerprint = self._view_key.urlsafe(key.encode(), 9)
        view = self._view.urlsafe(f"{delivery_id}.{fingerprint}".encode(), 15)
        return DigestLinks(
            manage_url=f"{self._site}/manage/{sid}.{manage}/",
            unsubscribe_url=f"{self._site}/unsubscribe/{sid}.{unsubscribe}/",
            view_url=f"{self._site}/digest/{delivery_id}.{fingerprint}.{view}/",
            # One prepared HMAC per reader, two state copies per link (subscriptions.feedback).
            feedback=feedback_link_maker(subscriber_id=sid, token_key=key),
        )


def render_digest(
    *, subscriber: Subscriber, papers: Sequence[Paper], edition_date: date, delivery_id: int | None = None
) -> RenderedDigest:
    """The subscriber's digest, fully personalised (manage, unsubscribe, view and feedback links)."""
    return render_digest_direct(
        papers=list(papers),
        edition_date=edition_date,
        your_topics=_your_topics(subscriber),
        keywords=parse_keywords(subscriber.keywords),
        links=subscriber_links(subscriber, delivery_id),
    )


# --- The email message ------------------------------------------------------------------------


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
    return _mailto(settings.PAPERBOY_UNSUBSCRIBE_MAILTO, settings.DEFAULT_FROM_EMAIL)


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


def digest_message(
    *,
    subscriber: Subscriber,
    rendered: RenderedDigest | AssembledDigest,
    delivery_id: int,
    edition_date: date,
    links: DigestLinks,
) -> AnymailMessage:
    """The email: HTML with a plain-text alternative, list headers, provider metadata and tag."""
    domain = _site_domain()
    fields = {
        "subject": rendered.subject,
        "from_email": settings.DEFAULT_FROM_EMAIL,
        "to": [subscriber.email],
        "headers": {
            # RFC 2369 + RFC 8058: mail clients show an unsubscribe button that POSTs one click.
            "List-Unsubscribe": f"<{links.unsubscribe_url}>, <{_unsubscribe_mailto()}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "List-Id": _list_id(settings.SITE_NAME, domain),
            "Message-ID": digest_message_id(delivery_id, edition_date),
        },
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


# --- A chunk of deliveries --------------------------------------------------------------------


@dataclass
class Composed:
    """One delivery, composed: a message to send, or the reason to skip it."""

    delivery: Delivery
    message: AnymailMessage | None = None
    subject: str = ""
    paper_ids: list[int] = field(default_factory=list)
    skip_reason: str = ""


class ChunkComposer:
    """A chunk's deliveries: papers selected for all of them at once, digests composed one by one.

    `deliveries` come with `subscriber` loaded (select_related). Construction runs the chunk's few
    queries (subscribers' topics, previous digests, feedback, the pool's fingerprint; the pool itself
    when it changed), whatever the chunk's size, and renders the fragments of the papers the chunk
    shows that this process has not rendered yet. `compose` then makes one digest without a query, so
    a sender can compose the next group while the previous one is on the wire.
    """

    def __init__(
        self,
        deliveries: Sequence[Delivery],
        *,
        now: datetime | None = None,
        renderer: DigestAssembler | None = None,
    ) -> None:
        self._renderer = renderer or _renderer
        self._quiet_day_email = settings.PAPERBOY_QUIET_DAY == "email"
        live = [d for d in deliveries if _is_live(d.subscriber)]
        self._selection = None
        if live:
            self._selection = select_papers_bulk(
                [d.subscriber for d in live],
                edition_dates={d.subscriber_id: d.edition_date for d in live},
                now=now or timezone.now(),
            )
            topics = self._selection.pool.topics
            self._topic_order = {tid: _topic_order(t) for tid, t in topics.items()}
            # A few template renders for all the papers this chunk shows that the process has not
            # rendered yet, rather than one per digest that meets a new paper.
            self._renderer.warm(paper for papers in self._selection.papers.values() for paper in papers)
        self._signer = _LinkSigner()

    def skip_reason(self, delivery: Delivery) -> str:
        """Why this delivery gets no email ("" when it gets one); decided without rendering."""
        if not _is_live(delivery.subscriber):
            return SKIP_INACTIVE
        if not self._selection.papers.get(delivery.subscriber_id) and not self._quiet_day_email:
            return SKIP_NOTHING_NEW
        return ""

    def compose(self, delivery: Delivery) -> Composed:
        reason = self.skip_reason(delivery)
        if reason:
            return Composed(delivery, skip_reason=reason)
        subscriber = delivery.subscriber
        selection = self._selection
        papers = selection.papers.get(subscriber.pk, [])
        reader = selection.readers[subscriber.pk]
        topics = selection.pool.topics
        your_topics = [
            topics[tid].name
            for tid in sorted((t for t in reader.topic_ids if t in topics), key=self._topic_order.__getitem__)
        ]
        links = self._signer.links(subscriber, delivery.pk)
        rendered = self._renderer.render(
            papers=papers,
            edition_date=delivery.edition_date,
            your_topics=your_topics,
            keywords=reader.keywords,
            links=links,
        )
        message = digest_message(
            subscriber=subscriber,
            rendered=rendered,
            delivery_id=delivery.pk,
            edition_date=delivery.edition_date,
            links=links,
        )
        return Composed(delivery, message=message, subject=rendered.subject, paper_ids=[p.id for p in papers])


def _is_live(subscriber: Subscriber | None) -> bool:
    return subscriber is not None and subscriber.status == Subscriber.Status.ACTIVE and not subscriber.paused


def compose_deliveries(
    deliveries: Sequence[Delivery], *, now: datetime | None = None, renderer: DigestAssembler | None = None
) -> list[Composed]:
    """Compose a whole chunk (see ChunkComposer): one Composed per delivery, in order."""
    composer = ChunkComposer(deliveries, now=now, renderer=renderer)
    return [composer.compose(d) for d in deliveries]
