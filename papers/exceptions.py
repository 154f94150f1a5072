"""Why a feed could not be used. Transient failures are worth trying again later; permanent ones are not."""


class FeedError(Exception):
    """A source could not be fetched or read."""

    def __init__(self, message: str, *, http_status: int | None = None, retry_after: float | None = None):
        super().__init__(message)
        self.http_status = http_status
        # Seconds the server asked us to wait (Retry-After), when it said.
        self.retry_after = retry_after


class FeedFetchError(FeedError):
    """Transient: timeout, connection failure, 5xx, 429. The source is tried again after a backoff."""


class FeedFormatError(FeedError, ValueError):
    """Permanent for this response: wrong content type, too large, 4xx, not a feed, arXiv API error."""
