"""Admin for deliveries and provider events (read-only records), the dashboard, and digest previews.

Deliveries are a log: nobody edits one by hand. The only write is "send again" for rows in `unknown`
or `failed`, which calls newsletter.services. The subscriber admin (owned by subscriptions, which
must not import newsletter) gains "preview today's digest" and "send a test to me" here, by
re-registering it with `SubscriberDigestAdminMixin`.
"""

import logging
import smtplib

from anymail.exceptions import AnymailError
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.core.mail import EmailMultiAlternatives
from django.db.models import Q
from django.db.models.functions import Lower
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import Truncator
from django.views.decorators.http import require_POST

from papers.admin_tools import log_admin_action
from subscriptions.addresses import address_key
from subscriptions.models import Subscriber
from subscriptions.seeds import followed_authors
from subscriptions.selectors import parse_keywords

from . import dashboard
from .composing import digest_reasons, digest_selection_for
from .events import HANDLED_TYPES
from .links import digest_view_url
from .models import Dashboard, Delivery, ProviderEvent
from .paging import LargeTablePaginator
from .planning import local_edition
from .rendering import DigestLinks, RenderedDigest, render_digest_direct
from .services import delivery_send_again

logger = logging.getLogger(__name__)


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    # Six columns that fit a 1280 px screen beside the filters.
    list_display = ("edition_date", "subscriber_email", "status", "paper_count", "sent_at", "engagement")
    list_filter = ("status", ("edition_date", admin.DateFieldListFilter))
    # No date_hierarchy: its list of years is a scan of the whole table (newsletter.paging); the
    # date filter narrows by day, week, month and year instead.
    search_fields = ("subscriber__email",)
    list_select_related = ("subscriber",)
    # Newest first by id, the primary key's order: "-edition_date, -id" sorted a whole day's rows
    # (100,000 at 100k readers) on every load. Ids follow planning, so the order is nearly the same.
    ordering = ("-id",)
    list_per_page = 50
    paginator = LargeTablePaginator
    show_full_result_count = False  # a second count of the whole table on every filtered page
    actions = ["send_again"]
    fields = (
        "subscriber", "edition_date", "status", "subject", "skip_reason", "paper_ids", "web_copy",
        "provider_message_id", "attempts", "last_error", "created_at", "updated_at", "sending_started_at",
        "sent_at", "delivered_at", "opens", "clicks",
    )  # fmt: skip
    readonly_fields = fields

    def get_search_results(self, request, queryset, search_term):
        """A whole address (what a curator pastes from a bounce or a complaint) through the
        case-insensitive unique index on addresses, then that reader's deliveries through theirs: a
        substring match joins every delivery to its reader (0.4 s at a million readers). Anything
        else, or an address nobody has, is searched as a substring, as before."""
        term = search_term.strip()
        if "@" in term and not any(c.isspace() for c in term):
            reader = (
                Subscriber.objects.alias(key=Lower("email"))
                .filter(key=address_key(term))
                .values_list("pk", flat=True)
            )
            if found := list(reader[:1]):
                return queryset.filter(subscriber_id=found[0]), False
        return super().get_search_results(request, queryset, search_term)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        # Deleting a delivery would let the planner send that day's digest again.
        return request.user.is_active and request.user.is_superuser

    def has_send_again_permission(self, request):
        return request.user.has_perm("newsletter.change_delivery")

    @admin.display(description="Subscriber", ordering="subscriber__email")
    def subscriber_email(self, obj: Delivery) -> str:
        return obj.subscriber.email if obj.subscriber else "(erased)"

    @admin.display(description="Papers")
    def paper_count(self, obj: Delivery) -> int:
        return len(obj.paper_ids) if isinstance(obj.paper_ids, list) else 0

    @admin.display(description="Opens / clicks")
    def engagement(self, obj: Delivery) -> str:
        return f"{obj.opens} / {obj.clicks}"

    @admin.display(description="View in browser")
    def web_copy(self, obj: Delivery) -> str:
        if obj.status != Delivery.Status.SENT or obj.subscriber is None:
            return "—"
        return format_html('<a href="{}" rel="noreferrer">{}</a>', digest_view_url(obj.pk), "Open")

    def changelist_view(self, request, extra_context=None):
        # Few rows are ever unknown: the partial index on them answers without reading the table.
        unknown = Delivery.objects.filter(status=Delivery.Status.UNKNOWN).count()
        extra_context = {**(extra_context or {}), "unknown_count": unknown}
        return super().changelist_view(request, extra_context=extra_context)

    @admin.action(description="Send again (unknown or failed only)", permissions=["send_again"])
    def send_again(self, request, queryset):
        queued = [
            delivery
            for delivery in queryset.filter(status__in=[Delivery.Status.UNKNOWN, Delivery.Status.FAILED])
            if delivery_send_again(delivery=delivery)
        ]
        log_admin_action(request, queued, "Queued to send again (admin action)")
        again = len(queued)
        skipped = queryset.count() - again
        self.message_user(request, f"{again} queued to send again.", messages.SUCCESS)
        if skipped:
            self.message_user(
                request, f"{skipped} skipped: only unknown or failed deliveries are sent again."
            )


