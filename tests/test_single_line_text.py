"""Names, titles and labels are one clean line, whichever way they come in: the sign-up
form, the API, the command line, page forms, tus metadata, a file's name, a caption
track's title. Line breaks become spaces; escape characters, bidi overrides and marks
with no right-to-left text to serve go; the text is NFC (an "é" typed as e + U+0301 is
one character). A line break in a name once stopped notification emails from being sent
(`ValueError: Header values may not contain linefeed`) and broke the WebVTT export.
"""

from __future__ import annotations

import base64
import io
import json
import secrets

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from tests.conftest import PASSWORD, app_config, post_form
from tests.studio import Studio
from videocoach import db, limits
from videocoach.accounts.models import ApiToken, User
from videocoach.cli import main
from videocoach.clips.models import Clip
from videocoach.media.probe import parse_probe
from videocoach.partnerships.models import Goal, Partnership

# An NFD "é", a line feed, a carriage return, an ANSI colour escape, RLO and RLM.
HOSTILE = "e\u0301 Ana\nB\rC \x1b[31mred\u202e\u200f "
CLEAN = "\u00e9 Ana B C [31mred"


def new_email() -> str:
    return f"n-{secrets.token_hex(4)}@school.example"


def api(pair: Studio, method: str, path: str, json_body=None, **kwargs):
    return pair.client().open(
        f"/api/v1{path}", method=method, json=json_body, headers=pair.headers(), **kwargs
    )


def teacher_browser(pair: Studio, browser_for):
    with pair.app.app_context():
        return browser_for(db.session.get(User, pair.teacher_id))


def stored(pair: Studio, column, *where):
    with pair.app.app_context():
        return db.session.scalars(select(column).where(*where)).all()


def test_the_cleaner_itself():
    assert limits.one_line(HOSTILE) == CLEAN
    assert limits.clean_filename("Le\u0301sson\x1b[0m\u202e\u200e\n.mp4") == "L\u00e9sson[0m .mp4"
    hebrew = "\u05e9\u05dc\u05d5\u05dd\u200f"  # Hebrew with its RLM: the mark stays
    assert limits.one_line(hebrew) == hebrew
    assert limits.one_line("Ana\u200e (coach)\u200f") == "Ana (coach)"


# --- people ----------------------------------------------------------------------------


def test_user_names_from_the_api_and_the_sign_up_form(pair, client):
    registered = client.post(
        "/api/v1/auth/register",
        json={"email": new_email(), "password": PASSWORD, "name": HOSTILE},
    )
    assert registered.status_code == 201, registered.json
    assert registered.json["user"]["name"] == CLEAN
    email = new_email()
    signed_up = post_form(
        pair.client(), "/signup", {"email": email, "password": PASSWORD, "name": HOSTILE}
    )
    assert signed_up.status_code == 302
    assert stored(pair, User.name, User.email == email) == [CLEAN]


def test_user_names_from_the_command_line(pair, database_url, tmp_path):
    email = new_email()
    env = {**app_config(database_url, tmp_path / "data"), "VIDEOCOACH_PASSWORD": PASSWORD}
    result = CliRunner().invoke(main, ["create-user", "--email", email, "--name", HOSTILE], env=env)
    assert result.exit_code == 0, result.output
    assert stored(pair, User.name, User.email == email) == [CLEAN]


def test_token_labels_from_the_api_and_the_account_page(pair, browser_for):
    with pair.app.app_context():
        email = db.session.get(User, pair.teacher_id).email
    issued = pair.client().post(
        "/api/v1/auth/tokens", json={"email": email, "password": PASSWORD, "label": HOSTILE}
    )
    assert issued.status_code == 201, issued.json
    page = post_form(
        teacher_browser(pair, browser_for), "/account", {"label": HOSTILE, "password": PASSWORD}
    )
    assert page.status_code == 200
    labels = stored(pair, ApiToken.label, ApiToken.user_id == pair.teacher_id)
    assert labels.count(CLEAN) == 2


# --- partnerships and goals ------------------------------------------------------------


def test_partnership_names_from_the_api_and_the_page(pair, browser_for):
    created = api(pair, "POST", "/partnerships", {"name": HOSTILE, "role": "coach"})
    assert created.json["partnership"]["name"] == CLEAN
    renamed = api(pair, "PATCH", f"/partnerships/{pair.pid}", {"name": HOSTILE})
    assert renamed.json["partnership"]["name"] == CLEAN
    page = post_form(
        teacher_browser(pair, browser_for), "/partnerships", {"name": HOSTILE, "role": "coach"}
    )
    assert page.status_code == 302
    assert stored(pair, Partnership.name).count(CLEAN) == 3


