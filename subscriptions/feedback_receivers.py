"""Readers' feedback in their personal data: exported with it, erased with it."""

from django.dispatch import receiver

from .models import PaperFeedback
from .signals import personal_data_erasing, personal_data_exporting


@receiver(personal_data_exporting, dispatch_uid="paperboy.subscriptions.export_paper_feedback")
def export_paper_feedback(sender, subscriber, **kwargs):
    rows = (
        PaperFeedback.objects.filter(subscriber=subscriber)
        .select_related("paper")
        .order_by("created_at", "pk")
    )
    return "paper_feedback", [
        {
            "paper": row.paper.arxiv_id or row.paper.title,
            "title": row.paper.title_text,
            "choice": "more like this" if row.value == PaperFeedback.Value.MORE else "less like this",
            "created_at": row.created_at.isoformat(),
            "updated_at": row.updated_at.isoformat(),
        }
        for row in rows
    ]


@receiver(personal_data_erasing, dispatch_uid="paperboy.subscriptions.erase_paper_feedback")
def erase_paper_feedback(sender, subscriber, **kwargs) -> None:
    # Choices are the reader's tastes: nothing of them is kept, not even anonymously.
    PaperFeedback.objects.filter(subscriber=subscriber).delete()
