"""The subscription flow in a real headless Chromium against a live server and a real Celery worker.

Chromium fills the form, the worker process sends the confirmation email to an outbox folder, the
test reads the link from the .eml file, and Chromium confirms, changes topics and unsubscribes.
Screenshots of the signup page (desktop and phone) are saved under test-artifacts/.
"""

import pytest

from subscriptions.models import Subscriber
from subscriptions.tests.mailbox import link_in, wait_for_mail
from testsupport.processes import ROOT, celery_worker, purge_queues

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ARTIFACTS = ROOT / "test-artifacts"


def test_signup_confirm_change_topics_and_unsubscribe_in_chromium(
    chromium, live_server, settings, tmp_path, topics
):
    # A person takes more than a second; the default 3 s would only slow the test down.
    settings.SUBSCRIPTIONS_MIN_SUBMIT_SECONDS = 1
    outbox = tmp_path / "outbox"
    ARTIFACTS.mkdir(exist_ok=True)
    worker_env = {
        "EMAIL_BACKEND": "mailing.outbox.OutboxEmailBackend",
        "OUTBOX_DIR": str(outbox),
        "SITE_URL": live_server.url,
    }
    context = chromium.new_context(timezone_id="Asia/Tokyo", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type in ("error", "warning") else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))

    purge_queues()  # tasks an earlier test left on the broker would queue ahead of this test's
    with celery_worker(queues="mail", env=worker_env, log_path=tmp_path / "worker.log"):
        response = page.goto(f"{live_server.url}/")
        # The site's policy allows no inline script; the page (and signup.js) must work under it.
        assert "script-src 'self'" in response.headers["content-security-policy"]
        assert page.get_by_role("heading", level=1).inner_text() == "Get trending papers in your email inbox"
        # signup.js puts the browser's time zone in place of the server default when the form is first
        # touched (asking Intl for it would otherwise block the page's start on a slow phone).
        page.get_by_label("Email address", exact=True).focus()
        assert page.locator("#id_timezone").input_value() == "Asia/Tokyo"
        desktop = ARTIFACTS / "signup-desktop.png"
        page.screenshot(path=str(desktop), full_page=True)
        phone = context.new_page()
        phone.set_viewport_size({"width": 390, "height": 844})
        phone.goto(f"{live_server.url}/")
        phone_shot = ARTIFACTS / "signup-phone.png"
        phone.screenshot(path=str(phone_shot), full_page=True)
        phone.screenshot(path=str(ARTIFACTS / "signup-phone-first-screen.png"))
        phone.locator(".signup").screenshot(path=str(ARTIFACTS / "signup-phone-form.png"))
        phone.close()
        print(f"\nsignup page screenshots: {desktop} {phone_shot}")

        page.get_by_label("Email address", exact=True).fill("kenji@example.com")
        page.get_by_role("checkbox", name="Quantization Low-bit models.").check()
        page.get_by_role("checkbox", name="Code LLMs Models that write code.").check()
        page.get_by_label("Delivery time").select_option("6")
        assert page.locator("[data-weekly-only]").is_hidden()  # the weekday only matters for weekly
        page.get_by_role("radio", name="Weekly").check()
        assert page.locator("[data-weekly-only]").is_visible()
        page.get_by_role("radio", name="Daily").check()
        page.wait_for_timeout(1100)
        page.get_by_role("button", name="Subscribe").click()
        page.wait_for_url("**/check-your-inbox/")
        assert "Check your inbox" in page.content()

        message = wait_for_mail(outbox, "kenji@example.com")

        subscriber = Subscriber.objects.get(email="kenji@example.com")
        assert subscriber.status == Subscriber.Status.PENDING
        page.goto(link_in(message, "confirm"))
        page.get_by_role("button", name="Confirm my subscription").click()
        page.get_by_role("heading", name="You\u2019re subscribed").wait_for()
        # The worker sends the welcome once the confirmation is committed: choices, time, manage link.
        welcome = wait_for_mail(outbox, "kenji@example.com", subject="Welcome to")
        welcome_text = welcome.get_body(("plain",)).get_content()
        assert "Daily at 06:00 (Asia/Tokyo)" in welcome_text and "Quantization" in welcome_text
        assert link_in(welcome, "manage")
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.ACTIVE
    assert (subscriber.timezone, subscriber.delivery_hour) == ("Asia/Tokyo", 6)

    page.get_by_role("link", name="Change topics and delivery time").click()
    page.get_by_role("checkbox", name="Code LLMs Models that write code.").uncheck()
    page.get_by_role("checkbox", name="Agents Tool use and planning.").check()
    page.get_by_role("button", name="Save preferences").click()
    page.get_by_text("Saved.").wait_for()
    page.screenshot(path=str(ARTIFACTS / "manage-desktop.png"), full_page=True)
    assert sorted(subscriber.topics.values_list("slug", flat=True)) == ["lowbit", "toolusers"]

    page.get_by_role("link", name="Unsubscribe from Paperboy").click()
    assert Subscriber.objects.get(pk=subscriber.pk).status == Subscriber.Status.ACTIVE  # GET asks only
    page.get_by_role("button", name="Unsubscribe").click()
    page.get_by_role("heading", name="You\u2019re unsubscribed").wait_for()
    assert Subscriber.objects.get(pk=subscriber.pk).status == Subscriber.Status.UNSUBSCRIBED

    # Every page worked under the site's Content-Security-Policy (no inline script): nothing refused.
    assert not problems, problems
    context.close()