class EventTypeFilter(admin.SimpleListFilter):
    title = "event type"
    parameter_name = "event_type"

    def lookups(self, request, model_admin):
        return [(kind, kind.replace("_", " ")) for kind in sorted(HANDLED_TYPES)]

    def queryset(self, request, queryset):
        return queryset.filter(event_type=self.value()) if self.value() else queryset


@admin.register(ProviderEvent)
class ProviderEventAdmin(admin.ModelAdmin):
    list_display = ("occurred_at", "event_type", "outcome", "delivery", "short_url", "esp_name")
    # Fixed choices: a filter on a plain field lists its distinct values, a scan of every event.
    list_filter = (EventTypeFilter, "outcome", ("occurred_at", admin.DateFieldListFilter))
    search_fields = ("event_id",)  # searched exactly, by get_search_results
    list_select_related = ("delivery",)
    list_per_page = 50  # rendering is most of a page's time, as for deliveries
    paginator = LargeTablePaginator  # as for deliveries: no date_hierarchy, no full counts
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in ProviderEvent._meta.fields]

    def get_search_results(self, request, queryset, search_term):
        """An event id or the provider's message id, matched exactly through indexes ("=" would
        compare upper-cased text, a scan of every event)."""
        term = search_term.strip()
        if not term:
            return queryset, False
        # The delivery first (its message-id index), then events by either index: an OR across the
        # join read every event (4 s at a million).
        deliveries = list(
            Delivery.objects.filter(provider_message_id=term).values_list("pk", flat=True)[:100]
        )
        return queryset.filter(Q(event_id=term) | Q(delivery_id__in=deliveries)), False

    @admin.display(description="Link clicked")
    def short_url(self, obj: ProviderEvent) -> str:
        return Truncator(obj.url).chars(60) if obj.url else ""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser


@admin.register(Dashboard)
class DashboardAdmin(admin.ModelAdmin):
    """The changelist of the Dashboard proxy is the dashboard page: /admin/newsletter/dashboard/."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        user = request.user
        return user.has_perm("newsletter.view_dashboard") or user.has_perm("newsletter.view_delivery")

    def get_urls(self):
        view = self.admin_site.admin_view(self.dashboard_view)
        return [path("", view, name="newsletter_dashboard_changelist")]

    def dashboard_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": "Newsletter dashboard",
            "opts": self.model._meta,
            "dashboard": dashboard.build(days=dashboard.DEFAULT_DAYS),
        }
        return TemplateResponse(request, "admin/newsletter/dashboard.html", context)


# --- Digest preview and test on the subscriber admin ---------------------------------------------


def _today_for(subscriber: Subscriber):
    """The subscriber's edition date now, in their time zone (as the planner computes it)."""
    return local_edition(timezone.now(), subscriber.timezone)[0]


def preview_digest(subscriber: Subscriber) -> tuple[RenderedDigest | None, int]:
    """Today's digest for `subscriber` as it would go out, but with links that do nothing.

    A preview or test lands in a staff inbox: the reader's real manage and unsubscribe links (which
    act without a login) must not travel there.
    """
    edition_date = _today_for(subscriber)
    selection = digest_selection_for(subscriber, edition_date=edition_date)  # one selection for both
    papers = selection.papers.get(subscriber.pk, [])
    trending = selection.trending.get(subscriber.pk, [])
    if not papers:
        return None, 0
    topics = subscriber.topics.filter(active=True).order_by("display_order", "name")
    home = f"{settings.SITE_URL}{reverse('subscriptions:home')}"
    your_topics = [topic.name for topic in topics]
    keywords = parse_keywords(subscriber.keywords)
    rendered = render_digest_direct(
        papers=papers,
        edition_date=edition_date,
        your_topics=your_topics,
        keywords=keywords,
        links=DigestLinks(
            manage_url=f"{home}#preview-manage-link",
            unsubscribe_url=f"{home}#preview-unsubscribe-link",
        ),
        trending=trending,
        reasons=digest_reasons(
            papers,
            your_topics=your_topics,
            keywords=keywords,
            liked=selection.liked.get(subscriber.pk, ()),
            authors=followed_authors(subscriber),
        ),
    )
    return rendered, len(papers)


