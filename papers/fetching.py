"""HTTP for feeds: timeouts, a body-size cap, conditional GET, Retry-After, and arXiv's pace.

Never called inside a database transaction (see papers.ingest).
"""

import email.utils
import logging
import math
import ssl
import time
import tomllib
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.core.cache import cache

from .conf import setting
from .exceptions import FeedFetchError, FeedFormatError
from .models import Source

logger = logging.getLogger(__name__)

ARXIV_SLOT_KEY = "papers:arxiv-request-slot"
# A worker waiting this long for its arXiv turn gives up and the source is tried again later.
ARXIV_SLOT_MAX_WAIT = 60.0
_CHUNK_SIZE = 256 * 1024  # fewer Python iterations over a multi-megabyte listing
_TRANSIENT_STATUSES = {429, 500, 502, 503, 504}
_RETRY_IN_PLACE_STATUSES = {429, 503}

_ACCEPT = {
    Source.Kind.ARXIV_RSS: "application/rss+xml, application/xml;q=0.9, text/xml;q=0.8",
    Source.Kind.ARXIV_API: "application/atom+xml, application/xml;q=0.9, text/xml;q=0.8",
    Source.Kind.HF_DAILY: "application/json",
    Source.Kind.RSS_ATOM: "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.8",
}


@dataclass(frozen=True, slots=True)
class FetchResult:
    status_code: int
    body: bytes | None  # None when the server answered 304 Not Modified
    etag: str = ""
    last_modified: str = ""
    content_type: str = ""

    @property
    def not_modified(self) -> bool:
        return self.status_code == 304


@lru_cache(maxsize=1)
def _version() -> str:
    try:
        with open(settings.BASE_DIR / "pyproject.toml", "rb") as file:
            return tomllib.load(file)["project"]["version"]
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "0"


def user_agent() -> str:
    """Names the service, where it runs and whom to write to, as arXiv asks of automated clients."""
    return f"Paperboy/{_version()} (+{settings.SITE_URL}; mailto:{settings.PAPERBOY_CONTACT_EMAIL})"


def is_arxiv(*, url: str, kind: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return (
        kind in (Source.Kind.ARXIV_RSS, Source.Kind.ARXIV_API)
        or host == "arxiv.org"
        or host.endswith(".arxiv.org")
    )


def wait_for_arxiv_slot() -> None:
    """Block until this process may send the next arXiv request: one every N seconds, all workers together.

    The slot is a cache key that lives N seconds; `cache.add` succeeds for exactly one caller while it
    is absent (atomic SET NX on Redis), so requests start at least N seconds apart.
    """
    interval = setting("ARXIV_MIN_INTERVAL")
    if interval <= 0:
        return
    deadline = time.monotonic() + ARXIV_SLOT_MAX_WAIT
    # Cache timeouts are whole seconds on Redis; rounding up never makes requests closer together.
    while not cache.add(ARXIV_SLOT_KEY, "taken", timeout=math.ceil(interval)):
        if time.monotonic() > deadline:
            raise FeedFetchError(f"waited {ARXIV_SLOT_MAX_WAIT:.0f}s for a turn to call arXiv")
        time.sleep(0.1)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header, which holds either seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _content_type_ok(kind: str, content_type: str, head: bytes) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    if not media_type:
        return True
    if kind == Source.Kind.HF_DAILY:
        return "json" in media_type
    if "xml" in media_type or "rss" in media_type or "atom" in media_type:
        return True
    # Some blogs serve their feed as text/html or text/plain; trust the bytes for generic feeds only.
    if kind == Source.Kind.RSS_ATOM and media_type in ("text/html", "text/plain"):
        return head.lstrip().startswith((b"<?xml", b"<rss", b"<feed", b"<rdf:RDF"))
    return False


@lru_cache(maxsize=1)
def _ssl_context() -> ssl.SSLContext:
    """The TLS settings httpx would build for each client (certificates verified against its trust
    store), built once per process: loading the CA bundle costs tens of milliseconds of CPU, which
    every fetch would otherwise pay again. A context may be shared by any number of connections."""
    return httpx.create_ssl_context()


def _timeout() -> httpx.Timeout:
    return httpx.Timeout(
        connect=setting("FETCH_CONNECT_TIMEOUT"),
        read=setting("FETCH_READ_TIMEOUT"),
        write=setting("FETCH_READ_TIMEOUT"),
        pool=setting("FETCH_CONNECT_TIMEOUT"),
    )


def _body_chunks(response: httpx.Response) -> Iterator[bytes]:
    """The body, decompressed here at most _CHUNK_SIZE at a time.

    httpx inflates each network read whole, and 64 kB of gzip can inflate to 64 MB before the size
    cap sees a byte of it (a "gzip bomb"); bounded inflating keeps memory at the cap.
    """
    encoding = response.headers.get("Content-Encoding", "").strip().lower()
    if encoding in ("", "identity"):
        yield from response.iter_raw(chunk_size=_CHUNK_SIZE)
        return
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise FeedFormatError(f"unsupported content encoding {encoding!r}", http_status=response.status_code)
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 32)  # a gzip or zlib header, whichever is there
    try:
        for raw in response.iter_raw():
            while raw:
                yield inflater.decompress(raw, _CHUNK_SIZE)
                raw = inflater.unconsumed_tail
        yield inflater.flush()
    except zlib.error as exc:
        raise FeedFormatError(
            f"could not decompress the {encoding} body: {exc}", http_status=response.status_code
        ) from exc


