"""The feeds a new installation fetches: four arXiv listings and Hugging Face Daily Papers."""

from datetime import timedelta

# arXiv listings change once a day (around midnight US Eastern) and answer conditional GETs, so an
# hourly check costs a 304 most of the time. Daily Papers upvotes move all day: hourly keeps
# trending fresh.
DEFAULT_SOURCES: list[dict] = [
    {
        "slug": f"arxiv-{category.lower().replace('.', '-')}",
        "name": f"arXiv {category}",
        "kind": "arxiv_rss",
        "url": f"https://rss.arxiv.org/rss/{category}",
        "fetch_interval": timedelta(hours=1),
    }
    for category in ("cs.LG", "cs.CL", "cs.AI", "cs.CV")
] + [
    {
        "slug": "hf-daily-papers",
        "name": "Hugging Face Daily Papers",
        "kind": "hf_daily",
        "url": "https://huggingface.co/api/daily_papers",
        "fetch_interval": timedelta(hours=1),
    },
]
