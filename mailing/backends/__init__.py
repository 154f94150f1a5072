"""Email backends Paperboy adds to Django's and anymail's (same interface: send_messages)."""
