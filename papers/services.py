"""Writes for papers: bulk upsert of feed records, topic tagging, curation, trending, source health."""

import logging
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from django.db import IntegrityError, connection, models, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from .conf import fetch_max_backoff, setting
from .models import Paper, PaperSighting, PaperTopic, Source, Topic
from .parsing.records import PaperRecord
from .relevance.loading import active_tagger
from .relevance.model import TopicTagger
from .selectors import sources_due
from .tagging import TopicIndex
from .trending import trending_score

logger = logging.getLogger(__name__)

# Rows per INSERT/UPDATE statement and ids per IN (...) lookup: well under SQLite's variable limit.
BATCH_SIZE = 500
# A concurrent ingest (cs.LG and cs.CL share cross-listed papers) may insert the same paper first;
# the upsert then re-reads and merges. Twice more is plenty: each retry sees the other's rows.
UPSERT_ATTEMPTS = 3
_TAGGED_FIELDS = frozenset({"title", "abstract", "categories", "primary_category"})


@dataclass
class UpsertResult:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0  # duplicates of another entry of the same feed
    # Papers whose topics must be (re)computed: new ones and those whose text or categories changed.
    papers_to_tag: list[Paper] = field(default_factory=list)
    new_paper_ids: list[int] = field(default_factory=list)
    # Papers whose Hugging Face counts changed: their trending score is recomputed.
    papers_to_rank: list[Paper] = field(default_factory=list)


def _chunks(values: Sequence, size: int = BATCH_SIZE):
    for start in range(0, len(values), size):
        yield values[start : start + size]


# --- Lean bulk INSERT -----------------------------------------------------------------------------
# QuerySet.bulk_create compiles every value of every row through the ORM's expression machinery:
# for a thousand papers that costs more than the database takes to store them, and on SQLite it
# assumes the 999-variable limit of old builds (25 statements per thousand papers). The ingest's
# hot inserts (papers, sightings, topic rows) go through `_insert_rows` and
# `_insert_rows_returning_pks` instead: values of plain types are sent as they are, other fields
# still prepare their own values, and rows go in few statements (new papers by COPY on PostgreSQL).
# The rest of the app keeps the ORM: these paths are worth their extra code only at feed volume.

# Fields whose Python values (str, int, float, bool, None) need no preparation for the database.
_PLAIN_INTERNAL_TYPES = frozenset(
    {
        "BigIntegerField", "BooleanField", "CharField", "FloatField", "ForeignKey", "IntegerField",
        "PositiveBigIntegerField", "PositiveIntegerField", "PositiveSmallIntegerField",
        "SlugField", "SmallIntegerField", "TextField",
    }
)  # fmt: skip
_POSTGRES_MAX_PARAMS = 65535  # the wire protocol counts parameters in 16 bits
_LOOKUP_CHUNK_SIZE = 5000  # keys per IN (...) when looking up a feed's papers
_UNNEST_BATCH_SIZE = 5000  # rows per INSERT ... SELECT FROM UNNEST on PostgreSQL (a few MB of text)


def _db_adapter(field: models.Field):
    """A function turning a Python value of `field` into what the database driver is given."""
    internal_type = field.get_internal_type()
    if internal_type in _PLAIN_INTERNAL_TYPES:
        return None
    if internal_type == "DateTimeField":
        # Values are aware datetimes, what the full get_db_prep_save would only check. A feed's
        # papers share a few dates (and the ingest's "now"): each is converted once.
        adapt, converted = connection.ops.adapt_datetimefield_value, {}

        def adapt_datetime(value):
            if value not in converted:
                converted[value] = adapt(value)
            return converted[value]

        return adapt_datetime
    if internal_type == "JSONField":
        # What JSONField.get_db_prep_save comes down to for plain lists and dicts.
        adapt_json, encoder = connection.ops.adapt_json_value, field.encoder
        return lambda value: adapt_json(value, encoder)
    return lambda value: field.get_db_prep_save(value, connection=connection)


def _max_query_params() -> int:
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        # The build's real limit (32766 since SQLite 3.32), not Django's conservative 999.
        return connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    if connection.vendor == "postgresql":
        return _POSTGRES_MAX_PARAMS
    return connection.features.max_query_params or 999


