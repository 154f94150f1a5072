"""Draw the candidate papers for the development set from arXiv day files (a maintainer's tool).

The draw is seeded, so the same day files always give the same candidates. Labels are not decided
here: every candidate is labelled by reading it (see GUIDELINES.md). The product never runs this.

    python -m papers.devset.sampling /path/to/arxiv-days > candidates.jsonl
"""

import argparse
import json
import random
import sys
from pathlib import Path

from papers.default_topics import DEFAULT_TOPICS

SEED = 20260130
DAYS = ("2026-01-30", "2026-02-02")

RANDOM_COUNT = 120  # an unbiased slice, so recall is measured on papers no keyword list chose
KEYWORD_HITS_PER_TOPIC = 12  # papers the substring baseline tags: true hits and in-passing mentions
LURE_HITS_PER_TOPIC = 8  # papers near the topic that the baseline misses: hidden positives, hard negatives

# Words that sit near each topic without being its keywords: they find both positives the keyword
# list misses and papers that only brush past the topic ("quantum" for quantization, PDE "diffusion").
LURES: dict[str, tuple[str, ...]] = {
    "quantization": ("quantum", "quantiz", "compress", "distill", "sparsit", "bit ", "efficient inference"),
    "code-llms": ("code", "software", "program", "bug", "repository", "compiler", "sql"),
    "efficient-attention": ("attention", "transformer", "token", "context", "sequence", "memory"),
    "llm-reasoning": ("reason", "logic", "math", "proof", "inference-time", "thinking", "verifier"),
    "alignment": ("align", "preference", "reward", "feedback", "values", "sycophan"),
    "agents": ("agent", "tool", "plan", "autonomous", "workflow", "orchestrat"),
    "rag": ("retriev", "search", "knowledge", "embedding", "recommend", "rank"),
    "vision-language": ("vision", "visual", "image", "video", "caption", "grounding"),
    "diffusion": ("diffus", "generative", "flow", "noise", "synthesis", "score"),
    "robot-learning": ("robot", "control", "navigation", "driving", "manipulat", "policy", "vehicle"),
    "graph-learning": ("graph", "network", "node", "molecul", "relational", "topolog"),
    "interpretability": ("interpret", "explain", "mechanis", "concept", "attribution", "neuron"),
    "ai-safety": ("attack", "adversarial", "robust", "privacy", "secur", "safety", "poison"),
}


# Second round, added after labelling the first: these topics had fewer than 15 positives among the
# first 380 candidates, so more candidates are drawn from papers carrying strong cues for them.
TOP_UP: dict[str, tuple[int, tuple[str, ...]]] = {
    "alignment": (
        18,
        (
            "preference optim",
            "rlhf",
            "dpo",
            "reward model",
            "human feedback",
            "sycophan",
            "instruction tuning",
            "instruction-following",
            "misalign",
            "value alignment",
            "human preference",
            "reward hacking",
            "safety alignment",
        ),
    ),
    "rag": (
        14,
        (
            "retrieval",
            "retriever",
            "rag ",
            "rag)",
            "rag,",
            "rerank",
            "embedding model",
            "search engine",
            "open-domain",
            "knowledge-intensive",
        ),
    ),
    "quantization": (
        12,
        (
            "quantiz",
            "pruning",
            "prune",
            "knowledge distillation",
            "model compression",
            "low-bit",
            "binariz",
            "sparsification",
            "compress the model",
            "4-bit",
            "8-bit",
        ),
    ),
    "efficient-attention": (
        12,
        (
            "kv cache",
            "kv-cache",
            "long-context",
            "long context",
            "mamba",
            "state space model",
            "token pruning",
            "token compression",
            "context window",
            "linear attention",
            "sparse attention",
            "quadratic",
        ),
    ),
}


def load_days(data_dir: Path) -> list[dict]:
    """Every record of the day files, with its day, in arXiv-id order."""
    records = []
    for day in DAYS:
        with (data_dir / f"{day}.jsonl").open(encoding="utf-8") as lines:
            for line in lines:
                record = json.loads(line)
                record["day"] = day
                records.append(record)
    return sorted(records, key=lambda record: record["arxiv_id"])


def _text(record: dict) -> str:
    return f"{record['title']} {record['abstract']}".lower()


def _baseline_hit(record: dict, topic: dict) -> bool:
    text = _text(record)
    return any(term.lower() in text for term in [topic["name"], *topic["keywords"]])


def _lure_hit(record: dict, slug: str) -> bool:
    text = _text(record)
    return any(lure in text for lure in LURES[slug])


def draw_candidates(records: list[dict]) -> list[tuple[str, dict]]:
    """(stratum, record) pairs: a random slice, then per topic keyword hits and lure hits."""
    rng = random.Random(SEED)
    chosen: dict[str, tuple[str, dict]] = {}

    def take(stratum: str, pool: list[dict], count: int) -> None:
        pool = [record for record in pool if record["arxiv_id"] not in chosen]
        for record in rng.sample(pool, min(count, len(pool))):
            chosen[record["arxiv_id"]] = (stratum, record)

    take("random", records, RANDOM_COUNT)
    for topic in DEFAULT_TOPICS:
        slug = topic["slug"]
        take(f"keyword:{slug}", [r for r in records if _baseline_hit(r, topic)], KEYWORD_HITS_PER_TOPIC)
        lured = [r for r in records if _lure_hit(r, slug) and not _baseline_hit(r, topic)]
        take(f"lure:{slug}", lured, LURE_HITS_PER_TOPIC)
    for slug, (count, cues) in TOP_UP.items():
        take(f"top-up:{slug}", [r for r in records if any(cue in _text(r) for cue in cues)], count)
    return sorted(chosen.values(), key=lambda pair: pair[1]["arxiv_id"])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path, help="directory holding the arXiv day files")
    args = parser.parse_args(argv)
    for stratum, record in draw_candidates(load_days(args.data_dir)):
        fields = ("arxiv_id", "title", "abstract", "categories", "primary_category", "day")
        row = {"stratum": stratum, **{field: record[field] for field in fields}}
        sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
