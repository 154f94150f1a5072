"""The hand-labelled papers Paperboy ships (papers/devset/devset.jsonl) and their loader.

Tagging reads them at run time as the default topics' examples (papers.relevance.examples); the
dev-set harness (papers.devset) scores taggers against the same file. The loader lives here, on the
runtime side, so that nothing a worker runs imports the evaluation harness.
"""

import json
from pathlib import Path

DEVSET_PATH = Path(__file__).resolve().parent.parent / "devset" / "devset.jsonl"


def load_devset(path: Path = DEVSET_PATH) -> list[dict]:
    """The labelled records, one per non-empty line; a malformed line is an error naming its number."""
    records = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as error:
                raise ValueError(f"{path}:{number}: not valid JSON ({error.msg})") from error
    return records
