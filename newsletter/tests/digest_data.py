"""Data and checks the digest tests share: topics, papers, subscribers, and an HTML safety parser."""

from datetime import date, datetime, timedelta
from html.parser import HTMLParser

from django.utils import timezone

from newsletter.composing import ChunkComposer, Composed
from newsletter.models import Delivery
from papers.tests.factories import PaperFactory, PaperTopicFactory, TopicFactory
from subscriptions.tests.factories import SubscriberFactory

EDITION = date(2026, 4, 28)  # the edition date of `planned` rows

HOSTILE_TITLE = '<script>alert("title")</script><img src=x onerror=alert(1)>Sneaky <b>bold</b> title'
HOSTILE_ABSTRACT = (
    '<iframe src="javascript:alert(2)"></iframe><a href="javascript:alert(3)" onclick="x()">click</a> '
    "We propose &lt;script&gt; things. " + "word " * 100
)


def topics():
    quant = TopicFactory(slug="digest-quant", name="Quantization", display_order=1)
    code = TopicFactory(slug="digest-code", name="Code LLMs", display_order=2)
    agents = TopicFactory(slug="digest-agents", name="Agents", display_order=3)
    return quant, code, agents


def paper(*topics_scores, seen: datetime | None = None, **fields):
    """A paper first seen `seen` (default an hour ago), tagged with (topic, score) pairs."""
    p = PaperFactory(first_seen_at=seen or timezone.now() - timedelta(hours=1), **fields)
    for topic, score in topics_scores:
        PaperTopicFactory(paper=p, topic=topic, score=score)
    return p


def subscriber(*topic_list, **fields):
    return SubscriberFactory(topics=list(topic_list), **fields)


def planned(count, *, with_papers=True) -> list[int]:
    """`count` readers of one topic, each with a planned delivery for EDITION (and a paper for them)."""
    quant, _code, _agents = topics()
    if with_papers:
        paper((quant, 1.0), title="A quantization paper")
    readers = [subscriber(quant, email=f"reader{n}@example.com") for n in range(count)]
    return [Delivery.objects.create(subscriber=r, edition_date=EDITION).pk for r in readers]


def compose_deliveries(deliveries, *, now: datetime | None = None, renderer=None) -> list[Composed]:
    """Compose a whole chunk at once (see ChunkComposer): one Composed per delivery, in order."""
    composer = ChunkComposer(deliveries, now=now, renderer=renderer)
    return [composer.compose(d) for d in deliveries]


def statuses(ids) -> list[str]:
    return list(Delivery.objects.filter(pk__in=ids).order_by("pk").values_list("status", flat=True))


class _Checker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in {"script", "iframe", "object", "embed", "img", "form"}:
            self.problems.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"{tag}[{name}]")
            if name in {"href", "src", "action"}:
                self.hrefs.append(value or "")
                if not (value or "").startswith(("https://", "http://")):
                    self.problems.append(f"{tag}[{name}={value!r}]")

    handle_startendtag = handle_starttag


def html_problems(html: str) -> list[str]:
    """Executable or foreign markup in a digest: scripts, frames, images, on* handlers, non-http links."""
    checker = _Checker()
    checker.feed(html)
    checker.close()
    return checker.problems


def html_links(html: str) -> list[str]:
    checker = _Checker()
    checker.feed(html)
    checker.close()
    return checker.hrefs
