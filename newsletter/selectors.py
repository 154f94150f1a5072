"""Reads for digests: which papers each subscriber gets, computed in bulk for a whole chunk.

A digest holds papers first seen since the subscriber's previous digest (at most two periods back;
one period when there was none), not hidden, that carry one of the subscriber's topics (a PaperTopic
not excluded by a curator) or match one of their keywords. Ranking: featured first, then the order
score of newsletter.ranking (relevance and trending, weighed by the reader's reading order), then the
pool's static rank (trending score, recency, id). The top NEWSLETTER_DIGEST_SIZE are kept.

A reader with the "Trending today" strip on gets the window's STRIP_SIZE most-upvoted papers of any
topic (`PaperPool.trending_today`), and those are left out of their own list (not shown twice).

Readers who told us "more / less like this" (newsletter.reranking) get their topic ranking's top
FEEDBACK_POOL_FACTOR times N re-ordered by their profile, featured papers still first, and keep the top N:
feedback moves papers within the reader's own candidates and never brings in others.

A reader who follows authors by name (subscriptions.seeds) gets those authors' new papers whatever their
topics (`PaperPool.by_authors`, up to half of N), after the featured papers and before the rest.

The whole chunk shares one candidate pool loaded in three queries (papers, their topics, topics) and
kept by the process while a fingerprint query says nothing it was built from changed; previous digests,
subscribers' topics and their feedback are one query each. Nothing here queries per subscriber.
"""

from __future__ import annotations

import heapq
import re
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from functools import lru_cache

from django.db import connection
from django.db.models import Max
from django.utils import timezone

from papers.authors import AuthorName, parse_name
from papers.models import Paper, PaperTopic, Topic
from subscriptions.models import Subscriber
from subscriptions.seeds import followed_authors
from subscriptions.selectors import parse_keywords

from .conf import setting
from .models import Delivery
from .ranking import (
    DEFAULT_RANKING,
    KEYWORD_WEIGHT,
    STRIP_SIZE,
    order_score,
    ranking_of,
    strip_order_key,
    trending_term,
)
from .reranking import PaperVectors, ReaderProfile, paper_vectors, reader_profiles_load, rerank_explained

# Fields a digest shows or ranks by; the rest of a paper row stays in the database.
_PAPER_FIELDS = (
    "id", "arxiv_id", "title", "abstract", "display_title", "display_abstract", "authors", "abs_url",
    "pdf_url", "code_url", "hf_url", "first_seen_at", "updated_at", "hf_upvotes", "hf_comments", "featured",
    "trending_score",
)  # fmt: skip
# Distinct (topics, keywords, window) answers a pool keeps, and as many topic/keyword intersections
# (each clears when full: the popular combinations are back after a few readers). The bound keeps a
# worker's memory flat: with 50,000 answers a worker of a 100k list held ~15 MB more than at 10k.
MAX_CACHED_SELECTIONS = 10_000
# A reader with feedback chooses among this many times their digest's size from their topic ranking.
FEEDBACK_POOL_FACTOR = 3


# The non-ASCII characters re.IGNORECASE matches to ASCII ones, besides what str.lower() maps to
# ASCII already (KELVIN SIGN to "k"); İ is replaced before lower() would make it two characters.
# A test derives this list from the regex engine over all of Unicode.
_FOLDS_TO_ASCII = (("\u0130", "i"), ("\u0131", "i"), ("\u017f", "s"))


def fold_to_ascii(text: str) -> str | None:
    """`text` with every character that re.IGNORECASE matches to an ASCII character written as that
    character in lower case, at the same positions (None if that cannot be): an ASCII keyword in lower
    case occurs in it exactly where a case-insensitive regex for the keyword matches `text`."""
    for char, ascii_char in _FOLDS_TO_ASCII:
        if char in text:
            text = text.replace(char, ascii_char)
    folded = text.lower()
    return folded if len(folded) == len(text) else None


