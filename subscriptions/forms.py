"""Forms of the signup and manage pages. Every value is checked here; services trust the types.

No field that could reach an email header (or a database text column) may hold a line break or a NUL:
such input is refused with a clear message rather than cleaned up silently.
"""

import time
import zoneinfo
from dataclasses import replace
from functools import lru_cache

from django import forms
from django.core import signing

from papers.authors import namesakes, parse_names, several_people
from papers.models import Topic

from . import shells
from .addresses import HEADER_BREAKERS, InvalidAddress, normalise_email
from .conf import setting
from .models import Subscriber
from .seeds import SeedError, Seeds, authors_from_text, followed_authors, papers_from_text
from .services import Preferences
from .widgets import (
    CachedCheckboxInput,
    CachedCheckboxSelectMultiple,
    CachedOptionsSelect,
    CachedRadioSelect,
    CachedTextarea,
)

SIGNUP_CONSENT_TEXT = (
    "By subscribing you agree that Paperboy emails you a digest of research papers on the topics you "
    "picked, at the time you chose. We keep your address, your choices and a record of this consent "
    "(time, IP address, browser), and nothing else. Every email has a one-click unsubscribe link, and "
    "you can download or delete your data at any time."
)
RESUBSCRIBE_CONSENT_TEXT = "Resubscribed from the unsubscribe page with the earlier preferences."

_STAMP_SALT = "paperboy.subscriptions.form-stamp"
_MAX_KEYWORDS = 500
# Browsers and tzdata use these areas; other names (Etc/GMT+5, SystemV/…) only confuse a list.
_TIMEZONE_AREAS = (
    "Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia", "Europe", "Indian",
    "Pacific",
)  # fmt: skip
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
HOURS = [(hour, f"{hour:02d}:00") for hour in range(24)]


@lru_cache(maxsize=1)
def valid_timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones()) | {"UTC"}


@lru_cache(maxsize=1)
def timezone_choices() -> list:
    """Grouped by area for the <select>; each label is the whole name, readable when the list is closed."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for name in sorted(valid_timezones()):
        area, _, place = name.partition("/")
        if area in _TIMEZONE_AREAS and place:
            groups.setdefault(area, []).append((name, name.replace("_", " ")))
    return [("UTC", "UTC"), *groups.items()]


def make_form_stamp(now: float | None = None) -> str:
    """A signed time the form was served, for the minimum time-to-submit."""
    return signing.Signer(salt=_STAMP_SALT).sign(str(int(now if now is not None else time.time())))


def seconds_since_stamp(stamp: str) -> float | None:
    """Seconds since a genuine stamp was made; None for a missing, forged or malformed one."""
    try:
        served = int(signing.Signer(salt=_STAMP_SALT).unsign(stamp or ""))
    except (signing.BadSignature, ValueError):
        return None
    return time.time() - served


def active_topic_choices() -> list[tuple[str, str]]:
    return [(t.slug, t.name) for t in active_topics()]


def active_topics() -> tuple[Topic, ...]:
    """The topics open for subscription, read once per topic change (kept with the page shells)."""
    return shells.remember("active-topics", lambda: tuple(Topic.objects.filter(active=True)))


class _PreferenceFields(forms.Form):
    """Topics, frequency, time and zone: shared by the signup and the manage page."""

    topics = forms.MultipleChoiceField(
        widget=CachedCheckboxSelectMultiple,
        error_messages={"required": "Pick at least one topic."},
    )
    frequency = forms.ChoiceField(
        choices=Subscriber.Frequency.choices,
        widget=CachedRadioSelect,
        required=False,
        initial=Subscriber.Frequency.DAILY,
    )
    delivery_hour = forms.TypedChoiceField(
        choices=HOURS,
        coerce=int,
        required=False,
        label="Delivery time",
        empty_value=None,
        widget=CachedOptionsSelect,
    )
    delivery_weekday = forms.TypedChoiceField(
        choices=list(enumerate(WEEKDAYS)),
        coerce=int,
        required=False,
        label="Day",
        empty_value=None,
        widget=CachedOptionsSelect,
    )
    # Choices given to the widget here, not per form: its setter normalises all ~490 zones each time.
    timezone = forms.CharField(
        label="Time zone",
        required=False,
        max_length=64,
        widget=CachedOptionsSelect(choices=timezone_choices()),
    )

    # Fields whose raw input may span lines (never used in a header).
    multiline_fields: frozenset[str] = frozenset()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._topics = {t.slug: t for t in active_topics()}
        self.fields["topics"].choices = [(slug, topic.name) for slug, topic in self._topics.items()]

    def topic_options(self) -> list:
        """(checkbox, description) pairs, so a template can show each topic's description."""
        return [(option, self._topics[option.data["value"]].description) for option in self["topics"]]

    def _raw_values(self, name: str) -> list:
        data = self.data
        return data.getlist(name) if hasattr(data, "getlist") else [data.get(name)]

    def clean(self):
        cleaned = super().clean()
        for name in self.fields:
            bad = HEADER_BREAKERS - {"\n", "\r"} if name in self.multiline_fields else HEADER_BREAKERS
            if any(isinstance(v, str) and any(c in bad for c in v) for v in self._raw_values(name)):
                self.add_error(name, "Line breaks and control characters are not allowed here.")
        return cleaned

    def clean_frequency(self) -> str:
        return self.cleaned_data.get("frequency") or Subscriber.Frequency.DAILY

    def clean_delivery_hour(self) -> int:
        value = self.cleaned_data.get("delivery_hour")
        return setting("DEFAULT_DELIVERY_HOUR") if value is None else value

    def clean_delivery_weekday(self) -> int:
        value = self.cleaned_data.get("delivery_weekday")
        return 0 if value is None else value

    def clean_timezone(self) -> str:
        value = (self.cleaned_data.get("timezone") or "").strip()
        if not value:
            return setting("DEFAULT_TIMEZONE")
        if value not in valid_timezones():
            raise forms.ValidationError("Choose a time zone from the list.")
        return value

    def preferences(self, *, keywords: str = "") -> Preferences:
        data = self.cleaned_data
        return Preferences(
            # A slug sent twice (a crafted form) is one choice, not two on the consent record.
            topics=tuple(self._topics[slug] for slug in dict.fromkeys(data["topics"])),
            frequency=data["frequency"],
            delivery_hour=data["delivery_hour"],
            delivery_weekday=data["delivery_weekday"],
            timezone=data["timezone"],
            keywords=keywords,
        )


