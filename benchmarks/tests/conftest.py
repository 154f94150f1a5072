"""Fixtures for the benchmarks' tests."""

import pytest


@pytest.fixture(autouse=True)
def _fresh_paper_pool():
    """The digest benchmark composes in this process too (baseline, identity check): each test starts
    without the process's cached paper pool (it outlives transactions)."""
    from newsletter.selectors import forget_pool

    forget_pool()
    yield
    forget_pool()
