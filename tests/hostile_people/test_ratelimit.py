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


@pytest.mark.redis
def test_concurrent_attempts_on_redis_never_pass_the_limit():
    allowed: list[bool] = []
    start = threading.Barrier(16)

    def attempts():
        start.wait()
        for _ in range(4):
            allowed.append(ratelimit.hit("ip", "192.0.2.9", limit=20))

    threads = [threading.Thread(target=attempts) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert allowed.count(True) == 20 and len(allowed) == 64
    assert ratelimit.hit("ip", "192.0.2.10", limit=1)
    assert not ratelimit.hit("ip", "192.0.2.10", limit=1)


@pytest.mark.redis
def test_each_attempt_on_redis_takes_one_round_trip(monkeypatch):
    import redis.connection

    ratelimit.hit("ip", "192.0.2.11", limit=20)  # the connection's own set-up is not an attempt's cost
    round_trips = []
    send = redis.connection.AbstractConnection.send_packed_command

    def counting(self, command, check_health=True):
        round_trips.append(command)
        return send(self, command, check_health)

    monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", counting)
    results = [ratelimit.hit("ip", "192.0.2.11", limit=5) for _ in range(6)]
    results.append(ratelimit.hit("ip", "192.0.2.12", limit=5))  # a new window's first attempt
    assert results == [True, True, True, True, False, False, True]
    assert len(round_trips) == 7  # SET NX and INCR pipelined (Django's add + incr: three)