MAX_NEW_AUTHORS = 10


class _SeedFields(forms.Form):
    """Papers a reader liked and authors they follow (subscriptions.seeds): on signup and manage."""

    ambiguous_authors = False

    liked_papers = forms.CharField(
        required=False,
        max_length=4000,
        label="Add papers you liked",
        widget=CachedTextarea(attrs={"rows": 2, "placeholder": "e.g. 2601.12345 or https://arxiv.org/abs/…"}),
        help_text="arXiv ids or links, one per line: papers near them move up in your digest.",
    )
    follow_authors = forms.CharField(
        required=False,
        max_length=4000,
        label="Authors you follow",
        widget=CachedTextarea(attrs={"rows": 2, "placeholder": "e.g. Ada Lovelace"}),
        help_text="One name per line. Their new papers always make your digest, whatever the topic.",
    )
    confirm_authors = forms.BooleanField(
        required=False, widget=CachedCheckboxInput, label="Follow these names as written"
    )

    def clean_liked_papers(self) -> tuple[int, ...]:
        try:
            return papers_from_text(self.cleaned_data.get("liked_papers") or "")
        except SeedError as exc:
            raise forms.ValidationError(str(exc)) from exc

    def clean_follow_authors(self) -> tuple[str, ...]:
        try:
            names = authors_from_text(self.cleaned_data.get("follow_authors") or "")
        except SeedError as exc:
            raise forms.ValidationError(str(exc)) from exc
        if self.data.get("confirm_authors"):
            return names
        # A name that several authors answer to is shown back with examples before it is saved.
        new = [name for name in names if name not in self.initial_authors]
        if len(new) > MAX_NEW_AUTHORS:  # each is checked against the papers: a bounded number at a time
            raise forms.ValidationError(f"Add at most {MAX_NEW_AUTHORS} new authors at a time.")
        for name in new:
            people = namesakes(name)
            if several_people([author for author, _title in people]):
                self.ambiguous_authors = True  # the template offers "Follow these names as written"
                examples = "; ".join(f"{author} (“{title[:60]}”)" for author, title in people)
                raise forms.ValidationError(
                    f"“{name}” is more than one author here: {examples}. Write the full name, or tick "
                    "“Follow these names as written” to follow every one of them."
                )
        return names

    def seeds(self) -> Seeds:
        return Seeds(
            liked_papers=self.cleaned_data["liked_papers"],
            followed_authors=self.cleaned_data["follow_authors"],
        )

    @property
    def initial_authors(self) -> frozenset[str]:
        return frozenset(parse_names(self.initial.get("follow_authors", "")))


