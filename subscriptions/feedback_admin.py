"""Admin for readers' feedback: read-only rows, and counts per paper and per topic above the list."""

from django.contrib import admin
from django.db.models import Count, Q

from .feedback import feedback_counts_by_topic
from .models import PaperFeedback

_TOP_PAPERS = 20


@admin.register(PaperFeedback)
class PaperFeedbackAdmin(admin.ModelAdmin):
    list_display = ("paper", "value", "subscriber", "updated_at")
    list_filter = ("value", "updated_at")
    search_fields = ("paper__title", "=paper__arxiv_id")
    list_select_related = ("paper", "subscriber")
    raw_id_fields = ("paper", "subscriber")
    date_hierarchy = "updated_at"
    change_list_template = "admin/subscriptions/paperfeedback/change_list.html"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        papers = (
            PaperFeedback.objects.values("paper_id", "paper__title", "paper__display_title")
            .annotate(
                more=Count("pk", filter=Q(value=PaperFeedback.Value.MORE)),
                less=Count("pk", filter=Q(value=PaperFeedback.Value.LESS)),
                total=Count("pk"),
            )
            .order_by("-total", "paper_id")[:_TOP_PAPERS]
        )
        extra_context = {
            **(extra_context or {}),
            "feedback_by_paper": list(papers),
            "feedback_by_topic": feedback_counts_by_topic(),
        }
        return super().changelist_view(request, extra_context)