def _values_statements(fields: list[models.Field], rows: Sequence[Sequence]):
    """(SQL, params) of multi-row VALUES lists, as many rows a statement as the parameter limit allows."""
    row_sql = "(" + ", ".join(["%s"] * len(fields)) + ")"
    per_statement = max(1, min(BATCH_SIZE, _max_query_params() // len(fields)))
    for batch in _chunks(rows, per_statement):
        yield "VALUES " + ", ".join([row_sql] * len(batch)), [value for row in batch for value in row]


def _unnest_statements(fields: list[models.Field], rows: Sequence[Sequence]):
    """PostgreSQL: (SQL, params) with one array per column, SELECT * FROM UNNEST(...).

    The driver expands a VALUES list of ten thousand placeholders in Python, which costs more
    than the server takes to store the rows; one array per column keeps the statement short.
    Rows come out of UNNEST, and their ids out of RETURNING, in order (bulk_create relies on it too).
    """
    # varchar[] rather than varchar(40)[]: a cast to a sized array would silently truncate.
    db_types = [field.db_type(connection).split("(")[0] for field in fields]
    # Column types come from the model's fields; every value is a parameter.
    arrays = ", ".join(f"(%s)::{db_type}[]" for db_type in db_types)
    select = f"SELECT * FROM UNNEST({arrays})"  # noqa: S608
    for batch in _chunks(rows, _UNNEST_BATCH_SIZE):
        yield select, [list(column) for column in zip(*batch, strict=True)]


def _prepared(fields: list[models.Field], rows: Sequence[Sequence]) -> Sequence[Sequence]:
    adapters = [(position, _db_adapter(field)) for position, field in enumerate(fields)]
    adapters = [(position, adapter) for position, adapter in adapters if adapter is not None]
    if not adapters:
        return rows
    prepared = []
    for row in rows:
        row = list(row)
        for position, adapter in adapters:
            row[position] = adapter(row[position])
        prepared.append(row)
    return prepared


def _insert_head(model: type[models.Model], fields: list[models.Field]) -> str:
    quote = connection.ops.quote_name
    # Only names from the model's metadata go into the SQL text; every value is a parameter.
    return f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "


def _insert_rows(
    model: type[models.Model],
    *,
    columns: Sequence[str],
    rows: Sequence[Sequence],
    ignore_conflicts: bool = False,
) -> None:
    """INSERT `rows` (Python values, in the order of `columns`) in multi-row statements.

    With `ignore_conflicts`, rows that break a unique constraint are left out (ON CONFLICT DO NOTHING).
    """
    if not rows:
        return
    fields = [model._meta.get_field(column) for column in columns]
    head = _insert_head(model, fields)
    tail = " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
    statements = _unnest_statements if connection.vendor == "postgresql" else _values_statements
    with connection.cursor() as cursor:
        for rows_sql, params in statements(fields, _prepared(fields, rows)):
            cursor.execute(head + rows_sql + tail, params)


def _insert_rows_returning_pks(
    model: type[models.Model], *, columns: Sequence[str], rows: Sequence[Sequence]
) -> list[int]:
    """INSERT `rows` like `_insert_rows`; returns their new primary keys, in the order of `rows`.

    PostgreSQL: keys drawn from the table's sequence, rows loaded with COPY, its bulk-load path
    (a third of the time of INSERT ... SELECT FROM UNNEST for a thousand papers). Elsewhere:
    INSERT ... RETURNING, whose rows come back in order as bulk_create relies on.
    """
    if not rows:
        return []
    meta = model._meta
    fields = [meta.get_field(column) for column in columns]
    prepared = _prepared(fields, rows)
    quote = connection.ops.quote_name
    if connection.vendor == "postgresql":
        return _copy_rows(model, fields, prepared)
    pks: list[int] = []
    head = _insert_head(model, fields)
    tail = f" RETURNING {quote(meta.pk.column)}"
    with connection.cursor() as cursor:
        for rows_sql, params in _values_statements(fields, prepared):
            cursor.execute(head + rows_sql + tail, params)
            pks.extend(pk for (pk,) in cursor.fetchall())
    return pks


def _copy_rows(model: type[models.Model], fields: list[models.Field], rows: Sequence[Sequence]) -> list[int]:
    """PostgreSQL: reserve len(rows) ids from the table's sequence, then COPY the rows with them."""
    meta = model._meta
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in (meta.pk, *fields))
    # Only names from the model's metadata go into the SQL text.
    copy_sql = f"COPY {quote(meta.db_table)} ({columns}) FROM STDIN"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [quote(meta.db_table), meta.pk.column, len(rows)],
        )
        pks = [pk for (pk,) in cursor.fetchall()]
        started = time.monotonic()
        # COPY is not an execute(): errors are translated (IntegrityError for a concurrent insert,
        # which the upsert retries) and the statement is logged (query capture) here.
        with connection.wrap_database_errors, cursor.copy(copy_sql) as copy:
            for pk, row in zip(pks, rows, strict=True):
                copy.write_row((pk, *row))
        if connection.queries_logged:
            connection.queries_log.append(
                {"sql": f"{copy_sql} -- {len(rows)} rows", "time": f"{time.monotonic() - started:.3f}"}
            )
    return pks


