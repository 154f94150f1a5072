"""Fixtures shared by every app's tests."""

import pytest

from testsupport.http import LoopbackServer


@pytest.fixture
def loopback():
    """A loopback HTTP server the test scripts (feeds, providers)."""
    with LoopbackServer() as server:
        yield server


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate limits and locks live in the cache: no test sees another's counters."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
