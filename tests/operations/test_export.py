"""`videocoach export-partnership`: the zip a leaving member takes along, built from real
processed clips on local and S3 storage, opened and read back: names, CSV, WebVTT, JSON,
the media bytes; private material out unless asked for by its author; nothing left behind
by a failed export."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import secrets
import subprocess
import sys
import tracemalloc
import zipfile
from pathlib import Path

import pytest
import webvtt
from sqlalchemy import select

from tests.conftest import BUCKET, app_config
from tests.media.samples import make_captioned_samples
from tests.studio import Studio, make_studio
from videocoach import db
from videocoach.accounts.models import User
from videocoach.clips import files
from videocoach.clips.models import AssetKind, ClipAsset
from videocoach.meetings.models import MeetingConnection

SECRET_NOTE = "Note to self: I rushed the plenary"
COACH_SECRET = "Coach's own reminder: ask about Ben"
PRIVATE_CLIP = "Rehearsal, just for me"


def post(studio: Studio, path: str, body: dict, who: str = "teacher") -> dict:
    response = studio.client().post(path, json=body, headers=studio.headers(who))
    assert response.status_code in (200, 201, 202), response.json
    return response.json


def comment(studio: Studio, clip_id: str, who: str = "teacher", **body) -> dict:
    return post(studio, f"/api/v1/clips/{clip_id}/comments", {"t_start": 1, **body}, who)["comment"]


@pytest.fixture(scope="session")
def captioned(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_captioned_samples(tmp_path_factory.mktemp("captioned"))["captioned.mp4"]


def fill(studio: Studio, media_samples, captioned: Path) -> Studio:
    """Two shared clips (one with a caption track), a private clip, comments with replies,
    private notes of both people, a deleted comment, a goal, a meeting with notes and a
    next step agreed in it."""
    first = studio.upload(
        media_samples["h264_aac.mp4"],
        visibility="shared",
        title="Fractions: equal parts",
        recorded_on="2026-10-01",
    ).json["clip"]
    second = studio.upload(
        captioned, "coach", visibility="shared", title="Demo lesson", recorded_on="2026-10-08"
    ).json["clip"]
    private = studio.upload(media_samples["h264_aac.mp4"], title=PRIVATE_CLIP).json["clip"]
    for clip in (first, second, private):
        assert studio.clip(clip["id"])["status"] == "ready"
    goal = post(studio, f"/api/v1/partnerships/{studio.pid}/goals", {"title": "Wait time"})["goal"]
    question = comment(
        studio,
        first["id"],
        "coach",
        body="What happened at the back?",
        t_start=2.0,
        t_end=2.5,
        kind="question",
        goal_ids=[goal["id"]],
    )
    reply = comment(studio, first["id"], body="They were finishing", parent_id=question["id"])
    formula = comment(studio, first["id"], body='=HYPERLINK("http://evil")', t_start=0.5)
    note = comment(studio, first["id"], body=SECRET_NOTE, t_start=1.2, private=True)
    comment(studio, first["id"], body="Also mine", parent_id=note["id"])  # private too
    comment(studio, second["id"], "coach", body=COACH_SECRET, private=True)
    comment(studio, second["id"], body="Lovely & <calm> opening", t_start=0.2, kind="strength")
    gone = comment(studio, first["id"], body="Typo, deleted")
    studio.client().delete(f"/api/v1/comments/{gone['id']}", headers=studio.headers())
    comment(studio, private["id"], body="Only I see this clip")

    meeting = post(studio, f"/api/v1/clips/{first['id']}/meetings", {}, "coach")["meeting"]
    with studio.app.app_context():  # what opening the meeting's live stream records
        for who in (studio.teacher_id, studio.coach_id):
            db.session.add(MeetingConnection(meeting_id=meeting["id"], user_id=who))
        db.session.commit()
    in_meeting = comment(studio, first["id"], "coach", body="Agreed: count to five", t_start=2.8)
    response = studio.client().put(
        f"/api/v1/meetings/{meeting['id']}/notes",
        json={"notes": "We watched the plenary twice.", "notes_version": 0},
        headers=studio.headers("coach"),
    )
    assert response.status_code == 200, response.json
    step = post(
        studio,
        f"/api/v1/partnerships/{studio.pid}/next-steps",
        {
            "text": "Try a five-second pause",
            "goal_id": goal["id"],
            "owner_id": studio.teacher_id,
            "meeting_id": meeting["id"],
        },
    )["next_step"]
    post(studio, f"/api/v1/meetings/{meeting['id']}/end", {}, "coach")
    studio.ids = {
        "first": first["id"],
        "second": second["id"],
        "private": private["id"],
        "goal": goal["id"],
        "question": question["id"],
        "reply": reply["id"],
        "formula": formula["id"],
        "in_meeting": in_meeting["id"],
        "meeting": meeting["id"],
        "step": step["id"],
    }
    return studio


@pytest.fixture
def lessons(studio, media_samples, captioned):
    return fill(studio, media_samples, captioned)


def teacher_email(studio: Studio) -> str:
    with studio.app.app_context():
        return db.session.get(User, studio.teacher_id).email


def stored_sha256(studio: Studio, clip_id: str, kind: AssetKind) -> str:
    with studio.app.app_context():
        asset = db.session.scalars(
            select(ClipAsset).where(ClipAsset.clip_id == clip_id, ClipAsset.kind == kind.value)
        ).one()
        with studio.storage().open(asset.key) as handle:
            return hashlib.sha256(handle.read()).hexdigest()


def text(archive: zipfile.ZipFile, name: str) -> str:
    return archive.read(name).decode("utf-8")


def everything(archive: zipfile.ZipFile) -> bytes:
    return b"".join(archive.read(name) for name in archive.namelist())


FIRST = "clips/01-2026-10-01-fractions-equal-parts/"
SECOND = "clips/02-2026-10-08-demo-lesson/"


def test_the_zip_holds_what_the_partnership_shares_and_reads_back(lessons, cli, tmp_path):
    target = tmp_path / "out" / "tess.zip"
    target.parent.mkdir()
    result = cli("export-partnership", lessons.pid, "--to", str(target))
    assert result.exit_code == 0, result.output
    assert f"Wrote {target}: 2 clips, 5 comments, 1 goals, 1 next steps, 1 meetings" in (
        result.stdout
    )
    assert [path.name for path in target.parent.iterdir()] == ["tess.zip"]  # no temp left

    with zipfile.ZipFile(target) as archive:
        assert archive.testzip() is None
        names = archive.namelist()
        print("\n".join(f"{i.file_size:>9}  {i.filename}" for i in archive.infolist()))
        assert names == [
            "README.txt",
            "partnership.json",
            "comments.json",
            "comments.csv",
            "goals.json",
            "next_steps.json",
            "meetings.json",
            FIRST + "video.mp4",
            FIRST + "poster.jpg",
            FIRST + "comments.csv",
            FIRST + "comments.vtt",
            FIRST + "clip.json",
            SECOND + "video.mp4",
            SECOND + "poster.jpg",
            SECOND + "captions/0-eng.vtt",
            SECOND + "comments.csv",
            SECOND + "comments.vtt",
            SECOND + "clip.json",
        ]
        # Private material is absent everywhere, not just from the listings.
        blob = everything(archive)
        for secret in (SECRET_NOTE, COACH_SECRET, PRIVATE_CLIP, "Also mine", "Typo, deleted"):
            assert secret.encode() not in blob, secret
        assert lessons.ids["private"].encode() not in blob

        # The web renditions, byte for byte; stored, not deflated.
        video = archive.getinfo(FIRST + "video.mp4")
        assert video.compress_type == zipfile.ZIP_STORED
        digest = hashlib.sha256(archive.read(FIRST + "video.mp4")).hexdigest()
        assert digest == stored_sha256(lessons, lessons.ids["first"], AssetKind.WEB)
        assert archive.read(FIRST + "poster.jpg")[:3] == b"\xff\xd8\xff"  # a JPEG
        assert text(archive, SECOND + "captions/0-eng.vtt").startswith("WEBVTT")

        readme = text(archive, "README.txt")
        assert 'partnership "Tess + Cole"' in readme
        assert "Private clips and private notes are not here" in readme
        assert "comments.vtt" in readme and "original.<ext>" not in readme

        partnership = json.loads(text(archive, "partnership.json"))
        assert partnership["format"] == "videocoach-partnership-export"
        assert [(m["name"], m["role"]) for m in partnership["members"]] == [
            ("Tess", "teacher"),
            ("Cole", "coach"),
        ]
        assert [c["folder"] for c in partnership["clips"]] == [FIRST, SECOND]
        assert partnership["private_material_of"] is None

        # comments.json: replies inside their comment, times in seconds.
        threads = json.loads(text(archive, "comments.json"))["comments"]
        by_id = {c["id"]: c for c in threads}
        question = by_id[lessons.ids["question"]]
        assert question["t_start"] == 2.0 and question["t_end"] == 2.5
        assert question["author"] == "Cole" and question["kind"] == "question"
        assert question["goals"] == [{"id": lessons.ids["goal"], "title": "Wait time"}]
        assert [r["body"] for r in question["replies"]] == ["They were finishing"]
        assert lessons.ids["reply"] not in by_id  # only inside its thread
        assert all(c["private"] is False for c in threads)
        assert len(threads) == 4

        # The CSV of every clip (the exports service's), and one per clip.
        table = list(csv.DictReader(io.StringIO(text(archive, "comments.csv"))))
        assert len(table) == 5
        assert {row["clip"] for row in table} == {"Fractions: equal parts", "Demo lesson"}
        formula = next(row for row in table if "HYPERLINK" in row["comment"])
        assert formula["comment"].startswith("'=")  # never a live formula
        reply = next(row for row in table if row["comment"] == "They were finishing")
        assert reply["reply_to"] == lessons.ids["question"]
        first_table = list(csv.DictReader(io.StringIO(text(archive, FIRST + "comments.csv"))))
        assert [row["start"] for row in first_table] == ["0:00", "0:01", "0:02", "0:02"]

        # The WebVTT parses, one cue per comment, at the comment's moment.
        cues = webvtt.from_buffer(io.StringIO(text(archive, FIRST + "comments.vtt")))
        assert len(cues) == 4
        question_cue = next(cue for cue in cues if "What happened" in cue.text)
        assert (question_cue.start, question_cue.end) == ("00:00:02.000", "00:00:02.500")
        assert question_cue.voice == "Cole"
        demo_cues = webvtt.from_buffer(io.StringIO(text(archive, SECOND + "comments.vtt")))
        assert [cue.text for cue in demo_cues] == ["[strength] Lovely &amp; &lt;calm&gt; opening"]

        goals = json.loads(text(archive, "goals.json"))["goals"]
        assert goals[0]["title"] == "Wait time" and goals[0]["created_by"] == "Tess"
        assert goals[0]["evidence_comment_ids"] == [lessons.ids["question"]]
        steps = json.loads(text(archive, "next_steps.json"))["next_steps"]
        assert steps[0]["text"] == "Try a five-second pause" and steps[0]["owner"] == "Tess"
        meeting = json.loads(text(archive, "meetings.json"))["meetings"][0]
        assert meeting["clip_folder"] == FIRST
        assert meeting["started_by"] == "Cole" and meeting["ended_at"] is not None
        assert sorted(meeting["participants"]) == ["Cole", "Tess"]
        assert meeting["notes"] == "We watched the plenary twice."
        assert meeting["next_step_ids"] == [lessons.ids["step"]]
        assert meeting["comment_ids"] == [lessons.ids["in_meeting"]]

        clip = json.loads(text(archive, FIRST + "clip.json"))
        assert clip["title"] == "Fractions: equal parts" and clip["uploaded_by"] == "Tess"
        assert clip["duration"] > 2 and clip["status"] == "ready"
        assert clip["files"] == ["video.mp4", "poster.jpg", "comments.csv", "comments.vtt"]


def test_private_material_of_one_person_and_the_originals_on_request(lessons, cli, tmp_path):
    target = tmp_path / "tess.zip"
    result = cli(
        "export-partnership",
        lessons.pid,
        "--to",
        str(target),
        "--originals",
        "--include-private-of",
        teacher_email(lessons).upper(),
    )
    assert result.exit_code == 0, result.output
    assert "3 clips, 8 comments, 2 of them private" in result.stdout
    with zipfile.ZipFile(target) as archive:
        names = archive.namelist()
        blob = everything(archive)
        private_folder = "clips/03-rehearsal-just-for-me/"
        assert private_folder + "video.mp4" in names
        assert FIRST + "original.mp4" in names and SECOND + "original.mp4" in names
        original = hashlib.sha256(archive.read(FIRST + "original.mp4")).hexdigest()
        assert original == stored_sha256(lessons, lessons.ids["first"], AssetKind.ORIGINAL)
        assert SECRET_NOTE.encode() in blob and b"Also mine" in blob
        assert COACH_SECRET.encode() not in blob  # the coach's notes are the coach's
        threads = json.loads(text(archive, "comments.json"))["comments"]
        note = next(c for c in threads if c["body"] == SECRET_NOTE)
        assert note["private"] is True and [r["body"] for r in note["replies"]] == ["Also mine"]
        assert "the private clips and private notes of Tess" in text(archive, "README.txt")
        assert json.loads(text(archive, "partnership.json"))["private_material_of"] == "Tess"


def test_an_existing_file_is_kept_unless_forced_and_unknown_ids_are_refused(lessons, cli, tmp_path):
    target = tmp_path / "exists.zip"
    target.write_bytes(b"keep me")
    refused = cli("export-partnership", lessons.pid, "--to", str(target))
    assert refused.exit_code == 1
    assert "exists already; choose another name or pass --force" in refused.stderr
    assert target.read_bytes() == b"keep me"
    forced = cli("export-partnership", lessons.pid, "--to", str(target), "--force")
    assert forced.exit_code == 0, forced.output
    assert zipfile.is_zipfile(target)

    unknown = cli("export-partnership", "f" * 32, "--to", str(tmp_path / "x.zip"))
    assert unknown.exit_code == 1
    assert unknown.stderr.strip() == f"No partnership has the id {'f' * 32}."
    nobody = cli(
        "export-partnership",
        lessons.pid,
        "--to",
        str(tmp_path / "y.zip"),
        "--include-private-of",
        "nobody@school.example",
    )
    assert nobody.exit_code == 1
    assert "No account has the email address nobody@school.example." in nobody.stderr
    assert sorted(path.name for path in tmp_path.iterdir() if path.suffix == ".zip") == [
        "exists.zip"
    ]


def test_a_missing_stored_file_is_reported_and_the_rest_exported(lessons, cli, tmp_path):
    lessons.storage().delete(files.key(lessons.ids["second"], files.POSTER))
    result = cli("export-partnership", lessons.pid, "--to", str(tmp_path / "t.zip"))
    assert result.exit_code == 0, result.output
    assert f"warning: {SECOND}poster.jpg was missing from storage" in result.stderr
    with zipfile.ZipFile(tmp_path / "t.zip") as archive:
        assert SECOND + "poster.jpg" not in archive.namelist()
        assert SECOND + "video.mp4" in archive.namelist()


def test_the_export_streams_a_large_video_in_bounded_memory(lessons, cli, tmp_path):
    """A 64 MB web rendition goes into the zip without being held in memory."""
    big = tmp_path / "big.mp4"
    with big.open("wb") as handle:
        for _ in range(64):
            handle.write(secrets.token_bytes(1024 * 1024))
    key = files.key(lessons.ids["first"], files.WEB)
    stored = lessons.storage().put_file(key, big, "video/mp4")
    with lessons.app.app_context():
        asset = db.session.scalars(select(ClipAsset).where(ClipAsset.key == key)).one()
        asset.size = stored.size
        db.session.commit()
    tracemalloc.start()
    try:
        result = cli("export-partnership", lessons.pid, "--to", str(tmp_path / "big.zip"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.exit_code == 0, result.output
    assert peak < 24 * 1024 * 1024, f"peak {peak / 1024**2:.1f} MB"
    with zipfile.ZipFile(tmp_path / "big.zip") as archive:
        with archive.open(FIRST + "video.mp4") as video:
            digest = hashlib.sha256()
            while chunk := video.read(1024 * 1024):
                digest.update(chunk)
        assert digest.hexdigest() == stored.sha256


@pytest.fixture
def s3_lessons(make_app, make_user, media_samples, captioned, s3_proxy):
    storage = {
        "VIDEOCOACH_STORAGE": f"s3://{BUCKET}/export-test/{secrets.token_hex(4)}",
        "S3_ENDPOINT_URL": f"http://127.0.0.1:{s3_proxy.port}",
    }
    app = make_app(VIDEOCOACH_TASKS_EAGER="1", **storage)
    studio = fill(make_studio(app, make_user), media_samples, captioned)
    studio.storage_settings = storage
    return studio


def test_an_export_from_s3_storage_has_the_same_bytes(s3_lessons, cli, tmp_path):
    target = tmp_path / "s3.zip"
    result = cli(
        "export-partnership", s3_lessons.pid, "--to", str(target), **s3_lessons.storage_settings
    )
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(target) as archive:
        assert archive.testzip() is None
        digest = hashlib.sha256(archive.read(SECOND + "video.mp4")).hexdigest()
        assert digest == stored_sha256(s3_lessons, s3_lessons.ids["second"], AssetKind.WEB)
        assert SECOND + "captions/0-eng.vtt" in archive.namelist()


def test_a_failed_export_leaves_no_file_behind(s3_lessons, s3_proxy, cli, tmp_path):
    """Storage goes away after the text files are in the zip: the half-written zip is
    removed, and a file of the same name that was there is untouched."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.zip").write_bytes(b"earlier export")
    s3_proxy.cut()
    result = cli(
        "export-partnership",
        s3_lessons.pid,
        "--to",
        str(out / "old.zip"),
        "--force",
        **s3_lessons.storage_settings,
    )
    assert result.exit_code == 1
    assert "The export failed and nothing was written" in result.stderr
    assert [path.name for path in out.iterdir()] == ["old.zip"]
    assert (out / "old.zip").read_bytes() == b"earlier export"


