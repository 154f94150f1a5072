"""A synthetic but realistic data set for the digest benchmark, built once and reused.

Papers take their titles, abstracts and authors from real arXiv metadata shipped with the project
(the papers fixtures and the topic development set), varied to reach the count asked for. Subscribers
get random topic sets (popular topics more often, as in real lists), time zones around the world
(date-line zones included) and, for a third of them, keywords. Everything the benchmark creates is
recognisable: subscribers at BENCH_DOMAIN, papers with arXiv ids "bench.<n>", topics "bench-<n>";
a Source named after the parameters marks a complete data set, so a second run with the same
parameters reuses it.
"""

from __future__ import annotations

import json
import random
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from django.db import connection, transaction
from django.utils import timezone

import papers as papers_package
from papers.models import Paper, PaperTopic, Source, Topic
from papers.parsing import parse_feed
from subscriptions.models import Subscriber

BENCH_DOMAIN = "bench.invalid"  # RFC 2606: never a real mailbox
_PAPERS_DIR = Path(papers_package.__file__).resolve().parent
_FIXTURES = (_PAPERS_DIR / "fixtures" / "feeds" / "arxiv-rss-cs-large.xml",)
_DEVSET = _PAPERS_DIR / "devset" / "devset.jsonl"
_ZONES = (
    "UTC", "Europe/London", "Europe/Berlin", "Europe/Paris", "Europe/Madrid", "Europe/Warsaw",
    "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "America/Sao_Paulo",
    "Asia/Tokyo", "Asia/Shanghai", "Asia/Kolkata", "Asia/Singapore", "Asia/Seoul", "Australia/Sydney",
    "Pacific/Auckland", "Pacific/Kiritimati", "Pacific/Pago_Pago", "Africa/Lagos", "Africa/Nairobi",
)  # fmt: skip
_KEYWORDS = (
    "diffusion", "reinforcement learning", "retrieval", "agents", "quantization", "benchmark", "graph",
    "robotics", "speech", "vision", "alignment", "reasoning", "multimodal", "federated", "privacy",
    "transformer", "sparse", "medical", "code", "theorem", "translation", "3d", "video", "fairness",
)  # fmt: skip
_TITLE_FORMS = ("{}", "Revisiting {}", "{}: A Second Look", "Towards Scalable {}", "{} at Scale", "On {}")
_HOSTILE = (
    '<b>Bold</b> claims & "quotes"',
    "Tom & Jerry <script>alert(1)</script>",
    "Ünïcödé \u2018marks\u2019 — ok",
)


@dataclass(frozen=True)
class DatasetSpec:
    subscribers: int
    topics: int
    papers: int
    seed: int = 7

    @property
    def key(self) -> str:
        return f"bench-data-s{self.subscribers}-t{self.topics}-p{self.papers}-r{self.seed}"


def _real_records() -> list[dict]:
    """Titles, abstracts and authors of real papers (about 1,600)."""
    records = []
    for path in _FIXTURES:
        for r in parse_feed(Source.Kind.ARXIV_RSS, path.read_bytes()).records:
            if r.title and r.abstract:
                records.append({"title": r.title, "abstract": r.abstract, "authors": list(r.authors)})
    with _DEVSET.open(encoding="utf-8") as lines:
        for line in lines:
            item = json.loads(line)
            records.append({"title": item["title"], "abstract": item["abstract"], "authors": []})
    return records


def dataset_ready(spec: DatasetSpec) -> bool:
    return Source.objects.filter(slug=spec.key).exists()


def dataset_drop() -> None:
    """Remove every benchmark row. Subscribers and what points at them go by raw DELETEs: the ORM
    would load 100k subscribers and their relations to cascade (benchmark rows have no others)."""
    pattern = "%@" + BENCH_DOMAIN
    subscribers = Subscriber._meta.db_table
    chosen = f"IN (SELECT id FROM {subscribers} WHERE email LIKE %s)"  # noqa: S608 - names from _meta
    through = Subscriber.topics.through
    pointing = [(through._meta.db_table, through._meta.get_field("subscriber").column)]
    pointing += [(r.related_model._meta.db_table, r.field.column) for r in Subscriber._meta.related_objects]
    with transaction.atomic(), connection.cursor() as cursor:
        for table, column in pointing:
            cursor.execute(f"DELETE FROM {table} WHERE {column} {chosen}", [pattern])  # noqa: S608
        cursor.execute(f"DELETE FROM {subscribers} WHERE email LIKE %s", [pattern])  # noqa: S608
    Paper.objects.filter(arxiv_id__startswith="bench.").delete()
    Topic.objects.filter(slug__startswith="bench-").delete()
    Source.objects.filter(slug__startswith="bench-data-").delete()


def redate_papers(*, now: datetime) -> None:
    """Put the benchmark papers back inside today's window (a reused data set may be days old)."""
    rows = list(Paper.objects.filter(arxiv_id__startswith="bench.").only("pk", "first_seen_at"))
    for n, paper in enumerate(sorted(rows, key=lambda p: p.pk)):
        paper.first_seen_at = now - timedelta(minutes=5 + (n * 7) % (20 * 60))
    Paper.objects.bulk_update(rows, ["first_seen_at"], batch_size=2000)


