"""An email backend that writes each message to its own .eml file: the embedded default's "outbox".

Any mail program opens an .eml file, so a person can read exactly what would have been sent.
"""

import itertools
import os
import re
import threading
from pathlib import Path

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone

_counter = itertools.count()
_lock = threading.Lock()


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "message"


def outbox_dir() -> Path | None:
    """The folder email is written to, or None when it goes out through a real provider."""
    backend = f"{OutboxEmailBackend.__module__}.{OutboxEmailBackend.__qualname__}"
    return Path(settings.OUTBOX_DIR) if backend == settings.EMAIL_BACKEND else None


class OutboxEmailBackend(BaseEmailBackend):
    def __init__(self, *, outbox_dir: str | os.PathLike | None = None, **kwargs):
        super().__init__(**kwargs)
        self.outbox_dir = Path(outbox_dir or settings.OUTBOX_DIR)

    def send_messages(self, email_messages) -> int:
        self.outbox_dir.mkdir(parents=True, exist_ok=True)
        sent = 0
        for message in email_messages:
            if not message.recipients():
                continue
            with _lock:
                serial = next(_counter)
            stamp = timezone.now().strftime("%Y%m%d-%H%M%S-%f")
            name = f"{stamp}-{os.getpid()}-{serial}-{_slug(str(message.subject))}.eml"
            # Write then rename, so a reader never sees half a message.
            tmp = self.outbox_dir / f".{name}.tmp"
            tmp.write_bytes(message.message().as_bytes(linesep="\r\n"))
            tmp.rename(self.outbox_dir / name)
            sent += 1
        return sent
