"""Curation: papers (feature, hide, re-tag), topics (with a live preview), sources (health, fetch now).

Actions only parse the selection and call a service or enqueue a task after commit.
"""

from datetime import timedelta

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Prefetch, Q
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator
from django.utils.timesince import timesince

from . import selectors, tasks
from .admin_tools import chips
from .curation import papers_set_featured, papers_set_hidden, topic_verdicts_record
from .models import Paper, PaperSighting, PaperTopic, Source, Topic
from .relevance.selectors import paper_reasons, topic_review
from .tag_writes import papers_retag

# Re-tagging this many papers takes well under a second; larger selections go to a worker.
RETAG_INLINE_LIMIT = 1000
TOPIC_PREVIEW_SECONDS = 5 * 60  # new papers or a topic edit make a new key at once; this bounds the rest


def paper_state_badge(paper: Paper):
    if paper.hidden:
        return format_html('<span class="pb-badge pb-hidden">{}</span>', "hidden")
    if paper.featured:
        return format_html('<span class="pb-badge pb-featured">{}</span>', "featured")
    return format_html('<span class="pb-badge">{}</span>', "shown")


def _ago(moment) -> str:
    since = timesince(moment, depth=1)
    return "just now" if since.startswith("0\xa0") else f"{since} ago"  # timesince says "0 minutes"


def _topic_previews(topic: Topic, *, questions: int) -> dict:
    """The change page's live previews and questions (scoring the newest papers: half a second),
    cached until the topic, the newest paper or the curators' verdicts on the topic change."""
    newest = Paper.objects.order_by("-first_seen_at", "-id").values_list("pk", flat=True).first()
    verdicts = PaperTopic.objects.filter(topic=topic, manual=True).count()
    key = f"papers:topic-preview:{topic.pk}:{topic.updated_at.timestamp()}:{newest}:{verdicts}"
    previews = cache.get(key)
    if previews is None:
        review = topic_review(topic=topic, questions=questions)
        previews = {
            "topic_preview": review.preview,
            "topic_near_threshold": review.near if topic.active else [],
            "topic_questions": review.questions,
        }
        cache.set(key, previews, TOPIC_PREVIEW_SECONDS)
    return previews


def _ids(queryset) -> list[int]:
    return list(queryset.values_list("pk", flat=True))


class TopicListFilter(admin.SimpleListFilter):
    """Papers carrying a topic; rows a curator excluded do not count."""

    title = "topic"
    parameter_name = "topic"

    def lookups(self, request, model_admin):
        return [(str(topic.pk), topic.name) for topic in Topic.objects.all()]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(
                paper_topics__topic_id=self.value(), paper_topics__excluded=False
            ).distinct()
        return queryset


class PaperTopicInline(admin.TabularInline):
    model = PaperTopic
    extra = 0
    fields = ("topic", "score", "manual", "excluded")
    autocomplete_fields = ("topic",)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("topic")

    verbose_name = "topic"
    verbose_name_plural = "topics (tick 'excluded' to remove a topic for good; your rows survive re-tagging)"


class PaperSightingInline(admin.TabularInline):
    model = PaperSighting
    extra = 0
    fields = ("source", "guid", "first_seen_at")
    readonly_fields = fields
    can_delete = False
    verbose_name_plural = "seen in"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("source")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Paper)
