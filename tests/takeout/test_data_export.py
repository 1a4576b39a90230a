"""Take my data (issue 14): "Download everything I own" builds a zip in a worker, with the
person's clips, comments, private notes, goals and next steps as JSON, CSV and WebVTT,
offered through a one-time link that works once, for 24 hours, for its owner alone."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from datetime import timedelta

import pytest

from tests.conftest import post_form, sign_in_as
from tests.studio import Studio
from videocoach import db
from videocoach.clips import retention
from videocoach.db import utcnow
from videocoach.takeout import services as takeout
from videocoach.takeout.models import DataExport

VTT_CUE = re.compile(r"^(\d{2}:)?\d{2}:\d{2}\.\d{3} --> (\d{2}:)?\d{2}:\d{2}\.\d{3}$")


@pytest.fixture
def world(studio: Studio, media_samples) -> dict[str, str]:
    """The teacher's shared clip with comments from both, a private note, a goal and a
    next step of each; and the coach's own private clip."""
    answer = studio.upload(media_samples["h264_aac.mp4"], visibility="shared", title="Fractions")
    clip_id = answer.json["clip"]["id"]
    teacher, coach = studio.headers("teacher"), studio.headers("coach")
    client = studio.client()

    def post(url: str, body: dict, headers: dict) -> dict:
        response = client.post(url, json=body, headers=headers)
        assert response.status_code == 201, response.json
        return response.json

    goal = post(f"/api/v1/partnerships/{studio.pid}/goals", {"title": "Wait time"}, teacher)
    post(f"/api/v1/partnerships/{studio.pid}/goals", {"title": "Coach's goal"}, coach)
    comments = f"/api/v1/clips/{clip_id}/comments"
    post(comments, {"body": "=SUM(A1) I paused here", "t_start": 1.0, "kind": "strength",
                    "goal_ids": [goal["goal"]["id"]]}, teacher)  # fmt: skip
    post(comments, {"body": "Only for me", "t_start": 0.5, "private": True}, teacher)
    post(comments, {"body": "The coach's comment", "t_start": 1.5}, coach)
    steps = f"/api/v1/partnerships/{studio.pid}/next-steps"
    post(steps, {"text": "Try think-pair-share"}, teacher)
    post(steps, {"text": "Coach's step"}, coach)
    coach_clip = studio.upload(media_samples["h264_aac.mp4"], "coach", title="Coach private")
    return {"clip": clip_id, "coach_clip": coach_clip.json["clip"]["id"]}


def page_client(studio: Studio, who_id: str):
    client = studio.client()
    sign_in_as(client, who_id)
    return client


def ask_and_build(studio: Studio, client) -> str:
    """Press the account page's button: the worker (inline here) builds the zip."""
    asked = post_form(client, "/account/data-export")
    assert asked.status_code == 302
    export_id = asked.headers["Location"].rsplit("/", 1)[1]
    return export_id


def download_link(client, export_id: str) -> str:
    page = client.get(f"/account/data-export/{export_id}").get_data(as_text=True)
    match = re.search(r'id="export-download" href="([^"]+)"', page)
    assert match, page
    return match.group(1)


def test_the_zip_holds_everything_the_person_owns_and_nothing_of_others(
    studio: Studio, world
) -> None:
    client = page_client(studio, studio.teacher_id)
    assert "Download everything I own" in client.get("/account").get_data(as_text=True)
    export_id = ask_and_build(studio, client)
    status = studio.get(f"/api/v1/me/data-exports/{export_id}").json["export"]
    assert status["status"] == "ready" and status["progress"] == 1.0
    assert status["link"] == "ready" and status["download_url"]

    response = client.get(download_link(client, export_id))
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    assert "attachment" in response.headers["Content-Disposition"]
    assert "no-store" in response.headers["Cache-Control"]
    archive = zipfile.ZipFile(io.BytesIO(response.get_data()))
    names = archive.namelist()

    for name in ("README.txt", "account.json", "clips.json", "clips.csv", "comments.json",
                 "comments.csv", "goals.json", "goals.csv", "next_steps.json",
                 "next_steps.csv"):  # fmt: skip
        assert name in names
    account = json.loads(archive.read("account.json"))
    assert account["name"] == "Tess" and account["format"] == takeout.FORMAT

    clips = json.loads(archive.read("clips.json"))["clips"]
    assert [clip["title"] for clip in clips] == ["Fractions"]  # not the coach's private clip
    folder = clips[0]["folder"]
    video = archive.read(folder + "video.mp4")
    assert video[4:8] == b"ftyp"  # the web rendition, an MP4
    assert folder + "original.mp4" in names  # retention is off: the original is kept

    comments = json.loads(archive.read("comments.json"))["comments"]
    assert sorted(c["body"] for c in comments) == ["=SUM(A1) I paused here", "Only for me"]
    assert {c["body"]: c["private_note"] for c in comments}["Only for me"] is True
    rows = list(csv.DictReader(io.StringIO(archive.read("comments.csv").decode())))
    assert len(rows) == 2
    assert {row["body"] for row in rows} == {"'=SUM(A1) I paused here", "Only for me"}
    assert {row["goals"] for row in rows} == {"Wait time", ""}

    vtt = archive.read(folder + "comments.vtt").decode()
    lines = vtt.splitlines()
    assert lines[0] == "WEBVTT"
    cues = [line for line in lines if "-->" in line]
    assert len(cues) == 2 and all(VTT_CUE.match(cue) for cue in cues)
    assert "[strength] =SUM(A1) I paused here" in vtt
    assert "coach" not in vtt.lower()

    goals = json.loads(archive.read("goals.json"))["goals"]
    assert [goal["title"] for goal in goals] == ["Wait time"]
    steps = list(csv.DictReader(io.StringIO(archive.read("next_steps.csv").decode())))
    assert [step["text"] for step in steps] == ["Try think-pair-share"]


