"""End to end over HTTP: a real Celery worker (on Redis when the run has one, else the embedded broker)
sends through anymail's Postmark backend (with the batch endpoint) to a loopback server speaking the
Postmark API, which first answers 500."""

import re
import time

import pytest

from newsletter.models import Delivery
from newsletter.tasks import plan_due_digests
from testsupport.postmark import PostmarkServer, Script, worker_env
from testsupport.processes import celery_worker, purge_queues, wait_for

from .digest_data import HOSTILE_ABSTRACT, HOSTILE_TITLE, html_problems, paper, subscriber, topics
from .html_safety import unsafe_markup, visible_text

MORNING = "2026-04-28T12:00:00+00:00"  # when both tests plan (their readers are due from hour 0, UTC)


def plan_and_wait_until_sent(count: int, *, message: str) -> None:
    """Plan the morning through the worker and wait until `count` digests are sent."""
    plan_due_digests.delay(MORNING)
    wait_for(lambda: Delivery.objects.filter(status="sent").count() == count, timeout=60, message=message)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_postmark_500_then_success_delivers_exactly_one_digest_each(tmp_path):
    purge_queues()  # no task left over from an earlier test
    provider = PostmarkServer(script=Script(fail_next=[500]))
    quant, code, _agents = topics()
    paper((quant, 1.0), title=HOSTILE_TITLE, abstract=HOSTILE_ABSTRACT)
    paper((quant, 2.0), title="Low-bit attention kernels", hf_upvotes=42)
    paper((code, 1.0), title="Agents that write tests")
    subscriber(quant, email="q@example.com", delivery_hour=0, timezone="UTC")
    subscriber(code, email="c@example.com", delivery_hour=0, timezone="UTC")
    env = {**worker_env(provider.url), "NEWSLETTER_SEND_RETRY_BASE_SECONDS": "1"}
    with provider, celery_worker(queues="mail", env=env, log_path=tmp_path / "worker.log"):
        plan_and_wait_until_sent(2, message="both digests sent after the provider recovered")
        plan_due_digests.delay(MORNING)  # a second run: nothing new
        time.sleep(3)

    # one 500, one successful batch; nothing after the second run
    assert provider.calls == 2 and provider.refused_calls == {500: 1}
    assert dict(provider.per_recipient) == {"c@example.com": 1, "q@example.com": 1}
    assert provider.problems == []
    rows = {d.subscriber.email: d for d in Delivery.objects.select_related("subscriber")}
    assert {d.attempts for d in rows.values()} == {2}
    assert all(d.provider_message_id.startswith("loop-") for d in rows.values())
    by_address = {sample.to: sample for sample in provider.samples}
    q, c = by_address["q@example.com"], by_address["c@example.com"]
    assert "Low-bit attention kernels" in q.text and "Agents that write tests" not in q.text
    # The day's one upvoted paper is everyone's "Trending today" (and not repeated in q's own list).
    assert "Agents that write tests" in c.text and c.text.count("Low-bit") == 1
    assert "Low-bit" not in c.text.split("1 new paper on Code LLMs")[1]
    assert q.subject == "1 new paper on Quantization — Apr 28"
    assert q.metadata == {"delivery_id": str(rows["q@example.com"].pk)} and q.tag == "digest"
    # The hostile abstract's script URL is text the reader sees, never a link or markup.
    assert html_problems(q.html) == [] and unsafe_markup(q.html) == []
    assert HOSTILE_TITLE in visible_text(q.html) and 'href="javascript:alert(3)"' in visible_text(q.html)
    assert "▲ 42" in q.html and "Trending today" in q.html  # the day's one upvoted paper, in the strip


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_chunk_out_of_time_hands_its_rest_to_new_tasks_and_each_digest_goes_once(tmp_path):
    """A real worker with no time for more than one call per task: each task sends one group and
    queues the rest as a new task, until every digest is sent exactly once."""
    purge_queues()  # no task left over from an earlier test
    provider = PostmarkServer(script=Script())
    quant, _code, _agents = topics()
    paper((quant, 1.0), title="Low-bit attention kernels")
    emails = [f"r{n}@example.com" for n in range(5)]
    for email in emails:
        subscriber(quant, email=email, delivery_hour=0, timezone="UTC")
    env = {
        **worker_env(provider.url),
        "NEWSLETTER_SEND_BATCH_SIZE": "2",
        "NEWSLETTER_SEND_CHUNK_SECONDS": "0",
    }
    with provider, celery_worker(queues="mail", env=env, log_path=tmp_path / "worker.log"):
        plan_and_wait_until_sent(5, message="every digest sent, one group per task")
        log = (tmp_path / "worker.log").read_text()

    assert dict(provider.per_recipient) == dict.fromkeys(emails, 1)
    assert provider.calls == 3  # groups of 2, 2 and 1: one call per task
    # Three tasks, each one call, none of them a retry (a retry would wait its backoff first).
    assert len(re.findall(r"send_digest_chunk\[[0-9a-f-]+\] succeeded", log)) == 3
    assert "retry" not in log.lower()
    assert set(Delivery.objects.values_list("attempts", flat=True)) == {1}
