"""The clip page's "Who watched" section (issue 14): its uploader sees who else played the
clip, took an export or opened it in a meeting; nobody else sees the section at all."""

from __future__ import annotations

import re

from tests.conftest import csrf_token, sign_in_as


def page_of(pair, clip_id: str, who_id: str) -> str:
    client = pair.client()
    sign_in_as(client, who_id)
    response = client.get(f"/clips/{clip_id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_uploader_sees_an_empty_list_before_anyone_watched(pair) -> None:
    clip_id = pair.add_clip_row()
    html = page_of(pair, clip_id, pair.teacher_id)
    assert 'id="who-watched"' in html
    assert "Nobody else has played this clip" in html


def test_the_uploader_sees_each_partner_and_what_they_did(pair) -> None:
    clip_id = pair.add_clip_row()
    played = pair.client().post(f"/api/v1/clips/{clip_id}/plays", headers=pair.headers("coach"))
    assert played.status_code == 204
    assert pair.get(f"/clips/{clip_id}/comments.csv", "coach").status_code == 200
    html = page_of(pair, clip_id, pair.teacher_id)
    section = html[html.index('id="who-watched"') :]
    section = section[: section.index("</details>")]
    rows = re.findall(r"<tr>\s*<td>([^<]*)</td>\s*<td>([^<]*)</td>", section)
    assert sorted(rows) == [("Cole", "downloaded an export"), ("Cole", "played it")]
    assert "Nobody else" not in section


def test_a_partner_never_sees_the_section(pair) -> None:
    clip_id = pair.add_clip_row()
    assert pair.client().post(f"/api/v1/clips/{clip_id}/plays", headers=pair.headers("coach"))
    html = page_of(pair, clip_id, pair.coach_id)
    assert "who-watched" not in html
    assert "Who watched" not in html


def test_the_page_beacon_is_a_session_request_with_the_csrf_header(pair) -> None:
    """review.js posts to data-plays-url with the session cookie and X-CSRFToken."""
    clip_id = pair.add_clip_row()
    client = pair.client()
    sign_in_as(client, pair.coach_id)
    html = client.get(f"/clips/{clip_id}").get_data(as_text=True)
    url = re.search(r'data-plays-url="([^"]+)"', html).group(1)
    assert url == f"/api/v1/clips/{clip_id}/plays"
    assert client.post(url).status_code in {400, 403}  # no CSRF header: refused
    token = csrf_token(client)
    assert client.post(url, headers={"X-CSRFToken": token}).status_code == 204
    assert "played it" in page_of(pair, clip_id, pair.teacher_id)