def _read_capped(response: httpx.Response, *, deadline: float) -> bytes:
    """The (decompressed) body, refusing more than PAPERS_FETCH_MAX_BYTES and overall slowness."""
    limit = setting("FETCH_MAX_BYTES")
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit and "Content-Encoding" not in response.headers:
        raise FeedFormatError(
            f"response is {int(declared)} bytes, over the {limit}-byte limit",
            http_status=response.status_code,
        )
    chunks: list[bytes] = []
    size = 0
    for chunk in _body_chunks(response):
        size += len(chunk)
        if size > limit:
            raise FeedFormatError(
                f"response is over the {limit}-byte limit", http_status=response.status_code
            )
        if time.monotonic() > deadline:
            raise FeedFetchError(
                f"download took longer than {setting('FETCH_TOTAL_TIMEOUT'):.0f}s",
                http_status=response.status_code,
            )
        chunks.append(chunk)
    return b"".join(chunks)


def _get_once(client: httpx.Client, *, url: str, kind: str, headers: dict[str, str]) -> FetchResult:
    deadline = time.monotonic() + setting("FETCH_TOTAL_TIMEOUT")
    try:
        with client.stream("GET", url, headers=headers) as response:
            status = response.status_code
            if status == 304:
                return FetchResult(
                    status_code=304,
                    body=None,
                    etag=response.headers.get("ETag", ""),
                    last_modified=response.headers.get("Last-Modified", ""),
                )
            if status in _TRANSIENT_STATUSES:
                raise FeedFetchError(
                    f"HTTP {status} from {url}",
                    http_status=status,
                    retry_after=parse_retry_after(response.headers.get("Retry-After")),
                )
            if not 200 <= status < 300:
                raise FeedFormatError(f"HTTP {status} from {url}", http_status=status)
            body = _read_capped(response, deadline=deadline)
            content_type = response.headers.get("Content-Type", "")
            if not _content_type_ok(kind, content_type, body[:200]):
                raise FeedFormatError(
                    f"unexpected content type {content_type!r} for a {Source.Kind(kind).label} source",
                    http_status=status,
                )
            return FetchResult(
                status_code=status,
                body=body,
                etag=response.headers.get("ETag", ""),
                last_modified=response.headers.get("Last-Modified", ""),
                content_type=content_type,
            )
    except httpx.TimeoutException as exc:
        raise FeedFetchError(f"timed out fetching {url} ({type(exc).__name__})") from exc
    except httpx.TransportError as exc:
        raise FeedFetchError(f"could not fetch {url}: {exc}") from exc
    except httpx.HTTPError as exc:
        raise FeedFormatError(f"could not fetch {url}: {exc}") from exc


def fetch_feed(*, url: str, kind: str, etag: str = "", last_modified: str = "") -> FetchResult:
    """GET a feed with the source's validators.

    A 304 comes back as a FetchResult with `not_modified` (nothing new, not "no papers").
    429/503 are waited out in place when the server asks for a short pause (Retry-After, else an
    exponential backoff), up to PAPERS_FETCH_RETRIES times; otherwise FeedFetchError carries the
    pause so the caller can push the source's next fetch back. Other failures raise FeedFetchError
    (transient) or FeedFormatError (permanent).
    """
    headers = {
        "User-Agent": user_agent(),
        "Accept": _ACCEPT.get(kind, "*/*"),
        # Only the encodings _body_chunks inflates under the size cap.
        "Accept-Encoding": "gzip, deflate",
    }
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    throttled = is_arxiv(url=url, kind=kind)
    attempt = 0
    with httpx.Client(
        timeout=_timeout(), follow_redirects=True, max_redirects=5, verify=_ssl_context()
    ) as client:
        while True:
            if throttled:
                wait_for_arxiv_slot()
            try:
                return _get_once(client, url=url, kind=kind, headers=headers)
            except FeedFetchError as exc:
                if exc.http_status not in _RETRY_IN_PLACE_STATUSES or attempt >= setting("FETCH_RETRIES"):
                    raise
                pause = exc.retry_after if exc.retry_after is not None else 2.0**attempt
                if pause > setting("FETCH_MAX_INLINE_WAIT"):
                    raise
                logger.info("%s answered %s; retrying in %.1fs", url, exc.http_status, pause)
                time.sleep(pause)
                attempt += 1
