"""End to end over a real SMTP wire: beat's task -> a real Celery worker (on Redis when the run has one,
else the embedded broker) -> aiosmtpd on loopback."""

import asyncio
import email
import time
from email import policy

import pytest
from aiosmtpd.controller import Controller

from newsletter.models import Delivery
from newsletter.tasks import plan_due_digests
from testsupport.processes import celery_worker, free_port, purge_queues, wait_for

from .digest_data import HOSTILE_TITLE, html_problems, paper, subscriber, topics
from .html_safety import unsafe_markup, visible_text


class Inbox:
    """An SMTP server's mailbox: every message it accepted, parsed."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        await asyncio.sleep(0)
        return "250 Message accepted"

    def to(self, address):
        return [m for m in self.messages if m["To"] == address]


@pytest.fixture
def smtp_inbox():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield inbox, controller.port
    controller.stop()


def parts(message):
    html = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    return html, text


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_digests_go_over_smtp_once_each_in_every_time_zone(smtp_inbox, tmp_path):
    purge_queues()  # no task left over from an earlier test
    inbox, port = smtp_inbox
    quant, code, _agents = topics()
    paper((quant, 2.0), title="Four-bit weights for everyone")
    paper((quant, 1.0), title=HOSTILE_TITLE)
    paper((code, 1.0), title="Repairing programs with small models")
    # 2026-04-29 06:30 UTC: 20:30 on the 29th in Kiritimati (UTC+14), 19:30 on the 28th in Pago Pago.
    # (At the other tick, 2026-03-29 01:00 UTC, it is 15:00 and 14:00 there: not their hour yet.)
    subscriber(quant, email="kiri@example.com", timezone="Pacific/Kiritimati", delivery_hour=20)
    subscriber(code, email="pago@example.com", timezone="Pacific/Pago_Pago", delivery_hour=19)
    # Europe/Berlin at 03:00 CEST on Sunday 2026-03-29, the spring-forward day: the 02:00 that never
    # happened has come. Weekly on Sundays, so the April tick (a Wednesday) does not concern it.
    subscriber(
        quant,
        email="berlin@example.com",
        timezone="Europe/Berlin",
        delivery_hour=2,
        frequency="weekly",
        delivery_weekday=6,
    )
    env = {
        "EMAIL_URL": f"smtp://127.0.0.1:{port}",
        "EMAIL_PROVIDER": None,
        "EMAIL_BACKEND": None,
        "NEWSLETTER_SEND_RETRY_BASE_SECONDS": "1",
    }
    with celery_worker(queues="mail", env=env, log_path=tmp_path / "worker.log"):
        plan_due_digests.delay("2026-04-29T06:30:00+00:00")
        plan_due_digests.delay("2026-03-29T01:00:00+00:00")
        wait_for(lambda: len(inbox.messages) >= 3, timeout=60, message="three digests over SMTP")
        # The second run of both ticks plans and sends nothing new.
        plan_due_digests.delay("2026-04-29T06:30:00+00:00")
        plan_due_digests.delay("2026-03-29T01:00:00+00:00")
        wait_for(
            lambda: Delivery.objects.filter(status="sent").count() == 3,
            timeout=30,
            message="three deliveries recorded as sent",
        )
        time.sleep(3)  # room for a (wrong) second copy to arrive

    assert len(inbox.messages) == 3 and Delivery.objects.count() == 3
    rows = dict(Delivery.objects.values_list("subscriber__email", "edition_date"))
    assert {k: str(v) for k, v in rows.items()} == {
        "kiri@example.com": "2026-04-29",
        "pago@example.com": "2026-04-28",
        "berlin@example.com": "2026-03-29",
    }
    (kiri,) = inbox.to("kiri@example.com")
    (pago,) = inbox.to("pago@example.com")
    kiri_html, kiri_text = parts(kiri)
    _pago_html, pago_text = parts(pago)
    assert kiri["Subject"] == "2 new papers on Quantization — Apr 29"
    assert pago["Subject"] == "1 new paper on Code LLMs — Apr 28"
    assert "Four-bit weights for everyone" in kiri_text and "Repairing programs" not in kiri_text
    assert "Repairing programs with small models" in pago_text and "Four-bit" not in pago_text
    for message in (kiri, pago):
        html, _text = parts(message)
        assert html_problems(html) == []
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert str(message["List-Unsubscribe"]).strip().startswith("<http://127.0.0.1:8000/unsubscribe/")
        assert message["Message-ID"].endswith("@127.0.0.1>")
    # The hostile title arrives as the text it is stored as: characters, never markup.
    assert unsafe_markup(kiri_html) == [] and HOSTILE_TITLE in visible_text(kiri_html)
