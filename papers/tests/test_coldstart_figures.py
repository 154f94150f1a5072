"""The committed cold-start figures hold: a change that makes new topics tag worse fails here.

papers/devset/coldstart.json is written by `python -m papers.devset.evaluate --cold --json ...`.
This test reruns the cold half (each topic as a new admin topic, no verdicts) and fails when its
macro-F1 falls more than 0.02 below the committed figure. The figure itself is deterministic.
"""

import json
from pathlib import Path

from papers.devset.evaluate import cold_start_results
from papers.relevance.labelled import load_devset

FIGURES = Path(__file__).resolve().parent.parent / "devset" / "coldstart.json"
TOLERANCE = 0.02


def test_cold_start_macro_f1_does_not_drop():
    committed = json.loads(FIGURES.read_text())
    result = cold_start_results(load_devset(), verdicts=0)
    assert result["macro_cold"] >= committed["macro_f1"]["cold"] - TOLERANCE, (
        f"cold-start macro-F1 {result['macro_cold']:.3f} fell below the committed "
        f"{committed['macro_f1']['cold']:.3f} (per topic: "
        + ", ".join(f"{slug} {row['cold']:.2f}" for slug, row in result["topics"].items())
        + ")"
    )
    # Cold start is worth having: above the keyword rules it starts from.
    assert result["macro_cold"] > committed["macro_f1"]["rules"]
