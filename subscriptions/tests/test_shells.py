"""Cached page shells: the same page as a full render, per-visitor parts filled in, stale never shown."""

import re

import pytest
from django import forms
from django.contrib.messages import constants as message_levels
from django.contrib.messages.storage.cookie import CookieStorage
from django.db import connection
from django.http import HttpRequest
from django.shortcuts import render
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from papers.tests.factories import PaperFactory, TopicFactory
from subscriptions import shells
from subscriptions.forms import ManageForm, SignupForm, timezone_choices
from subscriptions.models import ConsentRecord, PaperFeedback
from subscriptions.tests.conftest import signup_data
from subscriptions.tests.factories import SubscriberFactory
from subscriptions.tokens import make_confirm_token, make_link_token
from subscriptions.widgets import (
    CachedCheckboxInput,
    CachedCheckboxSelectMultiple,
    CachedOptionsSelect,
    CachedRadioSelect,
    CachedTextarea,
)

pytestmark = pytest.mark.django_db

_CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
_STAMP_INPUT = re.compile(r'name="started" value="([^"]+)"')


def test_each_visitor_gets_their_own_csrf_token_and_stamp_and_can_sign_up_with_them(topics):
    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    page_one, page_two = first.get("/").content.decode(), second.get("/").content.decode()
    assert first.cookies["csrftoken"].value != second.cookies["csrftoken"].value
    assert _CSRF_INPUT.search(page_one)[1] != _CSRF_INPUT.search(page_two)[1]
    assert _STAMP_INPUT.search(page_one) and "pb" not in _STAMP_INPUT.search(page_one)[1][:2]

    # The second visitor's form posts with the second visitor's cookie (a full browser round trip).
    data = signup_data(csrfmiddlewaretoken=_CSRF_INPUT.search(page_two)[1])
    response = second.post("/", data)
    assert response.status_code == 302 and response["Location"] == "/check-your-inbox/"
    # Another visitor's token is refused with this visitor's cookie.
    data = signup_data("grace@example.com", csrfmiddlewaretoken=_CSRF_INPUT.search(page_two)[1])
    third = Client(enforce_csrf_checks=True)
    third.get("/")
    assert third.post("/", data).status_code == 403


def test_the_cached_page_is_the_full_render_but_for_token_and_stamp(topics, rf):
    cached = Client().get("/").content.decode()
    request = rf.get("/")
    from django.shortcuts import render

    form = SignupForm(
        initial={"started": "STAMP", "timezone": "UTC", "delivery_hour": 7, "frequency": "daily"}
    )
    full = render(
        request, "subscriptions/home.html", {"form": form, "consent_text": _consent()}
    ).content.decode()
    normalise = [
        (_CSRF_INPUT, 'name="csrfmiddlewaretoken" value="T"'),
        (_STAMP_INPUT, 'name="started" value="S"'),
    ]
    for pattern, replacement in normalise:
        cached, full = pattern.sub(replacement, cached), pattern.sub(replacement, full)
    assert cached == full


def _consent():
    from subscriptions.forms import SIGNUP_CONSENT_TEXT

    return SIGNUP_CONSENT_TEXT


def test_a_repeat_visit_makes_no_database_query(topics):
    client = Client()
    client.get("/")
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/").status_code == 200
    assert len(queries) == 0


def test_a_saved_or_deleted_topic_shows_on_the_next_page(topics):
    client = Client()
    assert "zebrafish" not in client.get("/").content.decode()
    added = TopicFactory(slug="zebrafish", name="Zebrafish genetics")
    assert 'value="zebrafish"' in client.get("/").content.decode()
    added.name = "Fish genomes"
    added.save()
    assert "Fish genomes" in client.get("/").content.decode()
    added.delete()
    assert 'value="zebrafish"' not in client.get("/").content.decode()


def test_another_process_invalidation_reaches_this_one_through_the_cache(topics, monkeypatch):
    client = Client()
    client.get("/")
    monkeypatch.setattr(shells, "GENERATION_CHECK_SECONDS", 0)
    # What another process's invalidate() leaves behind: only the shared generation changes.
    from django.core.cache import cache

    from papers.models import Topic

    Topic.objects.filter(slug="lowbit").update(name="Renamed quietly")  # an UPDATE sends no signal
    assert "Renamed quietly" not in client.get("/").content.decode()
    cache.set("subscriptions:shells:generation", "from-another-process", timeout=None)
    assert "Renamed quietly" in client.get("/").content.decode()


def test_settings_changes_reach_the_cached_page(topics):
    client = Client()
    assert 'data-server-default="UTC"' in client.get("/").content.decode()
    with override_settings(SUBSCRIPTIONS_DEFAULT_TIMEZONE="Europe/Paris"):
        html = client.get("/").content.decode()
    assert 'data-server-default="Europe/Paris"' in html
    assert '<option value="Europe/Paris" selected>' in html