def _record_key(record: PaperRecord) -> tuple[str, str]:
    if record.arxiv_id:
        return ("arxiv", record.arxiv_id)
    if record.doi:
        return ("doi", record.doi)
    return ("guid", record.guid)


def _dedupe_batch(records: Iterable[PaperRecord]) -> tuple[list[PaperRecord], int]:
    """One record per paper; of two versions of one paper in a feed, the newer wins."""
    kept: dict[tuple[str, str], PaperRecord] = {}
    duplicates = 0
    for record in records:
        if record.doi and record.doi != record.doi.lower():
            record = replace(record, doi=record.doi.lower())  # DOIs ignore case; stored lower-case
        key = _record_key(record)
        previous = kept.get(key)
        if previous is not None:
            duplicates += 1
            if (record.version or 0) <= (previous.version or 0):
                continue
        kept[key] = record
    return list(kept.values()), duplicates


# Paper's columns but its id, as (attname, field), in model order: the layout of `_paper_row`.
_PAPER_COLUMNS = [(field.attname, field) for field in Paper._meta.concrete_fields if not field.primary_key]
_PAPER_ATTNAMES = [field.attname for field in Paper._meta.concrete_fields]
_PAPER_PK_POSITION = Paper._meta.concrete_fields.index(Paper._meta.pk)


def _new_paper_values(record: PaperRecord, *, now: datetime) -> dict[str, object]:
    """Column values of a paper first seen in `record` (fields left out take their model default)."""
    return {
        "arxiv_id": record.arxiv_id,
        "version": record.version,
        "doi": record.doi,
        "title": record.title,
        "abstract": record.abstract,
        "authors": list(record.authors),
        "categories": list(record.categories),
        "primary_category": record.primary_category,
        "comment": record.comment,
        "abs_url": record.abs_url,
        "pdf_url": record.pdf_url,
        "code_url": record.code_url,
        "project_url": record.project_url,
        "hf_url": record.hf_url,
        "published_at": record.published_at,
        "first_seen_at": now,
        "updated_at": now,
        "hf_upvotes": record.hf_upvotes,
        "hf_comments": record.hf_comments,
        "ai_summary": record.ai_summary,
    }


