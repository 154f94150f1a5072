"""Storing a feed's records as papers: dedupe by arXiv id, DOI or (source, guid); merge versions in place.

The rules of what a record may change on a stored paper live in `_merge`; `paper_upsert_many` is
the one write the ingest makes for a feed, in one transaction, retried when a concurrent ingest
inserted the same paper first.
"""

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from django.db import IntegrityError, connection, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from .bulk import BATCH_SIZE, chunks, insert_rows, insert_rows_returning_pks, max_query_params
from .latex import FeedConversions
from .models import Paper, PaperSighting, Source
from .parsing.records import PaperRecord

logger = logging.getLogger(__name__)

# A concurrent ingest (cs.LG and cs.CL share cross-listed papers) may insert the same paper first;
# the upsert then re-reads and merges. Twice more is plenty: each retry sees the other's rows.
UPSERT_ATTEMPTS = 3
# A change to these fields changes what a paper is about: its topics are computed again.
_TAGGED_FIELDS = frozenset({"title", "abstract", "categories", "primary_category"})
_LOOKUP_CHUNK_SIZE = 5000  # keys per IN (...) when looking up a feed's papers


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


def _new_paper_values(
    record: PaperRecord, *, now: datetime, shown: Callable[[str], str]
) -> dict[str, object]:
    """Column values of a paper first seen in `record` (fields left out take their model default)."""
    return {
        "arxiv_id": record.arxiv_id,
        "version": record.version,
        "doi": record.doi,
        "title": record.title,
        "abstract": record.abstract,
        "display_title": shown(record.title),
        "display_abstract": shown(record.abstract),
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


def _merge(paper: Paper, record: PaperRecord, *, shown: Callable[[str], str]) -> set[str]:
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
    # The display text follows its source: converted again only when the source changed.
    if "title" in changed:
        put("display_title", shown(paper.title))
    if "abstract" in changed:
        put("display_abstract", shown(paper.abstract))
    return changed


def _existing(source: Source, records: list[PaperRecord]):
    arxiv_ids = [r.arxiv_id for r in records if r.arxiv_id]
    dois = sorted({r.doi for r in records if r.doi})
    guids = [r.guid for r in records]
    # One lookup per kind of key for a feed of a few thousand entries, where the database allows it.
    size = max(BATCH_SIZE, min(_LOOKUP_CHUNK_SIZE, max_query_params() - 100))
    by_arxiv: dict[str, Paper] = {}
    for chunk in chunks(arxiv_ids, size):
        by_arxiv.update((p.arxiv_id, p) for p in Paper.objects.filter(arxiv_id__in=chunk))
    by_doi: dict[str, Paper] = {}
    for chunk in chunks(dois, size):
        papers = Paper.objects.alias(doi_ci=Lower("doi")).filter(doi_ci__in=chunk)
        by_doi.update((p.doi.lower(), p) for p in papers)
    sighted: dict[str, int] = {}
    for chunk in chunks(guids, size):
        sighted.update(
            PaperSighting.objects.filter(source=source, guid__in=chunk).values_list("guid", "paper_id")
        )
    missing_ids = set(sighted.values()) - {p.pk for p in (*by_arxiv.values(), *by_doi.values())}
    by_id = {p.pk: p for p in (*by_arxiv.values(), *by_doi.values())}
    for chunk in chunks(sorted(missing_ids), size):
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
    pks = insert_rows_returning_pks(Paper, columns=[name for name, _ in _PAPER_COLUMNS], rows=rows)
    # Positional construction is the model's fast path (the way rows read from the database are built).
    return [
        Paper.from_db(connection.alias, _PAPER_ATTNAMES, _with_pk(pk, row))
        for pk, row in zip(pks, rows, strict=True)
    ]


def _upsert(*, source: Source, records: list[PaperRecord], now: datetime) -> UpsertResult:
    result = UpsertResult()
    shown = FeedConversions()  # the display text of the titles and abstracts this feed changes
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
            new_rows.append(_paper_row(_new_paper_values(record, now=now, shown=shown)))
            continue
        changed = _merge(paper, record, shown=shown)
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
        insert_rows(
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
