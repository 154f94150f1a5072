"""Property-based fuzzing of the pages people reach: signup, confirm, manage, unsubscribe.

subscriptions/tests/test_fuzz.py throws random field dictionaries at the pages; these tests start from
what a real browser sends (CSRF cookie and token, a genuine form stamp) and corrupt it field by field,
so most examples get past the first check and reach the form, the service and the database. Each test
knows which inputs are valid, and asserts both directions: invalid input answers 4xx and changes
nothing (every table, sent mail, mail queued for after the commit); valid input is stored exactly.
"""

import ipaddress
import itertools
import time
from urllib.parse import urlencode

import pytest
from django.core.cache import cache
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st

from subscriptions.addresses import HEADER_BREAKERS
from subscriptions.forms import make_form_stamp
from subscriptions.models import ConsentRecord, Subscriber
from subscriptions.tests.factories import SubscriberFactory
from subscriptions.tokens import make_confirm_token, make_link_token

from .conftest import csrf_token_from
from .hostile import (
    CONTENT_TYPES,
    FUZZ,
    FUZZ_SMALL,
    fresh_stamp,
    hostile_text,
    hostile_values,
    queued_after_commit,
    snapshot,
)

pytestmark = pytest.mark.django_db

ACTIVE_SLUGS = ["lowbit", "codegen", "toolusers"]
_MISSING = object()  # the field is left out of the POST


def _field(valid: st.SearchStrategy, junk: st.SearchStrategy) -> st.SearchStrategy:
    """(value, is_valid) for one form field."""
    return st.one_of(valid.map(lambda v: (v, True)), junk.map(lambda v: (v, False)))


_breaker = st.sampled_from(sorted(HEADER_BREAKERS))
_topics = _field(
    st.lists(st.sampled_from(ACTIVE_SLUGS), min_size=1, max_size=4),
    st.one_of(
        st.just([]),
        st.just(_MISSING),
        st.lists(st.sampled_from(ACTIVE_SLUGS), max_size=2).flatmap(
            lambda good: st.sampled_from(["retired", "LOWBIT", "lowbit\n", "", "nope", "<b>x</b>"]).map(
                lambda bad: [*good, bad]
            )
        ),
    ),
)
_frequency = _field(
    st.sampled_from([_MISSING, "", "daily", "weekly"]),
    st.sampled_from(["hourly", "Daily", "daily\n", "weekly\x00", "0"]),
)
_hour = _field(
    st.one_of(st.sampled_from([_MISSING, ""]), st.integers(0, 23).map(str)),
    st.sampled_from(["24", "-1", "7.5", "07", "seven", "7\r\n", "9" * 40]),
)
_weekday = _field(
    st.one_of(st.sampled_from([_MISSING, ""]), st.integers(0, 6).map(str)),
    st.sampled_from(["7", "-1", "Mon", "0\n"]),
)
_timezone = _field(
    st.sampled_from([_MISSING, "", "UTC", "Europe/Berlin", "America/St_Johns", "Asia/Kathmandu"]),
    st.sampled_from(["Mars/Olympus", "UTC\r\n", "Europe/Berlin\x00", "../../etc/passwd", "A" * 65, "utc"]),
)
_paused = _field(
    st.sampled_from([_MISSING, "", "on", "true", "false"]),
    st.sampled_from(["on\n", "true\u2028"]),
)
_keyword_chars = st.characters(
    codec="utf-8", exclude_categories=["Cs"], exclude_characters="".join(HEADER_BREAKERS)
)
_keywords = _field(
    st.one_of(st.just(_MISSING), st.text(_keyword_chars, max_size=200), st.sampled_from(
        ["LoRA, speculative decoding", "a\nb\r\nc", "<script>alert(1)</script>", " , ,, "]
    )),
    st.one_of(
        st.builds(lambda a, b, c: a + b + c, st.text(max_size=20), _breaker.filter(lambda c: c not in "\r\n"),
                  st.text(max_size=20)),
        st.just("k" * 501),
    ),
)  # fmt: skip
# Fields a form does not have: posting them must never reach the model (mass assignment).
_extras = st.dictionaries(
    st.sampled_from(["email", "status", "token_key", "confirmed_at", "is_staff", "id", "x"]),
    hostile_values,
    max_size=3,
)


def _form_data(fields: dict) -> tuple[dict, bool]:
    data, valid = {}, True
    for name, (value, ok) in fields.items():
        valid &= ok
        if value is not _MISSING:
            data[name] = value
    return data, valid


def _expected_keywords(raw: str) -> str:
    parts = [p.strip() for chunk in raw.strip().splitlines() for p in chunk.split(",")]
    return ", ".join(p for p in parts if p)


