"""Score topic taggers against the labelled development set: precision, recall and F1 per topic.

    python -m papers.devset.evaluate              # baseline, and papers.tagging when it is usable
    python -m papers.devset.evaluate --errors rag # also list the papers each tagger gets wrong
    python -m papers.devset.evaluate --folds 5 --seed 0   # papers.relevance's k-fold cross-validation
    python -m papers.devset.evaluate --cold        # cold start: each topic as a new admin topic
    python -m papers.devset.evaluate --cold --json papers/devset/coldstart.json   # and keep the figures

Cold start (`--cold`): each topic in turn is written as an admin would create it (its name,
description, keywords and categories under a new slug, so no shipped cue or example knows it), its
own labels unseen; the other topics keep theirs, and every dev-set paper's text is the unlabelled
corpus. It is scored on every paper, and again after 10 verdicts: the papers `curate_topic --ask`
would choose, labelled from the dev set, the model refitted, scored on the papers not asked about.

papers.relevance learns from labelled papers, and in production it ships this very set as its
examples; so it is scored here by k-fold cross-validation only: each paper is tagged by a model
fitted on the other folds, never on itself.

A tagger is any callable `predict(record, topics) -> set[str]` of topic slugs, where `record` is one
line of devset.jsonl and `topics` is DEFAULT_TOPICS. Nothing here touches the database: the labels
and the topics are files in the repository.
"""

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from papers.default_topics import DEFAULT_TOPICS
from papers.devset.baseline import substring_predict
from papers.relevance.labelled import DEVSET_PATH, load_devset

DEFAULT_THRESHOLD = 1.0  # Topic.threshold's default: what a freshly installed topic starts with

Predict = Callable[[Mapping, Sequence[Mapping]], Iterable[str]]


def _ratio(numerator: int, denominator: int) -> float:
    # An empty denominator scores 0, as scikit-learn does with zero_division=0: a tagger that never
    # predicts a topic earns no precision for it, and a topic nobody holds earns no recall.
    return numerator / denominator if denominator else 0.0


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def evaluate(
    predict: Predict,
    *,
    records: Sequence[Mapping] | None = None,
    topics: Sequence[Mapping] = DEFAULT_TOPICS,
) -> dict:
    """Per-topic counts, precision, recall and F1, plus their unweighted means over topics.

    Returns {"papers": n, "topics": {slug: {"tp", "fp", "fn", "positives", "precision", "recall",
    "f1"}}, "macro_precision", "macro_recall", "macro_f1"}. A predicted slug that is not a topic
    is a ValueError: a typo in a tagger must not pass for a wrong guess.
    """
    records = load_devset() if records is None else records
    slugs = [topic["slug"] for topic in topics]
    known = set(slugs)
    counts = {slug: {"tp": 0, "fp": 0, "fn": 0} for slug in slugs}
    for record in records:
        predicted = set(predict(record, topics))
        unknown = predicted - known
        if unknown:
            raise ValueError(f"{record['arxiv_id']}: predicted unknown topics {sorted(unknown)}")
        gold = set(record["labels"])
        for slug in slugs:
            if slug in predicted and slug in gold:
                counts[slug]["tp"] += 1
            elif slug in predicted:
                counts[slug]["fp"] += 1
            elif slug in gold:
                counts[slug]["fn"] += 1
    per_topic = {}
    for slug, count in counts.items():
        precision = _ratio(count["tp"], count["tp"] + count["fp"])
        recall = _ratio(count["tp"], count["tp"] + count["fn"])
        per_topic[slug] = {
            **count,
            "positives": count["tp"] + count["fn"],
            "precision": precision,
            "recall": recall,
            "f1": _f1(precision, recall),
        }
    topic_count = len(per_topic) or 1
    return {
        "papers": len(records),
        "topics": per_topic,
        "macro_precision": sum(row["precision"] for row in per_topic.values()) / topic_count,
        "macro_recall": sum(row["recall"] for row in per_topic.values()) / topic_count,
        "macro_f1": sum(row["f1"] for row in per_topic.values()) / topic_count,
    }


@dataclass(frozen=True)
class _TopicRow:
    """The attributes of a papers.models.Topic row, built from a DEFAULT_TOPICS entry without a database."""

    id: int
    slug: str
    name: str
    description: str
    keywords: str
    categories: str
    threshold: float
    active: bool = True

    @property
    def keyword_list(self) -> list[str]:
        return [line.strip() for line in self.keywords.splitlines() if line.strip()]

    @property
    def category_list(self) -> list[str]:
        return [line.strip() for line in self.categories.splitlines() if line.strip()]


