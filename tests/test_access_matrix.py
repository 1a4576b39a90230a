"""Every registered route, walked by every kind of actor, against the expected status.

A route that is not in MATRIX fails the test, so no new route can slip past the
access rules: add it here with what each actor must get. Partnership content
answers 404 to outsiders and to site admins alike (admins manage accounts only).
"""

from __future__ import annotations

import base64
import io
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from tests.conftest import PASSWORD, csrf_token
from videocoach import background, db
from videocoach.accounts import services as accounts
from videocoach.accounts.models import User, UserSession
from videocoach.clips import files
from videocoach.clips.models import Clip, ClipAsset, Upload
from videocoach.clips.uploads import staged_path
from videocoach.comments.models import Comment
from videocoach.db import utcnow
from videocoach.meetings.models import Meeting
from videocoach.notifications import services as notifications
from videocoach.notifications.models import Event, Notification
from videocoach.partnerships import goals, services
from videocoach.partnerships.models import Membership, NextStep
from videocoach.storage import current_storage
from videocoach.takeout import services as takeout
from videocoach.takeout.models import DataExport

ACTORS = ("anonymous", "outsider", "admin", "teacher", "coach")


def members(ok: int, anonymous: int = 401) -> dict[str, int]:
    return {"anonymous": anonymous, "outsider": 404, "admin": 404, "teacher": ok, "coach": ok}


def member_pages(ok: int) -> dict[str, int]:
    return members(ok, anonymous=302)


def signed_in(ok: int, anonymous: int = 401) -> dict[str, int]:
    return {actor: (anonymous if actor == "anonymous" else ok) for actor in ACTORS}


def everyone(status: int) -> dict[str, int]:
    return dict.fromkeys(ACTORS, status)


@dataclass
class World:
    """Fresh partnership content for one request, so destructive routes never interfere."""

    users: dict[str, User]
    pid: str = ""
    gid: str = ""
    iid: str = ""
    invitation_token: str = ""
    extra_member_id: str = ""
    victim_id: str = ""
    teacher_token_id: str = ""
    extras: dict[str, str] = field(default_factory=dict)

    def email(self, actor: str) -> str:
        return self.users[actor].email if actor in self.users else self.users["teacher"].email


def unique_email() -> str:
    return f"new-{secrets.token_hex(4)}@school.example"


@dataclass
class Case:
    expect: dict[str, int]
    params: Callable[[World], dict[str, str]] = lambda w: {}
    body: Callable[[World, str], dict[str, Any]] | None = None
    query: Callable[[World, str], dict[str, str]] | None = None
    headers: Callable[[World, str], dict[str, str]] | None = None
    raw: bytes | None = None  # a raw request body (tus PATCH)
    multipart: bool = False


def _content(w: World) -> dict[str, str]:
    return {"pid": w.pid, "gid": w.gid, "iid": w.iid, "cid": w.extras["clip"]}


def _step(w: World) -> dict[str, str]:
    return {"sid": w.extras["step"]}


def _comment(w: World) -> dict[str, str]:
    return {"comment_id": w.extras["comment"]}


def _meeting(w: World) -> dict[str, str]:
    return {"mid": w.extras["meeting"]}


def _private_clip(w: World) -> dict[str, str]:
    return {"cid": w.extras["private_clip"]}


def _failed_clip(w: World) -> dict[str, str]:
    return {"cid": w.extras["failed_clip"]}


def _ready_clip(w: World) -> dict[str, str]:
    return {"cid": w.extras["ready_clip"]}


def _media(w: World) -> dict[str, str]:
    return {"cid": w.extras["clip"], "name": "poster.jpg"}


def _upload(w: World) -> dict[str, str]:
    return {"uid": w.extras["upload"]}


def _tus(offset: int | None = None) -> Callable[[World, str], dict[str, str]]:
    def headers(w: World, actor: str) -> dict[str, str]:
        values = {"Tus-Resumable": "1.0.0"}
        if offset is None:
            metadata = base64.b64encode(w.pid.encode()).decode()
            values |= {"Upload-Length": "10", "Upload-Metadata": f"partnership_id {metadata}"}
        else:
            values |= {
                "Upload-Offset": str(offset),
                "Content-Type": "application/offset+octet-stream",
            }
        return values

    return headers


