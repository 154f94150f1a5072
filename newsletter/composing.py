"""Composing digests: what each subscriber gets, rendered, as a ready-to-send email message.

Public surface (the web pages and admin use the first two):
- `select_papers_for(subscriber, *, edition_date, since=None)` -> ranked papers for one subscriber;
- `trending_strip_for(subscriber, *, edition_date)` -> the "Trending today" strip shown above them;
- `render_digest(*, subscriber, papers, edition_date, delivery_id=None, trending=())` -> RenderedDigest;
- `ChunkComposer(deliveries, *, now)` selects papers for a whole chunk in a handful of queries and
  then `compose(delivery)` makes each digest (newsletter.sending composes a group at a time).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from django.core.mail import EmailMessage
from django.utils import timezone

from papers.models import Paper, Topic
from subscriptions.models import Subscriber
from subscriptions.seeds import followed_authors
from subscriptions.selectors import parse_keywords, receives_digests
from subscriptions.tokens import LinkSigner, feedback_link_maker, manage_url, unsubscribe_url

from . import archive
from .assembling import DigestAssembler
from .conf import setting
from .links import digest_view_url, digest_view_url_around
from .messages import DigestMessages, digest_message
from .models import Delivery
from .reasons import why_lines
from .rendering import DigestLinks, RenderedDigest, render_digest_direct
from .selectors import Selection, followed_among, keyword_hits_among, select_papers_bulk
from .wire import AssembledDigest

SKIP_NOTHING_NEW = "nothing new on your topics"
SKIP_INACTIVE = "subscriber is no longer active"

# One per process: each paper is rendered once and reused across the chunks this worker sends.
_renderer = DigestAssembler()


def _topic_order(topic: Topic) -> tuple:
    return (topic.display_order, topic.name.lower(), topic.pk)


def digest_selection_for(
    subscriber: Subscriber, *, edition_date: date, since: datetime | None = None, now: datetime | None = None
) -> Selection:
    """Everything selection decides for `subscriber`'s digest of `edition_date`: papers, strip, the
    papers their likes lifted and those by authors they follow (see newsletter.selectors)."""
    return select_papers_bulk([subscriber], edition_dates={subscriber.pk: edition_date}, now=now, since=since)


def select_papers_for(
    subscriber: Subscriber, *, edition_date: date, since: datetime | None = None, now: datetime | None = None
) -> list[Paper]:
    """The ranked papers of `subscriber`'s digest for `edition_date` (see newsletter.selectors)."""
    selection = digest_selection_for(subscriber, edition_date=edition_date, since=since, now=now)
    return selection.papers.get(subscriber.pk, [])


def trending_strip_for(
    subscriber: Subscriber, *, edition_date: date, since: datetime | None = None, now: datetime | None = None
) -> list[Paper]:
    """The "Trending today" strip of `subscriber`'s digest (empty when they switched it off)."""
    selection = digest_selection_for(subscriber, edition_date=edition_date, since=since, now=now)
    return selection.trending.get(subscriber.pk, [])


def _your_topics(subscriber: Subscriber) -> list[str]:
    return [t.name for t in sorted(subscriber.topics.filter(active=True), key=_topic_order)]


def subscriber_links(subscriber: Subscriber, delivery_id: int | None) -> DigestLinks:
    return DigestLinks(
        manage_url=manage_url(subscriber),
        unsubscribe_url=unsubscribe_url(subscriber),
        view_url=digest_view_url(delivery_id, subscriber.token_key) if delivery_id else "",
        feedback=feedback_link_maker(subscriber_id=subscriber.pk, token_key=subscriber.token_key),
    )


class _ChunkLinks:
    """The same links as `subscriber_links`, for every digest of a chunk: the keys, HMAC states and
    URL prefixes are made once (subscriptions.tokens.LinkSigner), so a digest's four HMACs and twenty
    feedback links cost a few microseconds."""

    def __init__(self) -> None:
        self._signer = LinkSigner()
        self._view = digest_view_url_around()

    def links(self, subscriber: Subscriber, delivery_id: int) -> DigestLinks:
        sid, key, signer = subscriber.pk, subscriber.token_key, self._signer
        before, after = self._view
        return DigestLinks(
            manage_url=signer.manage_url(sid, key),
            unsubscribe_url=signer.unsubscribe_url(sid, key),
            view_url=f"{before}{signer.digest_token(delivery_id, key)}{after}",
            feedback=signer.feedback_links(sid, key),
        )


def digest_reasons(
    papers: Sequence[Paper],
    *,
    your_topics: Sequence[str],
    keywords: Sequence[str],
    liked=(),
    authors: Sequence[str] = (),
) -> list[str]:
    """Each paper's "Why:" line for a reader with these topic names, keywords and followed authors,
    `liked` the ids their likes lifted (newsletter.reasons); the chunk path finds the same keyword
    and author matches in its pool."""
    hits = keyword_hits_among(papers, keywords)
    followed = followed_among(papers, authors)
    return why_lines(papers, topics=your_topics, keyword_hits=hits, liked=frozenset(liked), followed=followed)


