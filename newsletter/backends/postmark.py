"""anymail's Postmark backend plus Postmark's batch endpoint for distinct messages.

`send_messages([one])` is anymail's own single send (POST /email). With several messages, up to
BATCH_SIZE of them go in one POST /email/batch call, each with its own recipients, content,
headers, metadata and tag. Errors keep anymail's shapes so callers handle both paths alike:
- the call itself fails (network, 5xx, 429, 401): AnymailRequestsAPIError for the whole batch;
- the call succeeds: every message gets its own `anymail_status`; a message Postmark refused gets
  status "rejected" (inactive recipient, ErrorCode 406), "invalid" (bad address, ErrorCode 300), or
  "failed" (any other per-message error: it was not sent and may be tried again), with Postmark's
  ErrorCode and Message kept in `message.anymail_status.esp_response_item`.

https://postmarkapp.com/developer/user-guide/send-email-with-api/batch-emails
"""

import re

from anymail.backends.postmark import EmailBackend as AnymailPostmarkBackend
from anymail.exceptions import AnymailRequestsAPIError
from anymail.message import AnymailRecipientStatus, AnymailStatus

BATCH_SIZE = 500  # Postmark: at most 500 messages per batch call (and 50 MB)
_INVALID_RECIPIENT = re.compile(r"^(Invalid|Error\s+parsing)\s+'(To|Cc|Bcc)'", re.IGNORECASE)


class EmailBackend(AnymailPostmarkBackend):
    batch_size = BATCH_SIZE

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
        items, kept = [], []
        for message in messages:
            message.anymail_status = AnymailStatus()
            if not self.run_pre_send(message):
                continue  # a pre_send receiver cancelled this one
            payload = self.build_message_payload(message, self.send_defaults)
            # The single-message JSON of each message; the batch is the list of them.
            items.append(payload.data)
            kept.append(message)
        if not items:
            return 0
        first = kept[0]
        batch_payload = self.build_message_payload(first, self.send_defaults)
        batch_payload.serialize_data = lambda: batch_payload.serialize_json(items)
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