def uploader_only(ok: int) -> dict[str, int]:
    """Members see it; only its uploader or author (the teacher here) may change it."""
    return {**members(ok), "coach": 403}


def uploader_alone(ok: int) -> dict[str, int]:
    """An unfinished upload, a clip's access log: its uploader's alone; to everyone else,
    partners and site admins included, it does not exist."""
    return {**members(ok), "coach": 404}


def _accept_for_actor(w: World, actor: str) -> dict[str, str]:
    return {"token": w.extras.get(f"token_for_{actor}", w.invitation_token)}


API = "/api/v1"
MATRIX: dict[str, Case] = {
    # health, static, docs
    "GET /healthz": Case(everyone(200)),
    "GET /readyz": Case(everyone(200)),
    "GET /favicon.ico": Case(everyone(200)),
    # Only Prometheus's bearer token opens it (tests/test_monitoring.py); unset here: 404.
    "GET /metrics": Case(everyone(404)),
    "GET /static/<path:filename>": Case(everyone(200), lambda w: {"filename": "app.css"}),
    f"GET {API}/openapi.json": Case(everyone(200)),
    # account pages
    "GET /": Case(everyone(302)),
    "GET /signup": Case(signed_in(302, anonymous=200)),
    "POST /signup": Case(
        everyone(302),
        body=lambda w, a: {"name": "New Person", "email": unique_email(), "password": PASSWORD},
    ),
    "GET /login": Case(signed_in(302, anonymous=200)),
    "POST /login": Case(
        everyone(302), body=lambda w, a: {"email": w.email(a), "password": PASSWORD}
    ),
    "POST /logout": Case(everyone(302)),
    "GET /account": Case(signed_in(200, anonymous=302)),
    "POST /account": Case(
        signed_in(200, anonymous=302), body=lambda w, a: {"label": "script", "password": PASSWORD}
    ),
    "POST /account/tokens/<tid>/revoke": Case(
        {"anonymous": 302, "outsider": 404, "admin": 404, "teacher": 302, "coach": 404},
        lambda w: {"tid": w.teacher_token_id},
    ),
    # a wrong current password: the form answers, and nothing about the actor changes
    "POST /account/password": Case(
        signed_in(422, anonymous=302),
        body=lambda w, a: {"current_password": "not the password", "new_password": PASSWORD},
    ),
    "POST /account/sessions/<sid>/end": Case(
        {"anonymous": 302, "outsider": 404, "admin": 404, "teacher": 302, "coach": 404},
        lambda w: {"sid": w.extras["teacher_sign_in"]},
    ),
    "POST /account/sessions/end-all": Case(signed_in(302, anonymous=302)),
    # data export: each person's own; the link is a signed token for its owner alone
    "POST /account/data-export": Case(signed_in(302, anonymous=302)),
    "GET /account/data-export/<eid>": Case(
        {"anonymous": 302, "outsider": 404, "admin": 404, "teacher": 200, "coach": 404},
        lambda w: {"eid": w.extras["data_export"]},
    ),
    "GET /account/data-export/download/<token>": Case(
        {"anonymous": 302, "outsider": 404, "admin": 404, "teacher": 200, "coach": 404},
        lambda w: {"token": w.extras["data_export_token"]},
    ),
    f"POST {API}/me/data-exports": Case(signed_in(202)),
    f"GET {API}/me/data-exports/<eid>": Case(
        {"anonymous": 401, "outsider": 404, "admin": 404, "teacher": 200, "coach": 404},
        lambda w: {"eid": w.extras["data_export"]},
    ),
    "GET /password/forgot": Case(everyone(200)),
    "POST /password/forgot": Case(everyone(200), body=lambda w, a: {"email": w.email(a)}),
    "GET /password/reset/<token>": Case(everyone(404), lambda w: {"token": "not-a-reset-link"}),
    "POST /password/reset/<token>": Case(
        everyone(404), lambda w: {"token": "not-a-reset-link"}, body=lambda w, a: {}
    ),
    # partnership pages
    "GET /partnerships": Case(signed_in(200, anonymous=302)),
    "POST /partnerships": Case(
        signed_in(302, anonymous=302), body=lambda w, a: {"name": "New one", "role": "coach"}
    ),
    "GET /partnerships/<pid>": Case(member_pages(200), _content),
    "POST /partnerships/<pid>/invitations": Case(
        member_pages(302), _content, body=lambda w, a: {"email": unique_email(), "role": "coach"}
    ),
    "POST /partnerships/<pid>/invitations/<iid>/cancel": Case(member_pages(302), _content),
    "POST /partnerships/<pid>/invitations/<iid>/resend": Case(member_pages(302), _content),
    "POST /partnerships/<pid>/members/<uid>/remove": Case(
        member_pages(302), lambda w: {"pid": w.pid, "uid": w.extra_member_id}
    ),
    "POST /partnerships/<pid>/goals": Case(
        member_pages(302), _content, body=lambda w, a: {"title": "A goal"}
    ),
    "GET /partnerships/<pid>/goals": Case(member_pages(200), _content),
    "POST /partnerships/<pid>/next-steps": Case(
        member_pages(302), _content, body=lambda w, a: {"text": "Plan the next lesson"}
    ),
    "POST /next-steps/<sid>/done": Case(member_pages(302), _step),
    "GET /goals/<gid>/edit": Case(member_pages(200), _content),
    "POST /goals/<gid>/edit": Case(
        member_pages(302),
        _content,
        body=lambda w, a: {"title": "Edited", "description": "", "success_criteria": ""},
    ),
    "POST /goals/<gid>/status": Case(
        member_pages(302), _content, body=lambda w, a: {"status": "met"}
    ),
    "GET /invitations/accept": Case(
        everyone(200), query=lambda w, a: {"token": w.invitation_token}
    ),
    "POST /invitations/accept": Case(
        # members are already in: the page explains that instead of redirecting
        {"anonymous": 302, "outsider": 302, "admin": 302, "teacher": 200, "coach": 200},
        query=_accept_for_actor,
    ),
    # exports (private notes only ever reach their author: tests/exports)
    "GET /clips/<cid>/comments.csv": Case(member_pages(200), _content),
    "GET /clips/<cid>/comments.vtt": Case(member_pages(200), _content),
    "GET /clips/<cid>/summary": Case(member_pages(200), _content),
    "GET /goals/<gid>/comments.csv": Case(member_pages(200), _content),
    "GET /goals/<gid>/summary": Case(member_pages(200), _content),
    # admin pages: accounts only
    "GET /admin/users": Case(
        {"anonymous": 302, "outsider": 404, "admin": 200, "teacher": 404, "coach": 404}
    ),
    "POST /admin/users/<uid>/disable": Case(
        {"anonymous": 302, "outsider": 404, "admin": 302, "teacher": 404, "coach": 404},
        lambda w: {"uid": w.victim_id},
    ),
    "POST /admin/users/<uid>/enable": Case(
        {"anonymous": 302, "outsider": 404, "admin": 302, "teacher": 404, "coach": 404},
        lambda w: {"uid": w.victim_id},
    ),
    # API: accounts
    f"POST {API}/auth/register": Case(
        everyone(201),
        body=lambda w, a: {"email": unique_email(), "password": PASSWORD, "name": "New"},
    ),
    f"POST {API}/auth/tokens": Case(
        everyone(201), body=lambda w, a: {"email": w.email(a), "password": PASSWORD}
    ),
    f"DELETE {API}/auth/tokens/current": Case(signed_in(204)),
    f"GET {API}/me": Case(signed_in(200)),
    # API: partnerships, invitations, members
    f"GET {API}/partnerships": Case(signed_in(200)),
    f"POST {API}/partnerships": Case(
        signed_in(201), body=lambda w, a: {"name": "Another", "role": "teacher"}
    ),
    f"GET {API}/partnerships/<pid>": Case(members(200), _content),
    f"PATCH {API}/partnerships/<pid>": Case(
        members(200), _content, body=lambda w, a: {"name": "Renamed"}
    ),
    f"POST {API}/partnerships/<pid>/invitations": Case(
        members(201), _content, body=lambda w, a: {"email": unique_email(), "role": "teacher"}
    ),
    f"GET {API}/partnerships/<pid>/invitations": Case(members(200), _content),
    f"POST {API}/partnerships/<pid>/invitations/<iid>/resend": Case(members(200), _content),
    f"DELETE {API}/partnerships/<pid>/invitations/<iid>": Case(members(204), _content),
    f"POST {API}/invitations/accept": Case(
        {"anonymous": 401, "outsider": 200, "admin": 200, "teacher": 409, "coach": 409},
        body=_accept_for_actor,
    ),
    f"DELETE {API}/partnerships/<pid>/members/<uid>": Case(
        members(204), lambda w: {"pid": w.pid, "uid": w.extra_member_id}
    ),
    # API: goals
    f"GET {API}/partnerships/<pid>/goals": Case(members(200), _content),
    f"POST {API}/partnerships/<pid>/goals": Case(
        members(201), _content, body=lambda w, a: {"title": "Goal"}
    ),
    f"GET {API}/goals/<gid>": Case(members(200), _content),
    f"PATCH {API}/goals/<gid>": Case(members(200), _content, body=lambda w, a: {"title": "New"}),
    f"DELETE {API}/goals/<gid>": Case(members(204), _content),
    # API: next steps (any member may change one: they belong to the partnership)
    f"GET {API}/partnerships/<pid>/next-steps": Case(members(200), _content),
    f"POST {API}/partnerships/<pid>/next-steps": Case(
        members(201), _content, body=lambda w, a: {"text": "Try think-pair-share"}
    ),
    f"PATCH {API}/next-steps/<sid>": Case(members(200), _step, body=lambda w, a: {"done": True}),
    f"DELETE {API}/next-steps/<sid>": Case(members(204), _step),
    # API: clips and media
    f"GET {API}/partnerships/<pid>/clips": Case(members(200), _content),
    f"POST {API}/partnerships/<pid>/clips": Case(members(202), _content, multipart=True),
    f"GET {API}/clips/<cid>": Case(members(200), _content),
    f"PATCH {API}/clips/<cid>": Case(
        uploader_only(200), _content, body=lambda w, a: {"title": "Renamed"}
    ),
    f"DELETE {API}/clips/<cid>": Case(uploader_only(204), _content),
    f"POST {API}/clips/<cid>/retry": Case(uploader_only(202), _failed_clip),
    f"GET {API}/clips/<cid>/media/<path:name>": Case(members(200), _media),
    f"GET {API}/clips/<cid>/access-log": Case(uploader_alone(200), _content),
    f"POST {API}/clips/<cid>/plays": Case(members(204), _content),
    f"POST {API}/clips/<cid>/keep": Case(uploader_only(200), _content),
    f"GET {API}/clips/<cid>/redaction": Case(uploader_only(200), _content),
    f"PUT {API}/clips/<cid>/redaction": Case(
        uploader_only(202), _content, body=lambda w, a: {"trim": [1, 20], "blur_faces": True}
    ),
    f"GET {API}/clips/<cid>/redaction/faces": Case(uploader_only(200), _content),
    f"POST {API}/clips/<cid>/redaction/faces": Case(uploader_only(202), _ready_clip),
    # API: comments (their author alone may change one; any member resolves a thread, and
    # tests/comments/test_resolve.py checks a member sending more than `resolved` gets 403)
    f"GET {API}/clips/<cid>/comments": Case(members(200), _content),
    f"POST {API}/clips/<cid>/comments": Case(
        members(201), _content, body=lambda w, a: {"body": "Nice", "t_start": 0.5}
    ),
    f"PATCH {API}/comments/<comment_id>": Case(
        members(200), _comment, body=lambda w, a: {"resolved": True}
    ),
    f"DELETE {API}/comments/<comment_id>": Case(uploader_only(204), _comment),
    # API: resumable uploads (tus)
    f"POST {API}/uploads": Case(members(201), headers=_tus()),
    f"HEAD {API}/uploads/<uid>": Case(uploader_alone(200), _upload, headers=_tus(0)),
    f"PATCH {API}/uploads/<uid>": Case(uploader_alone(204), _upload, headers=_tus(0), raw=b"12345"),
    f"DELETE {API}/uploads/<uid>": Case(uploader_alone(204), _upload, headers=_tus(0)),
    # clip pages (a non-uploader's change is refused with a message, on the clip page)
    "GET /partnerships/<pid>/clips": Case(member_pages(200), _content),
    "GET /partnerships/<pid>/upload": Case(member_pages(200), _content),
    "GET /clips/<cid>": Case(member_pages(200), _content),
    "POST /clips/<cid>/retry": Case(member_pages(302), _failed_clip),
    "POST /clips/<cid>/visibility": Case(
        member_pages(302), _content, body=lambda w, a: {"visibility": "private"}
    ),
    "POST /clips/<cid>/delete": Case(member_pages(302), _content),
    "POST /clips/<cid>/keep": Case(member_pages(302), _content),
    "POST /clips/<cid>/redaction": Case(
        member_pages(302), _content, body=lambda w, a: {"blur_faces": "on"}
    ),
    "POST /clips/<cid>/redaction/faces": Case(member_pages(302), _ready_clip),
    # notifications: each person's own (the world's one is the teacher's)
    "GET /notifications": Case(signed_in(200, anonymous=302)),
    "GET /notifications/<nid>": Case(
        {"anonymous": 302, "outsider": 404, "admin": 404, "teacher": 302, "coach": 404},
        lambda w: {"nid": w.extras["notification"]},
    ),
    "POST /notifications/read": Case(signed_in(302, anonymous=302)),
    "POST /account/notifications": Case(
        signed_in(302, anonymous=302), body=lambda w, a: {"email_notifications": "daily"}
    ),
    # the signed token is the credential: no sign-in needed (one-click unsubscribe)
    "GET /notifications/unsubscribe/<token>": Case(
        everyone(200), lambda w: {"token": w.extras["unsubscribe"]}
    ),
    "POST /notifications/unsubscribe/<token>": Case(
        everyone(200), lambda w: {"token": w.extras["unsubscribe"]}
    ),
    f"GET {API}/notifications": Case(signed_in(200)),
    # meetings: members only; the driver alone moves the playback (the teacher drives)
    "POST /clips/<cid>/meetings": Case(member_pages(302), _content),
    # the teacher's private clip: its uploader shares it and starts; nobody else sees it
    "POST /clips/<cid>/meetings/share-and-start": Case(
        {**member_pages(302), "coach": 404}, _private_clip
    ),
    "GET /meetings/<mid>": Case(member_pages(200), _meeting),
    "POST /meetings/<mid>/end": Case(member_pages(302), _meeting),
    # the world's clip has a meeting under way: starting one joins it
    f"POST {API}/clips/<cid>/meetings": Case(members(200), _content),
    f"GET {API}/partnerships/<pid>/meetings": Case(members(200), _content),
    f"GET {API}/meetings/<mid>": Case(members(200), _meeting),
    f"POST {API}/meetings/<mid>/end": Case(members(200), _meeting),
    f"PUT {API}/meetings/<mid>/playback": Case(
        uploader_only(200), _meeting, body=lambda w, a: {"position": 0.5}
    ),
    # the driver (teacher) is not connected, so any member may take the driving
    f"PUT {API}/meetings/<mid>/driver": Case(
        members(200), _meeting, body=lambda w, a: {"driver_id": w.users["coach"].id}
    ),
    f"PUT {API}/meetings/<mid>/notes": Case(
        members(200), _meeting, body=lambda w, a: {"notes": "Agreed", "notes_version": 0}
    ),
    f"GET {API}/meetings/<mid>/events": Case(members(200), _meeting),
    f"POST {API}/notifications/read": Case(signed_in(200), body=lambda w, a: {}),
}


