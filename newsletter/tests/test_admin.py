"""Admin: deliveries read-only with "send again", provider events, digest preview and test, dashboard."""

from html.parser import HTMLParser

import pytest
from django.contrib.auth.models import Permission
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from newsletter.dashboard import figures_refresh
from newsletter.models import Delivery, ProviderEvent
from newsletter.paging import LargeTablePaginator
from newsletter.tests.html_safety import unsafe_markup, visible_text
from papers.tests.factories import PaperFactory, PaperTopicFactory, TopicFactory
from subscriptions.models import Subscriber
from subscriptions.tests.factories import SubscriberFactory
from subscriptions.tokens import manage_url, unsubscribe_url

pytestmark = pytest.mark.django_db

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'
CHANGELIST = "/admin/newsletter/delivery/"


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("boss", "boss@paperboy.example", "pw-not-used-123")


@pytest.fixture
def boss(client, superuser):
    client.force_login(superuser)
    return client


def _staff(django_user_model, *codenames, email="staff@paperboy.example"):
    user = django_user_model.objects.create_user("staff", email, "pw-not-used-123", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    return user


def _delivery(status, day="2026-04-28", **fields):
    return Delivery.objects.create(
        subscriber=fields.pop("subscriber", None) or SubscriberFactory(),
        edition_date=day,
        status=status,
        paper_ids=fields.pop("paper_ids", [1, 2, 3]),
        **fields,
    )


# --- Deliveries --------------------------------------------------------------------------------


def test_delivery_list_shows_unknown_prominently_and_escapes_data(boss):
    _delivery("unknown", subject=HOSTILE)
    _delivery("unknown")
    _delivery("sent", subject=HOSTILE, last_error=HOSTILE)

    response = boss.get(CHANGELIST)

    assert response.status_code == 200
    html = response.content.decode()
    assert "2 deliveries are unknown" in html
    assert 'href="?status__exact=unknown"' in html
    assert unsafe_markup(html) == []


def test_delivery_filters_and_search(boss):
    mine = _delivery("unknown", subscriber=SubscriberFactory(email="findme@example.com"))
    _delivery("sent", subscriber=SubscriberFactory(email="other@example.com"))
    _delivery("failed", day="2026-04-20")

    unknown = boss.get(CHANGELIST, {"status__exact": "unknown"}).context["cl"].result_list
    assert [d.pk for d in unknown] == [mine.pk]
    found = boss.get(CHANGELIST, {"q": "findme"}).context["cl"].result_list
    assert [d.pk for d in found] == [mine.pk]
    # A whole address, in any case, through the address index; part of one still as a substring.
    by_address = boss.get(CHANGELIST, {"q": " FindMe@Example.com "}).context["cl"].result_list
    assert [d.pk for d in by_address] == [mine.pk]
    partial = boss.get(CHANGELIST, {"q": "other@exam"}).context["cl"].result_list
    assert [d.subscriber.email for d in partial] == ["other@example.com"]
    dated = boss.get(CHANGELIST, {"edition_date__gte": "2026-04-21", "edition_date__lt": "2026-04-30"})
    assert len(dated.context["cl"].result_list) == 2


def test_deliveries_are_read_only(boss):
    delivery = _delivery("sent", subject=HOSTILE)
    assert boss.get(f"{CHANGELIST}add/").status_code == 403
    page = boss.get(f"{CHANGELIST}{delivery.pk}/change/")
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert unsafe_markup(page.content.decode()) == []
    assert boss.post(f"{CHANGELIST}{delivery.pk}/change/", {"status": "planned"}).status_code == 403
    delivery.refresh_from_db()
    assert delivery.status == "sent"


def test_only_superusers_delete_deliveries(client, django_user_model, boss):
    delivery = _delivery("sent")
    staff = _staff(django_user_model, "view_delivery", "change_delivery", "delete_delivery")
    client.force_login(staff)
    assert client.post(f"{CHANGELIST}{delivery.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Delivery.objects.filter(pk=delivery.pk).exists()
    client.force_login(django_user_model.objects.get(username="boss"))
    assert client.post(f"{CHANGELIST}{delivery.pk}/delete/", {"post": "yes"}).status_code == 302
    assert not Delivery.objects.filter(pk=delivery.pk).exists()


def test_send_again_moves_only_unknown_and_failed_back_to_planned(boss):
    unknown, failed, sent = _delivery("unknown"), _delivery("failed"), _delivery("sent")

    response = boss.post(
        CHANGELIST,
        {"action": "send_again", "_selected_action": [unknown.pk, failed.pk, sent.pk]},
        follow=True,
    )

    assert response.status_code == 200
    statuses = dict(Delivery.objects.values_list("pk", "status"))
    assert statuses == {unknown.pk: "planned", failed.pk: "planned", sent.pk: "sent"}
    text = visible_text(response.content.decode())
    assert "2 queued to send again." in text
    assert "1 skipped" in text


def test_send_again_needs_the_change_permission(client, django_user_model):
    unknown = _delivery("unknown")
    client.force_login(_staff(django_user_model, "view_delivery"))
    page = client.get(CHANGELIST)
    assert page.status_code == 200
    assert "send_again" not in page.content.decode()
    client.post(CHANGELIST, {"action": "send_again", "_selected_action": [unknown.pk]})
    unknown.refresh_from_db()
    assert unknown.status == "unknown"


def test_provider_events_are_listed_read_only(boss):
    delivery = _delivery("sent")
    event = ProviderEvent.objects.create(
        event_id="Postmark:clicked:1",
        esp_name="Postmark",
        event_type="clicked",
        delivery=delivery,
        url="https://arxiv.org/abs/2604.00001?q=%3Cscript%3E",
        occurred_at="2026-04-28T08:00:00Z",
        outcome="counted",
    )
    listing = boss.get("/admin/newsletter/providerevent/")
    assert listing.status_code == 200
    assert "2604.00001" in listing.content.decode()
    assert boss.get("/admin/newsletter/providerevent/add/").status_code == 403
    assert boss.get(f"/admin/newsletter/providerevent/{event.pk}/change/").status_code == 200


def _whole_table_scans(sqls: list[str]) -> list[str]:
    """Counts with no LIMIT and no filter, and date_hierarchy's distinct years: full scans."""
    return [
        sql
        for sql in sqls
        if ("DISTINCT DATE_TRUNC" in sql)
        or (sql.startswith("SELECT COUNT(*)") and "LIMIT" not in sql and "WHERE" not in sql)
    ]


@pytest.mark.parametrize("path", [CHANGELIST, "/admin/newsletter/providerevent/"])
def test_growing_lists_count_up_to_a_bound_and_never_scan_the_whole_table(boss, monkeypatch, path):
    """A year of digests for 100k readers is 36M deliveries: the change list's two full counts and
    its list of years took seconds at 7M rows."""
    for day in range(1, 13):
        delivery = _delivery("sent", day=f"2026-04-{day:02d}")
        ProviderEvent.objects.create(
            event_id=f"Postmark:opened:{day}", esp_name="Postmark", event_type="opened", delivery=delivery,
            occurred_at=f"2026-04-{day:02d}T08:00:00Z", outcome="counted",
        )  # fmt: skip
    monkeypatch.setattr(LargeTablePaginator, "exact_count_limit", 100)
    with CaptureQueriesContext(connection) as queries:
        small = boss.get(path)
    assert small.status_code == 200 and small.context["cl"].result_count == 12  # exact while small
    assert _whole_table_scans([q["sql"] for q in queries.captured_queries]) == []

    monkeypatch.setattr(LargeTablePaginator, "exact_count_limit", 5)
    with CaptureQueriesContext(connection) as queries:
        large = boss.get(path)
    assert large.status_code == 200 and len(large.context["cl"].result_list) == 12
    assert large.context["cl"].result_count > 5  # the planner's estimate past the bound
    assert _whole_table_scans([q["sql"] for q in queries.captured_queries]) == []


@pytest.mark.postgres  # Postgres query plans
def test_provider_events_are_read_newest_first_and_by_month_through_their_time_index(boss, monkeypatch):
    """Events grow by tens of millions a year: the admin list (newest first) and the dashboard's
    month must not sort or scan all of them."""
    from newsletter.admin import ProviderEventAdmin

    monkeypatch.setattr(ProviderEventAdmin, "list_per_page", 2)  # a page of a longer list: LIMIT
    delivery = _delivery("sent")
    for n in range(3):
        ProviderEvent.objects.create(
            event_id=f"Postmark:opened:{n}", esp_name="Postmark", event_type="opened", delivery=delivery,
            occurred_at=timezone.now(), outcome="counted",
        )  # fmt: skip
    with CaptureQueriesContext(connection) as queries:
        assert boss.get("/admin/newsletter/providerevent/").status_code == 200
        figures_refresh(days=1)  # the dashboard's events per day are read by the roll-up
    newest_first = 'ORDER BY "newsletter_providerevent"."occurred_at" DESC'
    every_type = '"newsletter_providerevent"."delivery_id" IS NOT NULL'  # clicks alone have their own index
    bounded = 'FROM "newsletter_providerevent" LIMIT 10001'  # the count, without the list's ORDER BY
    reads = [
        q["sql"]
        for q in queries.captured_queries
        if newest_first in q["sql"] or every_type in q["sql"] or bounded in q["sql"]
    ]
    assert len(reads) == 3  # the list's page, its bounded count, the roll-up's events per day
    for sql in reads:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")  # three rows would be read whole anyway
            cursor.execute(f"EXPLAIN {sql}")
            plan = "\n".join(row[0] for row in cursor.fetchall())
        assert "provider_event_occurred_idx" in plan, (sql, plan)


# --- Digest preview and test on a subscriber ---------------------------------------------------


@pytest.fixture
def reader():
    topic = TopicFactory(slug="test-preview", name="Preview topic")
    subscriber = SubscriberFactory(email="reader@example.com", topics=[topic])
    for title in (f"Quantized models {HOSTILE}", "A second paper"):
        PaperTopicFactory(paper=PaperFactory(title=title), topic=topic)
    return subscriber


class _Frames(HTMLParser):
    def __init__(self):
        super().__init__()
        self.frames = []

    def handle_starttag(self, tag, attrs):
        if tag == "iframe":
            self.frames.append(dict(attrs))


def test_subscriber_page_links_to_the_digest_preview(boss, reader):
    page = boss.get(f"/admin/subscriptions/subscriber/{reader.pk}/change/")
    assert page.status_code == 200
    assert f"/admin/subscriptions/subscriber/{reader.pk}/digest/" in page.content.decode()


def test_preview_renders_todays_digest_in_a_sandboxed_frame(boss, reader):
    response = boss.get(f"/admin/subscriptions/subscriber/{reader.pk}/digest/")

    assert response.status_code == 200
    html = response.content.decode()
    assert unsafe_markup(html, allow=frozenset({"iframe"})) == []
    parser = _Frames()
    parser.feed(html)
    [frame] = parser.frames
    assert frame["sandbox"] == ""  # no scripts, no same-origin access to the admin
    digest = frame["srcdoc"]
    assert "Quantized models" in digest
    assert "A second paper" in digest
    assert unsafe_markup(digest) == []
    # The title shows as written in the frame and in the plain-text part below it.
    assert f"Quantized models {HOSTILE}" in visible_text(digest)
    assert f"Quantized models {HOSTILE}" in visible_text(html)  # the <pre>, escaped
    # The reader's real links act without a login: they never reach a staff screen or inbox.
    assert unsafe_url_free(digest, reader)
    assert "2 papers" in visible_text(html)


def unsafe_url_free(html: str, subscriber: Subscriber) -> bool:
    return unsubscribe_url(subscriber) not in html and manage_url(subscriber) not in html


def test_send_a_test_to_me_mails_the_staff_user_and_creates_no_delivery(boss, reader):
    response = boss.post(f"/admin/subscriptions/subscriber/{reader.pk}/digest/test/", follow=True)

    assert response.status_code == 200
    assert "Test digest sent to boss@paperboy.example" in visible_text(response.content.decode())
    [message] = mail.outbox
    assert message.to == ["boss@paperboy.example"]
    assert message.subject.startswith("[Test] 2 new papers")
    assert message.extra_headers["X-Paperboy-Test"]
    html = message.alternatives[0][0]
    assert "Quantized models" in html
    assert unsafe_markup(html) == []
    assert unsafe_url_free(html + message.body, reader)
    assert not Delivery.objects.exists()


def test_send_a_test_refuses_get(boss, reader):
    assert boss.get(f"/admin/subscriptions/subscriber/{reader.pk}/digest/test/").status_code == 405
    assert mail.outbox == []


def test_send_a_test_without_an_email_address_says_so(client, django_user_model, reader):
    client.force_login(_staff(django_user_model, "view_subscriber", email=""))
    response = client.post(f"/admin/subscriptions/subscriber/{reader.pk}/digest/test/", follow=True)
    assert "has no email address" in visible_text(response.content.decode())
    assert mail.outbox == []


def test_preview_with_nothing_new_sends_nothing(boss):
    quiet = SubscriberFactory(topics=[TopicFactory(slug="test-empty")])
    page = boss.get(f"/admin/subscriptions/subscriber/{quiet.pk}/digest/")
    assert "no digest would be sent" in page.content.decode()
    boss.post(f"/admin/subscriptions/subscriber/{quiet.pk}/digest/test/")
    assert mail.outbox == []


def test_preview_needs_permission_to_view_subscribers(client, django_user_model, reader):
    client.force_login(_staff(django_user_model, "view_delivery"))
    assert client.get(f"/admin/subscriptions/subscriber/{reader.pk}/digest/").status_code == 403
    assert client.post(f"/admin/subscriptions/subscriber/{reader.pk}/digest/test/").status_code == 403
    assert mail.outbox == []


def test_preview_of_a_missing_subscriber_is_404(boss):
    assert boss.get("/admin/subscriptions/subscriber/999999/digest/").status_code == 404


# --- Dashboard page ----------------------------------------------------------------------------


def test_dashboard_is_linked_from_the_admin_index_and_renders_svg(boss):
    paper = PaperFactory(title=f"Clicked paper {HOSTILE}", abs_url="https://arxiv.org/abs/2604.00002")
    delivery = _delivery("sent", day=timezone.localdate())
    ProviderEvent.objects.create(
        event_id="e-1",
        esp_name="Postmark",
        event_type="clicked",
        delivery=delivery,
        url=paper.abs_url,
        occurred_at=delivery.created_at,
        outcome="counted",
    )

    assert "/admin/newsletter/dashboard/" in boss.get("/admin/").content.decode()
    figures_refresh()  # what beat does every 10 minutes
    response = boss.get("/admin/newsletter/dashboard/")

    assert response.status_code == 200
    html = response.content.decode()
    assert html.count("<svg") >= 3
    assert "Most-clicked papers" in html
    assert unsafe_markup(html) == []
    assert "Clicked paper" in html.split("Most-clicked papers")[1]


def test_dashboard_needs_permission(client, django_user_model):
    client.force_login(_staff(django_user_model, "view_subscriber"))
    assert client.get("/admin/newsletter/dashboard/").status_code == 403
    assert Subscriber.objects.count() == 0


def test_provider_events_are_found_by_event_id_or_message_id_exactly(boss):
    delivery = _delivery("sent", provider_message_id="msg-42")
    other = _delivery("sent", provider_message_id="msg-420")
    for n, row in enumerate((delivery, other)):
        ProviderEvent.objects.create(
            event_id=f"Postmark:opened:{n}", esp_name="Postmark", event_type="opened", delivery=row,
            occurred_at=timezone.now(), outcome="counted",
        )  # fmt: skip

    def found(term):
        response = boss.get("/admin/newsletter/providerevent/", {"q": term})
        return {event.event_id for event in response.context["cl"].result_list}

    assert found("msg-42") == {"Postmark:opened:0"}
    assert found("Postmark:opened:1") == {"Postmark:opened:1"}
    assert found("Postmark") == set()  # exact, not a scan for parts
