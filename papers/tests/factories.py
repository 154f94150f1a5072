"""Test data for papers (factory_boy)."""

from datetime import timedelta

import factory
from django.utils import timezone

from papers.models import Paper, PaperTopic, Source, Topic


class SourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Source
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Source {n}")
    slug = factory.Sequence(lambda n: f"source-{n}")
    kind = Source.Kind.ARXIV_RSS
    url = factory.Sequence(lambda n: f"http://127.0.0.1:9/feed-{n}.xml")
    fetch_interval = timedelta(hours=1)


class TopicFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Topic
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"topic-{n}")
    name = factory.Sequence(lambda n: f"Topic {n}")
    description = factory.LazyAttribute(lambda o: f"Papers about {o.name}.")
    keywords = ""


class PaperFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Paper

    # December 2026: no fixture feed nor dev-set paper (January and February 2026) has such an id.
    arxiv_id = factory.Sequence(lambda n: f"2612.{n:05d}")
    version = 1
    title = factory.Sequence(lambda n: f"A study of things, part {n}")
    abstract = "We study things and find results."
    authors = factory.LazyFunction(lambda: ["Ada Lovelace", "Alan Turing"])
    categories = factory.LazyFunction(lambda: ["cs.LG"])
    primary_category = "cs.LG"
    abs_url = factory.LazyAttribute(lambda o: f"https://arxiv.org/abs/{o.arxiv_id}")
    pdf_url = factory.LazyAttribute(lambda o: f"https://arxiv.org/pdf/{o.arxiv_id}")
    first_seen_at = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=1))
    published_at = factory.LazyAttribute(lambda o: o.first_seen_at)


class PaperTopicFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PaperTopic

    paper = factory.SubFactory(PaperFactory)
    topic = factory.SubFactory(TopicFactory)
    score = 1.0
