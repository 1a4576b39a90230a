"""What a signed-in person sees is theirs: every response to a request with a session
cookie or an API token says `Cache-Control: private, no-store` unless it chose its own
(media: private, revalidated), so neither a shared cache nor a staff-room computer's
browser keeps it. Public static files stay cacheable for everyone."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

from tests.conftest import PASSWORD, post_login
from tests.studio import Studio
from videocoach import db
from videocoach.accounts.models import User
from videocoach.clips import files
from videocoach.clips.models import AssetKind, Clip, ClipAsset

PRIVATE = "private, no-store"


def add_clip_with_poster(pair: Studio) -> str:
    with pair.app.app_context():
        clip = Clip(
            partnership_id=pair.pid,
            uploaded_by_id=pair.teacher_id,
            title="Fractions",
            visibility="shared",
            status="ready",
            duration_ms=60_000,
        )
        db.session.add(clip)
        db.session.flush()
        key = files.key(clip.id, files.POSTER)
        with tempfile.NamedTemporaryFile(suffix=".jpg", delete=False) as handle:
            handle.write(b"\xff\xd8 not really a picture")
        stored = pair.storage().put_file(key, Path(handle.name), "image/jpeg", move=True)
        db.session.add(
            ClipAsset(
                clip_id=clip.id,
                kind=AssetKind.POSTER.value,
                name=files.POSTER,
                key=key,
                size=stored.size,
                content_type="image/jpeg",
            )
        )
        db.session.commit()
        return clip.id


def test_every_page_for_a_signed_in_person_is_private_and_not_stored(pair, browser_for):
    clip_id = add_clip_with_poster(pair)
    with pair.app.app_context():
        teacher = db.session.get(User, pair.teacher_id)
    browser = browser_for(teacher)
    for path in (
        "/",
        "/partnerships",
        f"/partnerships/{pair.pid}",
        f"/clips/{clip_id}",
        "/account",
        "/notifications",
        "/clips/nope",  # an error page too
    ):
        response = browser.get(path)
        assert response.status_code in (200, 302, 404), (path, response.status_code)
        assert response.headers["Cache-Control"] == PRIVATE, path


def test_every_api_answer_to_a_token_is_private_and_not_stored(pair):
    clip_id = add_clip_with_poster(pair)
    client = pair.client()
    for method, path, body in (
        ("GET", "/api/v1/partnerships", None),
        ("GET", f"/api/v1/partnerships/{pair.pid}", None),
        ("GET", f"/api/v1/clips/{clip_id}", None),
        ("GET", f"/api/v1/clips/{clip_id}/comments", None),
        ("POST", f"/api/v1/clips/{clip_id}/comments", {"body": "Nice", "t_start": 1}),
        ("GET", "/api/v1/notifications", None),
        ("GET", "/api/v1/clips/nope", None),  # an error answer too
    ):
        response = client.open(path, method=method, json=body, headers=pair.headers())
        assert response.status_code in (200, 201, 404), (path, response.status_code)
        assert response.headers["Cache-Control"] == PRIVATE, path


def test_media_keep_their_own_private_revalidated_caching(pair):
    clip_id = add_clip_with_poster(pair)
    response = pair.get(f"/api/v1/clips/{clip_id}/media/{files.POSTER}")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "private, no-cache"
    ranged = pair.get(f"/api/v1/clips/{clip_id}/media/{files.POSTER}", Range="bytes=0-3")
    assert ranged.status_code == 206
    assert ranged.headers["Cache-Control"] == "private, no-cache"


def test_signing_in_is_not_stored(client, make_user):
    user = make_user()
    response = post_login(client, user.email, PASSWORD)
    assert response.status_code == 302
    assert response.headers["Cache-Control"] == PRIVATE


def test_a_rejected_token_answer_is_not_stored_either(client):
    response = client.get("/api/v1/partnerships", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401
    assert response.headers["Cache-Control"] == PRIVATE


def test_public_static_files_stay_cacheable_signed_in_or_not(pair, browser_for, client):
    with pair.app.app_context():
        teacher = db.session.get(User, pair.teacher_id)
    for who in (client, browser_for(teacher)):
        response = who.get("/static/app.css")
        assert response.status_code == 200
        cache_control = response.headers.get("Cache-Control", "")
        assert "no-store" not in cache_control
        assert "private" not in cache_control
        assert "Set-Cookie" not in response.headers


def test_anonymous_public_pages_are_left_alone(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert "Cache-Control" not in response.headers


def test_an_upload_form_post_is_private_too(pair):
    response = pair.client().post(
        f"/api/v1/partnerships/{pair.pid}/clips",
        data={"file": (io.BytesIO(b""), "")},
        headers=pair.headers(),
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert response.headers["Cache-Control"] == PRIVATE
