"""Admin for subscribers and their consent records (evidence: read-only). Actions call services."""

import csv

from django import forms
from django.contrib import admin, messages
from django.db.models import Prefetch
from django.http import HttpResponse
from django.utils import timezone

from papers.admin_tools import chips, log_admin_action
from papers.models import Topic

from . import feedback_admin, services, suppression_admin, topic_admin  # noqa: F401 - the *_admin modules register their models
from .addresses import InvalidAddress, normalise_email
from .models import ConsentRecord, Subscriber
from .selectors import subscriber_status_counts

# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value) -> str:
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text


class _ReadOnlyMixin:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ConsentRecordInline(_ReadOnlyMixin, admin.TabularInline):
    model = ConsentRecord
    extra = 0
    can_delete = False
    fields = ("action", "created_at", "confirmed_at", "ip_address", "form_version", "topics", "user_agent")
    readonly_fields = fields
    ordering = ("-created_at",)


WEEKDAYS = [
    (0, "Monday"),
    (1, "Tuesday"),
    (2, "Wednesday"),
    (3, "Thursday"),
    (4, "Friday"),
    (5, "Saturday"),
    (6, "Sunday"),
]  # fmt: skip  - Python's weekday() numbers, as the planner reads them
HOURS = [(hour, f"{hour:02d}:00") for hour in range(24)]


class SubscriberAdminForm(forms.ModelForm):
    delivery_weekday = forms.TypedChoiceField(
        choices=WEEKDAYS, coerce=int, label="Delivery weekday", help_text="For weekly digests."
    )
    delivery_hour = forms.TypedChoiceField(
        choices=HOURS, coerce=int, label="Delivery time", help_text="In the subscriber's time zone."
    )

    class Meta:
        model = Subscriber
        fields = (
            "email", "status", "topics", "keywords", "frequency", "delivery_hour", "delivery_weekday",
            "timezone", "paused", "ranking", "trending_strip", "suppressed_reason",
        )  # fmt: skip

    def clean_email(self) -> str:
        try:
            return normalise_email(self.cleaned_data["email"])
        except InvalidAddress as exc:
            raise forms.ValidationError(exc.messages[0]) from exc


@admin.register(Subscriber)
class SubscriberAdmin(admin.ModelAdmin):
    form = SubscriberAdminForm
    change_list_template = "admin/subscriptions/subscriber/change_list.html"
    # Five columns that fit a 1280 px screen beside the filters; the schedule reads as one phrase.
    list_display = ("email", "status", "topic_chips", "schedule", "created_at")
    list_filter = ("status", "topics", "frequency", "paused", ("created_at", admin.DateFieldListFilter))
    search_fields = ("email",)
    # No date_hierarchy: its years are a scan of every subscriber; the date filter narrows instead.
    filter_horizontal = ("topics",)
    # token_key signs every link in the reader's emails: never shown, not even read-only.
    readonly_fields = (
        "created_at", "confirmed_at", "unsubscribed_at", "suppressed_at", "last_confirmation_sent_at",
    )  # fmt: skip
    show_full_result_count = False  # a second COUNT(*) of the whole table on every filtered page
    inlines = [ConsentRecordInline]
    actions = ["export_csv", "resend_confirmation", "unsubscribe", "suppress"]
    list_per_page = 50  # rendering is most of a page's time

    def get_queryset(self, request):
        # Names only: a topic row carries its keyword lists, read again for every subscriber shown.
        names = Topic.objects.only("id", "name", "display_order").order_by("display_order", "name")
        return super().get_queryset(request).prefetch_related(Prefetch("topics", queryset=names))

    @admin.display(description="Topics")
    def topic_chips(self, obj: Subscriber):
        return chips(topic.name for topic in obj.topics.all())

    @admin.display(description="Schedule", ordering="delivery_hour")
    def schedule(self, obj: Subscriber) -> str:
        when = f"{obj.delivery_hour:02d}:00 {obj.timezone}"
        if obj.frequency == Subscriber.Frequency.WEEKLY:
            when = f"{dict(WEEKDAYS).get(obj.delivery_weekday, '?')}s {when}"
        text = f"{obj.get_frequency_display()}, {when}"
        return f"{text} (paused)" if obj.paused else text

    def changelist_view(self, request, extra_context=None):
        counts, as_of = subscriber_status_counts()
        extra_context = {**(extra_context or {}), "status_counts": counts, "status_counts_as_of": as_of}
        return super().changelist_view(request, extra_context=extra_context)

    @admin.action(description="Export selected subscribers as CSV")
    def export_csv(self, request, queryset):
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        stamp = timezone.now().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="subscribers-{stamp}.csv"'
        writer = csv.writer(response)
        columns = [
            "email", "status", "topics", "keywords", "frequency", "delivery_hour", "delivery_weekday",
            "timezone", "paused", "created_at", "confirmed_at", "unsubscribed_at", "suppressed_at",
            "suppressed_reason",
        ]  # fmt: skip
        writer.writerow(columns)
        exported = []
        rows = (
            queryset.prefetch_related(None).prefetch_related("topics").order_by("pk")
        )  # slugs, not the list's names
        for subscriber in rows.iterator(chunk_size=1000):
            values = {c: getattr(subscriber, c) for c in columns if c != "topics"}
            values["topics"] = " ".join(t.slug for t in subscriber.topics.all())
            writer.writerow([_csv_cell(values[c]) for c in columns])
            exported.append(subscriber)
        log_admin_action(request, exported, "Exported as CSV (admin action)")
        return response

    @admin.action(description="Resend the confirmation email (pending only)")
    def resend_confirmation(self, request, queryset):
        mailed = [s for s in queryset if services.subscriber_send_confirmation(subscriber=s)]
        log_admin_action(request, mailed, "Confirmation email sent again (admin action)")
        skipped = queryset.count() - len(mailed)
        self.message_user(
            request, f"Confirmation email queued for {len(mailed)}; {skipped} not pending, skipped."
        )

    @admin.action(description="Unsubscribe selected subscribers")
    def unsubscribe(self, request, queryset):
        changed = []
        for subscriber in queryset:
            was = subscriber.status
            subscriber = services.subscriber_unsubscribe(
                subscriber=subscriber, reason=f"admin ({request.user})"
            )
            if subscriber.status != was:
                changed.append(subscriber)
        log_admin_action(request, changed, "Unsubscribed (admin action)")
        self.message_user(request, f"{len(changed)} unsubscribed.", messages.SUCCESS)

    @admin.action(description="Suppress selected subscribers (never mail again)")
    def suppress(self, request, queryset):
        changed = []
        for subscriber in queryset:
            was = subscriber.status
            subscriber = services.subscriber_suppress(subscriber=subscriber, reason=f"admin ({request.user})")
            if subscriber.status != was:
                changed.append(subscriber)
        log_admin_action(request, changed, "Suppressed (admin action)")
        self.message_user(request, f"{len(changed)} suppressed.", messages.SUCCESS)


@admin.register(ConsentRecord)
class ConsentRecordAdmin(_ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("subscriber", "action", "created_at", "confirmed_at", "ip_address", "form_version")
    list_filter = ("action", "form_version", ("created_at", admin.DateFieldListFilter))
    search_fields = ("subscriber__email", "ip_address")
    list_select_related = ("subscriber",)
    readonly_fields = [f.name for f in ConsentRecord._meta.fields]
