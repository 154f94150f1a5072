"""Fixtures shared by every app's tests."""

import pytest

from testsupport.http import LoopbackServer


@pytest.fixture
def loopback():
    """A loopback HTTP server the test scripts (feeds, providers)."""
    with LoopbackServer() as server:
        yield server


def _clear_cache() -> None:
    from django.conf import settings
    from django.core.cache import cache

    prefix = settings.CACHES["default"].get("KEY_PREFIX")
    if settings.CACHES["default"]["BACKEND"].endswith("RedisCache") and prefix:
        # RedisCache.clear() is FLUSHDB, which would also drop the Celery broker's queues when both
        # share one Redis database (as REDIS_URL makes them): delete only the cache's own keys.
        client = cache._cache.get_client(write=True)
        keys = list(client.scan_iter(f"{prefix}:*", count=1000))
        if keys:
            client.delete(*keys)
    else:
        cache.clear()


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate limits and locks live in the cache: no test sees another's counters."""
    _clear_cache()
    yield
    _clear_cache()