def registered_routes(app) -> set[str]:
    routes = set()
    for rule in app.url_map.iter_rules():
        methods = set(rule.methods) - {"OPTIONS"}
        if "GET" in methods:
            methods.discard("HEAD")  # Flask adds HEAD to every GET route
        routes |= {f"{method} {rule.rule}" for method in methods}
    return routes


def build_world(app, users: dict[str, User]) -> World:
    with app.app_context():
        background.record_beat("matrix-worker:1", 1, utcnow())  # /readyz wants a live worker
        teacher = db.session.get(User, users["teacher"].id)
        partnership = services.create_partnership(teacher, "Matrix partnership", "teacher")
        extra = accounts.create_user(unique_email(), PASSWORD, "Extra Member")
        victim = accounts.create_user(unique_email(), PASSWORD, "Victim")
        db.session.add_all(
            [
                Membership(partnership_id=partnership.id, user_id=users["coach"].id, role="coach"),
                Membership(partnership_id=partnership.id, user_id=extra.id, role="teacher"),
            ]
        )
        goal = goals.create_goal(teacher, partnership.id, "Matrix goal")
        invitation, invitation_token = services.invite(
            teacher, partnership.id, unique_email(), "coach", lambda token: token
        )
        _, token = accounts.issue_token(teacher, "revocable")
        world = World(
            users=users,
            pid=partnership.id,
            gid=goal.id,
            iid=invitation.id,
            invitation_token=invitation_token,
            extra_member_id=extra.id,
            victim_id=victim.id,
            teacher_token_id=token.id,
        )
        # An invitation addressed to each actor, for the accept routes; the guard that
        # refuses to invite existing members is bypassed by inviting before they join.
        for actor, user in users.items():
            email = user.email if actor not in ("teacher", "coach") else unique_email()
            _, raw = services.invite(teacher, partnership.id, email, "teacher", lambda t: t)
            world.extras[f"token_for_{actor}"] = raw
        add_clips(world, teacher)
        other_device = UserSession(user_id=teacher.id, user_agent="another browser")
        db.session.add(other_device)
        db.session.flush()
        world.extras["teacher_sign_in"] = other_device.id
        db.session.commit()
    return world


