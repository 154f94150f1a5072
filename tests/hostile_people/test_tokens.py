"""Link tokens under attack: forged, tampered, cross-used, replayed, expired; compared in constant time.

Token types: confirm (TimestampSigner, 7 days, single use), manage and unsubscribe (HMAC over the
subscriber's revocable token_key), digest view (HMAC over the delivery id and a fingerprint of the
same token_key), webhook basic auth.
"""

import base64
import time
from datetime import timedelta

import pytest
from django.core import signing
from django.test import Client
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from newsletter import webhooks
from newsletter.links import digest_token
from newsletter.models import Delivery
from subscriptions import tokens
from subscriptions.models import ConsentRecord, Subscriber
from subscriptions.tests.factories import SubscriberFactory
from subscriptions.tokens import delivery_id_from_token, make_confirm_token, make_link_token

from .hostile import FUZZ, path_segment, queued_after_commit, snapshot, tampered

pytestmark = pytest.mark.django_db


def _pending_signup():
    subscriber = SubscriberFactory(status=Subscriber.Status.PENDING, confirmed_at=None)
    consent = ConsentRecord.objects.create(subscriber=subscriber, form_version="t", topics=["lowbit"])
    return subscriber, consent


def _all_tokens(subscriber, consent, delivery) -> dict[str, str]:
    return {
        "confirm": make_confirm_token(consent),
        "manage": make_link_token(subscriber, "manage"),
        "unsubscribe": make_link_token(subscriber, "unsubscribe"),
        "digest": digest_token(delivery.pk),
    }


# Every request a token opens: (method, path template).
REQUESTS = {
    "confirm": [("get", "/confirm/{}/"), ("post", "/confirm/{}/")],
    "manage": [
        ("get", "/manage/{}/"), ("post", "/manage/{}/"), ("post", "/manage/{}/export/"),
        ("get", "/manage/{}/delete/"), ("post", "/manage/{}/delete/"), ("post", "/manage/{}/new-link/"),
    ],
    "unsubscribe": [
        ("get", "/unsubscribe/{}/"), ("post", "/unsubscribe/{}/"), ("post", "/unsubscribe/{}/resubscribe/"),
    ],
    "digest": [("get", "/digest/{}/")],
}  # fmt: skip


def _refused(method: str, path: str) -> int:
    client = Client()
    data = {"List-Unsubscribe": "One-Click", "topics": ["lowbit"]} if method == "post" else None
    response = getattr(client, method)(path, data) if data else getattr(client, method)(path)
    return response.status_code


@pytest.fixture
def victim(topics):
    subscriber, consent = _pending_signup()
    delivery = Delivery.objects.create(
        subscriber=subscriber, edition_date="2026-04-28", status=Delivery.Status.SENT, paper_ids=[]
    )
    return subscriber, consent, delivery


@FUZZ
@given(data=st.data(), kind=st.sampled_from(sorted(REQUESTS)))
def test_tampered_tokens_of_every_type_open_nothing(victim, data, kind):
    token = _all_tokens(*victim)[kind]
    forged = data.draw(tampered(token), label="forged")
    before = snapshot()
    with queued_after_commit() as queued:
        for method, template in REQUESTS[kind]:
            status = _refused(method, template.format(path_segment(forged)))
            assert status in (400, 404), (method, template, status)
    assert not queued and snapshot() == before


def test_a_token_never_works_for_another_purpose(victim):
    genuine = _all_tokens(*victim)
    before = snapshot()
    for kind, token in genuine.items():
        for other, requests in REQUESTS.items():
            if other == kind:
                continue
            for method, template in requests:
                assert _refused(method, template.format(path_segment(token))) in (400, 404), (kind, other)
    assert snapshot() == before


def test_one_readers_signature_opens_nothing_of_another(victim):
    subscriber, consent, delivery = victim
    other, other_consent = _pending_signup()
    other_delivery = Delivery.objects.create(subscriber=other, edition_date="2026-04-28", status="sent")
    mine, theirs = (
        _all_tokens(subscriber, consent, delivery),
        _all_tokens(other, other_consent, other_delivery),
    )
    for kind in ("manage", "unsubscribe", "digest"):
        their_id = theirs[kind].split(".", 1)[0]
        swapped = f"{their_id}.{mine[kind].split('.', 1)[1]}"
        for method, template in REQUESTS[kind]:
            assert _refused(method, template.format(swapped)) == 404
    # A confirm token names subscriber and signup inside the signed value: no part can be swapped.
    value, rest = mine["confirm"].split(":", 1)
    forged = ".".join([str(other.pk), str(other_consent.pk), value.split(".", 2)[2]]) + ":" + rest
    assert _refused("post", f"/confirm/{forged}/") == 404


