"""Gunicorn's access log without link tokens or credentials.

Used as `gunicorn --logger-class config.accesslog.RedactingLogger` (Dockerfile, docker-compose.yml).

The paths of confirm, manage, unsubscribe and view-in-browser links carry the token that acts for a
reader, and the Referer of every request made from those pages (a stylesheet, a script) repeats it.
Basic auth names the webhook user. Each is redacted before the line is written, whatever
--access-logformat asks for.
"""

from gunicorn.glogging import Logger

from subscriptions.logfilters import redact

_REDACTED = "[redacted]"
# Header atoms ({name}i, {name}o) and their environ twins ({http_name}e) that carry credentials.
_SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})


def _is_secret_atom(key: str) -> bool:
    if not (key.startswith("{") and "}" in key):
        return False
    name = key[1 : key.index("}")].lower().replace("_", "-").removeprefix("http-")
    return name in _SECRET_HEADERS


class RedactingLogger(Logger):
    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for key, value in atoms.items():
            if _is_secret_atom(key):
                atoms[key] = _REDACTED
            elif isinstance(value, str):
                atoms[key] = redact(value)
        atoms["u"] = "-"  # the basic-auth user name is half of WEBHOOK_SECRET
        return atoms