@FUZZ
@given(
    fields=st.fixed_dictionaries(
        {
            "topics": _topics, "frequency": _frequency, "delivery_hour": _hour,
            "delivery_weekday": _weekday, "timezone": _timezone, "paused": _paused, "keywords": _keywords,
        }
    ),
    extras=_extras,
    with_csrf=st.booleans(),
)  # fmt: skip
def test_manage_post_stores_valid_input_exactly_and_nothing_else(topics, fields, extras, with_csrf):
    subscriber = SubscriberFactory(topics=topics[:1], keywords="old")
    path = f"/manage/{make_link_token(subscriber, 'manage')}/"
    browser = Client(enforce_csrf_checks=True)
    token = csrf_token_from(browser.get(path))
    data, valid = _form_data(fields)
    post = {**extras, **data}
    if with_csrf:
        post["csrfmiddlewaretoken"] = token
    before = snapshot()
    with queued_after_commit() as queued:
        response = browser.post(path, post)

    if not with_csrf:
        assert response.status_code == 403
    elif not valid:
        assert response.status_code == 400
    if response.status_code != 302:
        assert not queued and snapshot() == before
        return
    assert with_csrf and valid and response["Location"] == f"{path}?saved=1"
    assert not queued
    saved = Subscriber.objects.get(pk=subscriber.pk)
    assert set(saved.topics.values_list("slug", flat=True)) == set(data["topics"])
    assert saved.frequency == (data.get("frequency") or "daily")
    assert saved.delivery_hour == int(data.get("delivery_hour") or 7)
    assert saved.delivery_weekday == int(data.get("delivery_weekday") or 0)
    assert saved.timezone == (data.get("timezone") or "UTC")
    assert saved.paused == (data.get("paused", "") in ("on", "true"))
    assert saved.keywords == _expected_keywords(data.get("keywords", ""))
    assert not any(c in HEADER_BREAKERS - {"\n", "\r"} for c in saved.keywords)
    # Fields the form does not have changed nothing.
    assert (saved.email, saved.status, saved.token_key) == (
        subscriber.email,
        subscriber.status,
        subscriber.token_key,
    )


_serial = itertools.count()
_emails = _field(
    st.sampled_from(
        ["person{n}@example.com", "Ada.Lovelace+{n}@Example.COM", "  spaced{n}@example.org  "]
    ).map(lambda pattern: pattern.format(n=next(_serial))),
    st.sampled_from([
        "", "no-at-sign", "a@b@", "@example.com", "ada@", "ada@example.com\r\nBcc: victim@example.org",
        "ada@example.com\nX-Injected: 1", "x" * 300 + "@example.com", "ada\x00@example.com",
        "<script>@example.com",
    ]),
)  # fmt: skip
_latin1 = st.text(st.characters(max_codepoint=255), max_size=120)
_forwarded = st.one_of(
    _latin1,
    st.sampled_from(
        ["203.0.113.9", "198.51.100.1, 203.0.113.9", "2001:db8::1", "::ffff:10.0.0.1", "fe80::1%eth0"]
    ),
)


@FUZZ
@given(
    fields=st.fixed_dictionaries(
        {"email": _emails, "topics": _topics, "frequency": _frequency, "delivery_hour": _hour,
         "delivery_weekday": _weekday, "timezone": _timezone}
    ),
    honeypot=st.sampled_from(["", "", "", "http://spam.example", " "]),
    stamp=st.sampled_from(["fresh", "fresh", "fresh", "missing", "forged", "too-fast"]),
    with_csrf=st.booleans(),
    user_agent=_latin1,
    forwarded=_forwarded,
)  # fmt: skip
def test_signup_creates_exactly_one_pending_signup_or_nothing(
    topics, settings, fields, honeypot, stamp, with_csrf, user_agent, forwarded
):
    settings.SUBSCRIPTIONS_TRUSTED_PROXY_HOPS = 1
    cache.clear()  # per-IP counters: every example is somebody's first attempt this hour
    browser = Client(enforce_csrf_checks=True, HTTP_USER_AGENT=user_agent, HTTP_X_FORWARDED_FOR=forwarded)
    token = csrf_token_from(browser.get("/"))
    data, valid = _form_data(fields)
    data["leave_blank"] = honeypot
    data["started"] = {
        "fresh": fresh_stamp(),
        "missing": "",
        "forged": "1700000000:forgedsignature",
        "too-fast": make_form_stamp(time.time()),
    }[stamp]
    if with_csrf:
        data["csrfmiddlewaretoken"] = token
    human = not honeypot and stamp == "fresh"
    before = snapshot()
    with queued_after_commit() as queued:
        response = browser.post("/", data)

    assert response.status_code < 500
    if not with_csrf:
        assert response.status_code == 403
    elif not human:
        assert response.status_code == 302  # a bot sees the normal success page...
    elif not valid:
        assert response.status_code == 400
    else:
        assert response.status_code == 302
    if not (with_csrf and human and valid):
        assert not queued and snapshot() == before  # ...and nothing happens
        return
    assert response["Location"] == "/check-your-inbox/"
    address = data["email"].strip()
    subscriber = Subscriber.objects.get(email__iexact=address)
    assert subscriber.status == Subscriber.Status.PENDING
    assert subscriber.email.lower() == address.lower()
    consent = ConsentRecord.objects.get(subscriber=subscriber)
    assert consent.topics == sorted(set(data["topics"]))
    assert consent.user_agent.isprintable() and len(consent.user_agent) <= 500
    hops = [part.strip() for part in forwarded.split(",") if part.strip()]
    try:
        expected_ip = ipaddress.ip_address(hops[-1] if hops else "127.0.0.1")
    except ValueError:
        expected_ip = None
    stored_ip = consent.ip_address and ipaddress.ip_address(consent.ip_address)
    assert stored_ip == expected_ip
    assert len(queued) == 1  # its confirmation email
    after = snapshot()
    assert len(after["subscribers"]) == len(before["subscribers"]) + 1
    assert len(after["consents"]) == len(before["consents"]) + 1