class SubscriberDigestAdminMixin:
    """Adds /admin/subscriptions/subscriber/<id>/digest/ (preview) and .../digest/test/ (POST)."""

    change_form_template = "admin/newsletter/subscriber_change_form.html"
    # A million subscribers: counted exactly up to 10,000, estimated beyond (newsletter.paging; set
    # here because subscriptions cannot import newsletter).
    paginator = LargeTablePaginator

    def get_urls(self):
        info = f"{self.model._meta.app_label}_{self.model._meta.model_name}"
        own = [
            path(
                "<path:object_id>/digest/",
                self.admin_site.admin_view(self.digest_preview_view),
                name=f"{info}_digest_preview",
            ),
            path(
                "<path:object_id>/digest/test/",
                self.admin_site.admin_view(require_POST(self.digest_test_view)),
                name=f"{info}_digest_test",
            ),
        ]
        return own + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        base = getattr(super(), "change_form_template", None) or "admin/change_form.html"
        extra_context = {**(extra_context or {}), "base_change_form_template": base}
        return super().change_view(request, object_id, form_url, extra_context=extra_context)

    def _subscriber_or_404(self, request, object_id) -> Subscriber:
        subscriber = self.get_object(request, unquote(object_id))
        if subscriber is None:
            raise Http404("No such subscriber")
        if not self.has_view_permission(request, subscriber):
            raise PermissionDenied
        return subscriber

    def digest_preview_view(self, request, object_id):
        subscriber = self._subscriber_or_404(request, object_id)
        rendered, count = preview_digest(subscriber)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Today's digest for {subscriber.email}",
            "opts": self.model._meta,
            "original": subscriber,
            "rendered": rendered,
            "paper_count": count,
            "edition_date": _today_for(subscriber),
            "test_url": reverse(
                f"{self.admin_site.name}:subscriptions_subscriber_digest_test", args=[subscriber.pk]
            ),
        }
        return TemplateResponse(request, "admin/newsletter/digest_preview.html", context)

    def digest_test_view(self, request, object_id):
        subscriber = self._subscriber_or_404(request, object_id)
        back = HttpResponseRedirect(
            reverse(f"{self.admin_site.name}:subscriptions_subscriber_digest_preview", args=[subscriber.pk])
        )
        if not request.user.email:
            self.message_user(
                request, "Your admin account has no email address to send the test to.", messages.ERROR
            )
            return back
        rendered, _ = preview_digest(subscriber)
        if rendered is None:
            self.message_user(
                request, "Nothing new for this subscriber today: no digest to send.", messages.WARNING
            )
            return back
        message = EmailMultiAlternatives(
            subject=f"[Test] {rendered.subject}",
            body=rendered.text,
            to=[request.user.email],
            headers={"X-Paperboy-Test": "digest preview"},
        )
        message.attach_alternative(rendered.html, "text/html")
        message.tags = ["digest-test"]  # anymail: kept apart from real digests in the provider's stats
        try:
            message.send()
        except (AnymailError, smtplib.SMTPException, OSError) as exc:
            logger.warning("Test digest to %s failed: %s", request.user.pk, type(exc).__name__)
            self.message_user(request, f"The test could not be sent: {type(exc).__name__}.", messages.ERROR)
            return back
        log_admin_action(request, [subscriber], f"Test of today's digest sent to {request.user.email}")
        self.message_user(request, f"Test digest sent to {request.user.email}.", messages.SUCCESS)
        return back


def _add_digest_tools_to_subscriber_admin(site: admin.AdminSite) -> None:
    if site.is_registered(Subscriber):
        current = type(site.get_model_admin(Subscriber))
        site.unregister(Subscriber)
    else:
        current = admin.ModelAdmin
    if issubclass(current, SubscriberDigestAdminMixin):
        site.register(Subscriber, current)
        return
    site.register(Subscriber, type(current.__name__, (SubscriberDigestAdminMixin, current), {}))


_add_digest_tools_to_subscriber_admin(admin.site)
