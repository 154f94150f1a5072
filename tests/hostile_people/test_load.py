"""Signups, then confirm, manage and unsubscribe, under load through a real gunicorn: none lost, no 5xx,
the per-IP limit holds, no secret logged.

The same run as `python -m tests.hostile_people.loadtest` (2,000 signups, 50 clients), with fewer
signups so that CI stays within a few minutes; it asserts correctness only and prints the figures.
"""

import base64
import os
import secrets

import httpx
import pytest
from django.conf import settings

from newsletter.links import digest_token
from newsletter.models import Delivery
from subscriptions.conf import setting
from subscriptions.models import ConsentRecord, Subscriber
from subscriptions.tokens import make_confirm_token, make_link_token
from testsupport import processes

from . import loadtest

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SIGNUPS = int(os.environ.get("PAPERBOY_LOADTEST_SIGNUPS", "300"))
CLIENTS = 50
HAMMER = 50  # from one address, against a limit of 20


@pytest.fixture
def topics():
    from papers.tests.factories import TopicFactory

    return [TopicFactory(slug="lowbit", name="Quantization"), TopicFactory(slug="codegen", name="Code LLMs")]


@pytest.fixture
def server(tmp_path):
    secret_key = secrets.token_urlsafe(50)
    webhook_secret = f"hook-user:{secrets.token_urlsafe(24)}"
    env = loadtest.server_env(
        database_url=processes.test_database_url(),
        secret_key=secret_key,
        static_root=tmp_path / "static",
        WEBHOOK_SECRET=webhook_secret,
    )
    access_log, error_log = tmp_path / "access.log", tmp_path / "error.log"
    with loadtest.gunicorn(env=env, access_log=access_log, error_log=error_log) as base:
        yield {"base": base, "env": env, "access_log": access_log, "error_log": error_log, "tmp": tmp_path}


def test_signups_under_load_are_all_kept_and_the_per_ip_limit_holds(server, topics, capsys):
    run = loadtest.run_load(
        server["base"],
        signups=SIGNUPS,
        clients=CLIENTS,
        hammer_signups=HAMMER,
        min_submit_seconds=setting("MIN_SUBMIT_SECONDS"),
    )
    problems = loadtest.verify_signups(run, outbox=server["tmp"] / "outbox", worker_env=server["env"])
    accepted_spread = [r.email for r in run.spread.results if r.status == 201]
    links = loadtest.run_links(
        server["base"],
        emails=accepted_spread,
        outbox=server["tmp"] / "outbox",
        clients=CLIENTS,
        hello_requests=SIGNUPS,
    )
    problems += loadtest.verify_links(links)
    with capsys.disabled():
        database = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
        cache = "redis" if os.environ.get("REDIS_URL") else "file cache"
        print(f"\n\n{SIGNUPS} signups, {CLIENTS} clients, gunicorn 4x4 gthread, {database}, {cache}")
        print(loadtest.table(run.phases + links.phases))
        print("\n".join(loadtest.targets(run.phases + links.phases)))
    assert not problems, problems
    # Every reader went through every link phase and ended where the phases leave them.
    assert len(links.emails) == len(accepted_spread) == SIGNUPS
    assert Subscriber.objects.filter(email__in=links.emails, status="unsubscribed").count() == SIGNUPS
    assert (
        ConsentRecord.objects.filter(subscriber__email__in=links.emails, action="unsubscribe").count()
        == SIGNUPS
    )
    # Tallies the helper checked, asserted here too so that a broken helper cannot pass silently.
    accepted = [r.email for r in run.spread.results + run.hammer.results if r.status == 201]
    assert len(accepted) >= SIGNUPS + setting("SIGNUPS_PER_IP_PER_HOUR")
    assert Subscriber.objects.filter(email__in=accepted).count() == len(accepted)
    assert ConsentRecord.objects.filter(subscriber__email__in=accepted, action="signup").count() == len(
        accepted
    )
    assert [r.status for r in run.hammer.results].count(429) == HAMMER - (len(accepted) - SIGNUPS)


def test_gunicorn_access_and_error_logs_carry_no_token_or_secret(server, topics):
    """Every kind of link, a Referer from a manage page, webhook basic auth: the logs show none of them."""
    base = server["base"]
    subscriber = Subscriber.objects.create(email="reader@example.com", status="pending")
    consent = ConsentRecord.objects.create(subscriber=subscriber, form_version="t", topics=["lowbit"])
    delivery = Delivery.objects.create(subscriber=subscriber, edition_date="2026-04-28", status="sent")
    # Tokens as the server makes them: signed with its SECRET_KEY, not this process's.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(settings, "SECRET_KEY", server["env"]["SECRET_KEY"])
        tokens = {
            "manage": make_link_token(subscriber, "manage"),
            "unsubscribe": make_link_token(subscriber, "unsubscribe"),
            "confirm": make_confirm_token(consent),
            "digest": digest_token(delivery.pk),
        }
    webhook_secret = server["env"]["WEBHOOK_SECRET"]
    auth = "Basic " + base64.b64encode(webhook_secret.encode()).decode()
    with httpx.Client(base_url=base, timeout=30) as client:
        assert client.get(f"/manage/{tokens['manage']}/").status_code == 200
        assert client.get(f"/manage/{tokens['manage']}x/").status_code == 404
        assert client.get(f"/unsubscribe/{tokens['unsubscribe']}/").status_code == 200
        assert client.get(f"/confirm/{tokens['confirm']}/").status_code == 200
        assert client.get(f"/digest/{tokens['digest']}/").status_code in (200, 404)
        # A stylesheet requested from the manage page names that page in its Referer.
        client.get("/static/css/site.css", headers={"Referer": f"{base}/manage/{tokens['manage']}/"})
        # A form post without the CSRF cookie: Django logs the refusal with the path.
        assert client.post(f"/manage/{tokens['manage']}/", data={"topics": "lowbit"}).status_code == 403
        # A form in another charset: 400, never a 500 (see test_found_by_fuzzing.py).
        client.get("/")
        refused = client.post(
            "/",
            content=b"email=x",
            headers={"Content-Type": "application/x-www-form-urlencoded; charset=latin-1"},
        )
        assert refused.status_code == 400
        webhook = "/webhooks/anymail/postmark/tracking/"
        assert client.post(webhook, content=b"[]", headers={"Authorization": auth}).status_code == 400
        assert client.post(webhook, content=b"[]", headers={"Authorization": auth + "x"}).status_code == 401
        assert (
            client.post(
                f"/unsubscribe/{tokens['unsubscribe']}/", data={"List-Unsubscribe": "One-Click"}
            ).status_code
            == 200
        )

    access = server["access_log"].read_text()
    assert access.count("\n") >= 10, access
    assert "/manage/[redacted]/" in access and "/digest/[redacted]/" in access
    logs = access + server["error_log"].read_text() + server["error_log"].with_suffix(".stdout").read_text()
    secrets_ = {
        **tokens,
        **{
            f"{name} signature": token.rsplit(".", 1)[-1].rsplit(":", 1)[-1] for name, token in tokens.items()
        },
        "SECRET_KEY": server["env"]["SECRET_KEY"],
        "WEBHOOK_SECRET": webhook_secret,
        "webhook password": webhook_secret.split(":", 1)[1],
        "webhook user": webhook_secret.split(":", 1)[0],
        "Authorization": auth.split(" ", 1)[1],
    }
    leaked = [name for name, value in secrets_.items() if value in logs]
    assert not leaked, leaked
