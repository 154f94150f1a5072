"""RSS and Atom feeds of each topic's newest papers (django.contrib.syndication).

Feed readers treat an item's description as HTML, so the abstract (plain text from a feed we do not
control) is HTML-escaped before the XML writer escapes it once more: a reader shows `<script>` as
text. Titles are plain text in both formats and go out as they are, minus XML-illegal characters.
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import escape

from papers.models import Paper, Topic
from papers.text import http_url, plain_text, short_authors

from . import archive

_ABSTRACT_WORDS = 120  # enough to judge a paper; the link has the rest


class TopicFeed(Feed):
    def get_object(self, request, slug: str) -> Topic:
        return get_object_or_404(Topic, slug=slug, active=True)

    def title(self, topic: Topic) -> str:
        return plain_text(f"{settings.SITE_NAME}: {topic.name}")

    def description(self, topic: Topic) -> str:
        return plain_text(topic.description) or f"New and trending papers on {plain_text(topic.name)}."

    subtitle = description

    def link(self, topic: Topic) -> str:
        return reverse("newsletter:archive")

    def feed_url(self, topic: Topic) -> str:
        return reverse("newsletter:topic_feed", args=[topic.slug])

    def items(self, topic: Topic) -> list[Paper]:
        return archive.topic_feed_papers(topic)

    def item_title(self, paper: Paper) -> str:
        return paper.title_text

    def item_description(self, paper: Paper) -> str:
        words = paper.abstract_text.split()
        text = " ".join(words[:_ABSTRACT_WORDS]) + (" …" if len(words) > _ABSTRACT_WORDS else "")
        return escape(text)

    def item_link(self, paper: Paper) -> str:
        return http_url(paper.abs_url) or http_url(paper.pdf_url) or reverse("newsletter:archive")

    def item_guid(self, paper: Paper) -> str:
        # Stable per paper and per site, whatever links the paper gains later.
        return f"urn:paperboy:{urlsplit(settings.SITE_URL).netloc}:paper:{paper.pk}"

    item_guid_is_permalink = False

    def item_author_name(self, paper: Paper) -> str:
        return short_authors(paper.authors) or None

    def item_pubdate(self, paper: Paper):
        return paper.published_at or paper.first_seen_at

    def item_updateddate(self, paper: Paper):
        return paper.updated_at

    def item_categories(self, paper: Paper) -> list[str]:
        return [plain_text(link.topic.name) for link in paper.paper_topics.all()]


class TopicAtomFeed(TopicFeed):
    feed_type = Atom1Feed

    def feed_url(self, topic: Topic) -> str:
        return reverse("newsletter:topic_feed_atom", args=[topic.slug])
