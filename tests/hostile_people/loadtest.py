"""A bounded signup load test against gunicorn on loopback.

Used by test_load.py (on the test database, with a smaller count) and runnable on its own, where it
makes a throwaway SQLite database (or uses DATABASE_URL) and prints the figures:

    .venv/bin/python -m tests.hostile_people.loadtest                  # 2,000 signups, 50 clients
    .venv/bin/python -m tests.hostile_people.loadtest --signups 500 --clients 20

What one signup is: a browser session GETs the signup page (CSRF cookie, CSRF token, signed form
stamp, topic values), and after the minimum time-to-submit POSTs the filled form with that cookie and
token, as a browser does. Every session comes from its own client address through one trusted proxy
(X-Forwarded-For, SUBSCRIPTIONS_TRUSTED_PROXY_HOPS=1), ten signups per address, under the per-IP
limit. A second phase sends many signups from ONE address to show that the per-IP limit holds under
concurrency.
"""

import argparse
import os
import re
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
# Below SUBSCRIPTIONS_SIGNUPS_PER_IP_PER_HOUR (20): the spread phase must never be limited.
SIGNUPS_PER_ADDRESS = 10
_REQUEST_TIMEOUT = 30.0
_CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
_STAMP_INPUT = re.compile(r'name="started" value="([^"]+)"')
_TOPIC_INPUT = re.compile(r'name="topics" value="([^"]+)"')


@dataclass
class Timed:
    status: int  # 0 when the request failed without an answer (timeout, connection reset)
    seconds: float
    email: str = ""
    client_ip: str = ""


@dataclass
class Phase:
    name: str
    results: list[Timed] = field(default_factory=list)
    wall_seconds: float = 0.0

    @property
    def throughput(self) -> float:
        return len(self.results) / self.wall_seconds if self.wall_seconds else 0.0

    def percentile(self, fraction: float) -> float:
        times = sorted(r.seconds for r in self.results)
        if not times:
            return 0.0
        return times[min(len(times) - 1, int(fraction * len(times)))]

    def statuses(self) -> dict[int, int]:
        counts: dict[int, int] = {}
        for result in self.results:
            counts[result.status] = counts.get(result.status, 0) + 1
        return dict(sorted(counts.items()))


@dataclass
class Form:
    """What a browser holds after GETting the signup page."""

    csrf_cookie: str
    csrf_token: str
    stamp: str
    topics: list[str]
    client_ip: str
    email: str


def table(phases: list[Phase]) -> str:
    lines = [
        f"{'phase':<34} {'requests':>8} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}  statuses",
    ]
    for phase in phases:
        lines.append(
            f"{phase.name:<34} {len(phase.results):>8} {phase.throughput:>8.1f} "
            f"{phase.percentile(0.50) * 1000:>8.1f} {phase.percentile(0.99) * 1000:>8.1f} "
            f"{phase.percentile(1.0) * 1000:>8.1f}  {phase.statuses()}"
        )
    return "\n".join(lines)


@contextmanager
def gunicorn(*, env: dict[str, str], access_log: Path, error_log: Path, workers: int = 4, threads: int = 4):
    """gunicorn with the production logger class on a free loopback port; yields its base URL."""
    from testsupport.processes import free_port, stop_process_group, wait_for_http

    port = free_port()
    cmd = [
        sys.executable, "-m", "gunicorn", "config.wsgi:application",
        "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--worker-class", "gthread",
        "--threads", str(threads), "--timeout", "60", "--graceful-timeout", "10",
        "--access-logfile", str(access_log), "--error-logfile", str(error_log),
        "--logger-class", "config.accesslog.RedactingLogger",
    ]  # fmt: skip
    with open(error_log.with_suffix(".stdout"), "wb") as output:
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_for_http(f"{base}/robots.txt", timeout=60)
            yield base
        finally:
            stop_process_group(proc)


def _run(name: str, jobs: list, work: Callable, *, clients: int) -> Phase:
    """Run `work(client, job)` for every job on `clients` threads, each with its own keep-alive client."""
    phase = Phase(name)
    local = threading.local()
    opened: list[httpx.Client] = []
    lock = threading.Lock()

    def _one(job):
        if not hasattr(local, "client"):
            local.client = httpx.Client(timeout=_REQUEST_TIMEOUT, follow_redirects=False)
            with lock:
                opened.append(local.client)
        started = time.perf_counter()
        try:
            status, extra = work(local.client, job)
        except httpx.HTTPError:
            status, extra = 0, {}
        finally:
            local.client.cookies.clear()  # every job is its own browser session
        return Timed(status, time.perf_counter() - started, **extra)

    begin = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        phase.results = list(pool.map(_one, jobs))
    phase.wall_seconds = time.perf_counter() - begin
    for client in opened:
        client.close()
    return phase