def test_goal_titles_and_next_steps_from_the_api_and_the_pages(pair, browser_for):
    goal = api(pair, "POST", f"/partnerships/{pair.pid}/goals", {"title": HOSTILE}).json["goal"]
    assert goal["title"] == CLEAN
    edited = api(pair, "PATCH", f"/goals/{goal['id']}", {"title": "x" + HOSTILE})
    assert edited.json["goal"]["title"] == "x" + CLEAN
    browser = teacher_browser(pair, browser_for)
    page = post_form(browser, f"/partnerships/{pair.pid}/goals", {"title": HOSTILE})
    assert page.status_code == 302
    page = post_form(browser, f"/goals/{goal['id']}/edit", {"title": HOSTILE})
    assert page.status_code == 302
    assert sorted(stored(pair, Goal.title)) == [CLEAN, CLEAN]
    step = api(pair, "POST", f"/partnerships/{pair.pid}/next-steps", {"text": HOSTILE})
    assert step.json["next_step"]["text"] == CLEAN


# --- clips -----------------------------------------------------------------------------


def multipart(pair: Studio, filename: str, **form: str):
    return pair.client().post(
        f"/api/v1/partnerships/{pair.pid}/clips",
        data={"file": (io.BytesIO(b"not processed here"), filename), **form},
        headers=pair.headers(),
        content_type="multipart/form-data",
    )


def test_clip_titles_and_file_names_from_a_multipart_upload(pair):
    typed = multipart(pair, "lesson.mp4", title=HOSTILE).json["clip"]
    assert typed["title"] == CLEAN
    # Browsers send a line break in a file name as %0A (and werkzeug's test client would
    # break the part's headers with a raw one): the rest of HOSTILE, then.
    named = multipart(pair, HOSTILE.replace("\n", " ").replace("\r", " ") + ".mp4").json["clip"]
    assert named["title"] == CLEAN
    assert named["original_filename"] == CLEAN + " .mp4"
    patched = api(pair, "PATCH", f"/clips/{typed['id']}", {"title": "y" + HOSTILE})
    assert patched.json["clip"]["title"] == "y" + CLEAN


def tus_create(pair: Studio, **metadata: str):
    encoded = ",".join(
        f"{key} {base64.b64encode(value.encode()).decode()}"
        for key, value in {"partnership_id": pair.pid, **metadata}.items()
    )
    created = pair.client().post(
        "/api/v1/uploads",
        headers={
            **pair.headers(),
            "Tus-Resumable": "1.0.0",
            "Upload-Length": "4",
            "Upload-Metadata": encoded,
        },
    )
    assert created.status_code == 201
    finished = pair.client().patch(
        created.headers["Location"],
        data=b"data",
        headers={
            **pair.headers(),
            "Tus-Resumable": "1.0.0",
            "Upload-Offset": "0",
            "Content-Type": "application/offset+octet-stream",
        },
    )
    assert finished.status_code == 204
    return finished.headers["Videocoach-Clip-Id"]


def test_clip_titles_and_file_names_from_tus_metadata(pair):
    typed = tus_create(pair, filename="lesson.mp4", title=HOSTILE)
    named = tus_create(pair, filename=f"{HOSTILE}.mp4")
    with pair.app.app_context():
        typed_clip, named_clip = db.session.get(Clip, typed), db.session.get(Clip, named)
        assert typed_clip.title == CLEAN
        assert named_clip.title == CLEAN
        assert named_clip.original_filename == CLEAN + " .mp4"


def test_caption_track_titles_from_the_file():
    probed = {
        "format": {"format_name": "matroska,webm", "duration": "1.0"},
        "streams": [
            {"index": 0, "codec_type": "video", "codec_name": "h264", "width": 2, "height": 2},
            {
                "index": 1,
                "codec_type": "subtitle",
                "codec_name": "subrip",
                "tags": {"title": HOSTILE},
            },
        ],
    }
    (track,) = parse_probe(json.dumps(probed), 100).subtitle_streams
    assert track.title == CLEAN


@pytest.mark.parametrize("field", ["name", "title"])
def test_nothing_but_invisible_characters_is_still_empty(pair, field):
    if field == "name":
        response = api(pair, "POST", "/partnerships", {"name": "\u200f\u202e\n", "role": "coach"})
    else:
        response = api(pair, "POST", f"/partnerships/{pair.pid}/goals", {"title": "\u200e\r"})
    assert response.status_code == 422
