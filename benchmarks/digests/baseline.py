"""The per-recipient loop Paperboy would be without its bulk path, as the benchmark's baseline.

For each subscriber: query their papers, render the full template (Django templates + css-inline),
and `send_mail` one message through the same provider. This is how a simple newsletter app works
(django-newsletter renders and sends one recipient at a time, too).
"""

from __future__ import annotations

import time
from datetime import timedelta

from django.core.mail import get_connection, send_mail
from django.utils import timezone

from newsletter.composing import render_digest
from papers.models import Paper
from subscriptions.models import Subscriber


def naive_papers(subscriber: Subscriber, *, now, limit: int = 10) -> list[Paper]:
    """Papers of the subscriber's topics from the last day, featured and trending first (one query)."""
    papers = list(
        Paper.objects.filter(
            hidden=False,
            first_seen_at__gte=now - timedelta(days=1),
            paper_topics__topic__subscribers=subscriber,
            paper_topics__excluded=False,
        )
        .distinct()
        .order_by("-featured", "-trending_score", "-first_seen_at", "-pk")[:limit]
    )
    for paper in papers:
        paper.digest_topics = [t.name for t in paper.topics.all()]  # one more query per paper
    return papers


def naive_send(subscribers: list[Subscriber], *, backend: str, backend_options: dict) -> dict:
    """Send one digest per subscriber, one at a time; the rate and what it took."""
    connection = get_connection(backend, **backend_options)
    now = timezone.now()
    today = timezone.localdate(now)
    sent = 0
    started = time.perf_counter()
    for subscriber in subscribers:
        papers = naive_papers(subscriber, now=now)
        rendered = render_digest(subscriber=subscriber, papers=papers, edition_date=today)
        sent += send_mail(
            rendered.subject,
            rendered.text,
            "Paperboy <digest@paperboy.localhost>",
            [subscriber.email],
            html_message=rendered.html,
            connection=connection,
        )
    seconds = time.perf_counter() - started
    return {
        "digests_per_s": round(sent / seconds, 1) if seconds else 0.0,
        "sample": len(subscribers),
        "sent": sent,
        "wall_s": round(seconds, 2),
        "what": "per-recipient loop: ORM query, Django template + css-inline, send_mail (one API call each)",
    }