def _merge(paper: Paper, record: PaperRecord) -> set[str]:
    """Apply a record to a stored paper; returns the names of the fields that changed.

    A newer arXiv version replaces the text in place. Records of the same version (or of no
    version, as on Hugging Face) only fill what is missing, so that two sources describing one
    paper slightly differently never flip it back and forth. Hugging Face owns its own fields.
    """
    changed: set[str] = set()

    def put(name: str, value) -> None:
        if getattr(paper, name) != value:
            setattr(paper, name, value)
            changed.add(name)

    def fill(name: str, value) -> None:
        if value not in (None, "", [], ()) and getattr(paper, name) in (None, "", []):
            put(name, value)

    newer = record.version is not None and (paper.version is None or record.version > paper.version)
    # Entries of generic feeds without an arXiv id are the paper's only description: they win.
    own_entry = not record.arxiv_id and not paper.arxiv_id
    if record.arxiv_id and not paper.arxiv_id:
        put("arxiv_id", record.arxiv_id)
    if newer or own_entry:
        if newer:
            put("version", record.version)
        put("title", record.title)
        if record.abstract:
            put("abstract", record.abstract)
        if record.authors:
            put("authors", list(record.authors))
        if record.categories:
            put("categories", list(record.categories))
            put("primary_category", record.primary_category)
        if record.comment:
            put("comment", record.comment)
    else:
        fill("abstract", record.abstract)
        fill("authors", list(record.authors))
        fill("categories", list(record.categories))
        fill("primary_category", record.primary_category)
        fill("comment", record.comment)
    fill("doi", record.doi)
    fill("published_at", record.published_at)
    fill("abs_url", record.abs_url)
    fill("pdf_url", record.pdf_url)
    for name in ("code_url", "project_url", "hf_url", "ai_summary"):
        if getattr(record, name):
            put(name, getattr(record, name))
    for name in ("hf_upvotes", "hf_comments"):
        if getattr(record, name) is not None:
            put(name, getattr(record, name))
    return changed


def _existing(source: Source, records: list[PaperRecord]):
    arxiv_ids = [r.arxiv_id for r in records if r.arxiv_id]
    dois = sorted({r.doi for r in records if r.doi})
    guids = [r.guid for r in records]
    # One lookup per kind of key for a feed of a few thousand entries, where the database allows it.
    size = max(BATCH_SIZE, min(_LOOKUP_CHUNK_SIZE, _max_query_params() - 100))
    by_arxiv: dict[str, Paper] = {}
    for chunk in _chunks(arxiv_ids, size):
        by_arxiv.update((p.arxiv_id, p) for p in Paper.objects.filter(arxiv_id__in=chunk))
    by_doi: dict[str, Paper] = {}
    for chunk in _chunks(dois, size):
        papers = Paper.objects.alias(doi_ci=Lower("doi")).filter(doi_ci__in=chunk)
        by_doi.update((p.doi.lower(), p) for p in papers)
    sighted: dict[str, int] = {}
    for chunk in _chunks(guids, size):
        sighted.update(
            PaperSighting.objects.filter(source=source, guid__in=chunk).values_list("guid", "paper_id")
        )
    missing_ids = set(sighted.values()) - {p.pk for p in (*by_arxiv.values(), *by_doi.values())}
    by_id = {p.pk: p for p in (*by_arxiv.values(), *by_doi.values())}
    for chunk in _chunks(sorted(missing_ids), size):
        by_id.update((p.pk, p) for p in Paper.objects.filter(pk__in=chunk))
    by_guid = {guid: by_id[paper_id] for guid, paper_id in sighted.items() if paper_id in by_id}
    return by_arxiv, by_doi, by_guid


def _paper_row(values: dict[str, object]) -> list:
    """All columns of a new paper but its id, in model order; fields not given take their default."""
    return [values[name] if name in values else field.get_default() for name, field in _PAPER_COLUMNS]


def _with_pk(pk: int | None, row: list) -> list:
    """A whole row in model order: the id put in its place among `_paper_row`'s values."""
    return [*row[:_PAPER_PK_POSITION], pk, *row[_PAPER_PK_POSITION:]]


def _papers_create(rows: list[list]) -> list[Paper]:
    """INSERT new papers; returns them as saved model instances (for tagging and ranking)."""
    if not connection.features.can_return_rows_from_bulk_insert:
        return Paper.objects.bulk_create([Paper(*_with_pk(None, row)) for row in rows], batch_size=BATCH_SIZE)
    pks = _insert_rows_returning_pks(Paper, columns=[name for name, _ in _PAPER_COLUMNS], rows=rows)
    # Positional construction is the model's fast path (the way rows read from the database are built).
    return [
        Paper.from_db(connection.alias, _PAPER_ATTNAMES, _with_pk(pk, row))
        for pk, row in zip(pks, rows, strict=True)
    ]


