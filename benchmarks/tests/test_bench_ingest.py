"""bench_ingest, run as a command: its figures, an idle re-ingest, and a clear refusal on a database
that lacks the papers migrations."""

import json
import os
import subprocess
import sys
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db.migrations.recorder import MigrationRecorder

from papers.demo import FEEDS
from papers.models import Paper

pytestmark = pytest.mark.django_db


def test_bench_ingest_reports_figures_and_an_idle_reingest():
    out = StringIO()
    call_command(
        "bench_ingest", "--rounds", "1", "--file", str(FEEDS / "arxiv-rss-cs.CL-2026-02-02.xml"), stdout=out
    )
    figures = json.loads(out.getvalue().strip().splitlines()[-1])
    assert figures["items"] == figures["new"] == 86
    assert figures["reingest_rows_written"] == 0 and figures["reingest_write_statements"] == 0
    assert figures["bare_parse_product_s"] > 0 and figures["bare_parse_default_s"] > 0
    for baseline in ("product", "default"):
        ratio = figures["full_ingest_s"] / figures[f"bare_parse_{baseline}_s"]
        assert figures[f"ratio_{baseline}"] == pytest.approx(ratio, rel=0.01)
    stages = figures["stages_s"]
    assert stages["parse"] > 0 and stages["upsert"] > 0 and stages["tag"] > 0
    assert sum(stages.values()) <= figures["full_ingest_s"] * 1.01
    assert Paper.objects.count() == 0  # rolled back


def test_bench_ingest_on_a_database_not_migrated_says_what_to_run(tmp_path):
    # A fresh SQLite file, as after a clone: no tables at all.
    env = {
        **os.environ,
        "PAPERBOY_VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.sqlite3'}",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "bench_ingest", "--rounds", "1"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "unapplied migrations" in result.stderr and "manage.py migrate" in result.stderr
    assert "Traceback" not in result.stderr and "no such table" not in result.stderr


def test_bench_ingest_refuses_a_database_missing_a_papers_migration_only():
    applied = MigrationRecorder.Migration.objects.order_by("-applied")
    # Another app's pending migration does not stop it (the figures are 1 round of a small feed).
    applied.exclude(app="papers").first().delete()
    out = StringIO()
    call_command(
        "bench_ingest", "--rounds", "1", "--file", str(FEEDS / "arxiv-rss-cs.CL-2026-02-02.xml"), stdout=out
    )
    assert json.loads(out.getvalue().strip().splitlines()[-1])["new"] == 86
    applied.filter(app="papers").first().delete()
    with pytest.raises(CommandError, match=r"1 unapplied migrations.*manage\.py migrate"):
        call_command("bench_ingest", "--rounds", "1", "--file", str(FEEDS / "arxiv-rss-cs.CL-2026-02-02.xml"))