def test_tokens_signed_with_another_secret_key_are_refused(victim, settings):
    genuine_secret = settings.SECRET_KEY
    settings.SECRET_KEY = "an-attacker-guess-" + "x" * 40
    forged = _all_tokens(*victim)
    settings.SECRET_KEY = genuine_secret
    for kind, token in forged.items():
        for method, template in REQUESTS[kind]:
            assert _refused(method, template.format(token)) in (400, 404), kind


def test_expired_confirmation_link_is_refused_and_changes_nothing(victim, monkeypatch):
    _, consent, _ = victim
    eight_days_ago = time.time() - timedelta(days=8).total_seconds()
    monkeypatch.setattr(signing.time, "time", lambda: eight_days_ago)
    token = make_confirm_token(consent)
    monkeypatch.undo()
    before = snapshot()
    for method in ("get", "post"):
        response = getattr(Client(), method)(f"/confirm/{token}/")
        assert response.status_code == 400 and b"expired" in response.content.lower()
    assert snapshot() == before
    # One day younger than the limit still works: the expiry is the documented 7 days, not less.
    six_days_ago = time.time() - timedelta(days=6).total_seconds()
    monkeypatch.setattr(signing.time, "time", lambda: six_days_ago)
    fresh = make_confirm_token(consent)
    monkeypatch.undo()
    assert Client().post(f"/confirm/{fresh}/").status_code == 200


def test_switching_off_old_links_refuses_every_earlier_token(victim):
    subscriber, consent, delivery = victim
    old = _all_tokens(subscriber, consent, delivery)
    manage = f"/manage/{old['manage']}/new-link/"
    with queued_after_commit() as queued:
        assert Client().post(manage).status_code == 200
    assert len(queued) == 1  # the fresh manage link goes out by email
    before = snapshot()
    for kind in ("confirm", "manage", "unsubscribe", "digest"):
        for method, template in REQUESTS[kind]:
            assert _refused(method, template.format(old[kind])) == 404, kind
    assert snapshot() == before


# --- Replays -----------------------------------------------------------------------------------


def test_a_confirmation_link_used_twice_confirms_once(victim):
    _, consent, _ = victim
    path = f"/confirm/{make_confirm_token(consent)}/"
    assert Client().post(path).status_code == 200
    after_first = snapshot()
    assert Client().post(path).status_code == 200  # "you are subscribed": a double click is harmless
    assert snapshot() == after_first


def test_a_confirmation_link_replayed_after_unsubscribing_does_not_resubscribe(victim):
    """Leaving wins over an older link: whoever holds the old email cannot sign the reader up again."""
    subscriber, consent, _ = victim
    confirm = f"/confirm/{make_confirm_token(consent)}/"
    assert Client().post(confirm).status_code == 200
    assert Client().post(f"/unsubscribe/{make_link_token(subscriber, 'unsubscribe')}/").status_code == 200
    before = snapshot()
    assert Client().post(confirm).status_code == 400
    assert snapshot() == before
    assert Subscriber.objects.get(pk=subscriber.pk).status == Subscriber.Status.UNSUBSCRIBED


def test_one_click_unsubscribe_replayed_after_resubscribing_unsubscribes_again(victim):
    """Decided: an unsubscribe link is a standing instruction, valid in every email ever sent.

    A reader who came back and later presses List-Unsubscribe in an older email means it; RFC 8058
    mail programs keep that URL. Only the reader's mailbox ever held it, and "Switch off old links"
    ends it. So the replay unsubscribes again, and records a second unsubscribe.
    """
    subscriber, consent, _ = victim
    Client().post(f"/confirm/{make_confirm_token(consent)}/")
    one_click = f"/unsubscribe/{make_link_token(subscriber, 'unsubscribe')}/"
    mail_program = Client(enforce_csrf_checks=True)
    body = "List-Unsubscribe=One-Click"
    form = "application/x-www-form-urlencoded"
    assert mail_program.post(one_click, body, content_type=form).status_code == 200
    assert Client().post(f"{one_click}resubscribe/").status_code == 200
    assert Subscriber.objects.get(pk=subscriber.pk).status == Subscriber.Status.ACTIVE
    assert mail_program.post(one_click, body, content_type=form).status_code == 200
    assert Subscriber.objects.get(pk=subscriber.pk).status == Subscriber.Status.UNSUBSCRIBED
    assert subscriber.consents.filter(action=ConsentRecord.Action.UNSUBSCRIBE).count() == 2