def fetch_forms(base: str, addresses: list[tuple[str, str]], *, clients: int) -> tuple[Phase, list[Form]]:
    """GET the signup page once per (email, client address) as a fresh browser session."""
    forms: list[Form | None] = [None] * len(addresses)

    def _get(client: httpx.Client, job):
        index, (email, ip) = job
        try:
            response = client.get(f"{base}/", headers={"X-Forwarded-For": ip})
        except httpx.TransportError:
            # gunicorn closes a kept-alive connection that waited in its queue past its keep-alive
            # time; the request sent on it gets no answer. A browser sends such a GET again, once.
            response = client.get(f"{base}/", headers={"X-Forwarded-For": ip})
        html = response.text
        cookie = response.cookies.get("csrftoken", "")
        token, stamp = _CSRF_INPUT.search(html), _STAMP_INPUT.search(html)
        topics = _TOPIC_INPUT.findall(html)
        if response.status_code == 200 and cookie and token and stamp and topics:
            forms[index] = Form(cookie, token[1], stamp[1], topics[: 1 + index % 2], ip, email)
        return response.status_code, {"email": email, "client_ip": ip}

    phase = _run("signup page GET", list(enumerate(addresses)), _get, clients=clients)
    missing = [addresses[i] for i, form in enumerate(forms) if form is None]
    if missing:
        raise AssertionError(f"{len(missing)} signup pages came back without a usable form: {missing[:3]}")
    return phase, [form for form in forms if form is not None]


def post_signups(base: str, forms: list[Form], *, clients: int, name: str) -> Phase:
    def _post(client: httpx.Client, form: Form):
        response = client.post(
            f"{base}/",
            data={
                "csrfmiddlewaretoken": form.csrf_token,
                "email": form.email,
                "topics": form.topics,
                "frequency": "daily",
                "delivery_hour": "7",
                "timezone": "Europe/Berlin",
                "leave_blank": "",
                "started": form.stamp,
            },
            headers={
                "Cookie": f"csrftoken={form.csrf_cookie}",
                "Origin": base,
                "Referer": f"{base}/",
                "X-Forwarded-For": form.client_ip,
                "User-Agent": "paperboy-loadtest/1",
            },
        )
        accepted = response.status_code == 302 and response.headers.get("location") == "/check-your-inbox/"
        return (201 if accepted else response.status_code), {"email": form.email, "client_ip": form.client_ip}

    # 201 stands for "302 to /check-your-inbox/" in the tables: the answer of an accepted signup.
    return _run(name, forms, _post, clients=clients)


def hello_world(base: str, *, requests: int, clients: int) -> Phase:
    def _get(client: httpx.Client, _job):
        return client.get(f"{base}/robots.txt").status_code, {}

    return _run("hello world GET /robots.txt", list(range(requests)), _get, clients=clients)


@dataclass
class LoadRun:
    run_id: str
    phases: list[Phase]
    spread: Phase
    hammer: Phase
    hammer_ip: str


def run_load(
    base: str,
    *,
    signups: int,
    clients: int,
    hammer_signups: int,
    min_submit_seconds: float,
    log: Callable[[str], None] = print,
) -> LoadRun:
    """Both signup phases and the hello-world baseline against a running server."""
    run_id = secrets.token_hex(3)
    network = int(run_id[:2], 16)  # a fresh 10.x.0.0/16 per run: earlier runs' counters never interfere
    hosts = [i // SIGNUPS_PER_ADDRESS for i in range(signups)]
    spread_addresses = [
        (f"load-{run_id}-{i}@example.com", f"10.{network}.{host // 250}.{1 + host % 250}")
        for i, host in enumerate(hosts)
    ]
    hammer_ip = f"192.0.2.{1 + network % 250}"
    hammer_addresses = [(f"hammer-{run_id}-{i}@example.com", hammer_ip) for i in range(hammer_signups)]

    log(f"fetching {signups + hammer_signups} signup pages with {clients} clients")
    get_phase, forms = fetch_forms(base, spread_addresses + hammer_addresses, clients=clients)
    time.sleep(min_submit_seconds + 1.1)  # a person takes longer than the minimum time-to-submit
    log(f"posting {signups} signups from {signups // SIGNUPS_PER_ADDRESS} addresses")
    spread = post_signups(base, forms[:signups], clients=clients, name="signup POST (spread addresses)")
    log(f"posting {hammer_signups} signups from one address")
    hammer = post_signups(
        base, forms[signups:], clients=clients, name=f"signup POST (one address {hammer_ip})"
    )
    hello = hello_world(base, requests=signups, clients=clients)
    return LoadRun(run_id, [get_phase, spread, hammer, hello], spread, hammer, hammer_ip)


def server_env(*, database_url: str, secret_key: str, static_root: Path, **extra: str) -> dict[str, str]:
    """The web process's environment in production shape: DEBUG off, collected static files.

    Runs collectstatic into `static_root` first, as the Dockerfile does.
    """
    from testsupport.processes import process_env

    env = process_env(
        DATABASE_URL=database_url,
        SECRET_KEY=secret_key,
        DEBUG="false",
        SUBSCRIPTIONS_TRUSTED_PROXY_HOPS="1",
        LOG_LEVEL="INFO",
        STATIC_ROOT=str(static_root),
        WHITENOISE_USE_FINDERS=None,
        DJANGO_SETTINGS_MODULE="config.settings",
        **extra,
    )
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=120,
    )
    return env