def render_digest(
    *,
    subscriber: Subscriber,
    papers: Sequence[Paper],
    edition_date: date,
    delivery_id: int | None = None,
    trending: Sequence[Paper] = (),
    liked: Sequence[int] = (),
) -> RenderedDigest:
    """The subscriber's digest, fully personalised (manage, unsubscribe, view and feedback links, and
    each paper's reason; `liked` the papers their likes lifted, as the chunk's Selection gave them)."""
    papers = list(papers)
    your_topics = _your_topics(subscriber)
    keywords = parse_keywords(subscriber.keywords)
    return render_digest_direct(
        papers=papers,
        edition_date=edition_date,
        your_topics=your_topics,
        keywords=keywords,
        links=subscriber_links(subscriber, delivery_id),
        trending=list(trending),
        reasons=digest_reasons(
            papers,
            your_topics=your_topics,
            keywords=keywords,
            liked=liked,
            authors=followed_authors(subscriber),
        ),
    )


def render_web_copy(delivery: Delivery) -> RenderedDigest:
    """A sent digest as its reader's browser shows it ("View in browser"): the email itself, rendered by
    the same renderer from the papers it carried in their order, each with the topic chips a digest
    gives it (newsletter.selectors.PaperPool), so the headline names the same topics. Only the page's
    own "View in browser" link is left out. A paper hidden since is left out too."""
    papers = archive.papers_in_order(delivery.paper_ids)
    for paper in papers:
        links = sorted((link.topic for link in paper.paper_topics.all()), key=_topic_order)
        paper.digest_topics = [topic.name for topic in links]
    return render_digest(
        subscriber=delivery.subscriber,
        papers=papers,
        edition_date=delivery.edition_date,
        trending=archive.papers_in_order(delivery.trending_ids),
        liked=archive.delivered_paper_ids(delivery.liked_ids),
    )


# --- A chunk of deliveries --------------------------------------------------------------------


@dataclass
class Composed:
    """One delivery, composed: a message to send, or the reason to skip it."""

    delivery: Delivery
    message: EmailMessage | None = None
    subject: str = ""
    paper_ids: list[int] = field(default_factory=list)
    trending_ids: list[int] = field(default_factory=list)
    liked_ids: list[int] = field(default_factory=list)
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
        self._quiet_day_email = setting("QUIET_DAY") == "email"
        live = [d for d in deliveries if receives_digests(d.subscriber)]
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
        self._links = _ChunkLinks()
        self._messages = DigestMessages()
        self._reason_lists: dict[tuple, list[str]] = {}

    def _reasons(
        self, papers, *, your_topics: list[str], keywords: tuple[str, ...], liked, followed
    ) -> list[str]:
        """Each paper's "Why:" line; readers with the same topics, keywords and papers (most of a
        chunk's readers share a selection) share one list, made once per chunk."""
        personal = liked or followed
        key = None if personal else (tuple(your_topics), keywords, tuple(p.pk for p in papers))
        reasons = self._reason_lists.get(key) if key else None
        if reasons is None:
            pool = self._selection.pool
            hits = [(keyword, pool.keyword_hits(keyword)) for keyword in keywords]
            reasons = why_lines(papers, topics=your_topics, keyword_hits=hits, liked=liked, followed=followed)
            if key:
                self._reason_lists[key] = reasons
        return reasons

    def skip_reason(self, delivery: Delivery) -> str:
        """Why this delivery gets no email ("" when it gets one); decided without rendering."""
        if not receives_digests(delivery.subscriber):
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
        links = self._links.links(subscriber, delivery.pk)
        trending = selection.trending.get(subscriber.pk, ())
        liked = selection.liked.get(subscriber.pk, frozenset())
        followed = selection.followed.get(subscriber.pk, frozenset())
        reasons = self._reasons(
            papers, your_topics=your_topics, keywords=reader.keywords, liked=liked, followed=followed
        )
        rendered = self._renderer.render(
            papers=papers,
            edition_date=delivery.edition_date,
            your_topics=your_topics,
            keywords=reader.keywords,
            links=links,
            trending=trending,
            reasons=reasons,
        )
        if isinstance(rendered, AssembledDigest):
            message = self._messages.make(
                email=subscriber.email,
                rendered=rendered,
                delivery_id=delivery.pk,
                edition_date=delivery.edition_date,
                unsubscribe_url=links.unsubscribe_url,
            )
        else:  # the reference render (a value the assembler does not take)
            message = digest_message(
                subscriber=subscriber,
                rendered=rendered,
                delivery_id=delivery.pk,
                edition_date=delivery.edition_date,
                links=links,
            )
        return Composed(
            delivery,
            message=message,
            subject=rendered.subject,
            paper_ids=[p.id for p in papers],
            trending_ids=[p.id for p in trending],
            liked_ids=[p.id for p in papers if p.id in liked],
        )
