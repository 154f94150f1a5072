"""Subscriber admin: counts per status, search, filters, CSV export, actions; consent is read-only."""

import csv
import io

import pytest
from django.urls import reverse

from subscriptions.models import ConsentRecord, Subscriber
from subscriptions.tests.factories import SubscriberFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:subscriptions_subscriber_changelist")


@pytest.fixture
def people(topics):
    return {
        "ada": SubscriberFactory(email="ada@example.com", topics=topics[:1]),
        "bob": SubscriberFactory(email="bob@example.com", topics=topics[1:2], frequency="weekly"),
        "cy": SubscriberFactory(
            email="=cmd@example.com", status=Subscriber.Status.PENDING, confirmed_at=None
        ),
        "dee": SubscriberFactory(email="dee@example.com", status=Subscriber.Status.SUPPRESSED),
    }


def _emails(response) -> set[str]:
    return {s.email for s in response.context["cl"].result_list}


def test_changelist_shows_counts_per_status(admin_client, people):
    html = admin_client.get(CHANGELIST).content.decode()
    assert "Active: <strong>2</strong>" in html
    assert "Pending confirmation: <strong>1</strong>" in html
    assert "Unsubscribed: <strong>0</strong>" in html
    assert "Suppressed (bounce or complaint): <strong>1</strong>" in html


def test_search_and_filters(admin_client, people, topics):
    assert _emails(admin_client.get(CHANGELIST, {"q": "ada@"})) == {"ada@example.com"}
    assert _emails(admin_client.get(CHANGELIST, {"status__exact": "pending"})) == {"=cmd@example.com"}
    assert _emails(admin_client.get(CHANGELIST, {"topics__id__exact": topics[1].pk})) == {"bob@example.com"}
    assert _emails(admin_client.get(CHANGELIST, {"frequency__exact": "weekly"})) == {"bob@example.com"}
    dated = admin_client.get(
        CHANGELIST,
        {"created_at__gte": "2000-01-01 00:00:00+00:00", "created_at__lt": "2000-01-02 00:00:00+00:00"},
    )
    assert _emails(dated) == set()


def _action(admin_client, action, subscribers):
    return admin_client.post(
        CHANGELIST, {"action": action, "_selected_action": [s.pk for s in subscribers]}, follow=False
    )


def test_csv_export_of_the_selection_neutralises_formulas(admin_client, people):
    response = _action(admin_client, "export_csv", [people["ada"], people["cy"]])
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [r["email"] for r in rows] == ["ada@example.com", "'=cmd@example.com"]
    assert rows[0]["topics"] == "lowbit" and rows[0]["status"] == "active"


def test_actions_unsubscribe_suppress_and_resend(
    admin_client, people, eager_tasks, django_capture_on_commit_callbacks, mailoutbox
):
    _action(admin_client, "unsubscribe", [people["ada"]])
    _action(admin_client, "suppress", [people["bob"]])
    with django_capture_on_commit_callbacks(execute=True):
        _action(admin_client, "resend_confirmation", [people["cy"], people["dee"]])
    statuses = dict(Subscriber.objects.values_list("email", "status"))
    assert statuses["ada@example.com"] == "unsubscribed"
    assert statuses["bob@example.com"] == "suppressed"
    assert [m.to for m in mailoutbox] == [["=cmd@example.com"]]
    assert "/confirm/" in mailoutbox[0].body


def test_consent_records_are_read_only(admin_client, people):
    consent = ConsentRecord.objects.create(
        subscriber=people["ada"], form_version="v1", ip_address="192.0.2.1"
    )
    changelist = reverse("admin:subscriptions_consentrecord_changelist")
    assert admin_client.get(changelist).status_code == 200
    assert admin_client.get(reverse("admin:subscriptions_consentrecord_add")).status_code == 403
    change = reverse("admin:subscriptions_consentrecord_change", args=[consent.pk])
    page = admin_client.get(change)
    assert page.status_code == 200 and b'name="form_version"' not in page.content  # shown, not editable
    admin_client.post(change, {"form_version": "forged"})
    assert (
        admin_client.post(reverse("admin:subscriptions_consentrecord_delete", args=[consent.pk])).status_code
        == 403
    )
    consent.refresh_from_db()
    assert consent.form_version == "v1"
    # Inline on the subscriber page, read-only too.
    sub_page = admin_client.get(reverse("admin:subscriptions_subscriber_change", args=[people["ada"].pk]))
    assert b"192.0.2.1" in sub_page.content and b"consents-0-form_version" not in sub_page.content


def test_actions_that_change_or_mail_subscribers_are_in_the_admin_log(
    admin_client, admin_user, people, django_capture_on_commit_callbacks
):
    from django.contrib.admin.models import LogEntry

    ada, bob, cy, dee = (people[name] for name in ("ada", "bob", "cy", "dee"))
    with django_capture_on_commit_callbacks(execute=False):
        for action, chosen in (("unsubscribe", [ada, dee]), ("resend_confirmation", [cy, bob])):
            admin_client.post(CHANGELIST, {"action": action, "_selected_action": [s.pk for s in chosen]})
    entries = {(e.object_repr, e.change_message, e.user_id) for e in LogEntry.objects.all()}
    assert entries == {
        ("ada@example.com", "Unsubscribed (admin action)", admin_user.pk),
        ("=cmd@example.com", "Confirmation email sent again (admin action)", admin_user.pk),
    }  # dee was already suppressed and bob is not pending: nothing changed or was sent for them


def test_the_form_names_weekdays_and_hours_and_never_shows_the_token_key(admin_client, people):
    ada = people["ada"]
    ConsentRecord.objects.create(subscriber=ada, form_version="test")
    html = admin_client.get(reverse("admin:subscriptions_subscriber_change", args=[ada.pk])).content.decode()
    assert '<option value="0" selected>Monday</option>' in html
    assert '<option value="7" selected>07:00</option>' in html or ">07:00</option>" in html
    assert ada.token_key not in html
    assert "Token key" not in html and "token_key" not in html
    assert "ConsentRecord object" not in html and "Signed up, " in html  # the inline row's name