def _main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--signups", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--hammer", type=int, default=60, help="signups from one address (limit: 20)")
    args = parser.parse_args()

    import tempfile

    work = Path(tempfile.mkdtemp(prefix="paperboy-load-"))
    os.environ.setdefault("PAPERBOY_VAR_DIR", str(work / "var"))
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{work / 'load.sqlite3'}")
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from subscriptions.conf import setting

    env = server_env(
        database_url=os.environ["DATABASE_URL"],
        secret_key=os.environ["SECRET_KEY"],
        static_root=work / "static",
    )
    with gunicorn(env=env, access_log=work / "access.log", error_log=work / "error.log") as base:
        run = run_load(
            base,
            signups=args.signups,
            clients=args.clients,
            hammer_signups=args.hammer,
            min_submit_seconds=setting("MIN_SUBMIT_SECONDS"),
        )
        problems = verify_signups(run, outbox=work / "outbox", worker_env=env)
    print()
    print(table(run.phases))
    database = os.environ["DATABASE_URL"].split(":")[0]
    print(f"\ngunicorn: 4 workers x 4 threads (gthread); database {database}; logs in {work}")
    print("problems: " + ("; ".join(problems) if problems else "none"))
    sys.exit(1 if problems else 0)


def iter_lines(path: Path) -> Iterator[str]:
    with open(path, encoding="utf-8", errors="replace") as handle:
        yield from handle


def _recipients(outbox: Path) -> set[str]:
    found = set()
    for path in outbox.glob("*.eml"):
        with open(path, "rb") as handle:
            head = handle.read(4096).decode("utf-8", "replace")
        match = re.search(r"^To: (.+)$", head, re.MULTILINE)
        if match:
            found.add(match[1].strip().lower())
    return found


def verify_signups(
    run: LoadRun, *, outbox: Path, worker_env: dict[str, str], timeout: float = 240
) -> list[str]:
    """Every accepted signup has its row, consent record and confirmation email; the limit held.

    Starts a real Celery worker (mail queue) that writes the queued confirmation emails to `outbox`.
    Returns the problems found (empty when all is well).
    """
    from subscriptions.conf import setting
    from subscriptions.models import ConsentRecord, Subscriber
    from testsupport.processes import celery_worker

    problems = []
    for phase in run.phases:
        broken = {status: n for status, n in phase.statuses().items() if status == 0 or status >= 500}
        if broken:
            problems.append(f"{phase.name}: server errors or no answer {broken}")
    refused = [r for r in run.spread.results if r.status != 201]
    if refused:
        problems.append(f"{len(refused)} spread signups not accepted: {refused[:3]}")
    accepted = [r for r in run.spread.results + run.hammer.results if r.status == 201]
    wanted = {r.email: r.client_ip for r in accepted}

    consents = dict(
        ConsentRecord.objects.filter(subscriber__email__in=list(wanted), action="signup").values_list(
            "subscriber__email", "ip_address"
        )
    )
    lost = sorted(set(wanted) - set(consents))
    if lost:
        problems.append(f"{len(lost)} accepted signups have no subscriber or consent record: {lost[:3]}")
    wrong_ip = [email for email, ip in consents.items() if ip != wanted[email]]
    if wrong_ip:
        problems.append(f"{len(wrong_ip)} consent records carry another client address: {wrong_ip[:3]}")
    pending = Subscriber.objects.filter(email__in=list(wanted), status="pending").count()
    if pending != len(wanted):
        problems.append(f"{len(wanted) - pending} accepted signups are not pending subscribers")

    limit = setting("SIGNUPS_PER_IP_PER_HOUR")
    hammer_accepted = [r for r in run.hammer.results if r.status == 201]
    hammer_refused = [r for r in run.hammer.results if r.status != 201]
    # Exact on Redis (atomic counters) and on the embedded file cache (a lock; subscriptions.ratelimit).
    if len(hammer_accepted) != limit:
        problems.append(f"one address got {len(hammer_accepted)} signups through a limit of {limit}")
    if any(r.status != 429 for r in hammer_refused):
        problems.append(f"over-limit signups answered {sorted({r.status for r in hammer_refused})}, not 429")
    leaked = Subscriber.objects.filter(email__in=[r.email for r in hammer_refused]).count()
    if leaked:
        problems.append(f"{leaked} over-limit signups created a subscriber")

    outbox.mkdir(parents=True, exist_ok=True)
    env = {**worker_env, "OUTBOX_DIR": str(outbox), "EMAIL_BACKEND": "mailing.outbox.OutboxEmailBackend"}
    with celery_worker(queues="mail", concurrency=4, env=env, log_path=outbox.parent / "worker.log"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            missing = {email.lower() for email in wanted} - _recipients(outbox)
            if not missing:
                break
            time.sleep(1)
    if missing:
        problems.append(f"{len(missing)} accepted signups got no confirmation email: {sorted(missing)[:3]}")
    return problems


if __name__ == "__main__":
    _main()
