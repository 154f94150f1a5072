"""The loopback Postmark API server the end-to-end tests, the fault matrix and bench_digests share."""

import json

import httpx
import pytest

from testsupport.postmark import PostmarkServer, Script

TOKEN = {"X-Postmark-Server-Token": "t", "Content-Type": "application/json"}


def message(to: str, html: str = "<p>Hello</p>") -> dict:
    return {
        "From": "Paperboy <d@example.com>",
        "To": to,
        "Subject": "Digest",
        "HtmlBody": html,
        "TextBody": "Hello",
        "Headers": [
            {"Name": "List-Unsubscribe", "Value": "<https://x>"},
            {"Name": "Message-ID", "Value": "<m>"},
        ],
    }


def test_counts_each_recipient_answers_per_message_and_checks_sampled_bodies():
    with PostmarkServer(sample_every=2) as pm:
        batch = [
            message("a@example.com"),
            message("B@example.com", '<p onclick="x()">hi</p><script>1</script>'),
        ]
        first = httpx.post(pm.url + "email/batch", content=json.dumps(batch), headers=TOKEN)
        # Quotes and backslashes in bodies never confuse the counting of the "To" keys.
        tricky = [message("c@example.com", 'a "To": "evil@example.com" \\\\ b')]
        second = httpx.post(pm.url + "email/batch", content=json.dumps(tricky), headers=TOKEN)
        single = httpx.post(pm.url + "email", content=json.dumps(message("a@example.com")), headers=TOKEN)
        stats = httpx.get(pm.url + "_stats", params={"recipients": "1"}).json()
    assert [r["To"] for r in first.json()] == ["a@example.com", "b@example.com"]
    assert all(r["ErrorCode"] == 0 and r["MessageID"] for r in first.json())
    assert second.json()[0]["To"] == "c@example.com" and single.json()["To"] == "a@example.com"
    assert stats["per_recipient"] == {"a@example.com": 2, "b@example.com": 1, "c@example.com": 1}
    assert stats["messages"] == 4 and stats["duplicates"] == 1 and stats["calls"] == 3
    assert stats["sampled_messages"] == 1  # the second call (one message) was parsed in full
    assert pm.samples[0].to == "c@example.com"
    assert stats["problems"] == []  # the first call was not sampled; see the next test


def test_sampled_bodies_with_live_markup_are_reported():
    with PostmarkServer(sample_every=1) as pm:
        bad = message("a@example.com", '<a href="javascript:alert(1)" onclick="x()">x</a><script>1</script>')
        httpx.post(pm.url + "email/batch", content=json.dumps([bad]), headers=TOKEN)
    assert sorted(p.split(": ", 1)[1] for p in pm.problems) == [
        "<script>",
        "a[href='javascript:alert(1)']",
        "a[onclick]",
    ]


def test_scripted_failures_500_429_and_accepted_then_hung():
    with PostmarkServer(script=Script(fail_next=[500, 429], retry_after=7)) as pm:
        body = json.dumps([message("a@example.com")])
        assert httpx.post(pm.url + "email/batch", content=body, headers=TOKEN).status_code == 500
        throttled = httpx.post(pm.url + "email/batch", content=body, headers=TOKEN)
        assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "7"
        assert pm.messages == 0  # refused calls deliver nothing
        httpx.post(pm.url + "_control", json={"hang_rate": 1.0, "hang_seconds": 2})
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(pm.url + "email/batch", content=body, headers=TOKEN, timeout=0.3)
        # The provider took the message before the answer was lost: it counts.
        assert pm.per_recipient["a@example.com"] == 1
        assert httpx.post(pm.url + "email/batch", content=body, headers={}).status_code == 401


def test_error_and_throttle_rates_are_repeatable_draws():
    def refused(seed):
        with PostmarkServer(script=Script(error_rate=0.3, throttle_rate=0.2, seed=seed)) as pm:
            for _ in range(40):
                httpx.post(pm.url + "email", content=json.dumps(message("a@example.com")), headers=TOKEN)
            return dict(pm.refused_calls), pm.messages

    first = refused(5)
    assert first == refused(5)
    assert 5 <= first[0].get(500, 0) <= 20 and 2 <= first[0].get(429, 0) <= 16
    assert first[1] == 40 - sum(first[0].values())