def test_the_link_works_once_then_says_so(studio: Studio, world) -> None:
    client = page_client(studio, studio.teacher_id)
    export_id = ask_and_build(studio, client)
    link = download_link(client, export_id)
    assert client.get(link).status_code == 200
    again = client.get(link)
    assert again.status_code == 410
    assert "has been used already" in again.get_data(as_text=True)
    page = client.get(f"/account/data-export/{export_id}").get_data(as_text=True)
    assert "You downloaded this zip file" in page and "export-download" not in page
    # The zip leaves storage once its download has had time to finish.
    with studio.app.app_context():
        key = db.session.get(DataExport, export_id).key
        assert studio.storage().exists(key)
        assert takeout.sweep_expired(utcnow() + takeout.DOWNLOAD_GRACE) == 1
        assert not studio.storage().exists(key)


def test_the_link_expires_after_24_hours(studio: Studio, world) -> None:
    client = page_client(studio, studio.teacher_id)
    export_id = ask_and_build(studio, client)
    link = download_link(client, export_id)
    with studio.app.app_context():
        export = db.session.get(DataExport, export_id)
        export.expires_at = utcnow() - timedelta(seconds=1)  # 24 hours went by
        key = export.key
        db.session.commit()
    expired = client.get(link)
    assert expired.status_code == 410
    assert "has expired" in expired.get_data(as_text=True)
    with studio.app.app_context():
        assert takeout.sweep_expired() == 1
        assert not studio.storage().exists(key)


def test_nobody_else_can_fetch_it(studio: Studio, world, make_user) -> None:
    client = page_client(studio, studio.teacher_id)
    export_id = ask_and_build(studio, client)
    link = download_link(client, export_id)
    admin = make_user(name="Ada Admin", admin=True)
    for other in (studio.coach_id, admin.id):
        stranger = page_client(studio, other)
        assert stranger.get(link).status_code == 404
        assert stranger.get(f"/account/data-export/{export_id}").status_code == 404
        assert studio.get(f"/api/v1/me/data-exports/{export_id}", "coach").status_code == 404
    assert studio.client().get(link).status_code == 302  # signed out: sign in first
    tampered = link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB")
    assert client.get(tampered).status_code == 404
    assert client.get(link).status_code == 200  # the strangers used nothing up


def test_the_zip_leaves_out_an_original_retention_deleted(make_app, make_user, media_samples):
    from tests.studio import make_studio

    app = make_app(VIDEOCOACH_TASKS_EAGER="1", VIDEOCOACH_KEEP_ORIGINALS_DAYS="1")
    studio = make_studio(app, make_user)
    studio.upload(media_samples["h264_aac.mp4"], visibility="shared")
    with app.app_context():
        retention.apply(utcnow() + timedelta(days=2))
    client = page_client(studio, studio.teacher_id)
    export_id = ask_and_build(studio, client)
    archive = zipfile.ZipFile(io.BytesIO(client.get(download_link(client, export_id)).data))
    clip = json.loads(archive.read("clips.json"))["clips"][0]
    assert clip["original_kept"] is False
    assert clip["folder"] + "video.mp4" in archive.namelist()
    assert not any("original" in name for name in archive.namelist())


def test_progress_is_recorded_while_the_worker_builds(pair, monkeypatch) -> None:
    """Without a worker the export waits, queued at 0%; the page says so and polls."""
    client = page_client(pair, pair.teacher_id)
    export_id = ask_and_build(pair, client)
    page = client.get(f"/account/data-export/{export_id}").get_data(as_text=True)
    assert "data-export-status=" in page and "Waiting for a worker" in page
    seen: list[float] = []
    with pair.app.app_context():
        original = takeout._progress
        monkeypatch.setattr(
            takeout, "_progress", lambda export, done: (seen.append(done), original(export, done))
        )
        takeout.build(export_id)
        assert db.session.get(DataExport, export_id).status == "ready"
    assert seen and seen == sorted(seen)
    assert "export-download" in client.get(f"/account/data-export/{export_id}").get_data(
        as_text=True
    )


def test_erasing_the_person_deletes_their_zip(studio: Studio, world) -> None:
    from videocoach.accounts.models import User
    from videocoach.operations import erasure

    client = page_client(studio, studio.teacher_id)
    export_id = ask_and_build(studio, client)
    with studio.app.app_context():
        key = db.session.get(DataExport, export_id).key
        assert studio.storage().exists(key)
        email = db.session.get(User, studio.teacher_id).email
        erasure.erase(erasure.plan_erasure(email))
        assert db.session.get(DataExport, export_id) is None
    assert not studio.storage().exists(key)