def _upsert(*, source: Source, records: list[PaperRecord], now: datetime) -> UpsertResult:
    result = UpsertResult()
    records, result.skipped = _dedupe_batch(records)
    by_arxiv, by_doi, by_guid = _existing(source, records)
    claimed_dois = {doi: paper.pk for doi, paper in by_doi.items()}
    new_rows: list[list] = []
    new_ranked: list[int] = []  # positions in new_rows of papers with Hugging Face counts
    to_update: dict[int, Paper] = {}
    updated_fields: set[str] = set()
    # (stored paper, guid) or (None, guid, position in new_rows) for papers about to be created.
    seen_existing: list[tuple[Paper, str]] = []
    seen_new: list[tuple[int, str]] = []

    for record in records:
        paper = (
            (by_arxiv.get(record.arxiv_id) if record.arxiv_id else None)
            or (by_doi.get(record.doi) if record.doi else None)
            or by_guid.get(record.guid)
        )
        if record.doi:
            claimant = paper.pk if paper else -len(new_rows) - 1
            if claimed_dois.setdefault(record.doi, claimant) != claimant:
                # The DOI already belongs to another paper: keep this one without it rather than fail.
                record = replace(record, doi=None)
        if paper is None:
            if record.hf_upvotes is not None or record.hf_comments is not None:
                new_ranked.append(len(new_rows))
            seen_new.append((len(new_rows), record.guid))
            new_rows.append(_paper_row(_new_paper_values(record, now=now)))
            continue
        changed = _merge(paper, record)
        if changed:
            paper.updated_at = now
            to_update[paper.pk] = paper
            updated_fields |= changed
            if changed & _TAGGED_FIELDS:
                result.papers_to_tag.append(paper)
            if changed & {"hf_upvotes", "hf_comments"}:
                result.papers_to_rank.append(paper)
        if by_guid.get(record.guid) is not paper:
            seen_existing.append((paper, record.guid))

    result.new = len(new_rows)
    result.updated = len(to_update)
    result.unchanged = len(records) - result.new - result.updated
    created = _papers_create(new_rows) if new_rows else []
    result.new_paper_ids = [paper.pk for paper in created]
    result.papers_to_tag.extend(created)
    result.papers_to_rank.extend(created[position] for position in new_ranked)
    if to_update:
        Paper.objects.bulk_update(
            list(to_update.values()), sorted(updated_fields | {"updated_at"}), batch_size=BATCH_SIZE
        )
    sightings = [(paper.pk, guid) for paper, guid in seen_existing]
    sightings += [(created[position].pk, guid) for position, guid in seen_new]
    if sightings:
        _insert_rows(
            PaperSighting,
            columns=("paper", "source", "guid", "first_seen_at"),
            rows=[(paper_id, source.pk, guid[:1000], now) for paper_id, guid in sightings],
            ignore_conflicts=True,
        )
    return result


def paper_upsert_many(
    *, source: Source, records: Sequence[PaperRecord], now: datetime | None = None
) -> UpsertResult:
    """Insert new papers and update changed ones in bulk, deduplicated by arXiv id, DOI, (source, guid).

    An unchanged feed writes nothing: no INSERT, no UPDATE. Runs in one transaction; callers must
    not hold network connections open inside it.
    """
    now = now or timezone.now()
    for attempt in range(1, UPSERT_ATTEMPTS + 1):
        try:
            with transaction.atomic():
                return _upsert(source=source, records=list(records), now=now)
        except IntegrityError:
            if attempt == UPSERT_ATTEMPTS:
                raise
            logger.info("concurrent insert while ingesting %s; merging again", source.slug)
    raise AssertionError("unreachable")


# --- Topics ---------------------------------------------------------------------------------------


def active_topic_index() -> TopicTagger:
    """The active topics' tagger (rules + text model), fitted once per process per version."""
    return active_tagger()