def test_a_form_with_errors_keeps_what_was_entered_and_says_what_is_wrong(client, topics):
    data = signup_data("not-an-address", timezone="America/Chicago", topics=["codegen"], delivery_hour="9")
    response = client.post("/", data)
    html = response.content.decode()
    assert response.status_code == 400
    assert 'id="email-errors"' in html and 'value="not-an-address"' in html
    assert (
        '<option value="America/Chicago" selected>' in html and html.count(" selected>") == 3
    )  # zone, hour, weekday
    assert '<option value="9" selected>09:00</option>' in html
    assert re.search(r'value="codegen"[^>]*checked', html) and not re.search(
        r'value="lowbit"[^>]*checked', html
    )
    response = client.post("/", signup_data(timezone="Mars/Olympus"))
    assert "Choose a time zone from the list." in response.content.decode()


def test_messages_are_per_visitor_on_a_cached_page(topics):
    client = Client()
    client.get("/")  # the shell is built for a visitor without messages
    storage = CookieStorage(HttpRequest())
    storage.add(message_levels.INFO, "Only for this visitor")
    response = _with_message_cookie(storage)
    client.cookies[CookieStorage.cookie_name] = response.cookies[CookieStorage.cookie_name].value
    assert "Only for this visitor" in client.get("/").content.decode()
    assert "Only for this visitor" not in Client().get("/").content.decode()


def _with_message_cookie(storage):
    from django.http import HttpResponse

    response = HttpResponse()
    storage.update(response)
    return response


def test_confirm_page_fills_in_the_readers_address_escaped(client, topics):
    subscriber = SubscriberFactory(email="o'neil@example.com", status="pending")
    consent = ConsentRecord.objects.create(
        subscriber=subscriber, form_version="t", topics=["lowbit", "codegen"]
    )
    other = SubscriberFactory(email="grace@example.com", status="pending")
    other_consent = ConsentRecord.objects.create(
        subscriber=other, form_version="t", topics=["lowbit", "codegen"]
    )
    html = client.get(f"/confirm/{make_confirm_token(consent)}/").content.decode()
    assert "o&#x27;neil@example.com starts receiving" in html and "on 2 topics" in html
    html = client.get(f"/confirm/{make_confirm_token(other_consent)}/").content.decode()
    assert "grace@example.com starts receiving" in html and "neil" not in html
    assert 'name="csrfmiddlewaretoken"' in html


def test_confirm_page_of_an_active_reader_says_so(client, topics):
    subscriber = SubscriberFactory(email="ada@example.com", status="active")
    consent = ConsentRecord.objects.create(subscriber=subscriber, form_version="t", topics=["lowbit"])
    html = client.get(f"/confirm/{make_confirm_token(consent)}/").content.decode()
    assert "You are already subscribed" in html and "ada@example.com already receives" in html


def test_hole_names_that_could_collide_are_refused():
    for name in ("csrf_token", "block_0", "Bad-Name", ""):
        with pytest.raises(ValueError):
            shells.hole(name)


class _Zones(forms.Form):
    zone = forms.ChoiceField(choices=timezone_choices(), widget=CachedOptionsSelect)
    plain = forms.ChoiceField(choices=timezone_choices())


@pytest.mark.parametrize("value", ["Asia/Tokyo", "UTC", "America/Argentina/Buenos_Aires", "", "<script>"])
def test_cached_options_select_renders_what_djangos_select_renders(value):
    form = _Zones(initial={"zone": value, "plain": value})
    cached = str(form["zone"]).replace('name="zone"', "").replace('id="id_zone"', "")
    plain = str(form["plain"]).replace('name="plain"', "").replace('id="id_plain"', "")
    assert cached == plain
    assert str(_Zones(initial={"zone": value})["zone"]) == str(form["zone"])  # from the cache, same again


class _Options(forms.Form):
    choices = [("lowbit", "Quantization"), ("codegen", "Code <LLMs>"), ("a&b", "A & B")]
    cached_boxes = forms.MultipleChoiceField(choices=choices, widget=CachedCheckboxSelectMultiple)
    plain_boxes = forms.MultipleChoiceField(choices=choices, widget=forms.CheckboxSelectMultiple)
    cached_radio = forms.ChoiceField(choices=choices, widget=CachedRadioSelect)
    plain_radio = forms.ChoiceField(choices=choices, widget=forms.RadioSelect)


@pytest.mark.parametrize("boxes, radio", [([], ""), (["codegen"], "a&b"), (["lowbit", "a&b"], "lowbit")])
def test_cached_option_tags_render_what_djangos_widgets_render(boxes, radio):
    form = _Options(
        initial={"cached_boxes": boxes, "plain_boxes": boxes, "cached_radio": radio, "plain_radio": radio}
    )
    for _ in range(2):  # the second time from the cache
        for cached, plain in (("cached_boxes", "plain_boxes"), ("cached_radio", "plain_radio")):
            cached_tags = [str(option.tag()).replace(cached, "X") for option in form[cached]]
            plain_tags = [str(option.tag()).replace(plain, "X") for option in form[plain]]
            assert cached_tags == plain_tags
            assert str(form[cached]).replace(cached, "X") == str(form[plain]).replace(plain, "X")
    checked = [option.data["value"] for option in form["cached_boxes"] if " checked" in str(option.tag())]
    assert checked == boxes and str(_Options()["cached_boxes"]).count(" checked") == 0