def find_keyword(keyword: str, corpus: str, starts: list[int], ids: list[int], *, folded: str | None):
    """Ids of the texts in `corpus` (text n starts at starts[n]) where `keyword` occurs at a word
    start, ignoring case, each once. With `folded` (fold_to_ascii(corpus), for an ASCII keyword) the
    search is str.find, ten times faster than a case-insensitive regex; else the regex."""
    if folded is not None and keyword.isascii():
        needle = keyword.lower()
        find = lambda position: folded.find(needle, position)  # noqa: E731
    else:
        pattern = re.compile(re.escape(keyword), re.IGNORECASE)

        def find(position: int) -> int:
            match = pattern.search(corpus, position)
            return -1 if match is None else match.start()

    position = 0
    while (at := find(position)) >= 0:
        # \b before the match: a word/non-word change between the previous character and the first.
        if (at > 0 and _is_word(corpus[at - 1])) != _is_word(corpus[at]):
            index = bisect_right(starts, at) - 1
            yield ids[index]
            # A keyword never holds a newline (parse_keywords), so no match spans two papers.
            position = starts[index + 1] if index + 1 < len(starts) else len(corpus)
        else:
            position = at + 1


def keyword_corpus(papers: Iterable[Paper]) -> tuple[str, list[int], list[int]]:
    """(one text holding each paper's title and abstract, where each paper starts, their ids): what
    find_keyword searches. Keyword matches are made on the text as the source wrote it."""
    ids, starts, texts, position = [], [], [], 0
    for paper in papers:
        text = f"{paper.title}\n{paper.abstract}"
        ids.append(paper.pk)
        starts.append(position)
        texts.append(text)
        position += len(text) + 1
    return "\n".join(texts), starts, ids


def keyword_hits_among(papers: Iterable[Paper], keywords: Sequence[str]) -> list[tuple[str, frozenset[int]]]:
    """Each keyword with the ids of `papers` it matches, as PaperPool.keyword_hits finds them."""
    corpus, starts, ids = keyword_corpus(papers)
    folded = fold_to_ascii(corpus)
    return [(k, frozenset(find_keyword(k, corpus, starts, ids, folded=folded))) for k in keywords]


def followed_among(papers: Iterable[Paper], names: Sequence[str]) -> frozenset[int]:
    """Ids of `papers` by an author among `names` (as PaperPool.by_authors finds them)."""
    authors = _parsed_names(tuple(names))
    if not authors:
        return frozenset()
    return frozenset(
        paper.pk
        for paper in papers
        for name in (paper.authors if isinstance(paper.authors, list) else ())
        if (parsed := parse_name(name)) is not None and any(a.matches(parsed) for a in authors)
    )


def _is_word(char: str) -> bool:
    """What the regex engine's \\w means for str patterns."""
    return char.isalnum() or char == "_"


def period(frequency: str) -> timedelta:
    return timedelta(days=7) if frequency == Subscriber.Frequency.WEEKLY else timedelta(days=1)


@dataclass(frozen=True)
class Reader:
    """What selection needs to know about one subscriber."""

    subscriber_id: int
    topic_ids: tuple[int, ...]
    keywords: tuple[str, ...]
    since: datetime
    ranking: str = DEFAULT_RANKING
    trending_strip: bool = False
    authors: tuple[AuthorName, ...] = ()  # followed (subscriptions.seeds): their papers always make it