def paper_topics_assign(
    *,
    papers: Sequence[Paper],
    index: TopicTagger | TopicIndex | None = None,
    new_paper_ids: Iterable[int] = (),
) -> dict[str, int]:
    """Compute topics for these papers and write only the differences.

    Rows a person made (manual) or removed (excluded) are never touched. Topics outside `index`
    (inactive ones) keep their rows; `topic_retag` handles a topic that changed. Papers listed in
    `new_paper_ids` were just created and have no rows to compare with.
    """
    index = index if index is not None else active_topic_index()
    counts = {"created": 0, "updated": 0, "deleted": 0}
    if not papers or not index.topics:
        return counts
    indexed_topic_ids = {topic.topic_id for topic in index.topics}
    new_ids = set(new_paper_ids)
    paper_ids = [paper.pk for paper in papers if paper.pk not in new_ids]
    existing: dict[tuple[int, int], PaperTopic] = {}
    for chunk in _chunks(paper_ids):
        for row in PaperTopic.objects.filter(paper_id__in=chunk, topic_id__in=indexed_topic_ids):
            existing[(row.paper_id, row.topic_id)] = row
    to_create, to_update = [], []
    # One vectorised pass over the batch (papers.relevance); TopicIndex offers the same call.
    for paper, scores in zip(papers, index.score_many(papers), strict=True):
        for topic_id, score in scores.items():
            row = existing.pop((paper.pk, topic_id), None)
            if row is None:
                to_create.append((paper.pk, topic_id, score))
            elif not (row.manual or row.excluded) and row.score != score:
                row.score = score
                to_update.append(row)
    # What is left of the existing rows no longer matches.
    to_delete = [row.pk for row in existing.values() if not (row.manual or row.excluded)]
    if to_create:
        _insert_rows(
            PaperTopic,
            columns=("paper", "topic", "score", "manual", "excluded"),
            rows=[(paper_id, topic_id, score, False, False) for paper_id, topic_id, score in to_create],
            ignore_conflicts=True,
        )
    if to_update:
        PaperTopic.objects.bulk_update(to_update, ["score"], batch_size=BATCH_SIZE)
    for chunk in _chunks(to_delete):
        PaperTopic.objects.filter(pk__in=chunk).delete()
    counts.update(created=len(to_create), updated=len(to_update), deleted=len(to_delete))
    return counts


def topic_retag(*, topic_id: int, chunk_size: int = 2000) -> dict[str, int]:
    """Re-tag every paper for one topic after its keywords, categories, threshold or state changed."""
    topic = Topic.objects.get(pk=topic_id)
    totals = {"created": 0, "updated": 0, "deleted": 0}
    if not topic.active:
        deleted, _ = PaperTopic.objects.filter(topic=topic, manual=False, excluded=False).delete()
        totals["deleted"] = deleted
        return totals
    index = active_tagger().restricted([topic.pk])
    last_id = 0
    while True:
        papers = list(
            Paper.objects.filter(pk__gt=last_id)
            .order_by("pk")
            .only("id", "title", "abstract", "categories", "primary_category")[:chunk_size]
        )
        if not papers:
            return totals
        with transaction.atomic():
            counts = paper_topics_assign(papers=papers, index=index)
        for key, value in counts.items():
            totals[key] += value
        last_id = papers[-1].pk


def papers_retag(*, paper_ids: Sequence[int]) -> dict[str, int]:
    """Re-tag these papers against every active topic (admin action)."""
    index = active_topic_index()
    totals = {"created": 0, "updated": 0, "deleted": 0}
    for chunk in _chunks(list(paper_ids)):
        papers = list(
            Paper.objects.filter(pk__in=chunk).only(
                "id", "title", "abstract", "categories", "primary_category"
            )
        )
        with transaction.atomic():
            counts = paper_topics_assign(papers=papers, index=index)
        for key, value in counts.items():
            totals[key] += value
    return totals


# --- Curation -------------------------------------------------------------------------------------


def papers_set_featured(*, paper_ids: Sequence[int], featured: bool) -> int:
    return (
        Paper.objects.filter(pk__in=paper_ids)
        .exclude(featured=featured)
        .update(featured=featured, updated_at=timezone.now())
    )


def papers_set_hidden(*, paper_ids: Sequence[int], hidden: bool) -> int:
    return (
        Paper.objects.filter(pk__in=paper_ids)
        .exclude(hidden=hidden)
        .update(hidden=hidden, updated_at=timezone.now())
    )


# --- Trending -------------------------------------------------------------------------------------


def papers_rank(*, papers: Sequence[Paper], now: datetime | None = None) -> int:
    """Recompute the trending score of these papers; writes only scores that changed."""
    now = now or timezone.now()
    changed = []
    for paper in papers:
        score = trending_score(
            upvotes=paper.hf_upvotes, comments=paper.hf_comments, since=paper.first_seen_at, now=now
        )
        if paper.trending_score != score:
            paper.trending_score = score
            changed.append(paper)
    if changed:
        Paper.objects.bulk_update(changed, ["trending_score"], batch_size=BATCH_SIZE)
    return len(changed)


