"""The labelled development set is well-formed, and the harness that scores taggers on it is right."""

import json
from collections import Counter

import pytest

from papers.default_topics import DEFAULT_TOPICS
from papers.devset.baseline import substring_predict
from papers.devset.evaluate import evaluate, main, topic_rows
from papers.relevance.labelled import load_devset

SLUGS = [topic["slug"] for topic in DEFAULT_TOPICS]
FIELDS = {"arxiv_id", "title", "abstract", "categories", "primary_category", "labels", "day"}
MIN_POSITIVES = 15  # fewer and one mislabelled paper moves a topic's F1 by several points


@pytest.fixture(scope="module")
def devset():
    return load_devset()


def test_devset_records_have_exactly_the_documented_fields(devset):
    assert len(devset) >= 300
    for record in devset:
        assert set(record) == FIELDS, record["arxiv_id"]
        assert record["title"].strip() and record["abstract"].strip(), record["arxiv_id"]
        assert record["categories"] and record["primary_category"] == record["categories"][0]
        assert isinstance(record["labels"], list)


def test_devset_ids_are_unique(devset):
    duplicates = [arxiv_id for arxiv_id, n in Counter(r["arxiv_id"] for r in devset).items() if n > 1]
    assert duplicates == []


def test_every_label_is_a_known_topic_slug_listed_once(devset):
    for record in devset:
        assert set(record["labels"]) <= set(SLUGS), record["arxiv_id"]
        assert len(record["labels"]) == len(set(record["labels"])), record["arxiv_id"]


def test_every_topic_has_enough_positives(devset):
    positives = Counter(slug for record in devset for slug in record["labels"])
    assert {slug: positives[slug] for slug in SLUGS if positives[slug] < MIN_POSITIVES} == {}


def test_devset_mixes_both_days_and_papers_of_no_topic(devset):
    assert {record["day"] for record in devset} == {"2026-01-30", "2026-02-02"}
    unlabelled = sum(1 for record in devset if not record["labels"])
    # Real digests are mostly papers that fit no topic; a set without them would flatter precision.
    assert unlabelled >= len(devset) // 4


TINY_TOPICS = [
    {"slug": "a", "name": "Topic A", "keywords": ["alpha"], "categories": []},
    {"slug": "b", "name": "Topic B", "keywords": ["beta"], "categories": []},
]
TINY_RECORDS = [
    {"arxiv_id": "1", "labels": ["a"], "predicted": ["a"]},  # a: TP
    {"arxiv_id": "2", "labels": ["a", "b"], "predicted": ["a", "b"]},  # a: TP, b: TP
    {"arxiv_id": "3", "labels": ["a", "b"], "predicted": []},  # a: FN, b: FN
    {"arxiv_id": "4", "labels": ["b"], "predicted": ["a"]},  # a: FP, b: FN
    {"arxiv_id": "5", "labels": [], "predicted": []},  # nothing
]


def _canned(record, topics):
    return set(record["predicted"])


def test_evaluate_computes_precision_recall_and_f1_by_hand():
    result = evaluate(_canned, records=TINY_RECORDS, topics=TINY_TOPICS)

    a, b = result["topics"]["a"], result["topics"]["b"]
    assert (a["tp"], a["fp"], a["fn"], a["positives"]) == (2, 1, 1, 3)
    assert a["precision"] == pytest.approx(2 / 3)
    assert a["recall"] == pytest.approx(2 / 3)
    assert a["f1"] == pytest.approx(2 / 3)
    assert (b["tp"], b["fp"], b["fn"], b["positives"]) == (1, 0, 2, 3)
    assert b["precision"] == pytest.approx(1.0)
    assert b["recall"] == pytest.approx(1 / 3)
    assert b["f1"] == pytest.approx(0.5)
    assert result["macro_f1"] == pytest.approx((2 / 3 + 0.5) / 2)
    assert result["macro_precision"] == pytest.approx((2 / 3 + 1.0) / 2)
    assert result["papers"] == 5


def test_a_topic_never_predicted_scores_zero_not_an_error():
    result = evaluate(lambda record, topics: set(), records=TINY_RECORDS, topics=TINY_TOPICS)

    assert result["topics"]["a"]["precision"] == 0.0
    assert result["topics"]["a"]["recall"] == 0.0
    assert result["macro_f1"] == 0.0


def test_predicting_an_unknown_topic_is_an_error():
    with pytest.raises(ValueError, match="unknown topics"):
        evaluate(lambda record, topics: {"a", "typo"}, records=TINY_RECORDS, topics=TINY_TOPICS)


def test_the_gold_labels_score_perfectly_on_the_devset(devset):
    result = evaluate(lambda record, topics: set(record["labels"]), records=devset)

    assert result["macro_f1"] == pytest.approx(1.0)
    assert set(result["topics"]) == set(SLUGS)


def test_substring_baseline_matches_keywords_and_names_anywhere_ignoring_case():
    topics = [
        {"slug": "rag", "name": "Retrieval & RAG", "keywords": ["RAG", "retriever"]},
        {"slug": "vl", "name": "Vision-Language Models", "keywords": ["CLIP"]},
    ]

    # Substrings inside other words count: that is the baseline's known weakness.
    assert substring_predict({"title": "On the average case", "abstract": ""}, topics) == {"rag"}
    assert substring_predict({"title": "", "abstract": "Gradient clipping."}, topics) == {"vl"}
    assert substring_predict({"title": "vision-language models", "abstract": ""}, topics) == {"vl"}
    assert substring_predict({"title": "Sorting", "abstract": "Merge sort."}, topics) == set()


def test_load_devset_names_the_line_that_is_not_json(tmp_path):
    path = tmp_path / "broken.jsonl"
    path.write_text(json.dumps({"arxiv_id": "1"}) + "\n\n{not json\n", encoding="utf-8")

    with pytest.raises(ValueError, match=r"broken\.jsonl:3"):
        load_devset(path)


def test_topic_rows_look_like_topic_model_rows():
    rows = topic_rows()

    assert [row.slug for row in rows] == SLUGS
    assert [row.id for row in rows] == list(range(1, len(SLUGS) + 1))
    code = rows[SLUGS.index("code-llms")]
    assert code.keyword_list == DEFAULT_TOPICS[SLUGS.index("code-llms")]["keywords"]
    assert code.category_list == ["cs.SE", "cs.PL"]
    assert code.threshold == 1.0


def test_main_prints_a_row_per_topic_and_the_macro_mean(capsys):
    assert main([]) == 0

    output = capsys.readouterr().out
    lines = output.splitlines()
    for slug in SLUGS:
        assert any(line.startswith(slug) for line in lines), slug
    baseline = evaluate(substring_predict)
    macro = next(line for line in lines if line.startswith("macro"))
    assert f"{baseline['macro_f1']:.2f}" in macro.split("|")[1]


def test_main_lists_errors_for_one_topic(capsys):
    assert main(["--errors", "rag"]) == 0

    output = capsys.readouterr().out
    assert "substring baseline: errors on rag" in output
    assert " FP " in output


def test_main_rejects_an_unknown_topic():
    with pytest.raises(SystemExit):
        main(["--errors", "no-such-topic"])
