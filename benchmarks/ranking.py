"""Offline evaluation of the digest's order on the dev set: the relevance-first order against the new ones.

Readers: every single topic and every combination of four default topics. Each reader's candidates
on each dev-set day are the papers the topic model tags with one of their topics (scored by 5-fold
cross-validation, as `python -m papers.devset.evaluate --folds 5` does, so no paper is scored by a
model that learnt it); the upvotes and comments are the Hugging Face fixture lists of those days
(papers/fixtures/feeds, synthetic counts), scored by papers.trending at the moment of the list.

Per reader and day, over their top 10 (DIGEST_SIZE):
- topic precision: the share of the top 10 whose hand labels hold one of the reader's topics;
- upvote share: the upvotes of the top 10's papers labelled with one of the reader's topics, over the
  upvotes of every paper of that day labelled with one of them (the day's matched upvotes; papers the
  model does not tag are not candidates, so 1.0 is out of reach);
- top 3 in first 5: whether the three most-upvoted candidates are all in the first five places.
Means over readers (the upvote share over readers whose day has matched upvotes).
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from newsletter import ranking
from papers.devset.evaluate import topic_rows
from papers.relevance.examples import examples_from_records
from papers.relevance.labelled import load_devset
from papers.relevance.model import TopicSpec, fit_tagger
from papers.trending import trending_score

FEEDS = Path(__file__).resolve().parent.parent / "papers" / "fixtures" / "feeds"
DIGEST_SIZE = 10
READER_TOPICS = 4  # the reader follows four topics


@dataclass(frozen=True)
class Candidate:
    arxiv_id: str
    labels: frozenset[str]
    scores: Mapping[str, float]  # topic slug -> score, for the topics the model tags it with
    upvotes: int
    trending: float


def cross_validated_scores(records: Sequence[Mapping], *, folds: int = 5, seed: int = 0) -> dict[str, dict]:
    """{arxiv_id: {slug: score}} for the topics each paper is tagged with, by a model of the other folds."""
    specs = [TopicSpec.from_topic(row) for row in topic_rows()]
    slug_by_id = {spec.id: spec.slug for spec in specs}
    order = list(range(len(records)))
    random.Random(seed).shuffle(order)
    scored: dict[str, dict] = {}
    for fold in range(folds):
        held = set(order[fold::folds])
        tagger = fit_tagger(specs, examples_from_records([records[i] for i in order if i not in held]))
        held_out = [records[i] for i in order[fold::folds]]
        for record, scores in zip(held_out, tagger.score_many(held_out), strict=True):
            scored[record["arxiv_id"]] = {slug_by_id[tid]: score for tid, score in scores.items()}
    return scored


def hf_counts(day: str) -> dict[str, tuple[int, int]]:
    """{arxiv_id: (upvotes, comments)} of the Hugging Face fixture list of `day`."""
    path = FEEDS / f"hf-daily-papers-{day}.json"
    if not path.exists():
        return {}
    return {
        item["paper"]["id"]: (item["paper"].get("upvotes") or 0, item.get("numComments") or 0)
        for item in json.loads(path.read_text())
    }


def candidates_by_day(records: Sequence[Mapping], scores: Mapping[str, dict]) -> dict[str, list[Candidate]]:
    now = datetime(2026, 1, 1, tzinfo=UTC)  # the list's moment: no decay
    days: dict[str, list[Candidate]] = {}
    counts = {day: hf_counts(day) for day in {r["day"] for r in records}}
    for record in records:
        upvotes, comments = counts[record["day"]].get(record["arxiv_id"], (0, 0))
        days.setdefault(record["day"], []).append(
            Candidate(
                arxiv_id=record["arxiv_id"],
                labels=frozenset(record["labels"]),
                scores=scores[record["arxiv_id"]],
                upvotes=upvotes,
                trending=trending_score(upvotes=upvotes, comments=comments, since=now, now=now),
            )
        )
    return days


def ranked(candidates: Sequence[Candidate], topics: frozenset[str], order: str) -> list[Candidate]:
    """The reader's candidates in the digest's order (newsletter.ranking; ties as the pool breaks them)."""
    mine = [c for c in candidates if topics & c.scores.keys()]
    relevance = {c.arxiv_id: sum(c.scores.get(t, 0.0) for t in sorted(topics)) for c in mine}
    return sorted(
        mine,
        key=lambda c: (
            -ranking.order_score(relevance[c.arxiv_id], ranking.trending_term(c.trending), order),
            -c.trending,
            c.arxiv_id,
        ),
    )


def evaluate(days: Mapping[str, list[Candidate]], readers: Sequence[frozenset[str]], order: str) -> dict:
    precision, share, top3, counted = [], [], [], 0
    for candidates in days.values():
        for topics in readers:
            order_of = ranked(candidates, topics, order)
            if not order_of:
                continue
            counted += 1
            top = order_of[:DIGEST_SIZE]
            precision.append(sum(bool(c.labels & topics) for c in top) / len(top))
            matched = sum(c.upvotes for c in candidates if c.labels & topics)
            if matched:
                share.append(sum(c.upvotes for c in top if c.labels & topics) / matched)
            upvoted = sorted((c for c in order_of if c.upvotes), key=lambda c: -c.upvotes)[:3]
            if upvoted:
                top3.append({c.arxiv_id for c in upvoted} <= {c.arxiv_id for c in order_of[:5]})
    mean = lambda values: sum(values) / len(values) if values else 0.0  # noqa: E731
    return {
        "readers": counted,
        "precision_at_10": round(mean(precision), 4),
        "upvote_share_at_10": round(mean(share), 4),
        "top3_in_first_5": round(mean(top3), 4),
    }


def run(*, weights: Sequence[float] = ()) -> list[tuple[str, dict]]:
    """Rows of (order, figures): relevance-first (the old order), balanced, most discussed first, and
    balanced at each of `weights` (a sweep)."""
    records = load_devset()
    days = candidates_by_day(records, cross_validated_scores(records))
    slugs = [row.slug for row in topic_rows()]
    readers = [frozenset([s]) for s in slugs] + [
        frozenset(c) for c in itertools.combinations(slugs, READER_TOPICS)
    ]
    rows = [
        ("relevance first (old)", evaluate(days, readers, ranking.Subscriber.Ranking.TOPICS)),
        ("balanced (new default)", evaluate(days, readers, ranking.Subscriber.Ranking.BALANCED)),
        ("most discussed first", evaluate(days, readers, ranking.Subscriber.Ranking.DISCUSSED)),
    ]
    default = ranking.TRENDING_WEIGHTS[ranking.Subscriber.Ranking.BALANCED]
    try:
        for weight in weights:
            ranking.TRENDING_WEIGHTS[ranking.Subscriber.Ranking.BALANCED] = weight
            rows.append(
                (f"balanced, weight {weight:g}", evaluate(days, readers, ranking.Subscriber.Ranking.BALANCED))
            )
    finally:
        ranking.TRENDING_WEIGHTS[ranking.Subscriber.Ranking.BALANCED] = default
    return rows


def format_table(rows: Sequence[tuple[str, dict]]) -> list[str]:
    lines = [
        f"{'order':<26} {'readers':>7} {'precision@10':>13} {'upvote share@10':>16} {'top 3 in first 5':>17}"
    ]
    for name, figures in rows:
        lines.append(
            f"{name:<26} {figures['readers']:>7} {figures['precision_at_10']:>13.3f} "
            f"{figures['upvote_share_at_10']:>16.3f} {figures['top3_in_first_5']:>17.3f}"
        )
    return lines
