"""The signup page and form: double opt-in, no enumeration, bots, rate limits, header injection."""

import time

import pytest
from django.core import mail
from django.test import Client

from subscriptions import services
from subscriptions.forms import make_form_stamp
from subscriptions.models import ConsentRecord, Subscriber
from subscriptions.tests.conftest import last_mail_to, link_from, signup_data
from subscriptions.tests.factories import SubscriberFactory

pytestmark = pytest.mark.django_db


def test_home_page_is_the_signup_form_with_active_topics_and_their_descriptions(client, topics):
    topics[2].active = False
    topics[2].save()
    page = client.get("/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "Get trending papers in your email inbox" in html
    assert 'value="lowbit"' in html and "Low-bit models." in html
    assert 'value="toolusers"' not in html  # inactive topics are not offered
    assert 'name="started"' in html and 'name="leave_blank"' in html and "csrfmiddlewaretoken" in html
    assert 'data-server-default="UTC"' in html  # signup.js swaps in the browser's zone
    assert page["Cache-Control"].startswith("max-age=0")


def test_signup_creates_a_pending_subscriber_a_consent_record_and_sends_a_confirmation(sign_up, topics):
    response = sign_up("Ada@Example.com", HTTP_USER_AGENT="Firefox/140", REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 302 and response["Location"] == "/check-your-inbox/"

    subscriber = Subscriber.objects.get()
    assert subscriber.email == "Ada@example.com"
    assert subscriber.status == Subscriber.Status.PENDING
    consent = subscriber.consents.get()
    assert consent.action == ConsentRecord.Action.SIGNUP
    assert consent.ip_address == "203.0.113.9"
    assert consent.user_agent == "Firefox/140"
    assert consent.form_version == "signup-2026-11"
    assert consent.topics == ["codegen", "lowbit"]
    assert consent.preferences["timezone"] == "Europe/Berlin"
    assert "unsubscribe" in consent.consent_text

    message = last_mail_to("Ada@example.com")
    assert message.subject == "Confirm your Paperboy subscription"
    assert link_from(message, "confirm").startswith("/confirm/")
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html" and 'style="' in html  # CSS inlined for mail clients
    assert "Quantization" in message.body and "Code LLMs" in message.body


def _followed(client, email, sign_up):
    response = sign_up(email)
    page = client.get(response["Location"])
    return response.status_code, response["Location"], page.status_code, page.content


def test_response_is_identical_for_new_pending_active_unsubscribed_and_suppressed(client, sign_up, topics):
    SubscriberFactory(email="pending@example.com", status=Subscriber.Status.PENDING)
    SubscriberFactory(email="active@example.com", status=Subscriber.Status.ACTIVE)
    SubscriberFactory(email="gone@example.com", status=Subscriber.Status.UNSUBSCRIBED)
    SubscriberFactory(email="bounced@example.com", status=Subscriber.Status.SUPPRESSED)
    erased = SubscriberFactory(email="erased@example.com", status=Subscriber.Status.SUPPRESSED)
    services.subscriber_erase(subscriber=erased)  # only a keyed hash of the address is left
    answers = {
        email: _followed(client, email, sign_up)
        for email in [
            "new@example.com", "pending@example.com", "active@example.com", "gone@example.com",
            "bounced@example.com", "erased@example.com",
        ]
    }  # fmt: skip
    assert len(set(answers.values())) == 1, answers
    # ...while behind the scenes each got what its state calls for.
    assert mail.outbox and {m.to[0]: m.subject for m in mail.outbox} == {
        "new@example.com": "Confirm your Paperboy subscription",
        "pending@example.com": "Confirm your Paperboy subscription",
        "active@example.com": "Your Paperboy subscription",
        "gone@example.com": "Confirm your Paperboy subscription",
    }


def test_an_active_address_gets_a_manage_link_and_its_preferences_stay_untouched(sign_up, topics):
    subscriber = SubscriberFactory(email="ada@example.com", timezone="Asia/Tokyo", topics=[topics[2]])
    sign_up("ADA@example.com", timezone="Europe/Berlin")
    subscriber.refresh_from_db()
    assert subscriber.timezone == "Asia/Tokyo"
    assert list(subscriber.topics.all()) == [topics[2]]
    assert subscriber.status == Subscriber.Status.ACTIVE
    assert Subscriber.objects.count() == 1
    assert link_from(last_mail_to("ada@example.com"), "manage").startswith("/manage/")


def test_at_most_one_email_per_address_per_day(sign_up, topics):
    for _ in range(3):
        sign_up("ada@example.com")
    assert len(mail.outbox) == 1
    subscriber = Subscriber.objects.get()
    assert subscriber.consents.count() == 1

    # A day later a new signup sends again.
    subscriber.last_confirmation_sent_at -= __import__("datetime").timedelta(hours=24, seconds=1)
    subscriber.save()
    sign_up("ada@example.com")
    assert len(mail.outbox) == 2


def test_honeypot_gets_the_normal_success_page_and_changes_nothing(sign_up, topics):
    response = sign_up("bot@example.com", leave_blank="http://spam.example")
    assert response.status_code == 302 and response["Location"] == "/check-your-inbox/"
    assert not Subscriber.objects.exists() and not mail.outbox


@pytest.mark.parametrize(
    "stamp",
    [
        pytest.param(lambda: make_form_stamp(), id="too-fast"),
        pytest.param(lambda: "", id="missing"),
        pytest.param(lambda: str(int(time.time()) - 60), id="unsigned"),
        pytest.param(lambda: make_form_stamp(time.time() - 60)[:-2] + "xx", id="tampered"),
    ],
)
def test_a_form_sent_back_too_fast_or_without_a_genuine_stamp_is_a_bot(sign_up, topics, stamp):
    response = sign_up("bot@example.com", started=stamp())
    assert response.status_code == 302 and response["Location"] == "/check-your-inbox/"
    assert not Subscriber.objects.exists() and not mail.outbox


def test_signup_without_csrf_token_is_refused(topics, eager_tasks):
    strict = Client(enforce_csrf_checks=True)
    response = strict.post("/", signup_data())
    assert response.status_code == 403
    assert not Subscriber.objects.exists()


def test_signup_from_our_own_page_with_its_csrf_token_works(
    topics, eager_tasks, django_capture_on_commit_callbacks
):
    strict = Client(enforce_csrf_checks=True)
    strict.get("/")
    data = signup_data(csrfmiddlewaretoken=strict.cookies["csrftoken"].value)
    with django_capture_on_commit_callbacks(execute=True):
        response = strict.post("/", data)
    assert response.status_code == 302
    assert Subscriber.objects.filter(email="ada@example.com").exists()


def test_embedded_form_from_an_allowed_origin_needs_no_csrf_token(
    settings, topics, eager_tasks, django_capture_on_commit_callbacks
):
    settings.SUBSCRIPTIONS_EMBED_ORIGINS = ["https://blog.example.org"]
    strict = Client(enforce_csrf_checks=True)
    # What docs/operations.md's plain HTML form sends: no CSRF token, no signed stamp, no time fields.
    plain = {"email": "reader@example.com", "topics": ["lowbit"], "leave_blank": ""}
    refused = strict.post("/", plain, HTTP_ORIGIN="https://evil.example.net")
    assert refused.status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        response = strict.post("/", plain, HTTP_ORIGIN="https://blog.example.org")
    assert response.status_code == 302
    subscriber = Subscriber.objects.get(email="reader@example.com")
    assert subscriber.timezone == "UTC" and subscriber.delivery_hour == 7  # server-side defaults
    assert last_mail_to("reader@example.com")
    # The honeypot still applies to embedded forms.
    with django_capture_on_commit_callbacks(execute=True):
        strict.post(
            "/",
            {**plain, "email": "bot@example.com", "leave_blank": "x"},
            HTTP_ORIGIN="https://blog.example.org",
        )
    assert not Subscriber.objects.filter(email="bot@example.com").exists()


def test_rate_limit_per_ip(settings, sign_up, topics):
    settings.SUBSCRIPTIONS_SIGNUPS_PER_IP_PER_HOUR = 3
    codes = [sign_up(f"reader{n}@example.com", REMOTE_ADDR="198.51.100.7").status_code for n in range(5)]
    assert codes == [302, 302, 302, 429, 429]
    assert Subscriber.objects.count() == 3
    # Another client is not affected; an IPv6 neighbour in the same /64 is one client.
    assert sign_up("other@example.com", REMOTE_ADDR="198.51.100.8").status_code == 302
    settings.SUBSCRIPTIONS_SIGNUPS_PER_IP_PER_HOUR = 1
    assert sign_up("v6a@example.com", REMOTE_ADDR="2001:db8:1:2::1").status_code == 302
    assert sign_up("v6b@example.com", REMOTE_ADDR="2001:db8:1:2::ffff").status_code == 429


def test_rate_limit_per_address_holds_across_ips_and_even_after_the_email_interval(settings, sign_up, topics):
    settings.SUBSCRIPTIONS_SIGNUPS_PER_ADDRESS_PER_HOUR = 2
    settings.SUBSCRIPTIONS_EMAIL_INTERVAL_HOURS = 0
    responses = [sign_up("ada@example.com", REMOTE_ADDR=f"192.0.2.{n}") for n in range(4)]
    assert {r.status_code for r in responses} == {302}  # silent: same page as ever
    assert len(mail.outbox) == 2  # with no email interval, only the address limit stopped #3 and #4
    assert ConsentRecord.objects.count() == 2


def test_client_ip_comes_from_x_forwarded_for_only_behind_a_trusted_proxy(settings, sign_up, topics):
    sign_up("a@example.com", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.5")
    assert ConsentRecord.objects.get(subscriber__email="a@example.com").ip_address == "10.0.0.2"
    settings.SUBSCRIPTIONS_TRUSTED_PROXY_HOPS = 1
    sign_up("b@example.com", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.5")
    assert ConsentRecord.objects.get(subscriber__email="b@example.com").ip_address == "203.0.113.5"


@pytest.mark.parametrize(
    "overrides",
    [
        {"email": "ada@example.com\r\nBcc: victim@example.org"},
        {"email": "ada@example.com\n"},
        {"email": "\r\nada@example.com"},
        {"email": "ada@example.com%0d%0aBcc:victim@example.org"},
        {"timezone": "UTC\r\nX-Injected: 1"},
        {"topics": ["quantization\r\nBcc: x@example.org"]},
        {"frequency": "daily\nBcc: x@example.org"},
        {"email": "ada@example.com\x00"},
    ],
)
def test_header_injection_attempts_are_refused_and_change_nothing(sign_up, topics, overrides):
    response = sign_up(**{"email": "ada@example.com", **overrides})
    assert response.status_code == 400
    assert not Subscriber.objects.exists() and not mail.outbox


def test_invalid_input_gets_a_clear_error_and_keeps_what_was_typed(sign_up, topics):
    response = sign_up("not-an-address", topics=[])
    html = response.content.decode()
    assert response.status_code == 400
    assert "Enter a valid email address." in html and "Pick at least one topic." in html
    assert 'value="not-an-address"' in html
    assert not Subscriber.objects.exists()


def test_unknown_topics_and_time_zones_are_refused(sign_up, topics):
    assert sign_up(topics=["no-such-topic"]).status_code == 400
    assert sign_up(timezone="Mars/Olympus_Mons").status_code == 400
    assert sign_up(delivery_hour="24").status_code == 400
    assert not Subscriber.objects.exists()


def test_get_never_changes_state(client, topics):
    client.get("/", signup_data())
    client.head("/")
    assert not Subscriber.objects.exists()


def test_two_signups_of_one_new_address_in_different_case_make_one_subscriber(sign_up, topics):
    sign_up("Ada@example.com")
    sign_up("ada@EXAMPLE.com")
    assert Subscriber.objects.count() == 1


def test_a_new_address_signs_up_in_nine_queries_without_reading_the_topics(
    client, topics, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    """BEGIN, find the address, suppression check, savepoint, INSERT, topics, release, consent, COMMIT."""
    client.post("/", signup_data("warmup@example.com"))  # the active topics are read once per change
    with django_capture_on_commit_callbacks() as callbacks, django_assert_max_num_queries(9) as queries:
        response = client.post("/", signup_data("ada@example.com"))
    assert response.status_code == 302
    assert len(callbacks) == 1  # the confirmation email, queued after the commit
    assert not any('FROM "papers_topic"' in q["sql"] for q in queries.captured_queries)
    subscriber = Subscriber.objects.get(email="ada@example.com")
    assert subscriber.last_confirmation_sent_at is not None  # the email slot, taken with the INSERT
    assert sorted(subscriber.topics.values_list("slug", flat=True)) == ["codegen", "lowbit"]
    assert subscriber.consents.count() == 1
