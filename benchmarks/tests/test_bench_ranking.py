"""The offline evaluation of the digest's order (benchmarks/ranking.py) holds the issue's bounds."""

import pytest

from benchmarks.ranking import format_table, run


@pytest.fixture(scope="module")
def rows():
    return dict(run())


def test_the_new_order_keeps_topic_precision_within_five_points_of_the_old(rows):
    old, new = rows["relevance first (old)"], rows["balanced (new default)"]
    assert old["readers"] == new["readers"] > 1000
    assert new["precision_at_10"] >= old["precision_at_10"] - 0.05


def test_the_new_order_captures_more_of_the_days_matched_upvotes(rows):
    old, new = rows["relevance first (old)"], rows["balanced (new default)"]
    assert new["upvote_share_at_10"] > 2 * old["upvote_share_at_10"]
    assert new["top3_in_first_5"] >= 0.95 > old["top3_in_first_5"]
    assert rows["most discussed first"]["top3_in_first_5"] == 1.0


def test_the_table_has_a_row_per_order(rows):
    lines = format_table(list(rows.items()))
    assert len(lines) == 1 + len(rows) and "precision@10" in lines[0]