class PaperAdmin(admin.ModelAdmin):
    # Five columns that fit a 1280 px screen beside the filters: the title gets the room.
    list_display = ("title_cell", "topic_chips", "upvotes", "state", "first_seen")
    list_filter = (TopicListFilter, "featured", "hidden", "sources", "first_seen_at")
    # Titles, authors and identifiers: matching every abstract too took 0.9 s at 3,000 papers.
    # No date_hierarchy: its day links were a DISTINCT over every match; the date filter remains.
    search_fields = ("title", "authors", "=arxiv_id", "=doi")
    list_per_page = 50
    show_full_result_count = False  # COUNT(*) over every paper on each page load is wasted work
    readonly_fields = (
        "first_seen_at", "updated_at", "trending_score", "hf_upvotes", "hf_comments", "topic_scores",
    )  # fmt: skip
    inlines = (PaperTopicInline, PaperSightingInline)
    actions = ("feature", "unfeature", "hide", "unhide", "retag")
    fieldsets = (
        (None, {"fields": ("title", "abstract", "authors", "featured", "hidden")}),
        (
            "Identifiers",
            {"fields": ("arxiv_id", "version", "doi", "categories", "primary_category", "comment")},
        ),
        ("Links", {"fields": ("abs_url", "pdf_url", "code_url", "project_url", "hf_url")}),
        (
            "Trend",
            {"fields": ("hf_upvotes", "hf_comments", "trending_score", "ai_summary")},
        ),
        ("Dates", {"fields": ("published_at", "first_seen_at", "updated_at")}),
        ("Topic scores", {"fields": ("topic_scores",)}),
    )

    def get_queryset(self, request):
        shown_topics = PaperTopic.objects.filter(excluded=False).select_related("topic").order_by("-score")
        return (
            super()
            .get_queryset(request)
            .defer("abstract", "ai_summary", "comment")
            .prefetch_related(Prefetch("paper_topics", queryset=shown_topics, to_attr="shown_topics"))
        )

    @admin.display(description="scored now, and why")
    def topic_scores(self, paper: Paper):
        """Every active topic's score from the tagger that writes the rows, with what counted."""
        if paper.pk is None:
            return "-"
        topics = {topic.pk: topic for topic in Topic.objects.filter(active=True)}
        rows = [
            (
                topics[topic_id].name,
                score,
                "tagged" if score > 0 and score >= topics[topic_id].threshold else "not tagged",
                topics[topic_id].threshold,
                ", ".join(map(str, reasons)) or "no evidence",
            )
            for topic_id, (score, reasons) in sorted(
                paper_reasons(paper).items(), key=lambda item: -item[1][0]
            )
            if topic_id in topics
        ]
        if not rows:
            return "-"
        return format_html(
            '<table class="topic-scores">{}</table>',
            format_html_join(
                "", "<tr><td>{}</td><td>{}</td><td>{} (threshold {})</td><td>{}</td></tr>", rows
            ),
        )

    @admin.display(description="title", ordering="title")
    def title_cell(self, paper: Paper):
        # The admin escapes the title like every other value (format_html).
        return format_html(
            '{}<span class="pb-sub">{}</span>',
            Truncator(paper.title_text).chars(160),
            paper.arxiv_id or paper.doi or paper.primary_category or "",
        )

    @admin.display(description="topics")
    def topic_chips(self, paper: Paper):
        return chips(topic_row.topic.name for topic_row in getattr(paper, "shown_topics", ()))

    @admin.display(description="first seen", ordering="first_seen_at")
    def first_seen(self, paper: Paper) -> str:
        return date_format(timezone.localtime(paper.first_seen_at), "M j, H:i")

    @admin.display(description="upvotes", ordering="-hf_upvotes")
    def upvotes(self, paper: Paper) -> str:
        return "—" if paper.hf_upvotes is None else str(paper.hf_upvotes)

    @admin.display(description="state", ordering="-featured")
    def state(self, paper: Paper):
        return paper_state_badge(paper)

    def save_formset(self, request, form, formset, change):
        if formset.model is PaperTopic:
            # A topic set or edited by hand is a curator's decision: re-tagging keeps it.
            rows = formset.save(commit=False)
            for row in rows:
                row.manual = True
                row.save()
            for row in formset.deleted_objects:
                row.delete()
            return
        super().save_formset(request, form, formset, change)

    @admin.action(description="Feature (pin to the top of digests)")
    def feature(self, request, queryset):
        count = papers_set_featured(paper_ids=_ids(queryset), featured=True)
        self.message_user(request, f"{count} paper(s) featured.", messages.SUCCESS)

    @admin.action(description="Unfeature")
    def unfeature(self, request, queryset):
        count = papers_set_featured(paper_ids=_ids(queryset), featured=False)
        self.message_user(request, f"{count} paper(s) no longer featured.", messages.SUCCESS)

    @admin.action(description="Hide (never shown in digests)")
    def hide(self, request, queryset):
        count = papers_set_hidden(paper_ids=_ids(queryset), hidden=True)
        self.message_user(request, f"{count} paper(s) hidden.", messages.SUCCESS)

    @admin.action(description="Unhide")
    def unhide(self, request, queryset):
        count = papers_set_hidden(paper_ids=_ids(queryset), hidden=False)
        self.message_user(request, f"{count} paper(s) visible again.", messages.SUCCESS)

    @admin.action(description="Re-tag with the current topic rules")
    def retag(self, request, queryset):
        paper_ids = list(queryset.values_list("pk", flat=True))
        if len(paper_ids) <= RETAG_INLINE_LIMIT:
            counts = papers_retag(paper_ids=paper_ids)
            self.message_user(
                request,
                f"Re-tagged {len(paper_ids)} paper(s): {counts['created']} topics added, "
                f"{counts['updated']} rescored, {counts['deleted']} removed.",
                messages.SUCCESS,
            )
            return
        for start in range(0, len(paper_ids), RETAG_INLINE_LIMIT):
            tasks.retag_papers.delay_on_commit(paper_ids[start : start + RETAG_INLINE_LIMIT])
        self.message_user(request, f"Re-tagging of {len(paper_ids)} papers queued.", messages.INFO)


