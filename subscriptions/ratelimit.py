"""Fixed-window counters on Django's cache, shared by every web process.

Counting relies on `add` and `incr` being atomic. They are on Redis, and on the embedded default's
file cache (config.filecache): Django's own FileBasedCache does a read and a write for each, and
racing requests each saw "no counter yet" and all got through (48 of 50 concurrent signups from one
address past a limit of 20, in the load test). Keys hold an HMAC of the address or IP, never the value
itself.
"""

import ipaddress
import time

from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.utils.crypto import salted_hmac

from .conf import setting

WINDOW_SECONDS = 3600
_TTL = WINDOW_SECONDS + 60  # a counter outlives its window by a minute: clocks of processes differ


def _key(scope: str, value: str, window: int) -> str:
    digest = salted_hmac("paperboy.subscriptions.ratelimit", f"{scope}:{value}").hexdigest()[:32]
    return f"subs:rl:{scope}:{digest}:{window}"


def hit(scope: str, value: str, *, limit: int) -> bool:
    """Count one attempt; True while the attempts in this window are within `limit`."""
    window = int(time.time()) // WINDOW_SECONDS
    key = _key(scope, value, window)
    if isinstance(caches["default"], RedisCache):
        return _count_on_redis(key) <= limit
    # add() is a no-op when the key exists, so the first attempt in a window starts the count.
    if cache.add(key, 1, timeout=_TTL):
        return limit >= 1
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add() and incr()
        cache.add(key, 1, timeout=_TTL)
        count = 1
    return count <= limit


def _count_on_redis(key: str) -> int:
    """One round trip: SET NX (starts the window's counter) and INCR, pipelined.

    Django's add() then incr() takes three (SET NX, EXISTS, INCRBY) for every attempt after the
    first. Both commands are atomic and the counter is the plain integer Django's cache stores, so
    cache.get() reads it as before.
    """
    full_key = cache.make_and_validate_key(key)
    pipe = _redis_client().pipeline(transaction=False)
    pipe.set(full_key, 0, ex=_TTL, nx=True)
    pipe.incr(full_key)
    return int(pipe.execute()[1])


_clients: dict[int, tuple] = {}


def _redis_client():
    """One redis-py client per connection pool: Django's cache builds a new one per command (~1 ms)."""
    pool = caches["default"]._cache._get_connection_pool(True)
    held = _clients.get(id(pool))
    if held is None or held[0] is not pool:
        held = _clients[id(pool)] = (pool, caches["default"]._cache._client(connection_pool=pool))
    return held[1]


def client_ip(request) -> str:
    """The client's address, as seen by the first trusted proxy (or the socket)."""
    remote = request.META.get("REMOTE_ADDR", "") or ""
    hops = setting("TRUSTED_PROXY_HOPS")
    if hops:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [part for part in forwarded if part]
        # Each trusted proxy appends the address it saw; anything further left is client-supplied.
        if len(forwarded) >= hops:
            remote = forwarded[-hops]
    try:
        return str(ipaddress.ip_address(remote))
    except ValueError:
        return ""


def ip_bucket(ip: str) -> str:
    """The unit a per-IP limit counts: one IPv4 address, or one IPv6 /64 (what one host usually gets)."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)
