"""Loaded into the benchmark's workers only (`celery worker -I benchmarks.digests.instrument`).

Counts the database queries each worker process makes and reports its peak RSS, through Redis keys
named after the run (PAPERBOY_BENCH_RUN), once per task: nothing is added per query but a counter.
With PAPERBOY_BENCH_PROFILE=<dir>, each worker process also runs under cProfile and writes
<dir>/worker-<pid>.prof after every task (the whole run so far; the benchmark stops its workers with
a signal to their process group, so a pool process seldom gets to run a shutdown hook).
"""

import cProfile
import os
import resource
import time

import redis
from celery.signals import task_postrun, task_prerun, worker_process_init, worker_process_shutdown
from django.conf import settings
from django.db.backends.signals import connection_created

RUN = os.environ.get("PAPERBOY_BENCH_RUN", "")
PROFILE_DIR = os.environ.get("PAPERBOY_BENCH_PROFILE", "")

_queries = 0
_reported = 0
_profiler: cProfile.Profile | None = None
_started: dict[str, float] = {}


def _count(execute, sql, params, many, context):
    global _queries
    _queries += 1
    return execute(sql, params, many, context)


def _install(sender, connection, **kwargs):
    if _count not in connection.execute_wrappers:
        connection.execute_wrappers.append(_count)


connection_created.connect(_install)


def _client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@task_prerun.connect
def _task_started(task_id=None, **kwargs):
    _started[task_id] = (time.time(), _cpu())


@task_postrun.connect
def _report(task_id=None, task=None, **kwargs):
    global _reported
    _dump_profile()
    if not RUN:
        return
    started = _started.pop(task_id, None)
    delta, _reported = _queries - _reported, _queries
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux
    pipe = _client().pipeline()
    pipe.incrby(f"bench:{RUN}:queries", delta)
    pipe.incr(f"bench:{RUN}:tasks")
    pipe.hset(f"bench:{RUN}:rss_kb", str(os.getpid()), peak_kb)
    if started is not None:
        # When each task ran, in which process, and the CPU it used (other load on the machine
        # stretches wall time, not CPU time): the runner adds them up.
        begun, cpu = started
        entry = f"{os.getpid()} {task.name} {begun} {time.time()} {_cpu() - cpu}"
        pipe.rpush(f"bench:{RUN}:tasks_timeline", entry)
    pipe.execute()


@worker_process_init.connect
def _start_profile(**kwargs):
    global _profiler
    if PROFILE_DIR:
        _profiler = cProfile.Profile()
        _profiler.enable()


def _dump_profile() -> None:
    if _profiler is not None:
        _profiler.disable()
        _profiler.dump_stats(os.path.join(PROFILE_DIR, f"worker-{os.getpid()}.prof"))
        _profiler.enable()


@worker_process_shutdown.connect
def _stop_profile(**kwargs):
    _dump_profile()