def add_clips(world: World, teacher: User) -> None:
    """A shared clip with a stored poster, a private clip, a failed clip, and an unfinished
    upload."""
    storage = current_storage()
    shared = Clip(
        partnership_id=world.pid, uploaded_by_id=teacher.id, title="Shared", visibility="shared"
    )
    failed = Clip(
        partnership_id=world.pid,
        uploaded_by_id=teacher.id,
        title="Broken",
        visibility="shared",
        status="failed",
        error="This file is not a video we can read.",
    )
    private = Clip(
        partnership_id=world.pid, uploaded_by_id=teacher.id, title="Mine", visibility="private"
    )
    # Processed (no files: a job asked for on it fails, which the matrix does not look at).
    ready = Clip(
        partnership_id=world.pid,
        uploaded_by_id=teacher.id,
        title="Done",
        visibility="shared",
        status="ready",
    )
    db.session.add_all([shared, private, failed, ready])
    db.session.flush()
    key = files.key(shared.id, files.POSTER)
    stored = storage.put_bytes(key, b"\xff\xd8 not really a jpeg", "image/jpeg")
    db.session.add(
        ClipAsset(
            clip_id=shared.id,
            kind="poster",
            name="poster.jpg",
            key=key,
            size=stored.size,
            content_type="image/jpeg",
        )
    )
    upload = Upload(
        user_id=teacher.id,
        partnership_id=world.pid,
        length=10,
        expires_at=utcnow() + timedelta(hours=1),
    )
    db.session.add(upload)
    db.session.flush()
    staged_path(upload.id).touch()
    comment = Comment(clip_id=shared.id, author_id=teacher.id, t_start_ms=1000, body="Look here")
    step = NextStep(partnership_id=world.pid, text="Plan it", created_by_id=teacher.id)
    meeting = Meeting(
        partnership_id=world.pid,
        clip_id=shared.id,
        started_by_id=teacher.id,
        driver_id=teacher.id,
        playback_at=utcnow(),
    )
    db.session.add_all([comment, step, meeting])
    db.session.flush()
    notification = Notification(
        recipient_id=teacher.id,
        event=Event.CLIP_READY.value,
        partnership_id=world.pid,
        clip_id=shared.id,
    )
    db.session.add(notification)
    db.session.flush()
    export = ready_data_export(teacher)
    world.extras |= {
        "data_export": export.id,
        "data_export_token": takeout.download_token(export),
        "clip": shared.id,
        "private_clip": private.id,
        "failed_clip": failed.id,
        "ready_clip": ready.id,
        "upload": upload.id,
        "comment": comment.id,
        "step": step.id,
        "meeting": meeting.id,
        "notification": notification.id,
        "unsubscribe": notifications.unsubscribe_token(teacher),
    }