@admin.register(Topic)
class TopicAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "active", "display_order", "paper_count", "papers_per_day")
    list_editable = ("active", "display_order")
    list_filter = ("active",)
    search_fields = ("name", "slug", "keywords", "description")
    prepopulated_fields = {"slug": ("name",)}
    change_form_template = "admin/papers/topic/change_form.html"
    # The page holds one-click verdict buttons before the bottom row: with the save buttons on top
    # too, Enter in a field submits "Save", the form's first button, never a verdict.
    save_on_top = True
    actions = ("retag",)
    _RETAG_FIELDS = ("keywords", "categories", "threshold", "active")

    def get_queryset(self, request):
        # Both counts from one join over the topic's rows (each row joins one paper, so nothing is
        # counted twice) and one GROUP BY: a correlated subquery per topic and count read the whole
        # paper-topic table once per topic (40 ms for 40 topics at 6,000 rows).
        shown = Q(paper_topics__excluded=False)
        this_week = shown & Q(paper_topics__paper__first_seen_at__gte=timezone.now() - timedelta(days=7))
        return (
            super()
            .get_queryset(request)
            .annotate(
                _paper_count=Count("paper_topics", filter=shown),
                _week_count=Count("paper_topics", filter=this_week),
            )
        )

    @admin.display(description="papers", ordering="_paper_count")
    def paper_count(self, topic: Topic) -> int:
        return topic._paper_count

    @admin.display(description="papers a day", ordering="_week_count")
    def papers_per_day(self, topic: Topic) -> str:
        return f"{topic._week_count / 7:.1f}"

    QUESTIONS = 5  # papers the topic page asks a curator about

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        extra_context = extra_context or {}
        if object_id:
            topic = self.get_object(request, object_id)
            if topic is not None:
                extra_context.update(_topic_previews(topic, questions=self.QUESTIONS))
                extra_context["topic_tagged_count"] = topic._paper_count
        return super().changeform_view(request, object_id, form_url, extra_context)

    def get_urls(self):
        verdict = path(
            "<path:object_id>/verdict/",
            self.admin_site.admin_view(self.verdict_view),
            name="papers_topic_verdict",
        )
        return [verdict, *super().get_urls()]

    def verdict_view(self, request, object_id):
        """One ✓ or ✗ from the topic page: "pin:<paper id>" or "remove:<paper id>", POST only."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        topic = self.get_object(request, unquote(object_id))
        if topic is None:
            raise Http404("No such topic.")
        if not self.has_change_permission(request, topic):
            raise PermissionDenied
        action, _, paper_id = request.POST.get("verdict", "").partition(":")
        if action not in ("pin", "remove") or not paper_id.isdigit():
            self.message_user(request, "Unknown verdict.", messages.ERROR)
        else:
            paper = get_object_or_404(Paper, pk=int(paper_id))
            result = topic_verdicts_record(
                topic=topic,
                pin=[paper.pk] if action == "pin" else [],
                remove=[paper.pk] if action == "remove" else [],
            )
            self.message_user(
                request,
                f"{'Pinned' if action == 'pin' else 'Removed'} “{Truncator(paper.title_text).chars(80)}”; "
                f"model refitted: “{topic.name}” tags {result.after} papers (was {result.before}).",
                messages.SUCCESS,
            )
        change = reverse("admin:papers_topic_change", args=[topic.pk])
        return HttpResponseRedirect(f"{change}#topic-questions")

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change or any(name in form.changed_data for name in self._RETAG_FIELDS):
            tasks.retag_topic.delay_on_commit(obj.pk)
            self.message_user(request, f"Re-tagging papers for “{obj.name}” queued.", messages.INFO)

    @admin.action(description="Re-tag every paper for these topics")
    def retag(self, request, queryset):
        for topic_id in queryset.values_list("pk", flat=True):
            tasks.retag_topic.delay_on_commit(topic_id)
        self.message_user(request, f"Re-tagging queued for {queryset.count()} topic(s).", messages.INFO)


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    # What a curator asks of a source: is it working, when did it last work and what did that bring,
    # how many papers has it given us, when is it fetched next. Five columns fit a 1280 px screen.
    list_display = ("name_cell", "health", "last_success", "paper_summary", "next_fetch_at")
    list_filter = ("kind", "enabled", "last_status")
    search_fields = ("name", "slug", "url")
    prepopulated_fields = {"slug": ("name",)}
    actions = ("fetch_now",)
    readonly_fields = (
        "last_fetched_at",
        "last_status",
        "last_http_status",
        "last_error",
        "consecutive_failures",
        "last_counts",
        "last_new_papers_at",
        "last_new_papers",
        "last_success_at",
        "last_success_counts",
        "etag",
        "last_modified",
        "created_at",
    )
    fieldsets = (
        (None, {"fields": ("name", "slug", "kind", "url", "enabled", "fetch_interval", "next_fetch_at")}),
        (
            "Health",
            {
                "fields": (
                    "last_status",
                    "last_success_at",
                    "last_success_counts",
                    "last_fetched_at",
                    "last_http_status",
                    "consecutive_failures",
                    "last_counts",
                    "last_error",
                )
            },
        ),
        ("Papers", {"fields": ("last_new_papers_at", "last_new_papers")}),
        ("Conditional GET", {"classes": ("collapse",), "fields": ("etag", "last_modified", "created_at")}),
    )

    _HEALTH_COLOURS = {
        Source.Status.OK: "#2e7d32",
        Source.Status.NOT_MODIFIED: "#2e7d32",
        Source.Status.EMPTY: "#2e7d32",
        Source.Status.PARTIAL: "#b26a00",
        Source.Status.ERROR: "#c62828",
        Source.Status.NEVER: "#666",
    }

    def get_queryset(self, request):
        return selectors.sources_with_paper_counts(sources=super().get_queryset(request))

    @admin.display(description="source", ordering="name")
    def name_cell(self, source: Source):
        kind = source.get_kind_display() + ("" if source.enabled else " · disabled")
        return format_html('{}<span class="pb-sub">{}</span>', source.name, kind)

    @admin.display(description="status", ordering="last_status")
    def health(self, source: Source):
        colour = self._HEALTH_COLOURS.get(source.last_status, "#666")
        detail = ""
        if source.last_status == Source.Status.ERROR:
            http = f"HTTP {source.last_http_status} · " if source.last_http_status else ""
            failures = source.consecutive_failures
            detail = (
                f"{http}{failures} failure{'' if failures == 1 else 's'} in a row: "
                f"{Truncator(source.last_error).chars(80)}"
            )
        return format_html(
            '<strong style="color: {}">{}</strong><span class="pb-sub">{}</span>',
            colour,
            source.get_last_status_display(),
            detail,
        )

    @admin.display(description="last success", ordering="last_success_at")
    def last_success(self, source: Source):
        if source.last_success_at is None:
            return "never"
        counts = source.last_success_counts or {}
        brought = " · ".join(
            f"{counts.get(name, 0)} {name}" for name in ("new", "updated", "skipped") if counts.get(name)
        )
        return format_html(
            '{}<span class="pb-sub">{}</span>',
            _ago(source.last_success_at),
            brought or "nothing new",
        )

    @admin.display(description="papers", ordering="paper_count")
    def paper_summary(self, source: Source) -> str:
        """e.g. "354 papers · last new 2 minutes ago (120)": local files count, unlike the health columns."""
        count = source.paper_count
        text = f"{count} paper{'' if count == 1 else 's'}" if count else "no papers yet"
        if source.last_new_papers_at is not None:
            text += f" · last new {_ago(source.last_new_papers_at)} ({source.last_new_papers})"
        return text

    @admin.action(description="Fetch now")
    def fetch_now(self, request, queryset):
        source_ids = list(queryset.values_list("pk", flat=True))
        for source_id in source_ids:
            tasks.fetch_source.delay_on_commit(source_id)
        self.message_user(
            request,
            f"Fetching {len(source_ids)} source(s) in the background; refresh to see results.",
            messages.INFO,
        )
