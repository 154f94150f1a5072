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

Then each accepted signup follows its confirmation email as a person does: the confirm page (GET),
its button (POST), the manage page it leads to (GET), a change of preferences there (POST), and the
one-click unsubscribe a mail program sends (RFC 8058, no cookies). Every phase is printed as a share
of the hello-world rate (`/robots.txt`) measured in the same run, and the run checks that nothing was
lost: every accepted signup has its row, consent record and confirmation email, and ends confirmed,
with the changed preferences, unsubscribed.

Targets (issue 21): the signup page GET at 50% or more of hello world's rate, the signup POST at 25%
or more, no 5xx. They are printed, not asserted: a loaded machine moves them.
"""

import argparse
import email
import email.policy
import logging
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
_CONFIRM_PATH = re.compile(r"https?://[^/\s]+(/confirm/[^/\s]+/)")
_MANAGE_LINK = re.compile(r'href="(/manage/[^/"]+/)"')
_UNSUBSCRIBE_LINK = re.compile(r'href="(/unsubscribe/[^/"]+/)"')
_CHECKED_TOPIC = re.compile(r'name="topics" value="([^"]+)"[^>]*checked')
HELLO = "hello world GET /robots.txt"
# What the manage phase changes, checked on every subscriber afterwards.
MANAGED_TIMEZONE, MANAGED_HOUR = "Asia/Tokyo", 8
TARGETS = {"signup page GET": 0.50, "signup POST (spread addresses)": 0.25}


@dataclass
class Timed:
    status: int  # 0 when the request failed without an answer (timeout, connection reset)
    seconds: float
    email: str = ""
    client_ip: str = ""
    error: str = ""  # the client's exception when there was no answer


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


def hello_rate(phases: list[Phase]) -> float:
    """Hello world's rate in this run (the mean when it was measured more than once)."""
    rates = [phase.throughput for phase in phases if phase.name.startswith(HELLO)]
    return sum(rates) / len(rates) if rates else 0.0


def table(phases: list[Phase]) -> str:
    hello = hello_rate(phases)
    lines = [
        f"{'phase':<34} {'requests':>8} {'req/s':>8} {'of hello':>8} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'max ms':>8}  statuses",
    ]
    for phase in phases:
        share = f"{phase.throughput / hello:>8.0%}" if hello else f"{'-':>8}"
        lines.append(
            f"{phase.name:<34} {len(phase.results):>8} {phase.throughput:>8.1f} {share} "
            f"{phase.percentile(0.50) * 1000:>8.1f} {phase.percentile(0.99) * 1000:>8.1f} "
            f"{phase.percentile(1.0) * 1000:>8.1f}  {phase.statuses()}"
        )
    return "\n".join(lines)


def targets(phases: list[Phase]) -> list[str]:
    """Issue 21's targets, each as met or missed in this run."""
    hello = hello_rate(phases)
    lines = []
    for phase in phases:
        if phase.name in TARGETS and hello:
            share = phase.throughput / hello
            verdict = "met" if share >= TARGETS[phase.name] else "MISSED"
            lines.append(
                f"{phase.name}: {share:.0%} of hello world (target {TARGETS[phase.name]:.0%}) {verdict}"
            )
    return lines


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
        except httpx.HTTPError as exc:
            status, extra = 0, {"error": f"{type(exc).__name__}: {exc}"}
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


def _send(client: httpx.Client, method: str, url: str, **kwargs) -> httpx.Response:
    """A request as a browser sends it: once more when a kept-alive connection closed unanswered.

    gunicorn closes a kept-alive connection that waited in its queue past its keep-alive time, and
    browsers resend a request that got no answer on a reused connection. A request on a
    connection that was closed unanswered never reached a view, so resending it repeats nothing;
    and every form here is safe to repeat anyway (the same signup, confirming, saving and
    unsubscribing twice change nothing more).
    """
    try:
        return client.request(method, url, **kwargs)
    except (httpx.RemoteProtocolError, httpx.ConnectError, httpx.ReadError, httpx.WriteError):
        return client.request(method, url, **kwargs)


