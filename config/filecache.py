"""Django's file cache, with `add`, `incr` and `decr` atomic across processes and threads.

Without Redis, the web, worker and beat processes share one cache folder, and some callers need two
guarantees Redis gives: `add` succeeds for exactly one caller while a key is absent (the arXiv request
slot, the health-check throttle), and concurrent `incr`s never lose a count (the signup and sending rate
limits). Django's FileBasedCache gives neither: its `add` checks for the file and then writes it, its
`incr` reads the value and then writes it back, so two processes can both win an `add` and racing
`incr`s overwrite each other. Here those operations run one at a time, under a lock on a file in the
cache folder. `set` and `delete` need no lock: each is a single rename or unlink.

`get` and `has_key` delete an entry they find expired. Django's do so by name, outside any lock, so
when another process had just replaced the file (a `set`, or an `add` that won the slot), they
deleted the fresh entry: the slot was free again for a second `add`. Here the expired entry is
deleted under the lock, and only if the file there then is still expired.

`incr` also keeps the key's expiry, as Redis and the in-memory cache do. Django's file cache resets it to
the default timeout on every count, so an hourly counter vanished after five quiet minutes.
"""

import fcntl
import os
import pickle
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

from asgiref.sync import sync_to_async
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.filebased import FileBasedCache

# Not a *.djcache name, so clear() and culling leave it alone: deleting a lock file while it is held
# would let the next caller lock a new file and run alongside.
LOCK_FILE_NAME = "atomic.lock"


class LockedFileBasedCache(FileBasedCache):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._holding = threading.local()  # whether this thread holds the lock (add() reads expiry)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        if getattr(self._holding, "lock", False):
            yield  # add() and touch() find expired entries while they hold the lock
            return
        self._createdir()  # the cache folder may have been removed since
        # A new open file for every operation: an flock belongs to the open file, so threads sharing
        # one descriptor would not exclude each other.
        fd = os.open(os.path.join(self._dir, LOCK_FILE_NAME), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            self._holding.lock = True
            yield
        finally:
            self._holding.lock = False
            os.close(fd)  # releases the lock

    def _is_expired(self, f) -> bool:
        """Whether the open cache file `f` has expired; if so, the entry is deleted, unless the file
        under its name has been replaced by a live one since `f` was opened."""
        if not _expired(f):
            return False
        f.close()
        with self._locked():
            try:
                with open(f.name, "rb") as current:
                    still_expired = _expired(current)
            except FileNotFoundError:
                return True
            if still_expired:
                self._delete(f.name)
        return True

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        with self._locked():
            return super().add(key, value, timeout, version)

    def incr(self, key, delta=1, version=None):
        # decr() and adecr() come here too.
        with self._locked():
            try:
                # The cache's own files, read as FileBasedCache.get() reads them.
                with open(self._key_to_file(key, version), "rb") as f:
                    expiry = pickle.load(f)  # noqa: S301
                    value = pickle.loads(zlib.decompress(f.read()))  # noqa: S301
            except (FileNotFoundError, EOFError):  # an empty file counts as expired, as in get()
                expiry, value = 0, None
            if expiry is not None and expiry < time.time():
                raise ValueError(f"Key '{key}' not found")
            value += delta
            self.set(key, value, None if expiry is None else expiry - time.time(), version)
            return value

    async def aincr(self, key, delta=1, version=None):
        # The inherited aincr is aget then aset, outside the lock.
        return await sync_to_async(self.incr, thread_sensitive=True)(key, delta, version)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        # Under the lock, or an incr running alongside could write the value back with the old expiry.
        # Written here rather than inherited: Django's touch closes an expired entry's file to delete
        # it and then fails to unlock it (ValueError: I/O operation on closed file).
        with self._locked():
            fname = self._key_to_file(key, version)
            try:
                with open(fname, "rb") as f:
                    expired = _expired(f)
                    value = None if expired else pickle.loads(zlib.decompress(f.read()))  # noqa: S301
            except FileNotFoundError:
                return False
            if expired:
                self._delete(fname)
                return False
            self.set(key, value, timeout, version)
            return True


def _expired(f) -> bool:
    """A cache file's expiry, read as FileBasedCache reads it: an empty file counts as expired."""
    try:
        expiry = pickle.load(f)  # noqa: S301 - the cache's own files
    except EOFError:
        return True
    return expiry is not None and expiry < time.time()