@FUZZ_SMALL
@given(
    query=st.dictionaries(
        st.sampled_from(["saved", "token", "next", "status", "x"]), hostile_text, max_size=3
    ),
    kind=st.sampled_from(["confirm", "manage", "unsubscribe", "delete"]),
)
def test_get_never_changes_anything(topics, query, kind):
    """Mail scanners and link previews open every link: a GET must never act, whatever it carries."""
    subscriber = SubscriberFactory(topics=topics[:1], status=Subscriber.Status.PENDING, confirmed_at=None)
    consent = ConsentRecord.objects.create(subscriber=subscriber, form_version="t", topics=["lowbit"])
    path = {
        "confirm": f"/confirm/{make_confirm_token(consent)}/",
        "manage": f"/manage/{make_link_token(subscriber, 'manage')}/",
        "unsubscribe": f"/unsubscribe/{make_link_token(subscriber, 'unsubscribe')}/",
        "delete": f"/manage/{make_link_token(subscriber, 'manage')}/delete/",
    }[kind]
    before = snapshot()
    with queued_after_commit() as queued:
        for method in ("get", "head"):
            response = getattr(Client(), method)(f"{path}?{urlencode(query, doseq=True)}")
            assert response.status_code == 200
    assert not queued and snapshot() == before


@FUZZ_SMALL
@given(
    body=st.one_of(st.binary(max_size=400), hostile_text.map(str.encode)),
    content_type=st.sampled_from(CONTENT_TYPES),
    with_cookie=st.booleans(),
)
def test_any_post_to_a_genuine_unsubscribe_link_unsubscribes_and_nothing_more(
    topics, body, content_type, with_cookie
):
    """RFC 8058: the mail program's POST carries no cookie and no CSRF token, and any body it sends counts."""
    subscriber = SubscriberFactory(topics=topics[:1])
    path = f"/unsubscribe/{make_link_token(subscriber, 'unsubscribe')}/"
    mail_program = Client(enforce_csrf_checks=True)
    if with_cookie:
        mail_program.cookies["csrftoken"] = "x" * 32
    with queued_after_commit() as queued:
        response = mail_program.generic("POST", path, body, content_type=content_type)
    assert response.status_code == 200
    assert not queued
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.UNSUBSCRIBED
    assert subscriber.consents.get().action == ConsentRecord.Action.UNSUBSCRIBE


@FUZZ_SMALL
@given(
    body=st.one_of(st.binary(max_size=400), hostile_text.map(str.encode)),
    content_type=st.sampled_from(CONTENT_TYPES),
)
def test_post_with_any_body_to_a_genuine_confirm_link_confirms_once(topics, body, content_type):
    subscriber = SubscriberFactory(topics=[], status=Subscriber.Status.PENDING, confirmed_at=None)
    consent = ConsentRecord.objects.create(
        subscriber=subscriber, form_version="t", topics=["codegen"], preferences={"delivery_hour": 9}
    )
    path = f"/confirm/{make_confirm_token(consent)}/"
    browser = Client(enforce_csrf_checks=True)
    data = f"csrfmiddlewaretoken={csrf_token_from(browser.get(path))}&".encode() + body
    with queued_after_commit() as queued:
        first = browser.generic("POST", path, data, content_type="application/x-www-form-urlencoded")
        again = browser.generic("POST", path, data, content_type="application/x-www-form-urlencoded")
    assert (first.status_code, again.status_code) == (200, 200)
    # One welcome email, for the one confirmation: the second POST changes nothing.
    assert [(task.func.__self__.name, task.args) for task in queued] == [
        ("subscriptions.tasks.send_welcome_email", (subscriber.pk,))
    ]
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.ACTIVE and subscriber.delivery_hour == 9
    assert list(subscriber.topics.values_list("slug", flat=True)) == ["codegen"]
    assert subscriber.consents.count() == 1
    # The same link with only the random body (no CSRF token in it) is refused.
    before = snapshot()
    # 403 for a missing token; 400 when Django cannot even read the body to look for one.
    assert browser.generic("POST", path, body, content_type=content_type).status_code in (400, 403)
    assert snapshot() == before
