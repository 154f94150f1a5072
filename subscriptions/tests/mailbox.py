"""Reading what a real worker wrote to the outbox folder (mailing.outbox.OutboxEmailBackend)."""

import re
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from testsupport.processes import wait_for


def wait_for_mail(outbox: Path, to: str, *, timeout: float = 60, subject: str = "") -> EmailMessage:
    """The first email to `to` (whose subject starts with `subject`) a worker wrote to the outbox."""

    def _find():
        for path in sorted(outbox.glob("*.eml")):
            message = message_from_bytes(path.read_bytes(), policy=policy.default)
            if to in str(message["To"]) and str(message["Subject"]).startswith(subject):
                return message
        return None

    return wait_for(_find, timeout=timeout, message=f"an email to {to} in {outbox}")


def link_in(message: EmailMessage, kind: str) -> str:
    text = message.get_body(("plain",)).get_content()
    match = re.search(rf"https?://\S+/{kind}/[^/\s]+/", text)
    assert match, text
    return match[0]