class PaperPool:
    """Candidate papers first seen in [since, until], with their topics, loaded in three queries."""

    def __init__(self, *, since: datetime, until: datetime) -> None:
        self.topics: dict[int, Topic] = {t.pk: t for t in Topic.objects.filter(active=True)}
        self.papers: dict[int, Paper] = {
            p.pk: p
            for p in Paper.objects.filter(
                hidden=False, first_seen_at__gte=since, first_seen_at__lte=until
            ).only(*_PAPER_FIELDS)
        }
        self.by_topic: dict[int, list[tuple[int, float]]] = defaultdict(list)
        topics_of: dict[int, list[int]] = defaultdict(list)
        rows = PaperTopic.objects.filter(
            excluded=False,
            topic__active=True,
            paper__hidden=False,
            paper__first_seen_at__gte=since,
            paper__first_seen_at__lte=until,
        ).values_list("paper_id", "topic_id", "score")
        for paper_id, topic_id, score in rows:
            if paper_id in self.papers:
                self.by_topic[topic_id].append((paper_id, score))
                topics_of[paper_id].append(topic_id)
        order = {tid: (t.display_order, t.name.lower(), tid) for tid, t in self.topics.items()}
        for paper_id, paper in self.papers.items():
            # Chips shown on the paper, in the curators' topic order: a property of the paper alone,
            # so that two subscribers with the same selection get the same rendering.
            paper.digest_topics = [
                self.topics[tid].name for tid in sorted(topics_of.get(paper_id, ()), key=order.__getitem__)
            ]
        self._keyword_hits: dict[str, frozenset[int]] = {}
        self._folded: str | None = None
        self._by_family: dict[str, list[tuple[int, AuthorName]]] | None = None  # built on first use
        self._followed: dict[tuple, tuple[int, ...]] = {}
        self._prepare()

    def keyword_hits(self, keyword: str) -> frozenset[int]:
        """Papers whose title or abstract contains the keyword at a word start ("quantiz" finds both),
        ignoring case as re.IGNORECASE does.

        One pass over the pool's corpus per keyword, with no leading \\b in the search (it would keep
        the search from its fast literal scan); the word start is checked at each match instead, exactly
        as \\b would, and a paper found is skipped to its end (find_keyword).
        """
        hits = self._keyword_hits.get(keyword)
        if hits is None:
            hits = frozenset(self._search(keyword)) if keyword else frozenset()
            self._keyword_hits[keyword] = hits
        return hits

    def _search(self, keyword: str):
        folded = self._folded_corpus() if keyword.isascii() else None
        return find_keyword(keyword, self._corpus, self._corpus_starts, self._corpus_ids, folded=folded)

    def _folded_corpus(self) -> str | None:
        if self._folded is None:
            self._folded = fold_to_ascii(self._corpus) or ""
        return self._folded or None

    def _prepare(self) -> None:
        """Reader-independent structures, built once per pool: a static rank (trending, recency, id),
        each topic's non-featured papers sorted by (score, rank), each paper's topic scores."""
        order = sorted(
            self.papers.values(), key=lambda p: (-p.trending_score, -p.first_seen_at.timestamp(), -p.pk)
        )
        self._rank = {p.pk: n for n, p in enumerate(order)}
        self._trend = {p.pk: trending_term(p.trending_score) for p in order}
        self._upvoted = sorted((p for p in order if (p.hf_upvotes or 0) > 0), key=strip_order_key)
        self._strips: dict[int, tuple[int, ...]] = {}
        self._seen = {p.pk: p.first_seen_at for p in order}
        self._seen_sorted = sorted(self._seen.values())
        self._featured = [p.pk for p in order if p.featured]
        self._featured_set = frozenset(self._featured)
        self._scores_of: dict[int, dict[int, float]] = defaultdict(dict)
        self._members: dict[tuple, frozenset[int]] = {}
        self._negative = False  # the candidate bound below needs scores >= 0
        for topic_id, entries in self.by_topic.items():
            for paper_id, score in entries:
                self._scores_of[paper_id][topic_id] = score
                self._negative |= score < 0
            self._members[("t", topic_id)] = frozenset(pid for pid, _s in entries) - self._featured_set
        self._subsets: dict[tuple, tuple[frozenset[int], tuple[int, ...]]] = {}
        self._selections: dict[tuple, tuple[int, ...]] = {}
        # Keyword search runs over one text holding every paper, so each keyword is one regex pass.
        self._corpus, self._corpus_starts, self._corpus_ids = keyword_corpus(self.papers.values())

    def select(self, reader: Reader, *, limit: int) -> list[Paper]:
        """The reader's top `limit` papers, the same as `select_reference` (a test holds them equal).

        Readers with the same topics, keywords and window share one answer. Otherwise featured
        candidates are ranked directly (there are few), and the rest come from a small candidate set:
        for every combination S of the reader's topic and keyword lists whose intersection is not
        empty, the best `limit` papers of that intersection ranked by their scores over S alone.
        A paper whose lists are exactly S and that is not among those has `limit` papers ahead of it
        that score at least as much over S and at least as much overall (scores are not negative;
        sums are taken in the reference's order and float addition is monotonic): it cannot be in
        the answer. Intersections and their orders are kept per pool, so most readers only look up.
        """
        # Readers whose windows leave out the same papers share an answer: chunks composed seconds
        # apart have different `since` instants but (nearly always) the same papers in their window.
        window = bisect_left(self._seen_sorted, reader.since)
        key = (reader.topic_ids, reader.keywords, window, limit, reader.ranking)
        chosen = self._selections.get(key)
        if chosen is None:
            chosen = self._select_ids(reader, limit=limit)
            if len(self._selections) >= MAX_CACHED_SELECTIONS:
                self._selections.clear()
            self._selections[key] = chosen
        papers = self.papers
        return [papers[pid] for pid in chosen]

    def by_authors(self, authors: Sequence[AuthorName], since: datetime) -> list[Paper]:
        """The window's papers by any of these authors, in the pool's static order (trending, then
        newest): a followed author's new papers, which always make the reader's digest."""
        if self._by_family is None:
            index: dict[str, list[tuple[int, AuthorName]]] = defaultdict(list)
            for paper in self.papers.values():
                for name in paper.authors if isinstance(paper.authors, list) else ():
                    parsed = parse_name(name)
                    if parsed is not None:
                        index[parsed.family].append((paper.pk, parsed))
            self._by_family = index
        window = bisect_left(self._seen_sorted, since)
        key = (tuple(authors), window)  # readers who follow the same names share the answer
        chosen = self._followed.get(key)
        if chosen is None:
            found = {
                paper_id
                for author in authors
                for paper_id, name in self._by_family.get(author.family, ())
                if author.matches(name) and self._seen[paper_id] >= since
            }
            chosen = self._followed[key] = tuple(sorted(found, key=self._rank.__getitem__))
            if len(self._followed) >= MAX_CACHED_SELECTIONS:
                self._followed.clear()
        return [self.papers[pid] for pid in chosen]

    def trending_today(self, since: datetime) -> list[Paper]:
        """The "Trending today" strip of a window: its STRIP_SIZE most-upvoted papers, any topic."""
        window = bisect_left(self._seen_sorted, since)
        chosen = self._strips.get(window)
        if chosen is None:
            chosen = tuple(p.pk for p in self._upvoted if p.first_seen_at >= since)[:STRIP_SIZE]
            self._strips[window] = chosen
        return [self.papers[pid] for pid in chosen]

    def _relevance(self, paper_id: int, reader: Reader, hits: list[frozenset[int]]) -> float:
        scores = self._scores_of.get(paper_id, {})
        relevance = 0.0
        for topic_id in reader.topic_ids:
            score = scores.get(topic_id)
            if score is not None:
                relevance += score
        for keyword_hits in hits:
            if paper_id in keyword_hits:
                relevance += KEYWORD_WEIGHT
        return relevance

    def _lists_of(self, reader: Reader) -> list[tuple[tuple, frozenset[int]]]:
        """The reader's non-empty lists, in the reference's summing order: topics, then keywords."""
        lists = []
        for topic_id in reader.topic_ids:
            members = self._members.get(("t", topic_id))
            if members:
                lists.append((("t", topic_id), members))
        for keyword in reader.keywords:
            key = ("k", keyword)
            members = self._members.get(key)
            if members is None:
                members = self._members[key] = self.keyword_hits(keyword) - self._featured_set
            if members:
                lists.append((key, members))
        return lists

    def _score_over(self, paper_id: int, combination: tuple) -> float:
        scores = self._scores_of.get(paper_id, {})
        total = 0.0
        for kind, value in combination:
            total += scores[value] if kind == "t" else KEYWORD_WEIGHT
        return total

    def _subset(self, combination: tuple, members: frozenset[int], ranking: str) -> tuple[int, ...]:
        rank, trend = self._rank, self._trend
        return tuple(
            sorted(
                members,
                key=lambda pid: (
                    -order_score(self._score_over(pid, combination), trend[pid], ranking),
                    rank[pid],
                ),
            )
        )

    def _select_ids(self, reader: Reader, *, limit: int) -> tuple[int, ...]:
        if self._negative:
            return tuple(p.pk for p in self.select_reference(reader, limit=limit))
        hits = [self.keyword_hits(k) for k in reader.keywords]
        seen_at, since, rank, trend, ranking = (
            self._seen,
            reader.since,
            self._rank,
            self._trend,
            reader.ranking,
        )
        topics = set(reader.topic_ids)
        featured = []
        for pid in self._featured:
            if (topics & self._scores_of.get(pid, {}).keys() or any(pid in h for h in hits)) and seen_at[
                pid
            ] >= since:
                featured.append(
                    (-order_score(self._relevance(pid, reader, hits), trend[pid], ranking), rank[pid], pid)
                )
        featured.sort()
        wanted = limit - len(featured)
        if wanted <= 0:
            return tuple(pid for _r, _k, pid in featured[:limit])

        lists = self._lists_of(reader)
        all_eligible = self._seen_sorted and since <= self._seen_sorted[0]
        candidates: set[int] = set()

        def visit(combination: tuple, members: frozenset[int] | None, start: int) -> None:
            for index in range(start, len(lists)):
                key, list_members = lists[index]
                extended = (*combination, key)
                entry = self._subsets.get((ranking, extended))
                if entry is None:
                    shared = list_members if members is None else members & list_members
                    entry = (shared, self._subset(extended, shared, ranking) if shared else ())
                    if len(self._subsets) >= MAX_CACHED_SELECTIONS:
                        self._subsets.clear()
                    self._subsets[(ranking, extended)] = entry
                shared, ordered = entry
                if not shared:
                    continue  # no superset of an empty intersection is anything but empty
                if all_eligible:
                    candidates.update(ordered[:wanted])
                else:
                    taken = 0
                    for pid in ordered:
                        if seen_at[pid] >= since:
                            candidates.add(pid)
                            taken += 1
                            if taken == wanted:
                                break
                visit(extended, shared, index + 1)

        visit((), None, 0)
        best = heapq.nsmallest(
            wanted,
            candidates,
            key=lambda pid: (
                -order_score(self._relevance(pid, reader, hits), trend[pid], ranking),
                rank[pid],
            ),
        )
        return tuple(pid for _r, _k, pid in featured) + tuple(best)

    def select_reference(self, reader: Reader, *, limit: int) -> list[Paper]:
        """The ranking written out plainly: what `select` must always agree with (tests), and its
        answer when a topic score is negative (a curator's manual score may be), where the
        candidate bound `_select_ids` relies on does not hold."""
        relevance: dict[int, float] = defaultdict(float)
        for topic_id in reader.topic_ids:
            for paper_id, score in self.by_topic.get(topic_id, ()):
                relevance[paper_id] += score
        for keyword in reader.keywords:
            for paper_id in self.keyword_hits(keyword):
                relevance[paper_id] += KEYWORD_WEIGHT
        papers = self.papers
        chosen = [papers[pid] for pid in relevance if papers[pid].first_seen_at >= reader.since]
        chosen.sort(
            key=lambda p: (
                not p.featured,
                -order_score(relevance[p.pk], trending_term(p.trending_score), reader.ranking),
                -p.trending_score,
                -p.first_seen_at.timestamp(),
                -p.pk,
            )
        )
        return chosen[:limit]


