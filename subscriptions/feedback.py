"""Readers' "more like this" / "less like this": signed links, recording a choice, reading and clearing it.

A link token is `<subscriber id>.<paper id>.<m|l>.<HMAC>`, the HMAC taken over all three and the
subscriber's `token_key` (as subscriptions.tokens does for manage links). So a token names one
reader, one paper and one choice: changing any of them, or replaying it under another reader's
id, breaks the signature, and rotating `token_key` revokes it with the reader's other links.
Making links needs no query, and each link is HMAC-SHA256 computed from hash states prepared once
per process and once per reader (subscriptions.hmacs), so a digest pays about a microsecond per link.
"""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils.crypto import constant_time_compare

from papers.models import Paper, PaperTopic

from .hmacs import PreparedHmac
from .models import PaperFeedback, Subscriber
from .tokens import InvalidToken

_SALT = "paperboy.subscriptions.feedback"
_CHOICES = {"m": PaperFeedback.Value.MORE, "l": PaperFeedback.Value.LESS}
_LETTERS = {value: letter for letter, value in _CHOICES.items()}
_MAX_TOKEN_LENGTH = 100


@lru_cache(maxsize=4)
def _key(secret: str) -> bytes:
    # Derived once per process (salted_hmac derives it on every call, which 2M links would feel).
    return hashlib.sha256(f"{_SALT}{secret}".encode()).digest()


@lru_cache(maxsize=4)
def _prepared(secret: str) -> PreparedHmac:
    return PreparedHmac(_key(secret))


def _signature(subscriber_id: int, token_key: str, paper_id: int, letter: str) -> str:
    return _prepared(settings.SECRET_KEY).urlsafe(
        f"{subscriber_id}:{token_key}:{paper_id}:{letter}".encode(), 18
    )


def feedback_link_maker(*, subscriber_id: int, token_key: str) -> Callable[[int], tuple[str, str]]:
    """paper id -> ("more like this" URL, "less like this" URL) for one reader's digest."""
    reader = _prepared(settings.SECRET_KEY).with_prefix(f"{subscriber_id}:{token_key}:".encode())
    base = f"{settings.SITE_URL}/feedback/{subscriber_id}."

    def links(paper_id: int) -> tuple[str, str]:
        more = reader.urlsafe(b"%d:m" % paper_id, 18)
        less = reader.urlsafe(b"%d:l" % paper_id, 18)
        return f"{base}{paper_id}.m.{more}/", f"{base}{paper_id}.l.{less}/"

    return links


def make_feedback_token(*, subscriber: Subscriber, paper_id: int, value: int) -> str:
    letter = _LETTERS[value]
    signature = _signature(subscriber.pk, subscriber.token_key, paper_id, letter)
    return f"{subscriber.pk}.{paper_id}.{letter}.{signature}"


@dataclass(frozen=True)
class FeedbackLink:
    subscriber: Subscriber
    paper: Paper
    value: int


def feedback_from_token(token: str) -> FeedbackLink:
    """The reader, paper and choice a feedback token names, or InvalidToken."""
    parts = (token or "").split(".")
    if len(token or "") > _MAX_TOKEN_LENGTH or len(parts) != 4:
        raise InvalidToken("malformed token")
    subscriber_id, paper_id, letter, signature = parts
    if not (subscriber_id.isdigit() and paper_id.isdigit()) or letter not in _CHOICES or not signature:
        raise InvalidToken("malformed token")
    subscriber = Subscriber.objects.filter(pk=int(subscriber_id)).first()
    if subscriber is None:
        raise InvalidToken("unknown subscriber")
    expected = _signature(subscriber.pk, subscriber.token_key, int(paper_id), letter)
    if not constant_time_compare(signature, expected):
        raise InvalidToken("bad signature")
    paper = Paper.objects.filter(pk=int(paper_id)).first()
    if paper is None:
        raise InvalidToken("unknown paper")
    return FeedbackLink(subscriber=subscriber, paper=paper, value=_CHOICES[letter])


# --- Writes ---------------------------------------------------------------------------------------


def feedback_record(*, subscriber: Subscriber, paper: Paper, value: int) -> tuple[PaperFeedback, bool]:
    """Store the reader's choice on a paper; returns (row, changed). The same choice again changes nothing."""
    if value not in (PaperFeedback.Value.MORE, PaperFeedback.Value.LESS):
        raise ValueError(f"feedback value must be 1 or -1, not {value!r}")
    existing = PaperFeedback.objects.filter(subscriber=subscriber, paper=paper).first()
    if existing is not None:
        if existing.value == value:
            return existing, False
        existing.value = value
        existing.save(update_fields=["value", "updated_at"])
        return existing, True
    try:
        with transaction.atomic():
            return PaperFeedback.objects.create(subscriber=subscriber, paper=paper, value=value), True
    except IntegrityError:
        # A double click raced us to the insert: the row is there now; apply the choice to it.
        row = PaperFeedback.objects.get(subscriber=subscriber, paper=paper)
        if row.value == value:
            return row, False
        row.value = value
        row.save(update_fields=["value", "updated_at"])
        return row, True


def feedback_clear(*, subscriber: Subscriber) -> int:
    """Forget every choice the reader made; returns how many."""
    deleted, _ = PaperFeedback.objects.filter(subscriber=subscriber).delete()
    return deleted


# --- Reads ----------------------------------------------------------------------------------------


def feedback_of_subscriber(*, subscriber: Subscriber, limit: int = 200) -> list[PaperFeedback]:
    """What the reader told us, newest first, with the papers' titles."""
    return list(
        PaperFeedback.objects.filter(subscriber=subscriber)
        .select_related("paper")
        .only("value", "updated_at", "paper__id", "paper__title", "paper__abs_url", "subscriber_id")
        .order_by("-updated_at", "-pk")[:limit]
    )


def feedback_counts_by_topic() -> list[dict]:
    """Per topic: how many "more" and "less" its papers received (admin)."""
    rows = (
        PaperTopic.objects.filter(excluded=False, paper__reader_feedback__isnull=False)
        .values("topic_id", "topic__name")
        .annotate(
            more=Count("paper__reader_feedback", filter=Q(paper__reader_feedback__value=1)),
            less=Count("paper__reader_feedback", filter=Q(paper__reader_feedback__value=-1)),
        )
        .order_by("topic__name")
    )
    return list(rows)