def fetch_forms(base: str, addresses: list[tuple[str, str]], *, clients: int) -> tuple[Phase, list[Form]]:
    """GET the signup page once per (email, client address) as a fresh browser session."""
    forms: list[Form | None] = [None] * len(addresses)

    def _get(client: httpx.Client, job):
        index, (email, ip) = job
        response = _send(client, "GET", f"{base}/", headers={"X-Forwarded-For": ip})
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
        response = _send(
            client,
            "POST",
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


def hello_world(base: str, *, requests: int, clients: int, name: str = HELLO) -> Phase:
    def _get(client: httpx.Client, _job):
        return _send(client, "GET", f"{base}/robots.txt").status_code, {}

    return _run(name, list(range(requests)), _get, clients=clients)


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
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request drowns the table
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
        accepted = [r.email for r in run.spread.results if r.status == 201]
        links = run_links(
            base, emails=accepted, outbox=work / "outbox", clients=args.clients, hello_requests=args.signups
        )
        problems += verify_links(links)
    phases = run.phases + links.phases
    print()
    print(table(phases))
    database = os.environ["DATABASE_URL"].split(":")[0]
    cache = "redis" if os.environ.get("REDIS_URL") else "file cache"
    print(f"\ngunicorn: 4 workers x 4 threads (gthread); database {database}; cache {cache}; logs in {work}")
    print("\n".join(targets(phases)))
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


@dataclass
class _Page:
    """A page a reader opened from a link, and what a browser keeps of it."""

    email: str
    path: str
    csrf_cookie: str = ""
    csrf_token: str = ""
    html: str = ""


@dataclass
class LinkRun:
    phases: list[Phase]
    emails: list[str]  # the readers sent through the phases
    problems: list[str]


def confirmation_paths(outbox: Path) -> dict[str, str]:
    """Each recipient's confirmation link (its path), read from the email as its reader reads it."""
    found = {}
    for path in outbox.glob("*.eml"):
        with open(path, "rb") as handle:
            message = email.message_from_binary_file(handle, policy=email.policy.default)
        body = message.get_body(preferencelist=("plain",))
        match = _CONFIRM_PATH.search(body.get_content()) if body is not None else None
        if match:
            found[str(message["To"]).strip().lower()] = match[1]
    return found


def _form_headers(base: str, page: _Page) -> dict[str, str]:
    return {
        "Cookie": f"csrftoken={page.csrf_cookie}",
        "Origin": base,
        "Referer": f"{base}{page.path}",
        "User-Agent": "paperboy-loadtest/1",
    }


def _open_pages(base: str, name: str, pages: list[_Page], *, clients: int) -> Phase:
    """GET each page as a fresh browser session, keeping its CSRF cookie, token and HTML."""

    def _get(client: httpx.Client, page: _Page):
        response = _send(client, "GET", f"{base}{page.path}")
        token = _CSRF_INPUT.search(response.text)
        page.html = response.text
        page.csrf_cookie = response.cookies.get("csrftoken", "")
        page.csrf_token = token[1] if token else ""
        return response.status_code, {"email": page.email}

    return _run(name, pages, _get, clients=clients)


def run_links(
    base: str,
    *,
    emails: list[str],
    outbox: Path,
    clients: int,
    hello_requests: int,
    log: Callable[[str], None] = print,
) -> LinkRun:
    """Confirm (GET, POST), manage (GET, POST) and one-click unsubscribe for each of `emails`.

    Needs the confirmation emails in `outbox` (verify_signups waits for them). Ends with hello world
    measured again, so that every phase has a baseline from the same run.
    """
    problems = []
    links = confirmation_paths(outbox)
    confirm_pages = [_Page(address, links[address.lower()]) for address in emails if address.lower() in links]
    if len(confirm_pages) != len(emails):
        problems.append(
            f"{len(emails) - len(confirm_pages)} readers found no confirmation link in their email"
        )

    log(f"confirming {len(confirm_pages)} subscriptions from their emails' links")
    opened = _open_pages(base, "confirm page GET", confirm_pages, clients=clients)
    manage_pages: list[_Page] = []

    def _confirm(client: httpx.Client, page: _Page):
        response = _send(
            client,
            "POST",
            f"{base}{page.path}",
            data={"csrfmiddlewaretoken": page.csrf_token},
            headers=_form_headers(base, page),
        )
        link = _MANAGE_LINK.search(response.text)
        if response.status_code == 200 and link:
            manage_pages.append(_Page(page.email, link[1]))
        return response.status_code, {"email": page.email}

    confirmed = _run("confirm POST", confirm_pages, _confirm, clients=clients)
    log(f"managing {len(manage_pages)} subscriptions")
    managed_open = _open_pages(base, "manage page GET", manage_pages, clients=clients)
    unsubscribe_paths: list[_Page] = []

    def _manage(client: httpx.Client, page: _Page):
        data = {
            "csrfmiddlewaretoken": page.csrf_token,
            "topics": _CHECKED_TOPIC.findall(page.html),
            "keywords": "load test",
            "frequency": "daily",
            "delivery_hour": str(MANAGED_HOUR),
            "delivery_weekday": "0",
            "timezone": MANAGED_TIMEZONE,
        }
        response = _send(client, "POST", f"{base}{page.path}", data=data, headers=_form_headers(base, page))
        link = _UNSUBSCRIBE_LINK.search(page.html)
        if response.status_code == 302 and response.headers.get("location", "").endswith("?saved=1") and link:
            unsubscribe_paths.append(_Page(page.email, link[1]))
        return response.status_code, {"email": page.email}

    managed = _run("manage POST", manage_pages, _manage, clients=clients)

    def _one_click(client: httpx.Client, page: _Page):
        # What a mail program sends (RFC 8058): no cookie, no CSRF token, the signed link only.
        response = _send(client, "POST", f"{base}{page.path}", data={"List-Unsubscribe": "One-Click"})
        return response.status_code, {"email": page.email}

    log(f"unsubscribing {len(unsubscribe_paths)} readers with one click")
    unsubscribed = _run("one-click unsubscribe POST", unsubscribe_paths, _one_click, clients=clients)
    hello = hello_world(base, requests=hello_requests, clients=clients, name=f"{HELLO} (again)")
    phases = [opened, confirmed, managed_open, managed, unsubscribed, hello]
    return LinkRun(phases, [page.email for page in confirm_pages], problems)


def verify_links(run: LinkRun) -> list[str]:
    """Every reader of the link phases ended confirmed, with the changed preferences, unsubscribed."""
    from subscriptions.models import ConsentRecord, Subscriber

    problems = list(run.problems)
    for phase in run.phases:
        broken = {status: n for status, n in phase.statuses().items() if status == 0 or status >= 500}
        if broken:
            problems.append(f"{phase.name}: server errors or no answer {broken}")
    expected = {"confirm page GET": 200, "confirm POST": 200, "manage page GET": 200, "manage POST": 302}
    expected["one-click unsubscribe POST"] = 200
    for phase in run.phases:
        wrong = [r for r in phase.results if phase.name in expected and r.status != expected[phase.name]]
        if wrong:
            problems.append(
                f"{phase.name}: {len(wrong)} answers other than {expected[phase.name]}: {wrong[:3]}"
            )
        if phase.name in expected and len(phase.results) != len(run.emails):
            problems.append(f"{phase.name}: {len(phase.results)} readers got here of {len(run.emails)}")
    readers = Subscriber.objects.filter(email__in=run.emails)
    if readers.count() != len(run.emails):
        problems.append(f"{len(run.emails) - readers.count()} readers have no subscriber row")
    not_left = readers.exclude(status=Subscriber.Status.UNSUBSCRIBED).count()
    if not_left:
        problems.append(f"{not_left} readers are not unsubscribed after the one-click unsubscribe")
    unchanged = readers.exclude(
        timezone=MANAGED_TIMEZONE, delivery_hour=MANAGED_HOUR, keywords="load test"
    ).count()
    if unchanged:
        problems.append(f"{unchanged} readers lack the preferences their manage page saved")
    consents = ConsentRecord.objects.filter(subscriber__in=readers)
    unconfirmed = readers.count() - consents.filter(action="signup", confirmed_at__isnull=False).count()
    if unconfirmed:
        problems.append(f"{unconfirmed} readers' signups were not confirmed")
    unrecorded = readers.count() - consents.filter(action="unsubscribe").count()
    if unrecorded:
        problems.append(f"{unrecorded} unsubscribes have no consent record")
    return problems


if __name__ == "__main__":
    _main()
