"""The clip page's "What your partnership sees" (issue 14): the uploader's form for the
redaction API, and what a partner's page shows while the shared version is made."""

from __future__ import annotations

from tests.conftest import csrf_token, sign_in_as


def signed_in(pair, who_id: str):
    client = pair.client()
    sign_in_as(client, who_id)
    return client


def settings_of(pair, clip_id: str) -> dict:
    return pair.get(f"/api/v1/clips/{clip_id}/redaction").json


def test_the_uploader_saves_what_is_shared_from_the_page(pair) -> None:
    clip_id = pair.add_clip_row(duration_ms=600_000)
    client = signed_in(pair, pair.teacher_id)
    page = client.get(f"/clips/{clip_id}").get_data(as_text=True)
    assert 'id="redaction"' in page and "the lesson as recorded" in page
    answer = client.post(
        f"/clips/{clip_id}/redaction",
        data={
            "csrf_token": csrf_token(client),
            "blur_faces": "on",
            "share_from": "1:30",
            "share_to": "8:00",
            "mute": "2:05-2:09\n\n3:00.5 \u2013 3:02\n",  # an en dash, as a Mac types it
        },
    )
    assert answer.status_code == 302 and answer.location.endswith(f"/clips/{clip_id}#redaction")
    assert settings_of(pair, clip_id) | {"status": None} == {
        "blur_faces": True,
        "trim": [90.0, 480.0],
        "mute": [[125.0, 129.0], [180.5, 182.0]],
        "blur_regions": [],
        "status": None,
        "progress": 0.0,
        "error": None,
    }
    page = client.get(f"/clips/{clip_id}").get_data(as_text=True)
    assert 'value="1:30"' in page and 'value="8:00"' in page
    assert "2:05-2:09\n3:00.5-3:02" in page
    assert "Making the shared version" in page


def test_a_time_that_is_not_one_is_refused_in_plain_words_and_nothing_is_saved(pair) -> None:
    clip_id = pair.add_clip_row(duration_ms=600_000)
    client = signed_in(pair, pair.teacher_id)
    token = csrf_token(client)
    answer = client.post(
        f"/clips/{clip_id}/redaction",
        data={"csrf_token": token, "mute": "about two minutes in"},
        follow_redirects=True,
    )
    assert "write each muted part as from-to" in answer.get_data(as_text=True)
    answer = client.post(
        f"/clips/{clip_id}/redaction",
        data={"csrf_token": token, "share_from": "12:00"},
        follow_redirects=True,
    )
    assert "must start before the end of the clip" in answer.get_data(as_text=True)
    assert settings_of(pair, clip_id)["status"] is None


def test_a_partner_sees_neither_the_form_nor_the_media_while_the_version_is_made(pair) -> None:
    clip_id = pair.add_clip_row()
    teacher = signed_in(pair, pair.teacher_id)
    teacher.post(
        f"/clips/{clip_id}/redaction",
        data={"csrf_token": csrf_token(teacher), "blur_faces": "on"},
    )
    page = signed_in(pair, pair.coach_id).get(f"/clips/{clip_id}").get_data(as_text=True)
    assert 'id="redaction"' not in page and "What your partnership sees" not in page
    assert 'id="being-redacted"' in page
    assert "/media/" not in page
    assert signed_in(pair, pair.coach_id).post(
        f"/clips/{clip_id}/redaction", data={"blur_faces": "on"}
    ).status_code in {400, 403}