# --- The pool, cached per process -----------------------------------------------------------

# A worker sends chunk after chunk of the same edition against the same papers: loading and ranking
# thousands of papers for every chunk of 500 readers was most of the time spent composing. The pool
# is kept per process and reused only while a fingerprint of everything it was built from (papers in
# its window with their flags, scores and edit times, their topic links, the topics) is unchanged: one
# aggregate query per chunk, computed by the database. Any edit, new paper or re-tag makes a new pool.
_FINGERPRINT_SQL = {
    # Every chunk runs this, so it is kept cheap: a 64-bit hash per row (no text formatting of
    # timestamps and floats), combined with XOR, with the row counts. Two different states share a
    # fingerprint only on a hash collision (about 2^-64 per change), and ids are unique, so no row
    # cancels another out. (md5 over the rows as text cost 25-30 ms per chunk at 3,000 papers.)
    "postgresql": """
        SELECT
          (SELECT count(*) || ':' || coalesce(bit_xor(hash_record_extended(
              (p.id, p.updated_at, p.hidden, p.featured, p.trending_score, p.first_seen_at), 0)), 0)
           FROM {paper} p WHERE p.first_seen_at >= %s AND p.first_seen_at <= %s),
          (SELECT count(*) || ':' || coalesce(bit_xor(hash_record_extended(
              (t.id, t.paper_id, t.topic_id, t.score, t.excluded), 0)), 0)
           FROM {papertopic} t JOIN {paper} p ON p.id = t.paper_id
           WHERE p.first_seen_at >= %s AND p.first_seen_at <= %s),
          (SELECT md5(coalesce(string_agg(
              x.id || ':' || x.updated_at || ':' || x.active || ':' || x.display_order || ':' || x.name,
              ',' ORDER BY x.id), ''))
           FROM {topic} x)
    """,
    "sqlite": """
        SELECT
          (SELECT group_concat(v, ',') FROM (SELECT p.id || ':' || p.updated_at || ':' || p.hidden || ':'
              || p.featured || ':' || p.trending_score || ':' || p.first_seen_at AS v
            FROM {paper} p WHERE p.first_seen_at >= %s AND p.first_seen_at <= %s ORDER BY p.id)),
          (SELECT group_concat(v, ',') FROM (SELECT t.id || ':' || t.paper_id || ':' || t.topic_id || ':'
              || t.score || ':' || t.excluded AS v
            FROM {papertopic} t JOIN {paper} p ON p.id = t.paper_id
            WHERE p.first_seen_at >= %s AND p.first_seen_at <= %s ORDER BY t.id)),
          (SELECT group_concat(v, ',') FROM (SELECT x.id || ':' || x.updated_at || ':' || x.active || ':'
              || x.display_order || ':' || x.name AS v FROM {topic} x ORDER BY x.id))
    """,
}