def test_every_operator_command_explains_itself_as_a_real_process(database_url, tmp_path):
    env = {"PATH": "/usr/bin:/bin", **app_config(database_url, tmp_path / "data")}
    for command, phrase in (
        ("requeue", "Hand clip CLIP_ID to the workers again."),
        ("export-partnership", "Write partnership PARTNERSHIP_ID to a zip"),
        ("purge-user", "Erase the person with address EMAIL"),
        ("reconcile", "List what housekeeping would clean up; with --apply, clean it up."),
    ):
        shown = subprocess.run(
            [sys.executable, "-m", "videocoach.cli", command, "--help"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert shown.returncode == 0, shown.stderr
        assert phrase in shown.stdout and "Exit status" in shown.stdout


def test_export_as_a_real_process(lessons, database_url, tmp_path):
    env = {"PATH": "/usr/bin:/bin", **app_config(database_url, tmp_path / "data")}
    target = tmp_path / "process.zip"
    done = subprocess.run(
        [sys.executable, "-m", "videocoach.cli", "export-partnership", lessons.pid],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and "Missing option '--to'" in done.stderr
    done = subprocess.run(
        [sys.executable, "-m", "videocoach.cli", "export-partnership", lessons.pid, "--to", target],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "export-partnership: partnership" in done.stderr  # the log line: counts, ids
    with zipfile.ZipFile(target) as archive:
        assert FIRST + "video.mp4" in archive.namelist()