def ready_data_export(teacher: User) -> DataExport:
    """The teacher's data export, built and waiting for its one-time download."""
    key = f"{takeout.EXPORTS_PREFIX}{secrets.token_hex(8)}.zip"
    stored = current_storage().put_bytes(key, b"PK\x05\x06" + bytes(18), "application/zip")
    now = utcnow()
    export = DataExport(
        user_id=teacher.id,
        status="ready",
        progress=1.0,
        key=key,
        size=stored.size,
        ready_at=now,
        expires_at=now + takeout.LINK_VALID,
    )
    db.session.add(export)
    db.session.flush()
    return export


def fill(rule: str, params: dict[str, str]) -> str:
    path = rule
    for name, value in params.items():
        for converter in ("", "path:"):
            path = path.replace(f"<{converter}{name}>", value)
    assert "<" not in path, f"unfilled parameter in {rule}"
    return path


def send(app, world: World, actor: str, key: str, case: Case, api_tokens, browser_for):
    method, rule = key.split(" ", 1)
    path = fill(rule, case.params(world))
    query = case.query(world, actor) if case.query else None
    body = case.body(world, actor) if case.body else None
    if rule.startswith(API + "/"):
        client = app.test_client()
        headers = {"Authorization": f"Bearer {api_tokens[actor]}"} if actor in api_tokens else {}
        headers |= case.headers(world, actor) if case.headers else {}
        if case.multipart:
            form = {"file": (io.BytesIO(b"not a video"), "lesson.mp4"), "title": "Lesson"}
            return client.post(path, data=form, headers=headers, content_type="multipart/form-data")
        if case.raw is not None:
            return client.open(path, method=method, data=case.raw, headers=headers)
        return client.open(path, method=method, json=body, headers=headers, query_string=query)
    client = browser_for(world.users.get(actor))
    if method == "POST":
        form = {**(body or {}), "csrf_token": csrf_token(client)}
        return client.post(path, data=form, query_string=query)
    return client.open(path, method=method, query_string=query)