def topic_rows(topics: Sequence[Mapping] = DEFAULT_TOPICS) -> list[_TopicRow]:
    """Topic-like objects (ids from 1) for taggers written against the Topic model."""
    return [
        _TopicRow(
            id=number,
            slug=topic["slug"],
            name=topic["name"],
            description=topic.get("description", ""),
            keywords="\n".join(topic["keywords"]),
            categories="\n".join(topic.get("categories", [])),
            threshold=topic.get("threshold", DEFAULT_THRESHOLD),
        )
        for number, topic in enumerate(topics, start=1)
    ]


def _import_tagging():
    try:
        return importlib.import_module("papers.tagging")
    except ImportError:
        raise
    except Exception:
        # It may reach for Django models: configure settings (no database connection) and retry once.
        import django

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        django.setup()
        return importlib.import_module("papers.tagging")


def rule_tagger() -> tuple[Predict | None, str]:
    """(predict, description) for papers.tagging's rule scores, or (None, why it cannot be used)."""
    try:
        tagging = _import_tagging()
    except Exception as error:  # someone else's module: report any failure instead of crashing the baseline
        return None, f"papers.tagging cannot be imported: {error!r}"
    compile_topics = getattr(tagging, "compile_topics", None)
    if not callable(compile_topics):
        return None, "papers.tagging has no compile_topics(topics)"
    compiled: dict[tuple[str, ...], tuple[object, dict[int, str]]] = {}

    def predict(record: Mapping, topics: Sequence[Mapping]) -> set[str]:
        key = tuple(topic["slug"] for topic in topics)
        if key not in compiled:
            rows = topic_rows(topics)
            compiled[key] = (compile_topics(rows), {row.id: row.slug for row in rows})
        index, slug_by_id = compiled[key]
        # The record's first category counts as its primary one.
        scores = index.score(
            title=record["title"], abstract=record["abstract"], categories=record["categories"]
        )
        return {slug_by_id[topic_id] for topic_id in scores}

    try:
        predict(load_devset()[0], DEFAULT_TOPICS)
    except Exception as error:  # an interface that changed under us: say so, keep the baseline report
        return None, f"papers.tagging's rule scores failed on a dev-set paper: {error!r}"
    return predict, "papers.tagging (rule-based, default thresholds)"


def relevance_cv_tagger(records: Sequence[Mapping], *, folds: int = 5, seed: int = 0) -> Predict:
    """papers.relevance scored by k-fold cross-validation: each fold tagged by a model of the others."""
    import random

    from papers.relevance.examples import examples_from_records
    from papers.relevance.model import TopicSpec, fit_tagger

    specs = [TopicSpec.from_topic(row) for row in topic_rows()]
    slug_by_id = {spec.id: spec.slug for spec in specs}
    order = list(range(len(records)))
    random.Random(seed).shuffle(order)
    predicted: dict[str, set[str]] = {}
    for fold in range(folds):
        held_out = [records[i] for i in order[fold::folds]]
        training = [records[i] for i in order if i not in set(order[fold::folds])]
        tagger = fit_tagger(specs, examples_from_records(training))
        for record, scores in zip(held_out, tagger.score_many(held_out), strict=True):
            predicted[record["arxiv_id"]] = {slug_by_id[topic_id] for topic_id in scores}

    def predict(record: Mapping, topics: Sequence[Mapping]) -> set[str]:
        return predicted[record["arxiv_id"]]

    return predict


COLD_VERDICTS = 10


def _cold_examples(records: Sequence[Mapping], hidden: str) -> list:
    """The dev set as shipped examples with one topic's labels removed (as if it did not exist)."""
    from papers.relevance.model import Example, PaperText

    others = frozenset(topic["slug"] for topic in DEFAULT_TOPICS if topic["slug"] != hidden)
    return [
        Example(
            text=PaperText.of(record),
            labels={slug: True for slug in record["labels"] if slug != hidden},
            complete=True,
            labelled_slugs=others,
        )
        for record in records
    ]


