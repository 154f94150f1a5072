"""Demo data for `manage.py seed_demo`: the bundled 2026-02-02 feeds, ingested like real fetches.

Idempotent: the upsert dedupes by arXiv id, so a second run writes nothing.
"""

from pathlib import Path

from .ingest import IngestCounts, source_ingest_bytes
from .models import Source
from .sources import source_local
from .trending import trending_recompute

FEEDS = Path(__file__).resolve().parent / "fixtures" / "feeds"
# (file, format, source it is credited to); the sources come from the default-data migration.
DEMO_FEEDS = [
    ("arxiv-rss-cs.LG-2026-02-02.xml", Source.Kind.ARXIV_RSS, "arxiv-cs-lg"),
    ("arxiv-rss-cs.CL-2026-02-02.xml", Source.Kind.ARXIV_RSS, "arxiv-cs-cl"),
    ("arxiv-api-2026-02-02.xml", Source.Kind.ARXIV_API, "arxiv-cs-lg"),
    ("hf-daily-papers-2026-02-02.json", Source.Kind.HF_DAILY, "hf-daily-papers"),
]


def seed(*, stdout) -> None:
    """Ingest the demo feeds through the same parse/upsert/tag path as `fetch_papers --file`."""
    totals = IngestCounts()
    for filename, kind, slug in DEMO_FEEDS:
        source = Source.objects.filter(slug=slug).first()
        if source is None:
            source = source_local(kind=kind)
        report = source_ingest_bytes(source=source, body=(FEEDS / filename).read_bytes(), kind=kind)
        totals.add(report.counts)
        if report.error:
            stdout.write(f"papers demo: {filename}: {report.status}: {report.error}")
    trending_recompute()
    stdout.write(f"papers demo: {totals.summary()}")
