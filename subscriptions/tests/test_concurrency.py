"""Two signups of one new address at the same moment: one subscriber, one email (real transactions)."""

import threading

import pytest
from django.db import connection

from subscriptions import services
from subscriptions.models import ConsentRecord, Subscriber

pytestmark = pytest.mark.django_db(transaction=True)


def test_simultaneous_signups_of_one_address_make_one_subscriber_and_one_email(topics):
    barrier = threading.Barrier(4)
    outcomes: list = []
    errors: list = []

    def sign_up(email: str) -> None:
        try:
            barrier.wait(timeout=10)
            outcomes.append(
                services.subscriber_signup(
                    email=email,
                    preferences=services.Preferences(topics=tuple(topics[:1])),
                    ip_address=None,
                    user_agent="",
                    form_version="v",
                    consent_text="",
                )
            )
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=sign_up, args=(email,))
        for email in ("ada@example.com", "Ada@example.com", "ada@EXAMPLE.com", "ADA@example.com")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert sorted(outcomes) == sorted(
        [services.SignupOutcome.CONFIRMATION_SENT] + [services.SignupOutcome.EMAIL_LIMITED] * 3
    )
    assert Subscriber.objects.count() == 1
    assert ConsentRecord.objects.count() == 1