def test_links_of_an_erased_reader_open_nothing(victim):
    subscriber, consent, delivery = victim
    genuine = _all_tokens(subscriber, consent, delivery)
    assert Client().post(f"/manage/{genuine['manage']}/delete/").status_code == 200
    for kind, token in genuine.items():
        for method, template in REQUESTS[kind]:
            assert _refused(method, template.format(token)) == 404, kind


# --- Constant-time comparison ------------------------------------------------------------------


class _Spy:
    """Wraps a comparison function and records what it compared."""

    def __init__(self, real):
        self.real, self.calls = real, []

    def __call__(self, a, b):
        self.calls.append((a, b))
        return self.real(a, b)


def _spy_on(monkeypatch, module) -> _Spy:
    spy = _Spy(module.constant_time_compare)
    monkeypatch.setattr(module, "constant_time_compare", spy)
    return spy


def test_link_tokens_are_checked_with_a_constant_time_comparison(victim, monkeypatch):
    subscriber, _, _ = victim
    spy = _spy_on(monkeypatch, tokens)
    for purpose in ("manage", "unsubscribe"):
        genuine = make_link_token(subscriber, purpose)
        forged = genuine[:-2] + ("AA" if not genuine.endswith("AA") else "BB")
        assert tokens.subscriber_from_link_token(genuine, purpose) == subscriber
        with pytest.raises(tokens.InvalidToken):
            tokens.subscriber_from_link_token(forged, purpose)
        # The attacker's signature went through the constant-time function, not ==.
        assert (forged.split(".", 1)[1], genuine.split(".", 1)[1]) in spy.calls


def test_confirm_tokens_are_checked_with_a_constant_time_comparison(victim, monkeypatch):
    subscriber, consent, _ = victim
    signer_spy = _spy_on(monkeypatch, signing)  # TimestampSigner.unsign compares the signature
    fingerprint_spy = _spy_on(monkeypatch, tokens)  # the token_key fingerprint inside the value
    token = make_confirm_token(consent)
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    with pytest.raises(tokens.InvalidToken):
        tokens.confirmation_from_token(forged)
    assert any(a == forged.rsplit(":", 1)[1] for a, _ in signer_spy.calls)
    assert tokens.confirmation_from_token(token) == (subscriber, consent)
    assert fingerprint_spy.calls, "the key fingerprint must be compared in constant time too"


def test_digest_tokens_are_checked_with_a_constant_time_comparison(victim, monkeypatch):
    _, _, delivery = victim
    spy = _spy_on(monkeypatch, tokens)
    token = digest_token(delivery.pk)
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert delivery_id_from_token(forged) is None
    assert delivery_id_from_token(token) == delivery.pk
    assert (forged.split(".", 1)[1], token.split(".", 1)[1]) in spy.calls


def test_webhook_basic_auth_is_checked_with_a_constant_time_comparison(settings, monkeypatch):
    secret = "hook-user:" + "p" * 30
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": secret}
    spy = _spy_on(monkeypatch, webhooks)
    guess = "hook-user:" + "p" * 29 + "q"
    response = Client().post(
        "/webhooks/anymail/postmark/tracking/",
        data="{}",
        content_type="application/json",
        headers={"authorization": "Basic " + base64.b64encode(guess.encode()).decode()},
    )
    assert response.status_code == 401
    assert (guess, secret) in spy.calls


def test_csrf_tokens_are_checked_with_a_constant_time_comparison(topics, monkeypatch):
    from django.middleware import csrf

    spy = _spy_on(monkeypatch, csrf)
    browser = Client(enforce_csrf_checks=True)
    browser.get("/")
    response = browser.post("/", {"email": "a@example.com", "csrfmiddlewaretoken": "x" * 64})
    assert response.status_code == 403
    assert spy.calls


def test_a_purged_signups_confirmation_link_opens_nothing(victim):
    """Unconfirmed signups are deleted after 30 days, so no confirmation link outlives its row."""
    from subscriptions.retention import subscribers_purge_unconfirmed

    subscriber, consent, _ = victim
    token = make_confirm_token(consent)
    Subscriber.objects.filter(pk=subscriber.pk).update(created_at=timezone.now() - timedelta(days=31))
    assert subscribers_purge_unconfirmed() == 1
    assert _refused("get", f"/confirm/{token}/") == 404
    assert _refused("post", f"/confirm/{token}/") == 404
