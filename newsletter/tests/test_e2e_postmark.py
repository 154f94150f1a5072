"""End to end over HTTP: a real Celery worker on Redis sends through anymail's Postmark backend (with
the batch endpoint) to a loopback server speaking the Postmark API, which first answers 500."""

import json
import threading
import time

import pytest

from newsletter.models import Delivery
from newsletter.tasks import plan_due_digests
from testsupport.http import Request, Response
from testsupport.processes import celery_worker, wait_for
from testsupport.services import require_redis

from .digest_data import HOSTILE_ABSTRACT, HOSTILE_TITLE, html_problems, paper, subscriber, topics


class FlakyPostmark:
    """Answers 500 to the first batch call, then accepts every message and keeps it."""

    def __init__(self) -> None:
        self.calls = 0
        self.accepted: list[dict] = []
        self._lock = threading.Lock()

    def __call__(self, request: Request) -> Response:
        with self._lock:
            self.calls += 1
            if self.calls == 1:
                return Response(500, json.dumps({"ErrorCode": 500, "Message": "Internal Server Error"}))
            items = request.json() if request.path.startswith("/email/batch") else [request.json()]
            self.accepted += items
            answers = [
                {
                    "ErrorCode": 0,
                    "Message": "OK",
                    "MessageID": f"pm-{len(self.accepted)}-{n}",
                    "To": item["To"],
                }
                for n, item in enumerate(items)
            ]
        body = answers if request.path.startswith("/email/batch") else answers[0]
        return Response(200, json.dumps(body), {"Content-Type": "application/json"})


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_postmark_500_then_success_delivers_exactly_one_digest_each(loopback, tmp_path):
    redis = require_redis()
    redis.flushdb()
    provider = FlakyPostmark()
    loopback.route("/email/batch", provider)
    loopback.route("/email", provider)
    quant, code, _agents = topics()
    paper((quant, 1.0), title=HOSTILE_TITLE, abstract=HOSTILE_ABSTRACT)
    paper((quant, 2.0), title="Low-bit attention kernels", hf_upvotes=42)
    paper((code, 1.0), title="Agents that write tests")
    subscriber(quant, email="q@example.com", delivery_hour=0, timezone="UTC")
    subscriber(code, email="c@example.com", delivery_hour=0, timezone="UTC")
    env = {
        "EMAIL_PROVIDER": "postmark",
        "EMAIL_BACKEND": None,
        "EMAIL_URL": None,
        "ANYMAIL_POSTMARK_API_URL": loopback.url("/"),
        "ANYMAIL_POSTMARK_SERVER_TOKEN": "loopback-token",
        "PAPERBOY_SEND_RETRY_BASE_SECONDS": "1",
    }
    with celery_worker(queues="mail", env=env, log_path=tmp_path / "worker.log"):
        plan_due_digests.delay("2026-04-28T12:00:00+00:00")
        wait_for(
            lambda: Delivery.objects.filter(status="sent").count() == 2,
            timeout=60,
            message="both digests sent after the provider recovered",
        )
        plan_due_digests.delay("2026-04-28T12:00:00+00:00")  # a second run: nothing new
        time.sleep(3)

    assert provider.calls == 2  # one 500, one successful batch; nothing after the second run
    assert sorted(item["To"] for item in provider.accepted) == ["c@example.com", "q@example.com"]
    rows = {d.subscriber.email: d for d in Delivery.objects.select_related("subscriber")}
    assert {d.attempts for d in rows.values()} == {2}
    assert all(d.provider_message_id.startswith("pm-") for d in rows.values())
    by_address = {item["To"]: item for item in provider.accepted}
    q, c = by_address["q@example.com"], by_address["c@example.com"]
    assert "Low-bit attention kernels" in q["TextBody"] and "Agents that write tests" not in q["TextBody"]
    assert "Agents that write tests" in c["TextBody"] and "Low-bit" not in c["TextBody"]
    assert q["Subject"] == "2 new papers on Quantization — Apr 28"
    assert q["Metadata"] == {"delivery_id": str(rows["q@example.com"].pk)} and q["Tag"] == "digest"
    assert html_problems(q["HtmlBody"]) == [] and "javascript:" not in q["HtmlBody"]
    assert "42 upvotes" in q["HtmlBody"]
