"""The per-IP and per-address limits hold under concurrency on the embedded file cache too."""

import threading

import pytest
from django.core.cache import cache

from subscriptions import ratelimit


@pytest.fixture
def file_cache(settings, tmp_path):
    settings.CACHES = {
        "default": {
            "BACKEND": "config.filecache.LockedFileBasedCache",  # the embedded default
            "LOCATION": str(tmp_path / "cache"),
        }
    }
    yield
    cache.clear()


def test_concurrent_attempts_on_the_file_cache_never_pass_the_limit(file_cache):
    """Found by the load test: 48 of 50 concurrent signups from one address passed a limit of 20."""
    allowed: list[bool] = []
    start = threading.Barrier(16)

    def attempts():
        start.wait()
        for _ in range(4):
            allowed.append(ratelimit.hit("ip", "192.0.2.1", limit=20))

    threads = [threading.Thread(target=attempts) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(allowed) == 64
    assert allowed.count(True) == 20
    # Another address has its own count.
    assert ratelimit.hit("ip", "192.0.2.2", limit=20)