@pytest.fixture
def actors(make_user) -> dict[str, User]:
    return {
        "outsider": make_user(name="Olly Outsider"),
        "admin": make_user(name="Ada Admin", admin=True),
        "teacher": make_user(name="Tess Teacher"),
        "coach": make_user(name="Cole Coach"),
    }


def test_every_route_is_in_the_matrix(app):
    routes = registered_routes(app)
    missing = sorted(routes - MATRIX.keys())
    stale = sorted(MATRIX.keys() - routes)
    assert not missing, f"routes missing from the access matrix: {missing}"
    assert not stale, f"matrix entries for routes that no longer exist: {stale}"


def test_access_matrix(app, actors, browser_for):
    # The outsider is a member elsewhere: being in *a* partnership grants nothing here.
    with app.app_context():
        outsider = db.session.get(User, actors["outsider"].id)
        services.create_partnership(outsider, "Someone else's", "coach")
        db.session.commit()
    failures = []
    for key, case in MATRIX.items():
        for actor in ACTORS:
            world = build_world(app, actors)
            with app.app_context():
                api_tokens = {
                    name: accounts.issue_token(db.session.get(User, user.id), "matrix")[0]
                    for name, user in actors.items()
                }
                db.session.commit()
            response = send(app, world, actor, key, case, api_tokens, browser_for)
            response.close()  # ends a live event stream the request may have opened
            expected = case.expect[actor]
            if response.status_code != expected:
                failures.append(f"{key} as {actor}: {response.status_code}, expected {expected}")
            elif expected == 404 and response.is_json and response.data:
                assert response.json["error"]["code"] in {"not_found", "invitation_invalid"}
    assert not failures, "\n".join(failures)
