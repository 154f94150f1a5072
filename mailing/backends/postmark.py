"""anymail's Postmark backend plus Postmark's batch endpoint for distinct messages.

`send_messages([one])` is anymail's own single send (POST /email). With several messages, up to
BATCH_SIZE of them go in one POST /email/batch call, each with its own recipients, content,
headers, metadata and tag. Errors keep anymail's shapes so callers handle both paths alike:
- the call itself fails (network, 5xx, 429, 401): AnymailRequestsAPIError for the whole batch;
- the call succeeds: every message gets its own `anymail_status`; a message Postmark refused gets
  status "rejected" (inactive recipient, ErrorCode 406), "invalid" (bad address, ErrorCode 300), or
  "failed" (any other per-message error: it was not sent and may be tried again), with Postmark's
  ErrorCode and Message kept in `message.anymail_status.esp_response_item`.

Building each message's JSON through anymail's payload class costs ~0.2 ms (address parsing, header
and attribute handling); at 100k digests that was the largest single cost of sending. Messages of the
plain shape digests have (one plain To address, the batch's From, a text and an HTML body, headers,
metadata, tags, nothing else) are turned into Postmark's JSON directly, using the bodies' JSON the
digest assembler made when the message still carries them (`DigestMessage.prepared_json()`: the
bodies are then never decoded to text at all); anything else goes through anymail's builder. A test
holds both to the same output.

https://postmarkapp.com/developer/user-guide/send-email-with-api/batch-emails
"""

import copy
import itertools
import json
import re
from json.encoder import encode_basestring

from anymail.backends.postmark import EmailBackend as AnymailPostmarkBackend
from anymail.exceptions import AnymailRequestsAPIError
from anymail.message import AnymailRecipientStatus, AnymailStatus
from anymail.utils import UNSET

BATCH_SIZE = 500  # Postmark: at most 500 messages per batch call (and 50 MB)
_INVALID_RECIPIENT = re.compile(r"^(Invalid|Error\s+parsing)\s+'(To|Cc|Bcc)'", re.IGNORECASE)
# An address anymail passes through unchanged: ASCII, no display name, no quoting, one @.
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+")
# Anymail attributes a plain message leaves unset (metadata and tags are handled directly).
_UNSET_ATTRIBUTES = (
    "esp_extra", "envelope_sender", "send_at", "track_clicks", "track_opens", "template_id",
    "merge_data", "merge_global_data", "merge_headers", "merge_metadata",
)  # fmt: skip
# Headers anymail passes to Postmark as they are (it treats Reply-To and a few others specially).
_PLAIN_HEADERS = frozenset({"list-unsubscribe", "list-unsubscribe-post", "list-id", "message-id"})


def _json(value) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


def _json_str(value: str) -> bytes:
    # What json.dumps(value, ensure_ascii=False) gives for a str, without the encoder's set-up per call.
    return encode_basestring(value).encode()


def _json_str_pairs(pairs, key_name: str, value_name: str) -> bytes:
    """json.dumps([{key_name: k, value_name: v}, …], ensure_ascii=False) for str pairs."""
    start, middle = f'{{"{key_name}": '.encode(), f', "{value_name}": '.encode()
    encoded = (start + _json_str(k) + middle + _json_str(v) + b"}" for k, v in pairs)
    return b"[%s]" % b", ".join(encoded)


def _json_str_dict(mapping: dict[str, str]) -> bytes:
    """json.dumps(mapping, ensure_ascii=False) for a dict of str to str."""
    return b"{%s}" % b", ".join(_json_str(k) + b": " + _json_str(v) for k, v in mapping.items())


class BatchBody:
    """A batch request's body, sent as it is joined: a known length (so the request carries a
    Content-Length, not chunked encoding) and the messages joined a block at a time while they go out.

    A batch of 500 digests is ~20 MB; joined into one bytes object up front, each call on the wire
    held a copy of all of it, which is what a worker's resident size grew by per call in flight.
    Bytes are sent once: a request is never replayed (requests' adapters do not retry a request
    that was sent), and a retried group is a new call with a new body.

    `items` are the messages' pieces, one list per message (a digest's is ~130 pieces, mostly the
    shared paper fragments): a block is joined by one C-level join over a few whole messages, so
    the Python work per call is per message, not per piece.
    """

    BLOCK = 256 * 1024

    def __init__(self, items: list[list[bytes]]) -> None:
        self._items = items
        self._sizes = [sum(map(len, item)) for item in items]
        self._length = sum(self._sizes)

    def __len__(self) -> int:
        return self._length

    def __iter__(self):
        items, sizes, start, size = self._items, self._sizes, 0, 0
        for end, item_size in enumerate(sizes, 1):
            size += item_size
            if size >= self.BLOCK:
                yield b"".join(itertools.chain.from_iterable(items[start:end]))
                start, size = end, 0
        if start < len(items):
            yield b"".join(itertools.chain.from_iterable(items[start:]))

    def joined(self) -> bytes:
        return b"".join(itertools.chain.from_iterable(self._items))


