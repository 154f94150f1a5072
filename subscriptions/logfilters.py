"""Keep link tokens out of logs: Django logs the path of every 4xx/5xx, and paths carry tokens."""

import logging
import re

# /digest/ is the newsletter's view-in-browser link: its page carries the reader's manage links.
_TOKEN_IN_PATH = re.compile(r"/(confirm|manage|unsubscribe|digest)/[^/\s\"'?]+")
# Loggers that write request paths: Django's request and CSRF warnings, runserver's access log.
LOGGERS = ("django.request", "django.security.csrf", "django.server")


def redact(text: str) -> str:
    return _TOKEN_IN_PATH.sub(r"/\1/[redacted]", text)


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
