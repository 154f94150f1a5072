"""Keep link tokens, readers' addresses and credentials out of logs and error reports.

Django logs the path of every 4xx/5xx, and paths carry tokens (and, in a query string, an address).
The same redaction serves gunicorn's access log (config.accesslog) and Sentry (config.sentry).
"""

import logging
import re

# /digest/ is the newsletter's view-in-browser link: its page carries the reader's manage links.
_TOKEN_IN_PATH = re.compile(r"/(confirm|manage|unsubscribe|digest)/[^/\s\"'?]+")
# An address as typed, or percent-encoded in a URL (reader%40example.com); a dot in the domain keeps
# worker names such as celery@host apart. Matches start only where a run of address characters does:
# without the lookbehind a long request line costs quadratic time (0.4 s for 8,000 characters).
_EMAIL_ADDRESS = re.compile(r"(?<![\w.%+-])[\w.%+-]+(?:@|%40)[\w-]+(?:\.[\w-]+)+")
REDACTED = "[redacted]"
# Request headers that carry credentials: their values are never written or reported.
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})
# Loggers that write request paths: Django's request and CSRF warnings, runserver's access log.
LOGGERS = ("django.request", "django.security.csrf", "django.server")


def redact(text: str) -> str:
    text = _TOKEN_IN_PATH.sub(rf"/\1/{REDACTED}", text)
    return _EMAIL_ADDRESS.sub(REDACTED, text)


class RedactLinkTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is not ours to fix; let logging report it
            return True
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def install() -> None:
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactLinkTokens) for f in logger.filters):
            logger.addFilter(RedactLinkTokens())