def pool_fingerprint(*, since: datetime, until: datetime) -> tuple | None:
    """What a pool for [since, until] is built from, condensed; None where the database has no recipe."""
    sql = _FINGERPRINT_SQL.get(connection.vendor)
    if sql is None:
        return None
    tables = {
        "paper": Paper._meta.db_table,
        "papertopic": PaperTopic._meta.db_table,
        "topic": Topic._meta.db_table,
    }
    bounds = [connection.ops.adapt_datetimefield_value(v) for v in (since, until)]
    with connection.cursor() as cursor:
        cursor.execute(sql.format(**tables), bounds * 2)
        return tuple(cursor.fetchone())


@dataclass
class _CachedPool:
    pool: PaperPool
    since: datetime
    fingerprint: tuple


_cached: _CachedPool | None = None


def paper_pool(*, since: datetime, until: datetime) -> PaperPool:
    """A pool for [since, until]: this process's cached one while nothing it depends on changed."""
    global _cached
    if _cached is not None and _cached.since <= since:
        fingerprint = pool_fingerprint(since=_cached.since, until=until)
        if fingerprint is not None and fingerprint == _cached.fingerprint:
            return _cached.pool
        if _cached.since == since:
            return _load_pool(since=since, until=until, fingerprint=fingerprint)
    return _load_pool(since=since, until=until, fingerprint=pool_fingerprint(since=since, until=until))


