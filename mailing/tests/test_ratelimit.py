"""The shared token bucket, against a real Redis, with threads and processes contending."""

import multiprocessing
import threading
import time
import uuid
from collections import Counter

import pytest

from mailing.ratelimit import RateLimitExceeded, RedisTokenBucket, bucket
from testsupport.services import TEST_REDIS_URL, require_redis

RATE, BURST = 40.0, 5.0


def _grab(name: str, until: float, out) -> None:
    """Acquire one token at a time until `until`; report when each was granted."""
    limit = RedisTokenBucket(name=name, rate=RATE, burst=BURST, redis_url=TEST_REDIS_URL)
    granted = []
    while time.time() < until:
        limit.acquire(1)
        granted.append(time.time())
    out.put(granted) if hasattr(out, "put") else out.extend(granted)


def _assert_within_limit(stamps: list[float]) -> None:
    stamps.sort()
    span = stamps[-1] - stamps[0]
    # Never more than the burst plus the rate over any window (a little slack for clock reads).
    assert len(stamps) <= BURST + RATE * span + 2, (len(stamps), span)
    for i, start in enumerate(stamps):
        in_window = sum(1 for t in stamps[i:] if t - start <= 1.0)
        assert in_window <= BURST + RATE * 1.0 + 2, (in_window, i)
    # And it is a limit, not a stop: contenders together get close to the rate.
    assert len(stamps) >= RATE * span * 0.8, (len(stamps), span)


@pytest.mark.redis
def test_threads_and_processes_together_stay_within_the_rate():
    require_redis()
    name = f"test-{uuid.uuid4().hex}"
    until = time.time() + 2.5
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    processes = [context.Process(target=_grab, args=(name, until, queue)) for _ in range(3)]
    for process in processes:
        process.start()
    thread_stamps: list[float] = []
    threads = [threading.Thread(target=_grab, args=(name, until, thread_stamps)) for _ in range(3)]
    for thread in threads:
        thread.start()
    stamps = []
    for _ in processes:
        stamps += queue.get(timeout=30)
    for process in processes:
        process.join(timeout=30)
    for thread in threads:
        thread.join(timeout=30)
    stamps += thread_stamps
    _assert_within_limit(stamps)
    assert len(stamps) > 60


@pytest.mark.redis
def test_a_reservation_larger_than_the_wait_allowed_is_refused_and_too_large_is_an_error():
    require_redis()
    limit = RedisTokenBucket(name=f"test-{uuid.uuid4().hex}", rate=10, burst=10, redis_url=TEST_REDIS_URL)
    assert limit.acquire(10) == 0  # the full burst at once
    with pytest.raises(RateLimitExceeded) as refused:
        limit.acquire(10, max_wait=0.1)
    assert 0.9 < refused.value.wait <= 1.0
    with pytest.raises(ValueError, match="never fit"):
        limit.reserve(11)


def test_without_redis_the_cache_counter_limits_per_second(settings):
    settings.REDIS_URL = ""
    limit = bucket(f"test-{uuid.uuid4().hex}", rate=5)
    assert type(limit).__name__ == "CacheRateLimit"
    seconds = []
    for _ in range(12):
        limit.acquire(1)
        seconds.append(int(time.time()))
    assert max(Counter(seconds).values()) <= 5 and len(set(seconds)) >= 3
