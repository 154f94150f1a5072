"""Six faults during a morning's 5,000 digests; after recovery every subscriber has exactly one digest
at the provider, or a row in `unknown` (only messages in flight at the crash), never two, never none.

docs/faults.md explains each case and how recovery works."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading

import pytest

from newsletter.models import Delivery
from testsupport.postmark import Script
from testsupport.processes import stop_process_group, wait_for

from .harness import BackendTerminator, FaultCase, HookedProvider, terminate_backends

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

DIGESTS = 5000
Status = Delivery.Status


def _check(case: FaultCase, matrix, note: str = ""):
    result = case.tally()
    result.note = note
    matrix(result)
    assert result.duplicates == 0, f"{case.name}: {result}"
    assert result.lost == 0, f"{case.name}: {result}"
    assert result.wrong_record == 0, f"{case.name}: {result}"
    assert case.provider.problems == [], case.provider.problems[:3]
    return result


def test_worker_killed_mid_send_then_restarted(tmp_path, matrix, assert_unknown_shown_in_admin):
    """SIGKILL the pool processes mid-send, later the whole worker (main process and pool); restart it.

    A lost pool process: its task is rejected back to the queue (acks_late, reject_on_worker_lost)
    and runs again, finding its claimed rows no longer `planned`. A lost worker: its unacked tasks
    would come back only after the broker's visibility timeout; the sweeper queues their `planned`
    rows again. Either way the rows it had claimed stay `sending` and the sweeper turns them into
    `unknown` after the sending timeout: only those rows may be unknown."""
    script = Script(latency_ms=300)
    name, hooked = "1 worker SIGKILLed", HookedProvider
    with FaultCase(name, tmp_path, script=script, chunk_size=250, provider_class=hooked) as case:
        case.build_list(DIGESTS)
        worker = case.start_worker(concurrency=2)
        case.start_sweeper()
        pool_killed, worker_killed = threading.Event(), threading.Event()

        def kill(call: int) -> None:
            # Run by the provider after it took the call's messages, before it answers: the calling
            # process is certainly waiting for this answer when it dies.
            if call == 4:
                for pid in _pool_processes(worker):
                    os.kill(pid, signal.SIGKILL)
                pool_killed.set()
            elif call == 11:
                stop_process_group(worker, signal.SIGKILL)
                worker_killed.set()

        case.provider.on_accepted = kill
        assert case.plan() == DIGESTS
        wait_for(pool_killed.is_set, timeout=60, message="the pool processes killed")
        in_flight = _sending_ids()  # the killed processes' rows stay `sending` until the sweeper
        wait_for(worker_killed.is_set, timeout=60, message="the worker killed")
        in_flight |= _sending_ids()
        case.start_worker(concurrency=2)
        counts = case.wait_until_final()
        case.assert_nothing_more_is_sent()
        note = f"{len(in_flight)} rows in flight at the two kills; final {counts}"
        result = _check(case, matrix, note=note)

    unknown = set(Delivery.objects.filter(status=Status.UNKNOWN).values_list("pk", flat=True))
    assert unknown, "no row was in flight at either kill: the case proved nothing"
    assert unknown <= in_flight, "a row not in flight at a kill ended unknown"
    assert result.sent + result.unknown == DIGESTS
    assert assert_unknown_shown_in_admin() == result.unknown


def test_provider_500_and_429(tmp_path, matrix, assert_unknown_shown_in_admin):
    """20% of calls answer 500, 10% 429 with Retry-After: retried with backoff until all are sent."""
    script = Script(error_rate=0.2, throttle_rate=0.1, retry_after=1.0, seed=2)
    with FaultCase("2 provider 500 / 429", tmp_path, script=script, chunk_size=100) as case:
        case.build_list(DIGESTS)
        case.start_worker(concurrency=2)
        case.start_sweeper()
        assert case.plan() == DIGESTS
        counts = case.wait_until_final()
        case.assert_nothing_more_is_sent()
        refused = dict(case.provider.refused_calls)
        result = _check(case, matrix, note=f"{case.provider.calls} calls, refused {refused}; final {counts}")

    assert refused.get(500, 0) > 0 and refused.get(429, 0) > 0
    assert result.unknown == 0 and result.sent == DIGESTS
    assert assert_unknown_shown_in_admin() == 0


def test_provider_times_out_after_accepting(tmp_path, matrix, assert_unknown_shown_in_admin):
    """Some calls are accepted, then answered after the client gave up: those rows end `unknown`
    (the provider has them, exactly once), are never sent again by themselves, and show in admin."""
    script = Script(hang_rate=0.15, hang_seconds=4.0, seed=3)
    with FaultCase("3 provider timeouts", tmp_path, script=script, chunk_size=250) as case:
        case.build_list(DIGESTS)
        case.start_worker(concurrency=2, ANYMAIL_REQUESTS_TIMEOUT="1.5")
        case.start_sweeper()
        assert case.plan() == DIGESTS
        counts = case.wait_until_final()
        case.assert_nothing_more_is_sent(wait=3.0)
        result = _check(case, matrix, note=f"{case.provider.calls} calls; final {counts}")

    assert result.unknown > 0, "no call timed out: the case proved nothing"
    assert result.unknown_at_provider == result.unknown, "a timeout here always follows acceptance"
    assert result.sent + result.unknown == DIGESTS
    errors = set(Delivery.objects.filter(status=Status.UNKNOWN).values_list("last_error", flat=True))
    assert errors and all("timed out" in e.lower() for e in errors), errors
    assert assert_unknown_shown_in_admin() == result.unknown


def test_redis_restarted_mid_run(tmp_path, matrix, assert_unknown_shown_in_admin):
    """The case's redis-server is killed while digests go out (the broker and the provider's shared
    rate limit live there) and started again, empty, 2 s later: the queued tasks are gone and the
    sweeper queues the planned rows again from the database."""
    name, script = "4 Redis restarted", Script(latency_ms=100)
    with FaultCase(name, tmp_path, script=script, chunk_size=500, provider_class=HookedProvider) as case:
        case.build_list(DIGESTS)
        # The provider's limit as a token bucket in Redis: two groups of 250 per chunk of 500.
        case.start_worker(concurrency=1, NEWSLETTER_SEND_RATE_PER_SECOND="250")
        case.start_sweeper()
        # Redis dies while the provider answers the 5th call (the first group of the 3rd chunk).
        case.provider.on_accepted = lambda n: n == 5 and case.redis.kill()
        assert case.plan() == DIGESTS
        wait_for(lambda: case.redis.proc.poll() is not None, timeout=60, message="Redis killed")
        case.redis.restart(down_for=2.0)
        counts = case.wait_until_final()
        case.assert_nothing_more_is_sent()
        result = _check(case, matrix, note=f"Redis down 2 s during the 3rd chunk; final {counts}")

    assert result.unknown == 0, "nothing was in flight at the provider when Redis went away"
    assert result.sent == DIGESTS
    assert assert_unknown_shown_in_admin() == 0


def test_planner_runs_twice_at_once(tmp_path, matrix, assert_unknown_shown_in_admin):
    """Two beat ticks on two workers, and an operator's `send_digests` at the same moment: each
    subscriber gets one Delivery and one digest; the three planners split the rows between them."""
    with FaultCase("5 planner twice at once", tmp_path, script=Script(latency_ms=50)) as case:
        case.build_list(DIGESTS)
        first = case.start_worker(concurrency=1)
        second = case.start_worker(concurrency=1)
        case.start_sweeper()
        wait_for(lambda: _worker_ready(case, 2), timeout=30, message="both workers ready")
        operator = case.run_in_background("manage.py", "send_digests", name="send_digests")
        case.driver("beat-ticks", "--now", case.now_iso, "--times", "2")
        assert operator.wait(timeout=80) == 0
        counts = case.wait_until_final()
        case.assert_nothing_more_is_sent()
        planned_by = [*_planned_by_workers(case), _planned_by_send_digests(case)]
        result = _check(case, matrix, note=f"rows planned by each planner {planned_by}; final {counts}")
        assert first.poll() is None and second.poll() is None

    assert sum(planned_by) == DIGESTS, "the planners together created each row exactly once"
    assert Delivery.objects.count() == DIGESTS
    assert result.unknown == 0 and result.sent == DIGESTS
    assert assert_unknown_shown_in_admin() == 0


def test_database_connection_drops_during_batches(tmp_path, matrix, assert_unknown_shown_in_admin):
    """The workers' Postgres connections are terminated every second (reads, claims, writes), and
    on every second batch call between the provider's acceptance and the worker's record."""
    script = Script(latency_ms=150)
    name, hooked = "6 database drops", HookedProvider
    with FaultCase(name, tmp_path, script=script, chunk_size=250, provider_class=hooked) as case:
        case.build_list(DIGESTS)
        after_acceptance: list[int] = []

        def drop(call: int) -> None:
            if call % 2 == 0:
                after_acceptance.append(terminate_backends())

        case.provider.on_accepted = drop
        case.start_worker(concurrency=2)
        case.start_sweeper()
        with BackendTerminator(every=1.0) as terminator:
            assert case.plan() == DIGESTS
            counts = case.wait_until_final()
        case.assert_nothing_more_is_sent()
        note = (
            f"{sum(after_acceptance) + terminator.terminated} connections terminated, "
            f"{sum(after_acceptance)} of them after acceptance, before the record; final {counts}"
        )
        result = _check(case, matrix, note=note)

    assert sum(after_acceptance) > 0 and terminator.terminated > 0
    assert result.sent + result.unknown == DIGESTS
    assert result.unknown == 0, "a dropped connection after acceptance must not lose the record"
    assert assert_unknown_shown_in_admin() == 0


# --- helpers -----------------------------------------------------------------------------------


def _pool_processes(worker) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(worker.pid)], capture_output=True, text=True)
    pids = [int(pid) for pid in out.stdout.split()]
    assert pids, "the worker has no pool process"
    return pids


def _sending_ids() -> set[int]:
    return set(Delivery.objects.filter(status=Status.SENDING).values_list("pk", flat=True))


def _logs(case: FaultCase, pattern: str) -> str:
    return "".join(p.read_text(errors="replace") for p in sorted(case.workdir.glob(pattern)))


def _worker_ready(case: FaultCase, count: int) -> bool:
    return _logs(case, "worker-*.log").count(" ready.") >= count


def _planned_by_workers(case: FaultCase) -> list[int]:
    return [int(n) for n in re.findall(r"plan_due_digests\[[^\]]+\] succeeded in [\d.]+s: (\d+)",
                                       _logs(case, "worker-*.log"))]  # fmt: skip


def _planned_by_send_digests(case: FaultCase) -> int:
    found = re.search(r"Planned (\d+) new digest", _logs(case, "send_digests.log"))
    assert found, _logs(case, "send_digests.log")[-2000:]
    return int(found[1])
