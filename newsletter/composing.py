"""Composing digests: what each subscriber gets, rendered, as a ready-to-send email message.

Public surface (the web pages and admin use the first two):
- `select_papers_for(subscriber, *, edition_date, since=None)` -> ranked papers for one subscriber;
- `render_digest(*, subscriber, papers, edition_date, delivery_id=None)` -> RenderedDigest;
- `compose_deliveries(deliveries, *, now)` -> one Composed per delivery of a chunk, in a handful of
  queries, sharing renderings between subscribers whose digests are identical.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from email.utils import formataddr, parseaddr
from functools import lru_cache
from urllib.parse import urlsplit

from anymail.message import AnymailMessage
from django.conf import settings
from django.utils import timezone
from django.utils.encoding import force_bytes

from papers.models import Paper, Topic
from subscriptions.feedback import feedback_link_maker
from subscriptions.models import Subscriber
from subscriptions.tokens import manage_url, unsubscribe_url

from .links import digest_view_url
from .models import Delivery
from .rendering import DigestAssembler, DigestLinks, RenderedDigest, render_digest_direct
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
    key is derived once per chunk and the keyed HMAC state copied per link. A test holds the output
    to subscriptions.tokens and newsletter.links, which stay the definition of these tokens.
    """

    def __init__(self) -> None:
        secret = force_bytes(settings.SECRET_KEY)
        self._site = settings.SITE_URL
        self._link = hmac.new(
            hashlib.sha256(b"paperboy.subscriptions.link" + secret).digest(), digestmod="sha256"
        )
        self._view = hmac.new(
            hashlib.sha256(b"paperboy.newsletter.view" + secret).digest(), digestmod="sha256"
        )
        self._view_key = hmac.new(
            hashlib.sha256(b"paperboy.newsletter.view.key" + secret).digest(), digestmod="sha256"
        )

    def _sign(self, base, value: str, length: int) -> str:
        mac = base.copy()
        mac.update(value.encode())
        return base64.urlsafe_b64encode(mac.digest()[:length]).decode()

    def links(self, subscriber: Subscriber, delivery_id: int) -> DigestLinks:
        sid, key = subscriber.pk, subscriber.token_key
        manage = self._sign(self._link, f"manage:{sid}:{key}", 18)
        unsubscribe = self._sign(self._link, f"unsubscribe:{sid}:{key}", 18)
        fingerprint = self._sign(self._view_key, key, 9)
        view = self._sign(self._view, f"{delivery_id}.{fingerprint}", 15)
        return DigestLinks(
            manage_url=f"{self._site}/manage/{sid}.{manage}/",
            unsubscribe_url=f"{self._site}/unsubscribe/{sid}.{unsubscribe}/",
            view_url=f"{self._site}/digest/{delivery_id}.{fingerprint}.{view}/",
            # One keyed HMAC per reader, copied per link (subscriptions.feedback).
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


def digest_message(
    *,
    subscriber: Subscriber,
    rendered: RenderedDigest,
    delivery_id: int,
    edition_date: date,
    links: DigestLinks,
) -> AnymailMessage:
    """The email: HTML with a plain-text alternative, list headers, provider metadata and tag."""
    domain = _site_domain()
    message = AnymailMessage(
        subject=rendered.subject,
        body=rendered.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[subscriber.email],
        headers={
            # RFC 2369 + RFC 8058: mail clients show an unsubscribe button that POSTs one click.
            "List-Unsubscribe": f"<{links.unsubscribe_url}>, <{_unsubscribe_mailto()}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "List-Id": _list_id(settings.SITE_NAME, domain),
            "Message-ID": digest_message_id(delivery_id, edition_date),
        },
        # Provider events (bounces, opens) come back carrying these, which ties them to the Delivery.
        metadata={"delivery_id": str(delivery_id)},
        tags=["digest"],
    )
    message.attach_alternative(rendered.html, "text/html")
    message.delivery_id = delivery_id
    if rendered.html_json is not None and rendered.text_json is not None:
        # The bodies already as JSON, for backends that post JSON (newsletter.backends.postmark);
        # they are used only while the message still holds these very strings.
        message.prepared_json = (rendered.html, rendered.html_json, rendered.text, rendered.text_json)
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


def compose_deliveries(
    deliveries: Sequence[Delivery], *, now: datetime | None = None, renderer: DigestAssembler | None = None
) -> list[Composed]:
    """Compose a chunk. `deliveries` come with `subscriber` loaded (select_related).

    Queries: topics, subscribers' topics, previous digests, candidate papers, their topics, whatever
    the chunk's size. Digests are assembled from per-paper fragments (see DigestAssembler).
    """
    now = now or timezone.now()
    renderer = renderer or _renderer
    quiet_day_email = settings.PAPERBOY_QUIET_DAY == "email"
    results: list[Composed] = []
    live = []
    for delivery in deliveries:
        s = delivery.subscriber
        if s is None or s.status != Subscriber.Status.ACTIVE or s.paused:
            results.append(Composed(delivery, skip_reason=SKIP_INACTIVE))
        else:
            live.append(delivery)
    if not live:
        return results

    selection = select_papers_bulk(
        [d.subscriber for d in live], edition_dates={d.subscriber_id: d.edition_date for d in live}, now=now
    )
    topics = selection.pool.topics
    topic_order = {tid: _topic_order(t) for tid, t in topics.items()}
    signer = _LinkSigner()
    for delivery in live:
        subscriber = delivery.subscriber
        papers = selection.papers.get(subscriber.pk, [])
        if not papers and not quiet_day_email:
            results.append(Composed(delivery, skip_reason=SKIP_NOTHING_NEW))
            continue
        reader = selection.readers[subscriber.pk]
        your_topics = [
            topics[tid].name
            for tid in sorted((t for t in reader.topic_ids if t in topics), key=topic_order.__getitem__)
        ]
        links = signer.links(subscriber, delivery.pk)
        rendered = renderer.render(
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
        results.append(
            Composed(delivery, message=message, subject=rendered.subject, paper_ids=[p.pk for p in papers])
        )
    return results