def dataset_build(spec: DatasetSpec, *, now: datetime | None = None, log=print) -> None:
    """Build the data set for `spec`, replacing any other benchmark data."""
    now = now or timezone.now()
    rng = random.Random(spec.seed)
    dataset_drop()
    records = _real_records()
    with transaction.atomic():
        topics = Topic.objects.bulk_create(
            [
                Topic(slug=f"bench-{n}", name=f"Bench topic {n:02d}", display_order=100 + n, active=True)
                for n in range(spec.topics)
            ]
        )
        log(f"{len(topics)} topics")
        papers = []
        for n in range(spec.papers):
            base = records[n % len(records)]
            form = _TITLE_FORMS[(n // len(records)) % len(_TITLE_FORMS)]
            title = form.format(base["title"])
            if n % 97 == 0:
                title = f"{title} {_HOSTILE[n % len(_HOSTILE)]}"  # feed text that must be escaped
            sentences = base["abstract"].split(". ")
            shift = (n // len(records)) % max(1, len(sentences))
            abstract = ". ".join(sentences[shift:] + sentences[:shift])
            authors = base["authors"] or [f"Author {rng.randrange(1000)}" for _ in range(rng.randint(1, 6))]
            upvoted = rng.random() < 0.3
            papers.append(
                Paper(
                    arxiv_id=f"bench.{n:06d}",
                    title=title,
                    abstract=abstract,
                    authors=authors,
                    categories=["cs.LG"],
                    primary_category="cs.LG",
                    abs_url=f"https://arxiv.org/abs/bench.{n:06d}",
                    pdf_url=f"https://arxiv.org/pdf/bench.{n:06d}",
                    code_url=f"https://github.com/bench/paper-{n}" if rng.random() < 0.2 else "",
                    hf_url=f"https://huggingface.co/papers/bench.{n:06d}" if upvoted else "",
                    first_seen_at=now - timedelta(minutes=5 + (n * 7) % (20 * 60)),
                    hf_upvotes=rng.randint(0, 300) if upvoted else None,
                    hf_comments=rng.randint(0, 40) if upvoted else None,
                    featured=rng.random() < 0.005,
                    trending_score=round(rng.random() * 10, 3) if upvoted else 0.0,
                )
            )
        papers = Paper.objects.bulk_create(papers, batch_size=1000)
        weights = [1 / (n + 1) for n in range(spec.topics)]  # a few popular topics, a long tail
        links = []
        for paper in papers:
            for topic in set(rng.choices(topics, weights=weights, k=rng.randint(1, 3))):
                links.append(PaperTopic(paper=paper, topic=topic, score=round(rng.uniform(0.5, 3.0), 2)))
        PaperTopic.objects.bulk_create(links, batch_size=5000)
        log(f"{len(papers)} papers, {len(links)} paper topics")

    through = Subscriber.topics.through
    batch = 5000
    for start in range(0, spec.subscribers, batch):
        with transaction.atomic():
            chunk = []
            for n in range(start, min(spec.subscribers, start + batch)):
                keywords = ", ".join(rng.sample(_KEYWORDS, rng.randint(1, 2))) if rng.random() < 0.33 else ""
                chunk.append(
                    Subscriber(
                        email=f"reader{n}@{BENCH_DOMAIN}",
                        status=Subscriber.Status.ACTIVE,
                        confirmed_at=now,
                        keywords=keywords,
                        frequency=Subscriber.Frequency.DAILY,
                        delivery_hour=0,  # due at any hour of the benchmark, in every zone
                        timezone=rng.choice(_ZONES),
                        token_key=secrets.token_urlsafe(16),
                    )
                )
            chunk = Subscriber.objects.bulk_create(chunk, batch_size=batch)
            rows = []
            for s in chunk:
                for topic in set(rng.choices(topics, weights=weights, k=rng.randint(1, 4))):
                    rows.append(through(subscriber_id=s.pk, topic_id=topic.pk))
            through.objects.bulk_create(rows, batch_size=batch)
        log(f"{start + len(chunk)} subscribers")
    Source.objects.create(
        slug=spec.key,
        name=f"Benchmark data {spec.key}",
        kind=Source.Kind.RSS_ATOM,
        url="https://bench.invalid/feed",
        enabled=False,
        fetch_interval=timedelta(days=365),
    )


def dataset_ensure(spec: DatasetSpec, *, now: datetime | None = None, log=print) -> bool:
    """Build the data set unless one with these parameters exists; True when it was built."""
    if dataset_ready(spec):
        return False
    dataset_build(spec, now=now, log=log)
    return True


def foreign_subscribers() -> int:
    """Active subscribers who are not benchmark data (the benchmark refuses to run next to them)."""
    return (
        Subscriber.objects.filter(status=Subscriber.Status.ACTIVE)
        .exclude(email__endswith="@" + BENCH_DOMAIN)
        .count()
    )