def cold_start_results(records: Sequence[Mapping], *, verdicts: int = COLD_VERDICTS) -> dict:
    """Per topic: {"cold": F1 on every paper, "asked": F1 after `verdicts` verdicts on the others}.

    Plus the macro means and the cost of one cold refit (seconds). See the module's docstring.
    """
    import time

    from papers.relevance.asking import question_indexes
    from papers.relevance.model import CORRECTION_WEIGHT, Example, PaperText, TopicSpec, fit_tagger

    texts = [PaperText.of(record) for record in records]
    rows = topic_rows()
    per_topic: dict[str, dict] = {}
    fit_seconds = []
    for row in rows:
        new = TopicSpec.from_topic(row)
        new = TopicSpec(
            id=new.id,
            slug=f"new-{row.slug}",
            name=new.name,
            description=new.description,
            keywords=new.keywords,
            categories=new.categories,
            threshold=new.threshold,
        )
        specs = [new if spec.id == row.id else TopicSpec.from_topic(spec) for spec in rows]
        shipped = _cold_examples(records, row.slug)
        started = time.perf_counter()
        tagger = fit_tagger(specs, shipped, corpus=texts, fit_only={new.slug}).restricted([new.id])
        fit_seconds.append(time.perf_counter() - started)
        scores = tagger.scores(texts)[:, 0]
        gold = [row.slug in record["labels"] for record in records]
        cold = _f1_of(scores >= new.threshold, gold)
        if not verdicts:
            per_topic[row.slug] = {"positives": sum(gold), "cold": cold, "asked": cold, "asked_positives": 0}
            continue
        asked = question_indexes(tagger, texts, scores, new.threshold, verdicts)
        corrections = [
            Example(text=texts[i], labels={new.slug: gold[i]}, weight=CORRECTION_WEIGHT) for i in asked
        ]
        refitted = fit_tagger(specs, [*shipped, *corrections], corpus=texts, fit_only={new.slug})
        rest = [i for i in range(len(records)) if i not in set(asked)]
        after = refitted.restricted([new.id]).scores([texts[i] for i in rest])[:, 0]
        per_topic[row.slug] = {
            "positives": sum(gold),
            "cold": cold,
            "asked": _f1_of(after >= new.threshold, [gold[i] for i in rest]),
            "asked_positives": sum(gold[i] for i in asked),
            "kind": tagger.topics[0].kind,
        }
    count = len(per_topic) or 1
    return {
        "papers": len(records),
        "verdicts": verdicts,
        "topics": per_topic,
        "macro_cold": sum(row["cold"] for row in per_topic.values()) / count,
        "macro_asked": sum(row["asked"] for row in per_topic.values()) / count,
        "fit_seconds_max": max(fit_seconds) if fit_seconds else 0.0,
    }


def _f1_of(predicted, gold) -> float:
    tp = sum(1 for p, g in zip(predicted, gold, strict=True) if p and g)
    fp = sum(1 for p, g in zip(predicted, gold, strict=True) if p and not g)
    fn = sum(1 for p, g in zip(predicted, gold, strict=True) if g and not p)
    return _f1(_ratio(tp, tp + fp), _ratio(tp, tp + fn))


def format_cold_table(cold: dict, rules: dict, model: dict) -> str:
    """Per topic F1: the rules, today's model (cross-validated, all labels), cold start, after verdicts."""
    asked = f"+{cold['verdicts']} asked"
    header = f"{'topic':<20} {'pos':>4} | {'rules':>6} {'model CV':>8} | {'cold':>6} {asked:>9}"
    lines = [header, "-" * len(header)]
    for slug, row in cold["topics"].items():
        lines.append(
            f"{slug:<20} {row['positives']:>4} | {rules['topics'][slug]['f1']:>6.2f} "
            f"{model['topics'][slug]['f1']:>8.2f} | {row['cold']:>6.2f} {row['asked']:>9.2f}"
        )
    lines.append("-" * len(header))
    lines.append(
        f"{'macro F1':<20} {'':>4} | {rules['macro_f1']:>6.2f} {model['macro_f1']:>8.2f} | "
        f"{cold['macro_cold']:>6.2f} {cold['macro_asked']:>9.2f}"
    )
    return "\n".join(lines)