def _manage_path(subscriber) -> str:
    return f"/manage/{make_link_token(subscriber, 'manage')}/"


def _full_manage_render(rf, subscriber, path: str) -> str:
    """The manage page rendered whole, as the view rendered it before it had a shell."""
    request = rf.get(path)
    unsubscribe = reverse("subscriptions:unsubscribe", args=[make_link_token(subscriber, "unsubscribe")])
    context = {
        "subscriber": subscriber,
        "form": ManageForm.for_subscriber(subscriber),
        "token": path.split("/")[2],
        "saved": "saved=1" in path,
        "unsubscribe_path": unsubscribe,
    }
    return render(request, "subscriptions/manage.html", context).content.decode()


@pytest.mark.parametrize("saved", [False, True])
def test_the_cached_manage_page_is_the_full_render_but_for_the_token(topics, rf, saved):
    lowbit, _codegen, agents = topics
    reader = SubscriberFactory(
        email="o'neil+x@example.com",
        status="active",
        topics=[lowbit, agents],
        keywords='KV cache, <b>"sparse"</b> & more',
        frequency="weekly",
        delivery_weekday=4,
        delivery_hour=18,
        timezone="Asia/Tokyo",
        paused=True,
        ranking="discussed",
        trending_strip=False,
    )
    PaperFeedback.objects.create(subscriber=reader, paper=PaperFactory(title="A liked <paper>"), value=1)
    reader.followed_authors = ["Gödel, K. <b>"]
    reader.save(update_fields=["followed_authors"])
    path = _manage_path(reader) + ("?saved=1" if saved else "")
    for _ in range(2):  # building the shell, then from it
        cached = Client().get(path).content.decode()
        full = _full_manage_render(rf, reader, path)
        assert _CSRF_INPUT.sub("T", cached) == _CSRF_INPUT.sub("T", full)
    assert ('value="Asia/Tokyo" selected' in cached) and ("&lt;b&gt;&quot;sparse&quot;&lt;/b&gt;" in cached)
    assert "A liked &lt;paper&gt;" in cached and ("Saved." in cached) == saved


def test_the_manage_shell_carries_nothing_of_the_reader_who_built_it(topics):
    lowbit, codegen, _agents = topics
    first = SubscriberFactory(
        email="first@example.com", topics=[lowbit], keywords="first-only", timezone="Asia/Tokyo"
    )
    PaperFeedback.objects.create(subscriber=first, paper=PaperFactory(title="First's paper"), value=1)
    first.followed_authors = ["Emmy Noether"]
    first.save(update_fields=["followed_authors"])
    second = SubscriberFactory(email="second@example.com", topics=[codegen], timezone="Europe/Paris")
    Client().get(_manage_path(first))
    with CaptureQueriesContext(connection) as queries:
        page = Client().get(_manage_path(second)).content.decode()
    assert "second@example.com" in page and 'Europe/Paris" selected' in page
    for leaked in ("first@example.com", "first-only", 'Asia/Tokyo" selected', "First's paper", "Noether"):
        assert leaked not in page
    # Their one topic, daily, the balanced order and the Trending today box (both defaults).
    assert page.count(" checked") == 4 and 'value="codegen" id="id_topics_1" checked' in page
    # The reader, their topics, their feedback: what only they have.
    assert len(queries) == 3


class _Inputs(forms.Form):
    cached_box = forms.BooleanField(required=False, widget=CachedCheckboxInput)
    plain_box = forms.BooleanField(required=False)
    cached_text = forms.CharField(required=False, widget=CachedTextarea(attrs={"rows": 3}))
    plain_text = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))


@pytest.mark.parametrize(
    "box, text", [(False, ""), (True, "KV cache"), (None, '<b>"x"</b> & y\nline'), ("on", None)]
)
def test_cached_checkbox_and_textarea_render_what_djangos_widgets_render(box, text):
    for bound in (False, True):  # from initial values, then from submitted ones
        values = {"cached_box": box, "plain_box": box, "cached_text": text, "plain_text": text}
        form = (
            _Inputs(data={k: v for k, v in values.items() if v is not None})
            if bound
            else _Inputs(initial=values)
        )
        for _ in range(2):  # the second time from the cache
            for cached, plain in (("cached_box", "plain_box"), ("cached_text", "plain_text")):
                assert str(form[cached]).replace(cached, "X") == str(form[plain]).replace(plain, "X")