def _load_pool(*, since: datetime, until: datetime, fingerprint: tuple | None) -> PaperPool:
    global _cached
    pool = PaperPool(since=since, until=until)
    _cached = _CachedPool(pool, since, fingerprint) if fingerprint is not None else None
    return pool


def forget_pool() -> None:
    """Drop this process's cached pool (tests)."""
    global _cached
    _cached = None


def subscriber_topic_ids(subscriber_ids: Iterable[int]) -> dict[int, tuple[int, ...]]:
    """Each subscriber's chosen topic ids, in one query."""
    through = Subscriber.topics.through
    result: dict[int, list[int]] = defaultdict(list)
    for subscriber_id, topic_id in through.objects.filter(subscriber_id__any_of=subscriber_ids).values_list(
        "subscriber_id", "topic_id"
    ):
        result[subscriber_id].append(topic_id)
    return {sid: tuple(sorted(tids)) for sid, tids in result.items()}


# How far back a previous digest can still move a reader's window: `reader_since` never starts it
# more than two periods (two weeks) back, and edition dates are local dates (a day either way).
_PREVIOUS_DIGEST_HORIZON = 2 * max(period(f) for f in Subscriber.Frequency) + timedelta(days=2)


def previous_digest_starts(subscriber_ids: Iterable[int], *, before: date) -> dict[int, datetime]:
    """When each subscriber's last sent digest (edition before `before`) was composed, in one query.

    Only editions within the horizon are read: older ones cannot move the window, and without the
    bound each chunk aggregated every digest its readers ever got (a year of daily digests: 365 rows
    a reader, 0.2-0.8 s a chunk of 500 instead of a few milliseconds)."""
    rows = (
        Delivery.objects.filter(
            subscriber_id__any_of=subscriber_ids,
            status=Delivery.Status.SENT,
            edition_date__lt=before,
            edition_date__gte=before - _PREVIOUS_DIGEST_HORIZON,
        )
        .values("subscriber_id")
        .annotate(last=Max("sending_started_at"))
        .values_list("subscriber_id", "last")
    )
    return {sid: last for sid, last in rows if last is not None}


