"""The confirmation email goes through a real Celery worker process to the outbox, and its link works."""

import pytest
from django.test import Client

from subscriptions.models import Subscriber
from subscriptions.tests.conftest import signup_data
from subscriptions.tests.mailbox import link_in, wait_for_mail
from testsupport.processes import celery_worker, purge_queues

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_a_real_worker_sends_the_confirmation_and_its_link_confirms(tmp_path, topics):
    outbox = tmp_path / "outbox"
    worker_env = {
        "EMAIL_BACKEND": "mailing.outbox.OutboxEmailBackend",
        "OUTBOX_DIR": str(outbox),
        "SITE_URL": "http://testserver",
    }
    purge_queues()  # tasks an earlier test left on the broker would queue ahead of this test's
    with celery_worker(queues="mail", env=worker_env, log_path=tmp_path / "worker.log"):
        response = Client().post("/", signup_data("ada@example.com"))
        assert response.status_code == 302
        message = wait_for_mail(outbox, "ada@example.com")

    assert message["Subject"] == "Confirm your Paperboy subscription"
    assert message.get_body(("html",)) is not None and message.get_body(("plain",)) is not None
    confirm = link_in(message, "confirm").removeprefix("http://testserver")
    client = Client()
    assert client.get(confirm).status_code == 200
    assert Subscriber.objects.get().status == Subscriber.Status.PENDING
    assert client.post(confirm).status_code == 200
    assert Subscriber.objects.get().status == Subscriber.Status.ACTIVE
