import pytest

from subscriptions.addresses import InvalidAddress, address_key, normalise_email


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("  Ada@Example.COM ", "Ada@example.com"),
        ("ada@exämple.org", "ada@xn--exmple-cua.org"),
        ("first.last+tag@sub.example.co.uk", "first.last+tag@sub.example.co.uk"),
    ],
)
def test_addresses_are_stripped_and_their_domain_lowercased(raw, stored):
    assert normalise_email(raw) == stored


def test_local_part_keeps_its_case_but_uniqueness_ignores_it():
    assert normalise_email("Ada@Example.com") != normalise_email("ada@example.com")
    assert address_key(normalise_email("Ada@Example.com")) == address_key(normalise_email("ada@EXAMPLE.com"))


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "no-at-sign",
        "@example.com",
        "ada@",
        "ada@example.com\r\nBcc: victim@example.org",
        "ada@example.com\n",
        "ada\x00@example.com",
        "ada@exa mple.com",
        "a" * 250 + "@example.com",
        "ada@" + "x" * 64 + ".com",
        "ada@example.com\u2028",
    ],
)
def test_invalid_or_header_breaking_addresses_are_refused(raw):
    with pytest.raises(InvalidAddress):
        normalise_email(raw)
