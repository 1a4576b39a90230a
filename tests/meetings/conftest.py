"""A teacher + coach partnership with a shared 60 s clip (rows only, no media), a goal,
and an outsider: what meeting tests start from."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests

from tests.studio import Studio
from videocoach import db
from videocoach.clips.models import Clip

CLIP_MS = 60_000


@dataclass
class MeetingWorld:
    studio: Studio
    clip_id: str
    goal_id: str

    def api(self, who: str, method: str, path: str, json: Any = None):
        return self.studio.client().open(
            f"/api/v1{path}", method=method, json=json, headers=self.studio.headers(who)
        )

    def start(self, who: str = "teacher") -> dict[str, Any]:
        response = self.api(who, "POST", f"/clips/{self.clip_id}/meetings")
        assert response.status_code in (200, 201), response.json
        return response.json["meeting"]

    def add_clip(self, visibility: str = "shared") -> str:
        with self.studio.app.app_context():
            clip = Clip(
                partnership_id=self.studio.pid,
                uploaded_by_id=self.studio.teacher_id,
                title="Fractions",
                visibility=visibility,
                status="ready",
                duration_ms=CLIP_MS,
            )
            db.session.add(clip)
            db.session.commit()
            return clip.id


@pytest.fixture
def world(pair: Studio) -> MeetingWorld:
    goal = pair.client().post(
        f"/api/v1/partnerships/{pair.pid}/goals",
        json={"title": "Wait time"},
        headers=pair.headers(),
    )
    shell = MeetingWorld(studio=pair, clip_id="", goal_id=goal.json["goal"]["id"])
    shell.clip_id = shell.add_clip()
    return shell


@dataclass
class Listener:
    """An open event stream over real HTTP, read by a thread: events as (kind, data)."""

    response: requests.Response
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    closed: threading.Event = field(default_factory=threading.Event)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def read(self) -> None:
        kind = None
        try:
            for line in self.response.iter_lines(decode_unicode=True):
                if line.startswith("event: "):
                    kind = line[len("event: ") :]
                elif line.startswith("data: ") and kind:
                    with self.arrived:
                        self.events.append((kind, json.loads(line[len("data: ") :])))
                        self.arrived.notify_all()
                    kind = None
        except Exception:  # noqa: S110 - close() from another thread ends the read any which way
            pass
        finally:
            self.closed.set()
            with self.arrived:
                self.arrived.notify_all()

    def wait_for(self, kind: str, timeout: float = 5, **match: Any) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self.arrived:
            while True:
                for seen_kind, data in self.events:
                    if seen_kind == kind and all(data.get(k) == v for k, v in match.items()):
                        return data
                left = deadline - time.monotonic()
                if left <= 0 or self.closed.is_set():
                    kinds = [k for k, _ in self.events]
                    raise AssertionError(f"no {kind} event {match or ''}; got {kinds}")
                self.arrived.wait(left)

    def last(self, kind: str) -> dict[str, Any] | None:
        with self.arrived:
            found = [data for seen_kind, data in self.events if seen_kind == kind]
        return found[-1] if found else None

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.events]

    def close(self) -> None:
        self.response.close()


def refused_stream(base_url: str, meeting_id: str, token: str) -> requests.Response:
    """Ask for a meeting's event stream where the answer is a refusal (read whole)."""
    return requests.get(
        f"{base_url}/api/v1/meetings/{meeting_id}/events",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )


@pytest.fixture
def listen() -> Iterator[Any]:
    """listen(base_url, meeting_id, token) -> a Listener that has received its hello."""
    opened: list[Listener] = []

    def factory(base_url: str, meeting_id: str, token: str) -> Listener:
        response = requests.get(
            f"{base_url}/api/v1/meetings/{meeting_id}/events",
            headers={"Authorization": f"Bearer {token}"},
            stream=True,
            timeout=30,
        )
        assert response.status_code == 200, response.text
        listener = Listener(response)
        threading.Thread(target=listener.read, daemon=True).start()
        opened.append(listener)
        listener.wait_for("hello")
        return listener

    yield factory
    for listener in opened:
        listener.close()
