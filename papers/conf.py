"""The papers app's settings: each is the Django setting and environment variable `PAPERS_<NAME>`
(config.settings reads the environment), over these defaults. docs/configuration.md lists them."""

from datetime import timedelta
from typing import Any

from django.conf import settings

PREFIX = "PAPERS"
DEFAULTS: dict[str, Any] = {
    # Feed requests: seconds to connect and between bytes read, and a cap on the whole exchange
    # (a server that drips one byte per second would otherwise never time out).
    "FETCH_CONNECT_TIMEOUT": 10.0,
    "FETCH_READ_TIMEOUT": 30.0,
    "FETCH_TOTAL_TIMEOUT": 120.0,
    # The largest arXiv listing (a whole archive on a busy day) is a few MB; 20 MB leaves room.
    "FETCH_MAX_BYTES": 20 * 1024 * 1024,
    # 429/503 with a Retry-After up to this many seconds is waited out in place (at most FETCH_RETRIES
    # times); longer waits move the source's next fetch instead.
    "FETCH_MAX_INLINE_WAIT": 30.0,
    "FETCH_RETRIES": 2,
    # Longest pause of a failing source (the backoff doubles from its fetch interval).
    "FETCH_MAX_BACKOFF_HOURS": 12.0,
    # arXiv asks API clients for one request every 3 seconds; enforced across all workers.
    # https://info.arxiv.org/help/api/tou.html
    "ARXIV_MIN_INTERVAL": 3.0,
    # Trending: Hugging Face upvotes and comments, halved every this many hours since first seen.
    "TRENDING_HALF_LIFE_HOURS": 36.0,
    "TRENDING_WINDOW_DAYS": 14,
    # A topic without enough labels is scored by a cold-start model learnt from this many of the
    # newest papers (unlabelled; papers.relevance.coldstart). 0: such a topic keeps its rule score.
    "COLD_START_CORPUS": 1000,
}
CHOICES: dict[str, tuple] = {}


def setting(name: str) -> Any:
    return getattr(settings, f"{PREFIX}_{name}", DEFAULTS[name])


def fetch_max_backoff() -> timedelta:
    return timedelta(hours=setting("FETCH_MAX_BACKOFF_HOURS"))