class SignupForm(_SeedFields, _PreferenceFields):
    email = forms.CharField(
        label="Email address",
        max_length=320,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "placeholder": "you@example.org"}),
    )
    # Honeypot: hidden from people by CSS, filled by naive bots. Any value means a bot.
    leave_blank = forms.CharField(required=False, label="Leave this field empty")
    # When the page was served (signed); a reply within MIN_SUBMIT_SECONDS came from a script.
    started = forms.CharField(required=False, widget=forms.HiddenInput)

    multiline_fields = frozenset({"liked_papers", "follow_authors"})
    field_order = ["email", "topics", "frequency", "delivery_weekday", "delivery_hour", "timezone"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            # signup.js swaps the server's default for the browser's zone while this is unchanged.
            self.fields["timezone"].widget.attrs.update(
                {"data-browser-timezone": "", "data-server-default": setting("DEFAULT_TIMEZONE")}
            )

    def clean_email(self) -> str:
        try:
            return normalise_email(self.cleaned_data["email"])
        except InvalidAddress as exc:
            raise forms.ValidationError(exc.messages[0]) from exc

    def looks_automated(self, *, embedded: bool) -> bool:
        """Honeypot filled, or (on our own page) sent back too fast or without a genuine stamp."""
        if any(v for v in self._raw_values("leave_blank") if v):
            return True
        if embedded:
            return False  # a plain HTML form on another site cannot carry our signed stamp
        elapsed = seconds_since_stamp(self.data.get("started", ""))
        return elapsed is None or elapsed < setting("MIN_SUBMIT_SECONDS")


class ManageForm(_SeedFields, _PreferenceFields):
    keywords = forms.CharField(
        required=False,
        max_length=_MAX_KEYWORDS,
        widget=CachedTextarea(attrs={"rows": 3, "placeholder": "e.g. speculative decoding, LoRA"}),
        help_text="Optional. Papers mentioning these words rank higher in your digest. Comma-separated.",
    )
    ranking = forms.ChoiceField(
        choices=Subscriber.Ranking.choices,
        widget=CachedRadioSelect,
        required=False,
        initial=Subscriber.Ranking.BALANCED,
        label="Order of your papers",
    )
    trending_strip = forms.BooleanField(
        required=False,
        widget=CachedCheckboxInput,
        label="Show “Trending today”: the three most-upvoted papers of the day, any topic",
    )
    paused = forms.BooleanField(required=False, widget=CachedCheckboxInput, label="Pause my digests for now")
    multiline_fields = frozenset({"keywords", "liked_papers", "follow_authors"})
    field_order = [
        "topics", "keywords", "ranking", "trending_strip", "frequency", "delivery_weekday",
        "delivery_hour", "timezone", "paused", "liked_papers", "follow_authors", "confirm_authors",
    ]  # fmt: skip

    def clean_ranking(self) -> str:
        return self.cleaned_data.get("ranking") or Subscriber.Ranking.BALANCED

    def preferences(self, *, keywords: str = "") -> Preferences:
        return replace(
            super().preferences(keywords=keywords),
            ranking=self.cleaned_data["ranking"],
            trending_strip=bool(self.cleaned_data.get("trending_strip")),
        )

    def clean_keywords(self) -> str:
        # One line per keyword or comma-separated: stored as one comma-separated line.
        raw = self.cleaned_data.get("keywords") or ""
        parts = [p.strip() for chunk in raw.splitlines() for p in chunk.split(",")]
        return ", ".join(p for p in parts if p)

    @classmethod
    def for_subscriber(cls, subscriber: Subscriber, data=None) -> "ManageForm":
        initial = {
            "topics": list(subscriber.topics.values_list("slug", flat=True)),
            "frequency": subscriber.frequency,
            "delivery_hour": subscriber.delivery_hour,
            "delivery_weekday": subscriber.delivery_weekday,
            "timezone": subscriber.timezone,
            "keywords": subscriber.keywords,
            "ranking": subscriber.ranking,
            "trending_strip": subscriber.trending_strip,
            "paused": subscriber.paused,
            "follow_authors": "\n".join(followed_authors(subscriber)),
        }
        return cls(data=data, initial=initial)


class LinkRequestForm(forms.Form):
    """ "Get your manage link": an address, nothing else."""

    email = forms.CharField(
        label="Email address",
        max_length=320,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "placeholder": "you@example.org"}),
    )

    def clean_email(self) -> str:
        try:
            return normalise_email(self.cleaned_data["email"])
        except InvalidAddress as exc:
            raise forms.ValidationError(exc.messages[0]) from exc
