"""A loopback HTTP server speaking the Postmark API (POST /email and /email/batch), for tests and benchmarks.

It counts every message per recipient (so a test can assert "exactly one digest each"), checks a sample
of bodies with a real HTML parser, can add latency per call, and fails on demand the ways a provider
does: 500s, 429 with Retry-After, and "accept, then hang" (the messages count as delivered, the answer
never comes in time: the client sees a timeout after the provider took the mail).

Use it in-process (`with PostmarkServer() as pm: ... pm.url`) or as a separate process, so that a
benchmark's workers do not share its GIL:

    python -m testsupport.postmark --port 0 --latency-ms 50 --sample-every 20

prints `PORT <n>` once listening. Out of process, `GET /_stats` answers the counters as JSON
(`?recipients=1` adds the per-recipient counts), `POST /_control` changes the failure script (JSON with
the fields of `Script`), and `POST /_reset` clears the counters.

Counting does not parse the whole body: a batch of 500 digests is ~10 MB of JSON, and parsing all of
it would cost the benchmark more CPU than the sender. Recipients are read with a regular expression
anchored on the `"To":` key: inside a JSON string every quote is escaped, so the pattern can only match
the key itself. One call in `sample_every` is parsed in full and its bodies checked.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import re
import signal
import sys
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field, fields
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

# A structural "To" key: the quote before To cannot be escaped (then it would be inside a string).
_TO = re.compile(rb'"To"\s*:\s*"((?:[^"\\]|\\.)*)"')
_UNSAFE_TAGS = frozenset({"script", "iframe", "object", "embed", "form"})


@dataclass
class Script:
    """How the server misbehaves; each rate is the chance per API call (a seeded, repeatable draw)."""

    latency_ms: float = 0.0  # added to every call
    error_rate: float = 0.0  # 500 Internal Server Error, nothing accepted
    throttle_rate: float = 0.0  # 429 with Retry-After, nothing accepted
    retry_after: float = 1.0  # seconds, sent with every 429
    hang_rate: float = 0.0  # messages accepted, then the answer waits `hang_seconds`
    hang_seconds: float = 30.0
    fail_next: list[int] = field(default_factory=list)  # statuses for the next calls, in order (500, 429)
    seed: int = 0


@dataclass
class Sample:
    """A fully parsed message from a sampled call."""

    to: str
    subject: str
    html: str
    text: str
    headers: dict[str, str]
    metadata: dict
    tag: str


class _HtmlCheck(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in _UNSAFE_TAGS:
            self.problems.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"{tag}[{name}]")
            if name in ("href", "src", "action") and (value or "").strip().lower().startswith(
                ("javascript:", "data:", "vbscript:")
            ):
                self.problems.append(f"{tag}[{name}={value[:40]!r}]")

    handle_startendtag = handle_starttag


def worker_env(api_url: str) -> dict[str, str | None]:
    """The environment a worker process needs to send through anymail's Postmark backend (with the
    batch endpoint) to the loopback at `api_url`: any other email setting of this process removed."""
    return {
        "EMAIL_PROVIDER": "postmark",
        "EMAIL_BACKEND": None,
        "EMAIL_URL": None,
        "ANYMAIL_POSTMARK_API_URL": api_url,
        "ANYMAIL_POSTMARK_SERVER_TOKEN": "loopback-token",  # any token: the loopback checks there is one
    }


def body_problems(item: dict) -> list[str]:
    """What is wrong with one Postmark message: missing parts, or live markup in its HTML."""
    problems = [f"no {key}" for key in ("From", "To", "Subject", "HtmlBody", "TextBody") if not item.get(key)]
    checker = _HtmlCheck()
    checker.feed(item.get("HtmlBody") or "")
    checker.close()
    problems += checker.problems
    names = {h.get("Name", "").lower() for h in item.get("Headers") or []}
    problems += [f"no {h} header" for h in ("list-unsubscribe", "message-id") if h not in names]
    return problems


def _addresses(to: str) -> list[str]:
    return [part.strip().lower() for part in to.split(",") if part.strip()]


def _recipients(raw: bytes) -> list[str]:
    """Addresses of a raw (still JSON-escaped) "To" value."""
    return _addresses(raw.decode() if b"\\" not in raw else json.loads(b'"' + raw + b'"'))


class PostmarkServer:
    """The fake provider; thread-safe counters, a scripted failure plan, optional latency."""

    def __init__(
        self,
        *,
        script: Script | None = None,
        sample_every: int = 1,
        keep_samples: int = 50,
        check_per_call: int = 500,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.script = script or Script()
        self.sample_every = sample_every  # 1: parse and check every call; 0: never
        self.keep_samples = keep_samples
        self.check_per_call = check_per_call
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.reset()
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path != "/_stats":
                    return self._send(404, {"ErrorCode": 404, "Message": "no such route"})
                query = parse_qs(parts.query)
                answer = server.stats(
                    recipients=query.get("recipients") == ["1"], samples=query.get("samples") == ["1"]
                )
                return self._send(200, answer)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path = urlsplit(self.path).path.rstrip("/")
                if path == "/_control":
                    server.configure(**json.loads(body or b"{}"))
                    return self._send(200, {"ok": True})
                if path == "/_reset":
                    server.reset()
                    return self._send(200, {"ok": True})
                if path not in ("/email", "/email/batch"):
                    return self._send(404, {"ErrorCode": 404, "Message": "no such route"})
                if not self.headers.get("X-Postmark-Server-Token"):
                    return self._send(401, {"ErrorCode": 10, "Message": "No Account or Server API tokens"})
                status, answer, headers, hang = server.handle(path, body)
                if hang:
                    time.sleep(hang)
                self._send(status, answer, headers)

            def _send(self, status: int, answer, headers: dict | None = None) -> None:
                payload = json.dumps(answer).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    for name, value in (headers or {}).items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout): what it was sent is already counted

        self._httpd = ThreadingHTTPServer((host, port), _Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    # --- counters and script ---------------------------------------------------------------

    def reset(self) -> None:
        with self._lock:
            self.calls = 0
            self.batch_calls = 0
            self.messages = 0  # accepted (a hung call's messages count: the provider took them)
            self.bytes_received = 0
            self.per_recipient: Counter[str] = Counter()
            self.duplicate_messages = 0  # kept as messages arrive: /_stats is polled while 100k land
            self.refused_calls: Counter[int] = Counter()
            self.sampled_messages = 0
            self.problems: list[str] = []
            self.samples: list[Sample] = []
            self._random = random.Random(self.script.seed)

    def configure(self, **changes) -> None:
        known = {f.name for f in fields(Script)}
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"unknown script fields: {sorted(unknown)}")
        with self._lock:
            for name, value in changes.items():
                setattr(self.script, name, value)
            if "seed" in changes:
                self._random = random.Random(self.script.seed)

    def duplicates(self) -> dict[str, int]:
        with self._lock:
            return {address: n for address, n in self.per_recipient.items() if n > 1}

    def stats(self, *, recipients: bool = False, samples: bool = False) -> dict:
        with self._lock:
            result = {
                "calls": self.calls,
                "batch_calls": self.batch_calls,
                "messages": self.messages,
                "bytes_received": self.bytes_received,
                "recipients": len(self.per_recipient),
                "duplicates": self.duplicate_messages,
                "refused_calls": {str(k): v for k, v in self.refused_calls.items()},
                "sampled_messages": self.sampled_messages,
                "problems": self.problems[:20],
                "script": asdict(self.script),
            }
            if recipients:
                result["per_recipient"] = dict(self.per_recipient)
            if samples:
                result["samples"] = [asdict(sample) for sample in self.samples]
        return result

    # --- one API call ----------------------------------------------------------------------

    def handle(self, path: str, body: bytes) -> tuple[int, object, dict, float]:
        """(status, JSON answer, headers, seconds to hang before answering) for one API call."""
        batch = path == "/email/batch"
        with self._lock:
            self.calls += 1
            self.batch_calls += batch
            self.bytes_received += len(body)
            call_number = self.calls
            script = self.script
            forced = script.fail_next.pop(0) if script.fail_next else None
            draw = self._random.random()
        latency = script.latency_ms / 1000.0
        if latency:
            time.sleep(latency)
        refuse = forced
        if refuse is None:
            if draw < script.error_rate:
                refuse = 500
            elif draw < script.error_rate + script.throttle_rate:
                refuse = 429
        if refuse is not None:
            with self._lock:
                self.refused_calls[refuse] += 1
            if refuse == 429:
                answer = {"ErrorCode": 429, "Message": "Rate limit exceeded"}
                return 429, answer, {"Retry-After": f"{script.retry_after:g}"}, 0.0
            return refuse, {"ErrorCode": refuse, "Message": "Internal Server Error"}, {}, 0.0
        hang = 0.0
        if script.hang_rate and draw >= 1 - script.hang_rate:
            hang = script.hang_seconds

        sampled = self.sample_every and call_number % self.sample_every == 0
        if sampled:
            items = json.loads(body)
            items = items if batch else [items]
            addresses = [_addresses(str(item.get("To", ""))) for item in items]
            self._check(items)
        else:
            addresses = [_recipients(match.group(1)) for match in _TO.finditer(body)]
        answers = []
        with self._lock:
            for to in addresses:
                for address in to:
                    if self.per_recipient[address]:
                        self.duplicate_messages += 1
                    self.per_recipient[address] += 1
                self.messages += 1
                answers.append(
                    {
                        "ErrorCode": 0,
                        "Message": "OK",
                        "MessageID": f"loop-{next(self._ids)}",
                        "SubmittedAt": "2026-04-28T07:00:00Z",
                        "To": ", ".join(to),
                    }
                )
        return 200, (answers if batch else answers[0]), {}, hang

    def _check(self, items: list[dict]) -> None:
        found: list[str] = []
        kept: list[Sample] = []
        # Spread over the batch; an HTML parse in Python costs more than sending the message did.
        step = max(1, len(items) // self.check_per_call)
        for item in items[::step][: self.check_per_call]:
            found += [f"{item.get('To')}: {p}" for p in body_problems(item)]
            kept.append(
                Sample(
                    to=item.get("To", ""),
                    subject=item.get("Subject", ""),
                    html=item.get("HtmlBody", ""),
                    text=item.get("TextBody", ""),
                    headers={h.get("Name", ""): h.get("Value", "") for h in item.get("Headers") or []},
                    metadata=item.get("Metadata") or {},
                    tag=item.get("Tag", ""),
                )
            )
        with self._lock:
            self.sampled_messages += len(items)
            self.problems += found
            room = self.keep_samples - len(self.samples)
            if room > 0:
                self.samples += kept[:room]

    # --- lifecycle -------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        """What ANYMAIL_POSTMARK_API_URL should be."""
        return f"http://127.0.0.1:{self.port}/"

    def start(self) -> PostmarkServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> PostmarkServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A loopback Postmark API server.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--sample-every", type=int, default=20, help="parse and check one call in N")
    parser.add_argument("--check-per-call", type=int, default=5, help="messages checked per sampled call")
    parser.add_argument("--error-rate", type=float, default=0.0)
    parser.add_argument("--throttle-rate", type=float, default=0.0)
    parser.add_argument("--hang-rate", type=float, default=0.0)
    parser.add_argument("--hang-seconds", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    script = Script(
        latency_ms=args.latency_ms,
        error_rate=args.error_rate,
        throttle_rate=args.throttle_rate,
        hang_rate=args.hang_rate,
        hang_seconds=args.hang_seconds,
        seed=args.seed,
    )
    server = PostmarkServer(
        script=script, sample_every=args.sample_every, check_per_call=args.check_per_call, port=args.port
    )
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"PORT {server.port}", flush=True)
    try:
        server._httpd.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server._httpd.server_close()


if __name__ == "__main__":
    main()