class EmailBackend(AnymailPostmarkBackend):
    batch_size = BATCH_SIZE
    # newsletter.sending may keep this many batch calls on the wire at once, one per connection.
    max_calls_in_flight = 4

    def parallel_connection(self) -> "EmailBackend":
        """Another connection with this one's settings (server token, API URL, timeout, defaults) and
        its own HTTP session, for a call made while this one's is on the wire: a requests Session
        is not promised to be safe for use by two threads at once."""
        other = copy.copy(self)
        other.session = None
        return other

    def send_messages(self, email_messages):
        messages = [m for m in email_messages if m.recipients()]
        if len(messages) <= 1 or self.use_bulk_api:
            return super().send_messages(messages)
        created_session = self.open()
        try:
            sent = 0
            for start in range(0, len(messages), BATCH_SIZE):
                sent += self._send_batch(messages[start : start + BATCH_SIZE])
            return sent
        finally:
            if created_session:
                self.close()

    def _send_batch(self, messages) -> int:
        # The batch body's pieces, joined once: each message's JSON is a list of pieces, mostly the
        # digest fragments the assembler shares between messages.
        items, kept = [], []
        template = None  # anymail's JSON for the first plain message: its From is every plain one's
        for message in messages:
            message.anymail_status = AnymailStatus()
            if not self.run_pre_send(message):
                continue  # a pre_send receiver cancelled this one
            item = self._plain_item(message, template) if template else None
            if item is None:
                data = self.build_message_payload(message, self.send_defaults).data
                if template is None and self._is_plain(message):
                    template = (message.from_email, _json(data["From"]))
                item = [_json(data)]
            # The single-message JSON of each message; the batch is the list of them.
            item.append(b",")
            items.append(item)
            kept.append(message)
        if not kept:
            return 0
        first = kept[0]
        batch_payload = self.build_message_payload(first, self.send_defaults)
        items[0].insert(0, b"[")
        items[-1][-1] = b"]"  # the last comma closes the list
        body = BatchBody(items)
        del items
        if self.debug_api_requests:
            # anymail's request dump (ANYMAIL debug_api_requests) prints the body as bytes after the call.
            body = body.joined()
        batch_payload.serialize_data = lambda: body
        batch_payload.get_api_endpoint = lambda: "email/batch"
        response = self.post_to_esp(batch_payload, first)
        results = self.deserialize_json_response(response, batch_payload, first)
        if not isinstance(results, list) or len(results) != len(kept):
            raise AnymailRequestsAPIError(
                "Postmark batch answer does not list one result per message",
                email_message=first,
                payload=batch_payload,
                response=response,
                backend=self,
            )
        sent = 0
        for message, item in zip(kept, results, strict=True):
            status = self._item_status(item)
            recipients = {
                address: AnymailRecipientStatus(
                    message_id=item.get("MessageID") if status in ("sent", "queued") else None, status=status
                )
                for address in message.to
            }
            message.anymail_status.set_recipient_status(recipients)
            message.anymail_status.esp_response = response
            message.anymail_status.esp_response_item = item
            self.run_post_send(message)
            if status in ("sent", "queued"):
                sent += 1
        return sent

    def _is_plain(self, message) -> bool:
        if self.send_defaults or message.cc or message.bcc or message.reply_to or message.attachments:
            return False
        if message.content_subtype != "plain" or not isinstance(message.subject, str):
            return False
        unread = getattr(message, "bodies_unread", None)
        if unread is None or not unread():  # an assembled digest's are a text and one HTML part
            alternatives = getattr(message, "alternatives", None) or []
            if len(alternatives) != 1 or alternatives[0][1] != "text/html":
                return False
        if len(message.to) != 1 or not _PLAIN_ADDRESS.fullmatch(message.to[0]):
            return False
        if any(getattr(message, name, UNSET) is not UNSET for name in _UNSET_ATTRIBUTES):
            return False
        metadata, tags = getattr(message, "metadata", UNSET), getattr(message, "tags", UNSET)
        if metadata is not UNSET and not all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
        ):
            return False
        if tags is not UNSET and (len(tags) != 1 or not isinstance(tags[0], str)):
            return False  # Postmark takes one tag; anymail warns or refuses on more
        headers = message.extra_headers
        return all(isinstance(v, str) and k.lower() in _PLAIN_HEADERS for k, v in headers.items())

    def _plain_item(self, message, template: tuple[str, bytes]) -> list[bytes] | None:
        """Postmark's JSON for a plain message, as anymail would build it, in pieces; None for any
        other shape."""
        from_email, from_json = template
        if message.from_email != from_email or not self._is_plain(message):
            return None
        prepare = getattr(message, "prepared_json", None)
        prepared = prepare() if prepare is not None else None
        if prepared is not None:
            html_json, text_json = prepared
        else:
            html_json, text_json = [_json(message.alternatives[0][0])], [_json(message.body)]
        # Every value here is a str (_is_plain checked), so each is one C-level JSON string escape.
        headers = _json_str_pairs(message.extra_headers.items(), "Name", "Value")
        parts = [
            b'{"From":', from_json, b',"To":', _json_str(message.to[0]), b',"Subject":',
            _json_str(message.subject), b',"Headers":', headers, b',"TextBody":', *text_json,
            b',"HtmlBody":', *html_json,
        ]  # fmt: skip
        if message.metadata is not UNSET:
            parts += [b',"Metadata":', _json_str_dict(message.metadata)]
        if message.tags is not UNSET:
            parts += [b',"Tag":', _json_str(message.tags[0])]
        parts.append(b"}")
        return parts

    @staticmethod
    def _item_status(item) -> str:
        if not isinstance(item, dict):
            return "failed"
        code = item.get("ErrorCode", 0)
        text = str(item.get("Message", ""))
        if code == 0 and item.get("MessageID"):
            return "queued" if "delivery may be delayed" in text else "sent"
        if code == 406:  # inactive recipient: hard bounce or spam complaint before
            return "rejected"
        if code == 300 and _INVALID_RECIPIENT.match(text):
            return "invalid"
        return "failed"
