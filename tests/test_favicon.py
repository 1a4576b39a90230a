"""Browsers ask every site for /favicon.ico, whatever its pages link: it is an icon, not a 404."""

from __future__ import annotations


def test_favicon_ico_is_an_icon(client) -> None:
    answer = client.get("/favicon.ico")
    assert answer.status_code == 200
    assert answer.mimetype in {"image/x-icon", "image/vnd.microsoft.icon"}
    assert answer.data[:4] == b"\x00\x00\x01\x00"  # an ICO header: reserved 0, type 1 (icon)
    assert "max-age" in answer.headers["Cache-Control"]


def test_pages_link_the_svg_favicon(client) -> None:
    page = client.get("/login").text
    assert 'rel="icon" href="/static/favicon.svg" type="image/svg+xml"' in page
    assert client.get("/static/favicon.svg").mimetype == "image/svg+xml"
