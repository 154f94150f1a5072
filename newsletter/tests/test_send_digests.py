from io import StringIO

import pytest
from django.core import mail
from django.core.management import CommandError, call_command

from newsletter.models import Delivery

from .digest_data import paper, subscriber, topics

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command("send_digests", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_send_digests_for_a_date_sends_each_subscriber_once_and_a_second_run_nothing():
    quant, code, _agents = topics()
    paper((quant, 1.0), title="About quantization")
    paper((code, 1.0), title="About code models")
    subscriber(quant, email="q@example.com", delivery_hour=23)
    subscriber(code, email="c@example.com", delivery_hour=23)
    subscriber(email="nothing@example.com")  # no topic: skipped
    output = run("--date", "2026-04-28")
    assert "Done: 2 sent, 1 skipped." in output
    by_address = {m.to[0]: m for m in mail.outbox}
    assert set(by_address) == {"q@example.com", "c@example.com"}
    assert "About quantization" in by_address["q@example.com"].body
    assert "About code models" not in by_address["q@example.com"].body
    assert "About code models" in by_address["c@example.com"].body
    assert "Done: nothing to do." in run("--date", "2026-04-28")
    assert len(mail.outbox) == 2 and Delivery.objects.count() == 3


def test_send_digests_for_one_subscriber_and_dry_run():
    quant, _code, _agents = topics()
    paper((quant, 1.0), title="Only for one")
    subscriber(quant, email="one@example.com", delivery_hour=23)
    subscriber(quant, email="other@example.com", delivery_hour=23)
    preview = run("--subscriber", "ONE@example.com", "--dry-run")
    assert "Only for one" in preview and "1 new paper on Quantization" in preview
    assert Delivery.objects.count() == 0 and mail.outbox == []
    run("--subscriber", "one@example.com")
    assert [m.to for m in mail.outbox] == [["one@example.com"]]


def test_send_digests_refuses_bad_input_clearly():
    with pytest.raises(CommandError, match="--date must look like"):
        run("--date", "28/04/2026")
    with pytest.raises(CommandError, match="no subscriber"):
        run("--subscriber", "nobody@example.com")