def reader_since(*, frequency: str, previous: datetime | None, now: datetime) -> datetime:
    """Start of the window of new papers: the previous digest, at most two periods back."""
    length = period(frequency)
    if previous is None:
        return now - length
    return max(previous, now - 2 * length)


def readers_for(
    subscribers: Sequence[Subscriber], *, edition_dates: dict[int, date], now: datetime
) -> list[Reader]:
    """Selection inputs for many subscribers in two queries (topics, previous digests)."""
    ids = [s.pk for s in subscribers]
    topics = subscriber_topic_ids(ids)
    # A subscriber has one row per edition date and the row being composed is not `sent` yet, so one
    # cut-off at the latest edition date is right for every subscriber of a chunk (and keeps a preview
    # of an edition already sent from counting that very edition as "previous").
    latest_date = max(edition_dates.values()) if edition_dates else timezone.localdate(now)
    previous = previous_digest_starts(ids, before=latest_date)
    return [
        Reader(
            subscriber_id=s.pk,
            topic_ids=topics.get(s.pk, ()),
            keywords=tuple(parse_keywords(s.keywords)),
            since=reader_since(frequency=s.frequency, previous=previous.get(s.pk), now=now),
            ranking=ranking_of(s.ranking),
            trending_strip=s.trending_strip,
            authors=_parsed_names(tuple(followed_authors(s))),
        )
        for s in subscribers
    ]


@lru_cache(maxsize=4096)  # the same few names recur across readers
def _parsed_names(names: tuple[str, ...]) -> tuple[AuthorName, ...]:
    return tuple(parsed for name in names if (parsed := parse_name(name)) is not None)


@dataclass
class Selection:
    """The chunk's selections by subscriber id, with the readers and pool they came from."""

    papers: dict[int, list[Paper]]
    readers: dict[int, Reader]
    pool: PaperPool | None
    # The "Trending today" strip of each reader who has it on (never repeated in `papers`).
    trending: dict[int, list[Paper]] = field(default_factory=dict)
    # Per reader with feedback: the ids of their papers that their likes moved up (newsletter.reasons).
    liked: dict[int, frozenset[int]] = field(default_factory=dict)
    # Per reader who follows authors: the ids of their papers by those authors (always included).
    followed: dict[int, frozenset[int]] = field(default_factory=dict)