def format_table(results: Sequence[tuple[str, dict]]) -> str:
    """A fixed-width table: one row per topic, one P/R/F1 column group per tagger, macro means last."""
    first = results[0][1]
    header = f"{'topic':<20} {'pos':>4}" + "".join(f" | {name:^20}" for name, _ in results)
    subheader = f"{'':<20} {'':>4}" + " | {:>6} {:>6} {:>6}".format("P", "R", "F1") * len(results)
    lines = [header, subheader, "-" * len(subheader)]
    for slug, row in first["topics"].items():
        line = f"{slug:<20} {row['positives']:>4}"
        for _, result in results:
            scores = result["topics"][slug]
            line += f" | {scores['precision']:>6.2f} {scores['recall']:>6.2f} {scores['f1']:>6.2f}"
        lines.append(line)
    lines.append("-" * len(subheader))
    macro = f"{'macro':<20} {'':>4}"
    for _, result in results:
        macro += (
            f" | {result['macro_precision']:>6.2f} {result['macro_recall']:>6.2f} {result['macro_f1']:>6.2f}"
        )
    lines.append(macro)
    return "\n".join(lines)


def _errors(predict: Predict, records: Sequence[Mapping], slug: str) -> list[str]:
    lines = []
    for record in records:
        predicted = slug in set(predict(record, DEFAULT_TOPICS))
        gold = slug in record["labels"]
        if predicted != gold:
            kind = "FP" if predicted else "FN"
            lines.append(f"  {kind} {record['arxiv_id']} {record['title'][:100]}")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Score topic taggers on the labelled development set.")
    parser.add_argument(
        "--errors", metavar="SLUG", help="also list each tagger's false positives and negatives"
    )
    parser.add_argument("--folds", type=int, default=5, help="cross-validation folds for papers.relevance")
    parser.add_argument("--seed", type=int, default=0, help="shuffle seed of the folds")
    parser.add_argument("--no-relevance", action="store_true", help="skip papers.relevance")
    parser.add_argument("--cold", action="store_true", help="cold start: each topic as a new admin topic")
    parser.add_argument("--json", metavar="PATH", help="with --cold: also write the figures to PATH")
    args = parser.parse_args(argv)
    slugs = [topic["slug"] for topic in DEFAULT_TOPICS]
    if args.errors and args.errors not in slugs:
        parser.error(f"unknown topic {args.errors!r}; choose from {', '.join(slugs)}")

    records = load_devset()
    taggers: list[tuple[str, Predict]] = [("substring baseline", substring_predict)]
    tagger, description = rule_tagger()
    if tagger is not None:
        taggers.append(("papers.tagging", tagger))
    if not args.no_relevance:
        if args.folds < 2:
            parser.error("--folds must be at least 2")
        taggers.append(("relevance (CV)", relevance_cv_tagger(records, folds=args.folds, seed=args.seed)))
        description += f"; papers.relevance, {args.folds}-fold cross-validation (seed {args.seed})"
    results = [(name, evaluate(predict, records=records)) for name, predict in taggers]
    if args.cold:
        return _main_cold(args, records, dict(results))

    print(f"{len(records)} labelled papers, {len(DEFAULT_TOPICS)} topics ({DEVSET_PATH.name})")
    print(f"taggers: substring baseline; {description}")
    print()
    print(format_table(results))
    if args.errors:
        for name, predict in taggers:
            print(f"\n{name}: errors on {args.errors}")
            print("\n".join(_errors(predict, records, args.errors)) or "  none")
    return 0


def _main_cold(args, records, results: dict) -> int:
    import json

    rules = results.get("papers.tagging")
    model = results.get("relevance (CV)")
    if rules is None or model is None:
        print("--cold needs papers.tagging and papers.relevance (drop --no-relevance)", file=sys.stderr)
        return 2
    cold = cold_start_results(records)
    print(f"{len(records)} labelled papers, {len(DEFAULT_TOPICS)} topics: cold start, each topic new")
    print(
        f"(model CV: papers.relevance with every label, {args.folds}-fold; "
        f"asked: {cold['verdicts']} verdicts)"
    )
    print()
    print(format_cold_table(cold, rules, model))
    print(f"\nslowest cold refit: {cold['fit_seconds_max']:.2f} s")
    if args.json:
        figures = {
            "papers": cold["papers"],
            "verdicts": cold["verdicts"],
            "macro_f1": {
                "rules": round(rules["macro_f1"], 4),
                "model_cv": round(model["macro_f1"], 4),
                "cold": round(cold["macro_cold"], 4),
                "asked": round(cold["macro_asked"], 4),
            },
            "topics": {
                slug: {
                    "positives": row["positives"],
                    "rules": round(rules["topics"][slug]["f1"], 4),
                    "model_cv": round(model["topics"][slug]["f1"], 4),
                    "cold": round(row["cold"], 4),
                    "asked": round(row["asked"], 4),
                }
                for slug, row in cold["topics"].items()
            },
        }
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(figures, out, indent=2)
            out.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
