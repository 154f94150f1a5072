"""The embedded default cache: add and incr atomic across real processes and threads, like Redis."""

import multiprocessing
import os
import pickle
import threading
import time

import pytest

from config.filecache import LOCK_FILE_NAME, LockedFileBasedCache

PROCESSES = 4
INCREMENTS = 300
ADD_ROUNDS = 30


def _count(directory: str, start, times: int) -> None:
    cache = LockedFileBasedCache(directory, {})  # each process its own instance, as web and worker
    start.wait()
    for _ in range(times):
        cache.incr("hits")


def _race_add(directory: str, barrier, results) -> None:
    cache = LockedFileBasedCache(directory, {})
    for round_ in range(ADD_ROUNDS):
        barrier.wait()  # all at once, on a key none of them has seen
        results.put((round_, os.getpid(), cache.add(f"slot-{round_}", os.getpid(), 60)))


def test_concurrent_increments_from_processes_are_all_counted(tmp_path):
    cache = LockedFileBasedCache(str(tmp_path), {})
    cache.set("hits", 0, 60)
    context = multiprocessing.get_context("fork")
    start = context.Event()
    processes = [
        context.Process(target=_count, args=(str(tmp_path), start, INCREMENTS)) for _ in range(PROCESSES)
    ]
    for process in processes:
        process.start()
    start.set()
    for process in processes:
        process.join(timeout=30)
        assert process.exitcode == 0
    assert cache.get("hits") == PROCESSES * INCREMENTS


def test_concurrent_increments_from_threads_on_one_instance_are_all_counted(tmp_path):
    cache = LockedFileBasedCache(str(tmp_path), {})
    cache.set("hits", 0, 60)
    start = threading.Event()

    def count():
        start.wait()
        for _ in range(INCREMENTS):
            cache.incr("hits")

    threads = [threading.Thread(target=count) for _ in range(PROCESSES)]
    for thread in threads:
        thread.start()
    start.set()
    for thread in threads:
        thread.join(timeout=30)
    assert cache.get("hits") == PROCESSES * INCREMENTS


def test_exactly_one_process_wins_a_racing_add(tmp_path):
    context = multiprocessing.get_context("fork")
    contenders = 6
    barrier = context.Barrier(contenders)
    results = context.Queue()
    processes = [
        context.Process(target=_race_add, args=(str(tmp_path), barrier, results)) for _ in range(contenders)
    ]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=30) for _ in range(contenders * ADD_ROUNDS)]
    for process in processes:
        process.join(timeout=30)
        assert process.exitcode == 0

    cache = LockedFileBasedCache(str(tmp_path), {})
    for round_ in range(ADD_ROUNDS):
        winners = [pid for r, pid, won in outcomes if r == round_ and won]
        assert len(winners) == 1, (round_, winners)
        assert cache.get(f"slot-{round_}") == winners[0]  # nobody overwrote the winner


def test_clear_empties_the_cache_and_keeps_the_lock_file(tmp_path):
    cache = LockedFileBasedCache(str(tmp_path), {})
    assert cache.add("a", 1, 60)
    cache.set("b", 2, 60)
    assert cache.incr("a") == 2
    assert (tmp_path / LOCK_FILE_NAME).exists()

    cache.clear()

    assert cache.get("a") is None
    assert cache.get("b") is None
    assert [path.name for path in tmp_path.iterdir()] == [LOCK_FILE_NAME]
    assert cache.add("a", 1, 60)  # and it works as before
    assert cache.incr("a") == 2


def test_incr_of_a_missing_or_expired_key_raises_value_error(tmp_path):
    cache = LockedFileBasedCache(str(tmp_path), {})
    with pytest.raises(ValueError):
        cache.incr("missing")
    cache.set("gone", 1, 0)  # a timeout of 0 expires at once
    with pytest.raises(ValueError):
        cache.incr("gone")
    with pytest.raises(ValueError):
        cache.decr("missing")
    assert cache.get("missing") is None


def test_incr_and_decr_keep_the_expiry_set_by_add(tmp_path):
    # With a default timeout of 0, anything written with the default expires at once; so a count that
    # reset the expiry to the default (as Django's file cache does) would lose the key.
    cache = LockedFileBasedCache(str(tmp_path), {"TIMEOUT": 0})
    assert cache.add("window", 1, 3600)
    assert cache.incr("window", 5) == 6
    assert cache.decr("window") == 5
    assert cache.get("window") == 5
    assert cache.add("forever", 1, None)
    assert cache.incr("forever") == 2
    assert cache.get("forever") == 2


def test_an_expired_entry_is_not_deleted_once_another_process_replaced_it(tmp_path):
    reader, writer = LockedFileBasedCache(str(tmp_path), {}), LockedFileBasedCache(str(tmp_path), {})
    writer.set("slot", "old", timeout=0)  # expired as soon as written
    with open(reader._key_to_file("slot"), "rb") as seen_expired:  # a get() opened it, then ...
        assert writer.add("slot", "fresh", timeout=60)  # ... another process took the free slot
        assert reader._is_expired(seen_expired)  # what the get() read had expired
    assert writer.get("slot") == "fresh" and not reader.add("slot", "third", timeout=60)


def test_expired_entries_are_still_found_expired_and_removed(tmp_path):
    cache = LockedFileBasedCache(str(tmp_path), {})
    cache.set("gone", 1, timeout=0)
    assert cache.get("gone", "default") == "default" and not os.path.exists(cache._key_to_file("gone"))
    cache.set("again", 1, timeout=0)
    assert cache.add("again", 2, timeout=60) and cache.get("again") == 2  # add() holds the lock already
    cache.set("late", 1, timeout=0)
    assert cache.touch("late", 60) is False and cache.get("late") is None
    cache.set("live", 5, timeout=1)
    assert cache.touch("live", 3600) and cache.get("live") == 5
    with open(cache._key_to_file("live"), "rb") as f:
        assert pickle.load(f) > time.time() + 3000  # noqa: S301 - the new expiry, not the old one
