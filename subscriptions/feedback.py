"""Readers' "more like this" / "less like this": recording a choice, reading and clearing it.

The signed links that carry a choice are subscriptions.tokens' (feedback_link_maker,
feedback_from_token): a token names one reader, one paper and one choice.
"""

from django.db import IntegrityError, transaction
from django.db.models import Count, Q

from papers.models import Paper, PaperTopic

from .models import PaperFeedback, Subscriber

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
        .only(
            "value",
            "updated_at",
            "paper__id",
            "paper__title",
            "paper__display_title",
            "paper__abs_url",
            "subscriber_id",
        )
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
