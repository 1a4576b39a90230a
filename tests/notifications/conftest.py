"""A partnership (teacher Tess, coach Cole, a second teacher Pat) with a shared clip of
Tess's, an outsider with a partnership of their own, and a site admin."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from flask import Flask
from sqlalchemy import select

from tests.studio import Studio, make_studio
from videocoach import db
from videocoach.accounts import services as accounts
from videocoach.clips.models import Clip
from videocoach.notifications.models import Notification
from videocoach.partnerships import services as partnerships
from videocoach.partnerships.models import Membership


@dataclass
class World:
    studio: Studio
    clip_id: str
    ids: dict[str, str]  # actor name -> user id
    tokens: dict[str, str]

    @property
    def app(self) -> Flask:
        return self.studio.app

    def api(self, who: str, method: str, path: str, json=None):
        client = self.app.test_client()
        headers = {"Authorization": f"Bearer {self.tokens[who]}"}
        return client.open(f"/api/v1{path}", method=method, json=json, headers=headers)

    def comment(self, who: str, clip_id: str | None = None, **values):
        response = self.api(
            who,
            "POST",
            f"/clips/{clip_id or self.clip_id}/comments",
            {"body": f"From {who}", "t_start": 1, **values},
        )
        assert response.status_code == 201, response.json
        return response.json["comment"]

    def add_clip(self, who: str = "teacher", visibility: str = "shared", **values) -> str:
        with self.app.app_context():
            clip = Clip(
                partnership_id=self.studio.pid,
                uploaded_by_id=self.ids[who],
                title=values.pop("title", f"{who}'s lesson"),
                visibility=visibility,
                status=values.pop("status", "ready"),
                **values,
            )
            db.session.add(clip)
            db.session.commit()
            return clip.id

    def events(self, who: str) -> list[tuple[str, str | None, str | None]]:
        """(event, actor name, clip id) of every notification `who` has, oldest first."""
        names = {user_id: name for name, user_id in self.ids.items()}
        with self.app.app_context():
            rows = db.session.scalars(
                select(Notification)
                .where(Notification.recipient_id == self.ids[who])
                .order_by(Notification.created_at)
            ).all()
            return [(n.event, names.get(n.actor_id or ""), n.clip_id) for n in rows]

    def total(self) -> int:
        with self.app.app_context():
            return len(db.session.scalars(select(Notification.id)).all())

    def set_preference(self, who: str, value: str) -> None:
        from videocoach.accounts.models import User

        with self.app.app_context():
            db.session.get(User, self.ids[who]).email_notifications = value
            db.session.commit()


def build_world(app: Flask, make_user) -> World:
    studio = make_studio(app, make_user)
    pat, admin = make_user(name="Pat Peer"), make_user(name="Ada Admin", admin=True)
    with app.app_context():
        db.session.add(Membership(partnership_id=studio.pid, user_id=pat.id, role="teacher"))
        outsider_id = accounts.user_for_token(studio.tokens["outsider"])[0].id
        from videocoach.accounts.models import User

        outsider = db.session.get(User, outsider_id)
        partnerships.create_partnership(outsider, "Elsewhere", "coach")
        tokens = dict(studio.tokens)
        tokens["pat"] = accounts.issue_token(db.session.merge(pat), "t")[0]
        tokens["admin"] = accounts.issue_token(db.session.merge(admin), "t")[0]
        db.session.commit()
    ids = {
        "teacher": studio.teacher_id,
        "coach": studio.coach_id,
        "pat": pat.id,
        "admin": admin.id,
        "outsider": outsider_id,
    }
    world = World(studio=studio, clip_id="", ids=ids, tokens=tokens)
    world.clip_id = world.add_clip(title="Fractions lesson")
    return world


@pytest.fixture
def world(eager_app, make_user) -> World:
    return build_world(eager_app, make_user)
