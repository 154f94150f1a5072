"""A corpus of hostile feeds: each case is a feed body, the source kind serving it, and what must follow.

`corpus.CASES` holds the small cases (also written to `feeds/` by `generate`); `corpus.HUGE_CASES`
builds the 50 MB bodies on the fly, since they are never committed.
"""
