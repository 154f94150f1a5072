"""The admin at 1280 px in headless Chromium: no list scrolls sideways, and screenshots of the index,
the paper and subscriber lists, a topic page, the Today page and the dashboard (test-artifacts/admin-*)."""

import io

import pytest
from django.contrib import admin
from django.core.management.base import OutputWrapper
from django.urls import reverse
from django.utils import timezone

import papers.demo
import subscriptions.demo
from newsletter.dashboard import figures_refresh
from newsletter.models import Dashboard, Delivery, ProviderEvent
from papers.models import Topic
from subscriptions.models import ConsentRecord, Subscriber
from testsupport.defaults import default_topics_and_sources
from testsupport.processes import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ARTIFACTS = ROOT / "test-artifacts"
PASSWORD = "a long admin password 4 screens"


def _seed() -> None:
    default_topics_and_sources()  # an earlier transactional test (any order) may have flushed them
    quiet = OutputWrapper(io.StringIO())
    papers.demo.seed(stdout=quiet)
    subscriptions.demo.seed(stdout=quiet)
    today = timezone.localdate()
    for n, reader in enumerate(Subscriber.objects.all()):
        ConsentRecord.objects.create(subscriber=reader, form_version="demo", action="signup")
        delivery = Delivery.objects.create(
            subscriber=reader, edition_date=today, status=("sent", "sent", "unknown", "failed")[n % 4],
            subject="Your papers", sent_at=timezone.now(), paper_ids=[1, 2, 3],
        )  # fmt: skip
        ProviderEvent.objects.create(
            event_id=f"screens-{n}", esp_name="Postmark", event_type="opened", delivery=delivery,
            occurred_at=timezone.now(), outcome="counted",
        )  # fmt: skip
    figures_refresh()


def _pages() -> dict[str, str]:
    pages = {"index": reverse("admin:index"), "today": reverse("admin:paperboy_today")}
    for model in admin.site._registry:
        if model is not Dashboard:
            meta = model._meta
            pages[f"{meta.app_label}-{meta.model_name}"] = reverse(
                f"admin:{meta.app_label}_{meta.model_name}_changelist"
            )
    topic = Topic.objects.order_by("display_order").first()
    reader = Subscriber.objects.order_by("pk").first()
    pages["topic-page"] = reverse("admin:papers_topic_change", args=[topic.pk])
    pages["subscriber-page"] = reverse("admin:subscriptions_subscriber_change", args=[reader.pk])
    pages["dashboard"] = reverse("admin:newsletter_dashboard_changelist")
    return pages


SHOWN = {"index", "today", "papers-paper", "subscriptions-subscriber", "topic-page", "dashboard"}


def test_every_admin_list_fits_1280_px_without_sideways_scrolling(chromium, live_server, django_user_model):
    _seed()
    django_user_model.objects.create_superuser("curator", "curator@paperboy.example", PASSWORD)
    ARTIFACTS.mkdir(exist_ok=True)
    page = chromium.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/admin/login/")
    assert page.title().endswith("Paperboy admin")
    page.fill("#id_username", "curator")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    assert page.locator("#site-name").inner_text() == "Paperboy admin"

    too_wide = {}
    for name, path in _pages().items():
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == 200, name
        scroll, client = page.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        table = page.evaluate(
            "(() => { const t = document.querySelector('#result_list');"
            " return t ? [t.scrollWidth, t.parentElement.clientWidth] : [0, 0]; })()"
        )
        if scroll > client or table[0] > table[1]:
            too_wide[name] = (scroll, client, *table)
        if name in SHOWN:
            page.screenshot(
                path=str(ARTIFACTS / f"admin-{name}.png"), full_page=name not in ("papers-paper", "today")
            )
    assert too_wide == {}

    # The paper list: the title has room, and topics, upvotes and state are columns.
    page.goto(f"{live_server.url}{reverse('admin:papers_paper_changelist')}")
    heads = [h.strip().lower() for h in page.locator("#result_list thead th").all_inner_texts()]
    assert heads[1:] == ["title", "topics", "upvotes", "state", "first seen"]
    title_width = page.locator("#result_list th.column-title_cell").bounding_box()["width"]
    assert title_width >= 380
