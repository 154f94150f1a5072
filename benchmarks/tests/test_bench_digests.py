"""A tiny run of bench_digests: its JSON line, and exactly one digest per subscriber at the provider.
(Speed figures are the command's to print; no test here times anything.)"""

import json
import pstats
from io import StringIO

import pytest
from django.core.management import call_command

from newsletter.models import Delivery
from testsupport.services import on_postgres


@pytest.mark.slow
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_bench_digests_sends_each_subscriber_one_digest_and_prints_one_json_line(tmp_path):
    history_days = 3 if on_postgres() else 0  # the history is written with generate_series
    out = StringIO()
    call_command(
        "bench_digests",
        *("--subscribers", "200", "--topics", "5", "--papers", "150", "--workers", "2"),
        *("--baseline-sample", "10", "--identity-sample", "5", "--timeout", "120"),
        *("--profile-dir", str(tmp_path), "--history-days", str(history_days)),
        stdout=out,
        stderr=StringIO(),
    )
    (line,) = out.getvalue().strip().splitlines()
    result = json.loads(line)
    for key in ("subscribers", "wall_s", "digests_per_s", "peak_rss_mb", "queries_per_digest", "bytes_sent"):
        assert key in result
    assert result["subscribers"] == 200 and result["sent"] == 200
    assert result["provider"]["messages"] == 200 and result["provider"]["exactly_once"] == 200
    assert result["provider"]["duplicates"] == 0 and result["provider"]["problems"] == []
    identity = result["identical_to_reference"]
    assert identity["checked"] == 5 and identity["identical"] == 5
    assert result["baseline"]["sent"] == 10 and result["baseline"]["digests_per_s"] > 0
    assert result["bytes_sent"] > 200 * 5000 and result["peak_rss_mb"] > 0
    # --history-days: three earlier digests each, kept apart from this morning's and left in place
    assert result["history_days"] == history_days
    history = Delivery.objects.filter(subject="bench history")
    assert history.count() == 200 * history_days == history.filter(status="sent").count()
    assert Delivery.objects.filter(status="sent").exclude(subject="bench history").count() == 200
    # --profile-dir: a profile per worker process that ran a chunk, readable, with the chunk task in it
    profiles = sorted(tmp_path.glob("worker-*.prof"))
    assert profiles
    functions = {name for path in profiles for (_file, _line, name) in pstats.Stats(str(path)).stats}
    assert "send_digest_chunk" in functions
