"""The site's icon: /favicon.ico, which browsers ask for on every site, and the icons pages link."""

import re

import pytest

pytestmark = pytest.mark.django_db

_ICON_LINK = re.compile(r'<link rel="icon" href="([^"]+)"')


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_favicon_ico_answers_with_an_icon_at_the_site_root(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/x-icon"
    assert _body(response)[:4] == b"\x00\x00\x01\x00"  # the ICO file header


@pytest.mark.parametrize("page", ["/", "/archive/", "/admin/login/"])
def test_site_and_admin_pages_link_icons_that_answer(client, page):
    icons = _ICON_LINK.findall(client.get(page).content.decode())
    assert "/favicon.ico" in icons
    assert any(href.endswith(".svg") for href in icons)
    for href in icons:
        response = client.get(href)
        assert response.status_code == 200, href
        assert response["Content-Type"].startswith("image/"), href
