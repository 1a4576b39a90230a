"""A teacher + coach partnership with tokens, on an app: the world most media tests need."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.helpers.tus import metadata_header
from videocoach import db
from videocoach.accounts import services as accounts
from videocoach.partnerships import services as partnerships
from videocoach.partnerships.models import Membership

OFFSET_CONTENT_TYPE = "application/offset+octet-stream"


@dataclass
class Studio:
    """A partnership with a teacher and a coach, each with an API token, on one app."""

    app: Flask
    pid: str
    teacher_id: str
    coach_id: str
    tokens: dict[str, str]

    def client(self) -> FlaskClient:
        return self.app.test_client()

    def headers(self, who: str = "teacher") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def upload(self, path: Path, who: str = "teacher", **form: str):
        with path.open("rb") as handle:
            return self.client().post(
                f"/api/v1/partnerships/{self.pid}/clips",
                data={"file": (handle, path.name), **form},
                headers=self.headers(who),
                content_type="multipart/form-data",
            )

    def start_upload(self, length: int, sent: bytes, filename: str = "lesson.mp4") -> str:
        """A resumable (tus) upload of `length` bytes, `sent` of them sent: its id."""
        tus = {**self.headers(), "Tus-Resumable": "1.0.0"}
        created = self.client().post(
            "/api/v1/uploads",
            headers={
                **tus,
                "Upload-Length": str(length),
                "Upload-Metadata": metadata_header(partnership_id=self.pid, filename=filename),
            },
        )
        assert created.status_code == 201, created.data
        patched = self.client().patch(
            created.headers["Location"],
            data=sent,
            headers={**tus, "Upload-Offset": "0", "Content-Type": OFFSET_CONTENT_TYPE},
        )
        assert patched.status_code == 204, patched.data
        return created.headers["Location"].rsplit("/", 1)[1]

    def add_clip_row(self, visibility: str = "shared", duration_ms: int = 60_000) -> str:
        """A ready clip of the teacher's, as rows only (no media): its id."""
        from videocoach.clips.models import Clip

        with self.app.app_context():
            clip = Clip(
                partnership_id=self.pid,
                uploaded_by_id=self.teacher_id,
                title="Fractions",
                visibility=visibility,
                status="ready",
                duration_ms=duration_ms,
            )
            db.session.add(clip)
            db.session.commit()
            return clip.id

    def get(self, url: str, who: str = "teacher", **headers: str):
        return self.client().get(url, headers={**self.headers(who), **headers})

    def clip(self, clip_id: str, who: str = "teacher") -> dict[str, Any]:
        response = self.get(f"/api/v1/clips/{clip_id}", who)
        assert response.status_code == 200, response.data
        return response.json["clip"]

    def storage(self):
        return self.app.extensions["videocoach.storage"]


def make_studio(app: Flask, make_user) -> Studio:
    teacher, coach, outsider = make_user(name="Tess"), make_user(name="Cole"), make_user()
    with app.app_context():
        partnership = partnerships.create_partnership(
            db.session.merge(teacher), "Tess + Cole", "teacher"
        )
        db.session.add(Membership(partnership_id=partnership.id, user_id=coach.id, role="coach"))
        tokens = {
            who: accounts.issue_token(db.session.merge(user), "tests")[0]
            for who, user in (("teacher", teacher), ("coach", coach), ("outsider", outsider))
        }
        db.session.commit()
        pid = partnership.id
    return Studio(app=app, pid=pid, teacher_id=teacher.id, coach_id=coach.id, tokens=tokens)
