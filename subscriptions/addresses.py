"""Email addresses as Paperboy stores them, and the check that keeps line breaks out of headers.

Normalising: surrounding whitespace is stripped and the domain is lowercased (and IDNA-encoded, so
`ADA@Exämple.org` and `ada@xn--exmple-cua.org` are one address). The local part keeps the case the
person typed: RFC 5321 lets a mail server treat it as case-sensitive, so we send to exactly what was
typed. Uniqueness is still case-insensitive (a Lower(email) constraint), so `Ada@x.org` and
`ada@x.org` are one subscriber, and every lookup goes through `address_key`.
"""

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

MAX_LENGTH = 254  # RFC 5321 path limit
# Characters that would end or smuggle a header line; never allowed in any form field.
HEADER_BREAKERS = frozenset("\r\n\x00\u2028\u2029\x85")


class InvalidAddress(ValidationError):
    pass


def has_header_breakers(value: str) -> bool:
    return any(char in HEADER_BREAKERS for char in value)


def normalise_email(raw: str) -> str:
    """The stored form of an address, or InvalidAddress with a message a person can act on."""
    if not isinstance(raw, str) or has_header_breakers(raw):
        raise InvalidAddress("An email address cannot contain line breaks.")
    value = raw.strip()
    local, at, domain = value.rpartition("@")
    if not at or not local or not domain:
        raise InvalidAddress("Enter a valid email address.")
    try:
        domain = domain.encode("idna").decode("ascii").lower()
    except UnicodeError as exc:
        raise InvalidAddress("Enter a valid email address.") from exc
    address = f"{local}@{domain}"
    if len(address) > MAX_LENGTH:
        raise InvalidAddress("That email address is too long.")
    try:
        validate_email(address)
    except ValidationError as exc:
        raise InvalidAddress("Enter a valid email address.") from exc
    return address


def address_key(address: str) -> str:
    """What uniqueness compares: the whole address, case-folded (matches Lower(email))."""
    return address.lower()