def select_papers_bulk(
    subscribers: Sequence[Subscriber],
    *,
    edition_dates: dict[int, date],
    now: datetime | None = None,
    since: datetime | None = None,
    limit: int | None = None,
) -> Selection:
    """Ranked papers for each subscriber, in three queries whatever the number of subscribers (six when
    the pool is loaded afresh)."""
    now = now or timezone.now()
    limit = limit or setting("DIGEST_SIZE")
    if not subscribers:
        return Selection({}, {}, None)
    readers = readers_for(subscribers, edition_dates=edition_dates, now=now)
    if since is not None:
        readers = [replace(r, since=since) for r in readers]
    pool = paper_pool(since=min(r.since for r in readers), until=now)
    vectors = _LazyVectors()
    profiles = reader_profiles_load(subscriber_ids=[r.subscriber_id for r in readers], vectors=vectors)
    papers = {}
    trending: dict[int, list[Paper]] = {}
    wider: dict[int, list[Paper]] = {}
    liked: dict[int, frozenset[int]] = {}
    by_followed: dict[int, list[Paper]] = {}
    for r in readers:
        strip = pool.trending_today(r.since) if r.trending_strip else []
        wanted = limit * FEEDBACK_POOL_FACTOR if r.subscriber_id in profiles else limit
        chosen = pool.select(r, limit=wanted + len(strip))
        shown = {p.pk for p in strip}
        if strip:
            trending[r.subscriber_id] = strip
            chosen = [p for p in chosen if p.pk not in shown]
        found = [p for p in pool.by_authors(r.authors, r.since) if p.pk not in shown] if r.authors else []
        if found:
            by_followed[r.subscriber_id] = found[: max(1, limit // 2)]
        if r.subscriber_id in profiles:
            wider[r.subscriber_id] = chosen[:wanted]
        else:
            papers[r.subscriber_id] = chosen[:wanted]
    if wider:
        # One query for every candidate of the chunk not vectorised yet by this process.
        # Keyed by edit time: a paper whose text changed since this process vectorised it is redone.
        vectors.ensure({p.pk: p.updated_at for candidates in wider.values() for p in candidates})
        for subscriber_id, candidates in wider.items():
            chosen, lifted = reranked(candidates, profiles[subscriber_id], vectors=vectors, limit=limit)
            papers[subscriber_id] = chosen
            liked[subscriber_id] = lifted & {p.pk for p in chosen}
    followed: dict[int, frozenset[int]] = {}
    for subscriber_id, found in by_followed.items():
        # A followed author's new papers always make the digest (up to half of it, so that a prolific
        # name never crowds out the reader's topics): after the curators' featured picks, before the
        # topic ranking.
        ids = frozenset(p.pk for p in found)
        chosen = papers.get(subscriber_id, [])
        featured = [p for p in chosen if p.featured and p.pk not in ids]
        rest = [p for p in chosen if not p.featured and p.pk not in ids]
        papers[subscriber_id] = (featured + found + rest)[:limit]
        followed[subscriber_id] = ids
        if subscriber_id in liked:
            liked[subscriber_id] &= {p.pk for p in papers[subscriber_id]}
    return Selection(
        papers=papers,
        readers={r.subscriber_id: r for r in readers},
        pool=pool,
        trending=trending,
        liked=liked,
        followed=followed,
    )


def reranked(
    candidates: Sequence[Paper], profile: ReaderProfile, *, vectors: PaperVectors, limit: int
) -> tuple[list[Paper], frozenset[int]]:
    """The reader's top `limit` of their topic-ranked candidates once re-ordered by their feedback,
    and the ids of the candidates their likes lifted (newsletter.reranking.rerank_explained).

    Featured papers stay first (a curator's pick outranks a reader's taste, as in the topic ranking);
    the rest take the order `rerank` gives them. Only candidates are ever returned.
    """
    by_id = {p.pk: p for p in candidates}
    ids, lifted = rerank_explained([p.pk for p in candidates], profile, vectors=vectors)
    order = [by_id[pid] for pid in ids]
    return ([p for p in order if p.featured] + [p for p in order if not p.featured])[:limit], lifted


class _LazyVectors:
    """The process's paper vectors, fetched on first use.

    Finding the current tagger costs queries (and a fit, once per process); a chunk whose readers
    gave no feedback never needs it, so it must not pay for it.
    """

    def __init__(self) -> None:
        self._vectors: PaperVectors | None = None

    def __bool__(self) -> bool:
        return True  # never falsy: reader_profiles_load must not replace it with the eager lookup

    def __getattr__(self, name: str):
        if self._vectors is None:
            self._vectors = paper_vectors()
        return getattr(self._vectors, name)
