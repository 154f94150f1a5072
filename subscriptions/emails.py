"""The emails about a subscription: confirm your address, welcome, and manage your subscription.

Built from `templates/emails/<name>.subject.txt|.txt|.html` with Django templates, the HTML with its
CSS inlined (css-inline; @media rules kept for dark mode), sent through Django's mail API so the
outbox, SMTP and every anymail provider work the same.
"""

from datetime import datetime

import css_inline
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from .conf import confirm_max_age
from .models import ConsentRecord, Subscriber
from .schedule import first_digest, schedule_text
from .selectors import parse_keywords
from .tokens import confirm_url, manage_url, unsubscribe_url

# No network: every stylesheet an email uses is inside the template.
_INLINER = css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)


def _render(name: str, context: dict) -> tuple[str, str, str]:
    context = {"SITE_NAME": settings.SITE_NAME, "SITE_URL": settings.SITE_URL, **context}
    # A subject is one line whatever the template holds.
    subject = " ".join(render_to_string(f"emails/{name}.subject.txt", context).split())
    text = render_to_string(f"emails/{name}.txt", {**context, "subject": subject})
    html = _INLINER.inline(render_to_string(f"emails/{name}.html", {**context, "subject": subject}))
    return subject, text, html


def _message(name: str, to: str, context: dict) -> EmailMultiAlternatives:
    subject, text, html = _render(name, context)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        # Out-of-office replies to a confirmation request help nobody (RFC 3834).
        headers={"Auto-Submitted": "auto-generated"},
    )
    message.attach_alternative(html, "text/html")
    return message


def confirmation_message(consent: ConsentRecord) -> EmailMultiAlternatives:
    subscriber = consent.subscriber
    return _message(
        "confirm",
        subscriber.email,
        {
            "subscriber": subscriber,
            "confirm_url": confirm_url(consent),
            "topic_names": _topic_names(consent.topics),
            "expires_days": confirm_max_age().days,
        },
    )


def manage_link_message(subscriber: Subscriber) -> EmailMultiAlternatives:
    return _message(
        "manage_link",
        subscriber.email,
        {
            "subscriber": subscriber,
            "manage_url": manage_url(subscriber),
            "unsubscribe_url": unsubscribe_url(subscriber),
        },
    )


def welcome_message(subscriber: Subscriber, *, now: datetime) -> EmailMultiAlternatives:
    """Sent once a subscription is confirmed: what the reader chose and when their first digest comes."""
    first = first_digest(subscriber, now=now)
    return _message(
        "welcome",
        subscriber.email,
        {
            "subscriber": subscriber,
            "topic_names": list(subscriber.topics.filter(active=True).values_list("name", flat=True)),
            "keywords": parse_keywords(subscriber.keywords),  # as the digests match and show them
            "schedule": schedule_text(subscriber),
            "time_zone": first.zone,
            "first_digest": first.describe(now),
            "first_digest_due_now": first.due_now,
            "manage_url": manage_url(subscriber),
            "unsubscribe_url": unsubscribe_url(subscriber),
        },
    )


def _topic_names(slugs: list[str]) -> list[str]:
    from papers.models import Topic

    return list(Topic.objects.filter(slug__in=slugs or []).values_list("name", flat=True))
