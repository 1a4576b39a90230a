"""`videocoach purge-user EMAIL`: erasure on request. Afterwards no row of any table names
the person (every column is searched, not just the foreign keys), none of their words or
stored files remain, and their partners' own data is intact. On SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field

import pytest
from sqlalchemy import String, func, or_, select

from tests.conftest import BUCKET, sign_in_as
from tests.helpers.tus import metadata_header
from tests.studio import Studio, make_studio
from videocoach import db
from videocoach.accounts import services as accounts
from videocoach.accounts.models import User
from videocoach.clips import files, uploads
from videocoach.clips.models import Clip
from videocoach.comments.models import Comment
from videocoach.meetings.models import Meeting, MeetingConnection
from videocoach.models import Base
from videocoach.partnerships.models import Goal, Invitation, Membership, NextStep, Partnership

MARK = "TESS-WROTE"  # in every comment the erased person writes


@dataclass
class World:
    studio: Studio
    email: str
    ids: dict[str, str] = field(default_factory=dict)


def api(studio: Studio, method: str, path: str, body: dict | None = None, who="teacher"):
    response = studio.client().open(
        f"/api/v1{path}", method=method, json=body, headers=studio.headers(who)
    )
    assert response.status_code < 300, response.json
    return response.json


def comment(studio: Studio, clip_id: str, who: str, body: str, **values) -> str:
    found = api(
        studio, "POST", f"/clips/{clip_id}/comments", {"body": body, "t_start": 1, **values}, who
    )
    return found["comment"]["id"]


@pytest.fixture
def world(studio: Studio, media_samples) -> World:
    """Tess (to be erased) and Cole share a partnership; Tess also has one of her own; Cole
    has another one and has invited Tess to it. Everything a person leaves behind."""
    sample = media_samples["h264_aac.mp4"]
    with studio.app.app_context():
        email = db.session.get(User, studio.teacher_id).email
    ids: dict[str, str] = {}
    ids["tess_shared"] = studio.upload(sample, visibility="shared", title="Tess shared").json[
        "clip"
    ]["id"]
    ids["tess_private"] = studio.upload(sample, title="Tess private").json["clip"]["id"]
    ids["cole_clip"] = studio.upload(sample, "coach", visibility="shared", title="Cole demo").json[
        "clip"
    ]["id"]
    for key in ("tess_shared", "tess_private", "cole_clip"):
        assert (
            studio.clip(ids[key], "coach" if key == "cole_clip" else "teacher")["status"] == "ready"
        )

    # Tess's own partnership, where she is the only member.
    alone = api(studio, "POST", "/partnerships", {"name": "Just me", "role": "teacher"})
    ids["alone"] = alone["partnership"]["id"]
    with sample.open("rb") as handle:
        alone_clip = studio.client().post(
            f"/api/v1/partnerships/{ids['alone']}/clips",
            data={"file": (handle, "solo.mp4")},
            headers=studio.headers(),
            content_type="multipart/form-data",
        )
    ids["alone_clip"] = alone_clip.json["clip"]["id"]
    api(studio, "POST", f"/partnerships/{ids['alone']}/goals", {"title": "Solo goal"})

    # Cole's other partnership, with an open invitation to Tess.
    other = api(studio, "POST", "/partnerships", {"name": "Cole's PLC", "role": "coach"}, "coach")
    ids["cole_plc"] = other["partnership"]["id"]
    api(
        studio,
        "POST",
        f"/partnerships/{ids['cole_plc']}/invitations",
        {"email": email, "role": "teacher"},
        "coach",
    )
    # An invitation Tess sent: it stays valid, without her name.
    api(
        studio,
        "POST",
        f"/partnerships/{studio.pid}/invitations",
        {"email": "new@school.example", "role": "teacher"},
    )

    # Comments: hers on Cole's clip (with Cole's reply), her private note, her reply to
    # Cole, Cole's comment on her shared clip.
    ids["tess_on_cole"] = comment(studio, ids["cole_clip"], "teacher", f"{MARK}: lovely pacing")
    ids["cole_reply"] = comment(
        studio, ids["cole_clip"], "coach", "Cole's reply to Tess", parent_id=ids["tess_on_cole"]
    )
    comment(studio, ids["cole_clip"], "teacher", f"{MARK}: private thought", private=True)
    ids["cole_point"] = comment(studio, ids["cole_clip"], "coach", "Cole's own point", t_start=2)
    comment(studio, ids["cole_clip"], "teacher", f"{MARK}: agreed", parent_id=ids["cole_point"])
    ids["cole_on_tess"] = comment(studio, ids["tess_shared"], "coach", "Cole on Tess's lesson")
    comment(studio, ids["tess_private"], "teacher", f"{MARK}: only mine")

    # Goals, next steps and a meeting she started and wrote notes in.
    ids["goal"] = api(studio, "POST", f"/partnerships/{studio.pid}/goals", {"title": "Wait time"})[
        "goal"
    ]["id"]
    ids["step"] = api(
        studio,
        "POST",
        f"/partnerships/{studio.pid}/next-steps",
        {"text": "Pause for five seconds", "goal_id": ids["goal"], "owner_id": studio.teacher_id},
    )["next_step"]["id"]
    meeting = api(studio, "POST", f"/clips/{ids['cole_clip']}/meetings", {})["meeting"]
    ids["meeting"] = meeting["id"]
    api(
        studio,
        "PUT",
        f"/meetings/{meeting['id']}/notes",
        {"notes": "We agreed on pauses.", "notes_version": 0},
    )
    with studio.app.app_context():
        db.session.add(MeetingConnection(meeting_id=meeting["id"], user_id=studio.teacher_id))
        db.session.add(MeetingConnection(meeting_id=meeting["id"], user_id=studio.coach_id))
        accounts.request_password_reset(email)
        db.session.commit()
    sign_in_as(studio.client(), studio.teacher_id)
    studio.get(f"/clips/{ids['cole_clip']}")  # a clip view

    # An unfinished resumable upload, with bytes staged on disk.
    created = studio.client().post(
        "/api/v1/uploads",
        headers={
            **studio.headers(),
            "Tus-Resumable": "1.0.0",
            "Upload-Length": "1000",
            "Upload-Metadata": metadata_header(partnership_id=studio.pid, filename="half.mp4"),
        },
    )
    assert created.status_code == 201, created.data
    ids["upload"] = created.headers["Location"].rsplit("/", 1)[1]
    with studio.app.app_context():
        uploads.staged_path(ids["upload"]).write_bytes(b"x" * 400)
    return World(studio=studio, email=email, ids=ids)


def traces(world: World) -> dict[str, int]:
    """Every row, in every table, with her id or address in any column, or her words."""
    studio = world.studio
    found: dict[str, int] = {}
    with studio.app.app_context():
        for table in Base.metadata.sorted_tables:
            for column in table.columns:
                if not isinstance(column.type, String):  # Text is a String too
                    continue
                hits = db.session.scalar(
                    select(func.count())
                    .select_from(table)
                    .where(
                        or_(
                            column == studio.teacher_id,
                            func.lower(column) == world.email,
                            column.contains(MARK),
                        )
                    )
                )
                if hits:
                    found[f"{table.name}.{column.name}"] = hits
    return found


def stored_keys(studio: Studio, clip_id: str) -> list[str]:
    root = studio.app.extensions["videocoach.settings"].data_dir / "media"
    folder = root / files.clip_prefix(clip_id)
    return sorted(str(path.relative_to(root)) for path in folder.rglob("*") if path.is_file())


def row(studio: Studio, model, row_id: str):
    with studio.app.app_context():
        found = db.session.get(model, row_id)
        if found is not None:
            db.session.expunge(found)
        return found


def test_purge_user_leaves_no_trace_of_the_person_and_keeps_the_partners_data(world, cli, caplog):
    studio, ids = world.studio, world.ids
    assert traces(world)  # the search finds her before
    for key in ("tess_shared", "tess_private", "alone_clip", "cole_clip"):
        assert stored_keys(studio, ids[key])
    cole_files = stored_keys(studio, ids["cole_clip"])
    with studio.app.app_context():
        staged = uploads.staged_path(ids["upload"])
    assert staged.exists()

    with caplog.at_level(logging.INFO):
        result = cli("purge-user", world.email.upper(), "--yes")

    assert result.exit_code == 0, result.output
    assert f"Erased {world.email} (user {studio.teacher_id})" in result.stdout
    assert "private notes deleted: 1" in result.stdout
    assert (
        "shared comments deleted: 2 (replies by others kept as comments of their own: 1)"
        in result.stdout
    )
    assert (
        "clips deleted with their stored files: 3 (comments by others on them deleted too: 1)"
        in result.stdout
    )
    assert "partnerships left with no member, deleted with all their content: 1" in result.stdout
    assert traces(world) == {}
    for key in ("tess_shared", "tess_private", "alone_clip"):
        assert stored_keys(studio, ids[key]) == []
        assert row(studio, Clip, ids[key]) is None
    assert not staged.exists()
    assert row(studio, Partnership, ids["alone"]) is None
    log = "\n".join(
        record.getMessage() for record in caplog.records if "purge-user" in record.getMessage()
    )
    assert studio.teacher_id in log and "shared_comments=2" in log
    assert world.email not in log and MARK not in log  # ids and counts, never content

    # Cole's data: his clip and files, his comments, his reply (now a comment of its own),
    # the partnership, the goal and next step (without her name), the meeting's record.
    assert stored_keys(studio, ids["cole_clip"]) == cole_files
    assert row(studio, Clip, ids["cole_clip"]).uploaded_by_id == studio.coach_id
    reply = row(studio, Comment, ids["cole_reply"])
    assert reply.body == "Cole's reply to Tess" and reply.parent_id is None
    assert row(studio, Comment, ids["cole_point"]).body == "Cole's own point"
    assert row(studio, Comment, ids["cole_on_tess"]) is None  # on her deleted clip
    with studio.app.app_context():
        members = db.session.scalars(
            select(Membership.user_id).where(Membership.partnership_id == studio.pid)
        ).all()
        assert members == [studio.coach_id]
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(Invitation)
                .where(Invitation.email == "new@school.example")
            )
            == 1
        )
        assert db.session.get(Partnership, ids["cole_plc"]) is not None
    goal = row(studio, Goal, ids["goal"])
    assert goal.title == "Wait time" and goal.created_by_id is None
    step = row(studio, NextStep, ids["step"])
    assert step.text == "Pause for five seconds" and step.owner_id is None
    meeting = row(studio, Meeting, ids["meeting"])
    assert meeting.notes == "We agreed on pauses." and meeting.started_by_id is None
    assert meeting.driver_id is None and meeting.notes_updated_by_id is None
    # Cole still works: his clip page, his comments through the API.
    listed = studio.get(f"/api/v1/clips/{ids['cole_clip']}/comments", "coach")
    assert listed.status_code == 200
    assert sorted(c["body"] for c in listed.json["items"]) == [
        "Cole's own point",
        "Cole's reply to Tess",
    ]
    assert studio.get(f"/api/v1/partnerships/{studio.pid}", "coach").status_code == 200
    # Her token no longer opens anything.
    assert studio.get("/api/v1/partnerships").status_code == 401


def test_keep_shared_clips_hands_them_to_the_partnership(world, cli):
    studio, ids = world.studio, world.ids
    shared_files = stored_keys(studio, ids["tess_shared"])
    result = cli("purge-user", world.email, "--yes", "--keep-shared-clips")
    assert result.exit_code == 0, result.output
    assert "shared clips handed to their partnership: 1" in result.stdout
    assert traces(world) == {}
    kept = row(studio, Clip, ids["tess_shared"])
    assert kept.uploaded_by_id == studio.coach_id  # the longest-standing member left
    assert stored_keys(studio, ids["tess_shared"]) == shared_files
    assert row(studio, Comment, ids["cole_on_tess"]).body == "Cole on Tess's lesson"
    assert studio.get(f"/api/v1/clips/{ids['tess_shared']}", "coach").status_code == 200
    for key in ("tess_private", "alone_clip"):  # nobody else ever saw these
        assert row(studio, Clip, ids[key]) is None and stored_keys(studio, ids[key]) == []


def test_purge_user_asks_first_and_changes_nothing_when_declined(world, cli):
    studio = world.studio
    before = traces(world)
    result = cli("purge-user", world.email, input="n\n")
    assert result.exit_code == 1
    assert "This erases, and cannot be undone:" in result.stdout
    assert "clips deleted with their stored files: 3" in result.stdout
    assert f"Erase {world.email}? [y/N]" in result.stdout
    assert "Nothing was changed." in result.stderr
    assert traces(world) == before
    assert row(studio, User, studio.teacher_id) is not None

    confirmed = cli("purge-user", world.email, input="y\n")
    assert confirmed.exit_code == 0, confirmed.output
    assert traces(world) == {}


def test_purge_user_of_an_unknown_address_says_so(app, cli):
    result = cli("purge-user", "nobody@school.example", "--yes")
    assert result.exit_code == 1
    assert result.stderr.strip() == "No account has the email address nobody@school.example."


def test_what_arrives_while_the_operator_reads_the_plan_is_erased_too(world, media_samples):
    from videocoach.operations import erasure

    studio = world.studio
    with studio.app.app_context():
        plan = erasure.plan_erasure(world.email)
    late = studio.upload(media_samples["h264_aac.mp4"], title="Uploaded meanwhile").json["clip"]
    comment(studio, world.ids["cole_clip"], "teacher", f"{MARK}: one more thing")
    assert stored_keys(studio, late["id"])
    with studio.app.app_context():
        done = erasure.erase(plan)
    assert late["id"] in done.plan.clips_removed
    assert stored_keys(studio, late["id"]) == []
    assert traces(world) == {}


def test_purge_user_deletes_the_bytes_of_their_upload_staged_in_s3(
    make_app, make_user, s3_endpoint, cli
):
    settings = {
        "VIDEOCOACH_STORAGE": f"s3://{BUCKET}/purge-{secrets.token_hex(4)}",
        "S3_ENDPOINT_URL": s3_endpoint,
    }
    studio = make_studio(make_app(**settings), make_user)
    upload_id = studio.start_upload(1000, sent=b"x" * 400, filename="half.mp4")
    staged = f"tus-staging/{upload_id}/"
    assert [item.size for item in studio.storage().list_objects(staged)] == [400]
    with studio.app.app_context():
        email = db.session.get(User, studio.teacher_id).email

    result = cli("purge-user", email, "--yes", **settings)
    assert result.exit_code == 0, result.output
    assert list(studio.storage().list_objects(staged)) == []