def trending_recompute(*, now: datetime | None = None) -> int:
    """Decay every recent paper's score; papers past the window drop to 0 (they no longer trend)."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=setting("TRENDING_WINDOW_DAYS"))
    recent = list(
        Paper.objects.filter(first_seen_at__gte=cutoff)
        .exclude(hf_upvotes__isnull=True, hf_comments__isnull=True)
        .only("id", "hf_upvotes", "hf_comments", "first_seen_at", "trending_score")
    )
    changed = papers_rank(papers=recent, now=now)
    changed += Paper.objects.filter(first_seen_at__lt=cutoff, trending_score__gt=0).update(trending_score=0.0)
    return changed


# --- Sources --------------------------------------------------------------------------------------


def source_backoff(*, source: Source, failures: int, retry_after: float | None) -> timedelta:
    """How long a failing source rests: its interval, doubled per consecutive failure, capped."""
    interval = source.fetch_interval or timedelta(hours=1)
    pause = min(interval * (2 ** max(failures - 1, 0)), fetch_max_backoff())
    if retry_after is not None:
        pause = max(pause, timedelta(seconds=retry_after))
    return pause


def source_record_result(
    *,
    source: Source,
    status: str,
    now: datetime,
    http_status: int | None = None,
    error: str = "",
    counts: dict[str, int] | None = None,
    etag: str | None = None,
    last_modified: str | None = None,
    retry_after: float | None = None,
) -> Source:
    """Store a fetch's outcome on the source: its health, its counts, when to fetch it next."""
    failed = status == Source.Status.ERROR
    failures = source.consecutive_failures + 1 if failed else 0
    if failed:
        next_fetch = now + source_backoff(source=source, failures=failures, retry_after=retry_after)
    else:
        next_fetch = now + (source.fetch_interval or timedelta(hours=1))
    values = {
        "last_fetched_at": now,
        "next_fetch_at": next_fetch,
        "last_status": status,
        "last_http_status": http_status,
        "last_error": error[:5000],
        "consecutive_failures": failures,
    }
    if counts is not None:
        values["last_counts"] = counts
    if etag is not None:
        values["etag"] = etag[:500]
    if last_modified is not None:
        values["last_modified"] = last_modified[:100]
    Source.objects.filter(pk=source.pk).update(**values)
    for name, value in values.items():
        setattr(source, name, value)
    return source


def source_record_new_papers(*, source: Source, new: int, now: datetime) -> Source:
    """Note on the source that an ingest, over the network or from a local file, brought `new` papers.

    An ingest that brought none writes nothing: the source keeps its last new papers' time and count.
    """
    if new <= 0:
        return source
    Source.objects.filter(pk=source.pk).update(last_new_papers_at=now, last_new_papers=new)
    source.last_new_papers_at, source.last_new_papers = now, new
    return source


def sources_claim_due(*, now: datetime | None = None) -> list[int]:
    """Ids of enabled sources due for a fetch, each claimed so that a second beat tick skips it.

    The claim moves next_fetch_at forward by the interval; the fetch then sets it properly. A
    claim is a conditional UPDATE, so two schedulers never both win one source.
    """
    now = now or timezone.now()
    due = sources_due(now=now)
    claimed = []
    for source in due.only("id", "next_fetch_at", "fetch_interval"):
        interval = source.fetch_interval or timedelta(hours=1)
        won = Source.objects.filter(pk=source.pk, next_fetch_at=source.next_fetch_at).update(
            next_fetch_at=now + interval
        )
        if won:
            claimed.append(source.pk)
    return claimed


def source_local(*, kind: str) -> Source:
    """The disabled source local files are credited to when no source is named (`fetch_papers --file`)."""
    source, _created = Source.objects.get_or_create(
        slug=f"local-{kind.replace('_', '-')}",
        defaults={
            "name": f"Local files ({Source.Kind(kind).label})",
            "kind": kind,
            "url": "file:///",
            "enabled": False,
            "fetch_interval": timedelta(days=1),
        },
    )
    return source
