"""Per-provider rate limits shared by every worker: a token bucket in Redis.

A provider allows so many messages and so many API calls per second for the whole account, however
many workers send. Each limit is one bucket: `rate` tokens per second, holding at most `burst`. A
sender reserves the tokens it needs in one atomic step (a Lua script, run by Redis alone, on Redis's
own clock, so the workers' clocks do not matter) and is told how long to wait before using them. The
balance may go below zero: a reservation is never refused and never retried, later callers simply
wait longer, in the order they asked. Over any interval of length T, all workers together get at
most `burst + rate * T` tokens.

Without Redis (the embedded default) the bucket lives in Django's cache: a counter per second,
shared by the processes of one machine through the file cache.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

# KEYS[1] bucket; ARGV rate (tokens/s), burst, tokens wanted. Returns the seconds to wait, as text
# (Redis would truncate a Lua number to an integer).
_RESERVE = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens, at = burst, now
end
if now > at then
  tokens = math.min(burst, tokens + (now - at) * rate)
  at = now
end
tokens = tokens - want
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(at))
local idle = (burst - tokens) / rate
redis.call('PEXPIRE', KEYS[1], math.ceil(idle * 1000) + 1000)
if tokens >= 0 then
  return '0'
end
return tostring(-tokens / rate)
"""


class RateLimitExceeded(Exception):
    """The wait would be longer than the caller accepts (it should put its work back and retry)."""

    def __init__(self, wait: float) -> None:
        super().__init__(f"rate limit: {wait:.1f}s to wait")
        self.wait = wait


@dataclass
class RedisTokenBucket:
    """One limit shared by all processes through Redis."""

    name: str
    rate: float
    burst: float
    redis_url: str

    def __post_init__(self) -> None:
        import redis

        if self.rate <= 0 or self.burst <= 0:
            raise ValueError("rate and burst must be positive")
        self._client = redis.Redis.from_url(self.redis_url)
        self._script = self._client.register_script(_RESERVE)
        self.key = f"paperboy:ratelimit:{self.name}"

    def reserve(self, tokens: float = 1) -> float:
        """Take `tokens` now; the seconds to wait before using them."""
        if tokens > self.burst:
            raise ValueError(f"{tokens} tokens never fit a bucket of {self.burst}; send fewer at once")
        return float(self._script(keys=[self.key], args=[self.rate, self.burst, tokens]))

    def acquire(self, tokens: float = 1, *, max_wait: float | None = None) -> float:
        """Reserve and wait; the seconds waited. RateLimitExceeded (nothing waited) past `max_wait`:
        the reservation stands, so the caller's retry later finds the bucket already paid for."""
        wait = self.reserve(tokens)
        if max_wait is not None and wait > max_wait:
            raise RateLimitExceeded(wait)
        if wait > 0:
            time.sleep(wait)
        return wait


@dataclass
class CacheRateLimit:
    """The same limit through Django's cache: at most `rate` tokens per wall-clock second."""

    name: str
    rate: float
    burst: float = 0

    def acquire(self, tokens: float = 1, *, max_wait: float | None = None) -> float:
        waited = 0.0
        tokens = int(tokens)
        while True:
            second = int(time.time())
            key = f"paperboy:ratelimit:{self.name}:{second}"
            cache.add(key, 0, timeout=5)
            try:
                used = cache.incr(key, tokens)
            except ValueError:  # expired between add and incr
                continue
            if used <= self.rate or used == tokens:  # alone in this second: a larger batch still goes
                return waited
            pause = max(0.01, second + 1 - time.time())
            if max_wait is not None and waited + pause > max_wait:
                raise RateLimitExceeded(waited + pause)
            time.sleep(pause)
            waited += pause


def bucket(name: str, *, rate: float, burst: float | None = None):
    """A shared limit of `rate` per second: in Redis when REDIS_URL is set, else in the cache."""
    burst = burst or rate
    if settings.REDIS_URL:
        return RedisTokenBucket(name=name, rate=rate, burst=burst, redis_url=settings.REDIS_URL)
    return CacheRateLimit(name=name, rate=rate, burst=burst)


class ProviderLimits:
    """The provider's per-second limits on messages and on API calls (0: none), for one sending process."""

    def __init__(self, provider: str, *, messages_per_second: float, calls_per_second: float) -> None:
        messages, calls = messages_per_second, calls_per_second
        self.messages = bucket(f"{provider}:messages", rate=messages) if messages > 0 else None
        self.calls = bucket(f"{provider}:calls", rate=calls) if calls > 0 else None

    def acquire(self, *, messages: int, calls: int) -> float:
        waited = 0.0
        if self.messages is not None:
            waited += self.messages.acquire(messages)
        if self.calls is not None:
            waited += self.calls.acquire(calls)
        return waited


_limits: dict[tuple, ProviderLimits] = {}


def provider_limits(provider: str, *, messages_per_second: float, calls_per_second: float) -> ProviderLimits:
    """The limits for a provider (one Redis connection per process and provider)."""
    key = (provider, messages_per_second, calls_per_second, settings.REDIS_URL)
    found = _limits.get(key)
    if found is None:
        found = _limits[key] = ProviderLimits(
            provider, messages_per_second=messages_per_second, calls_per_second=calls_per_second
        )
    return found
