"""Gunicorn's access log without link tokens, readers' addresses or credentials.

Used as `gunicorn --logger-class config.accesslog.RedactingLogger` (Dockerfile, docker-compose.yml).

The paths of confirm, manage, unsubscribe and view-in-browser links carry the token that acts for a
reader, and the Referer of every request made from those pages (a stylesheet, a script) repeats it.
A query string may carry a reader's address, and basic auth names the webhook user. Each is redacted
before the line is written, whatever --access-logformat asks for.
"""

from gunicorn.glogging import Logger

from subscriptions.logfilters import REDACTED, SECRET_HEADERS, redact


def _is_secret_atom(key: str) -> bool:
    """Header atoms ({name}i, {name}o) and their environ twins ({http_name}e) that carry credentials."""
    if not (key.startswith("{") and "}" in key):
        return False
    name = key[1 : key.index("}")].lower().replace("_", "-").removeprefix("http-")
    return name in SECRET_HEADERS


class RedactingLogger(Logger):
    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for key, value in atoms.items():
            if _is_secret_atom(key):
                atoms[key] = REDACTED
            elif isinstance(value, str):
                atoms[key] = redact(value)
        atoms["u"] = "-"  # the basic-auth user name is half of WEBHOOK_SECRET
        return atoms
