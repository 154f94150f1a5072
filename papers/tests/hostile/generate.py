"""Write the small hostile feeds to papers/tests/hostile/feeds/, for reading, curl and other tools.

    .venv/bin/python -m papers.tests.hostile.generate

The tests build the same bodies from corpus.py and check that these files are current. The 50 MB
bodies are never written: corpus.huge_feed() and corpus.gzip_bomb() build them when needed.
"""

from pathlib import Path

from papers.tests.hostile.corpus import CASES

FEEDS_DIR = Path(__file__).resolve().parent / "feeds"


def write_corpus(directory: Path = FEEDS_DIR) -> list[Path]:
    directory.mkdir(exist_ok=True)
    written = []
    for case in CASES:
        path = directory / case.file_name
        path.write_bytes(case.body)
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write_corpus():
        print(f"{path.stat().st_size:>9,} bytes  {path.name}")
