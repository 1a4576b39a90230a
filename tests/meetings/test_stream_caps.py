"""How many live streams one person and one meeting may hold (issue #11, finding 3): one
account once opened 48 streams to its own meeting and every other meeting on the server
got 503. A person's streams beyond their cap replace their oldest (whose page is told
why), a meeting has a cap of its own, and the server-wide cap stays the last guard."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import requests
import sqlalchemy as sa

from tests.conftest import serving
from tests.meetings.conftest import CLIP_MS, Listener, MeetingWorld
from tests.meetings.test_live_stream import eventually
from videocoach import db
from videocoach.accounts import services as accounts
from videocoach.clips.models import Clip
from videocoach.config import Settings
from videocoach.meetings import stream
from videocoach.meetings.models import MeetingConnection
from videocoach.partnerships.models import Membership


@pytest.fixture(autouse=True)
def quick_heartbeat(monkeypatch) -> None:
    monkeypatch.setattr(stream, "HEARTBEAT_S", 0.3)


def still_open(listeners: list[Listener]) -> list[Listener]:
    return [listener for listener in listeners if not listener.closed.is_set()]


def open_rows(world: MeetingWorld, user_id: str) -> int:
    with world.studio.app.app_context():
        return db.session.scalar(
            sa.select(sa.func.count())
            .select_from(MeetingConnection)
            .where(MeetingConnection.user_id == user_id, MeetingConnection.closed_at.is_(None))
        )


def own_meeting(world: MeetingWorld, who: str) -> str:
    """A self-made account's own partnership, shared clip and meeting."""
    created = world.api(who, "POST", "/partnerships", {"name": "Mine", "role": "teacher"})
    assert created.status_code == 201, created.json
    with world.studio.app.app_context():
        me = db.session.scalar(
            sa.select(Membership.user_id).where(
                Membership.partnership_id == created.json["partnership"]["id"]
            )
        )
        clip = Clip(
            partnership_id=created.json["partnership"]["id"],
            uploaded_by_id=me,
            title="Mine",
            visibility="shared",
            status="ready",
            duration_ms=CLIP_MS,
        )
        db.session.add(clip)
        db.session.commit()
        clip_id = clip.id
    started = world.api(who, "POST", f"/clips/{clip_id}/meetings")
    assert started.status_code == 201, started.json
    return started.json["meeting"]["id"]


def third_member(world: MeetingWorld, make_user) -> str:
    """Another member of the partnership, with a token as `world.studio.tokens["third"]`."""
    third = make_user(name="Tia")
    with world.studio.app.app_context():
        db.session.add(Membership(partnership_id=world.studio.pid, user_id=third.id, role="coach"))
        world.studio.tokens["third"] = accounts.issue_token(db.session.merge(third), "t")[0]
        db.session.commit()
    return third.id


def test_one_account_cannot_lock_everyone_else_out(world: MeetingWorld, make_app, listen) -> None:
    """The finding: a self-made account opens more streams than the server holds."""
    meeting_a = world.start()["id"]
    server_cap, person_cap = 12, 4
    app = make_app(
        VIDEOCOACH_LIVE_STREAMS=str(server_cap), VIDEOCOACH_LIVE_STREAMS_PER_USER=str(person_cap)
    )
    token = world.studio.tokens["outsider"]
    theirs = own_meeting(world, "outsider")
    with serving(app) as url:
        # Other people's meetings do not exist for it...
        assert ask(url, meeting_a, token)[0] == 404
        # ...and its own take no more than its cap, however many it asks for.
        streams: list[Listener] = []
        for n in range(server_cap + 1):
            streams.append(listen(url, theirs, token))
            if n >= person_cap:  # one too many: the oldest still open makes way
                replaced = streams[n - person_cap]
                bye = replaced.wait_for("bye")
                assert bye["code"] == "replaced" and "another" in bye["reason"]
                assert replaced.closed.wait(5)
        assert still_open(streams) == streams[-person_cap:]
        with world.studio.app.app_context():
            outsider_id = db.session.scalar(
                sa.select(MeetingConnection.user_id).where(MeetingConnection.meeting_id == theirs)
            )
        assert open_rows(world, outsider_id) == person_cap
        coach = listen(url, meeting_a, world.studio.tokens["coach"])
        assert coach.events[0][0] == "hello"
        # The ones left hear their meeting; the replaced ones nothing more.
        moved = requests.put(  # through the served app: its live channel is its own
            f"{url}/api/v1/meetings/{theirs}/playback",
            json={"position": 9},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert moved.status_code == 200
        for listener in streams[-person_cap:]:
            assert listener.wait_for("playback")["position"] == 9
        assert all(listener.last("playback") is None for listener in streams[:-person_cap])


def test_a_person_is_capped_across_their_meetings(world: MeetingWorld, make_app, listen) -> None:
    first = world.start()["id"]
    second_clip = world.add_clip()
    second = world.api("teacher", "POST", f"/clips/{second_clip}/meetings").json["meeting"]["id"]
    app = make_app(VIDEOCOACH_LIVE_STREAMS_PER_USER="2")
    token = world.studio.tokens["teacher"]
    with serving(app) as url:
        a, b = listen(url, first, token), listen(url, second, token)
        c = listen(url, second, token)
        assert a.wait_for("bye")["code"] == "replaced"
        assert a.closed.wait(5) and still_open([a, b, c]) == [b, c]
        # Presence in the first meeting follows: nobody is there any more.
        meeting = world.api("coach", "GET", f"/meetings/{first}").json["meeting"]
        assert meeting["present"] == []


def test_streams_opened_all_at_once_still_leave_only_the_cap_open(
    world: MeetingWorld, make_app
) -> None:
    """Counting and adding are one step per person (row locks on PostgreSQL, one at a
    time in the embedded process): a burst cannot slip past the cap. (Some of a burst
    may be refused while the streams it replaced are still ending: the stuck guard.)"""
    mid = world.start()["id"]
    app = make_app(VIDEOCOACH_LIVE_STREAMS_PER_USER="3")
    token = world.studio.tokens["teacher"]
    opened: list[Listener] = []
    statuses: list[int] = []

    def open_one() -> None:
        response = requests.get(
            f"{url}/api/v1/meetings/{mid}/events",
            headers={"Authorization": f"Bearer {token}"},
            stream=True,
            timeout=30,
        )
        statuses.append(response.status_code)
        if response.status_code == 200:
            listener = Listener(response)
            opened.append(listener)
            listener.read()
        else:
            response.close()

    with serving(app) as url:
        threads = [threading.Thread(target=open_one, daemon=True) for _ in range(8)]
        for thread in threads:
            thread.start()
        try:
            assert eventually(lambda: len(statuses) == 8, timeout=15), statuses
            assert set(statuses) <= {200, 503} and statuses.count(200) >= 3, statuses
            assert eventually(lambda: len(still_open(opened)) == 3), len(still_open(opened))
            assert open_rows(world, world.studio.teacher_id) == 3
            hub = app.extensions["videocoach.live"].hub
            assert hub.subscriber_count(owner=world.studio.teacher_id) == 3
        finally:
            for listener in opened:
                listener.close()


def test_a_meeting_has_a_cap_and_a_person_makes_room_from_their_own(
    world: MeetingWorld, make_app, make_user, listen
) -> None:
    mid = world.start()["id"]
    third_member(world, make_user)
    tokens = world.studio.tokens
    app = make_app(VIDEOCOACH_LIVE_STREAMS_PER_MEETING="2")
    with serving(app) as url:
        teacher = listen(url, mid, tokens["teacher"])
        coach = listen(url, mid, tokens["coach"])
        status, full = ask(url, mid, tokens["third"])
        assert status == 503 and full is not None
        assert full["error"]["code"] == "too_many_live_connections"
        assert "meeting" in full["error"]["message"]
        # A second tab (or a reload) of someone already here takes the place of their own.
        again = listen(url, mid, tokens["teacher"])
        assert teacher.wait_for("bye")["code"] == "replaced"
        assert not coach.closed.wait(0.5) and not again.closed.is_set()
        # The rest of the server is not full: another meeting opens.
        other = world.api("third", "POST", f"/clips/{world.add_clip()}/meetings")
        assert listen(url, other.json["meeting"]["id"], tokens["third"]).events[0][0] == "hello"
        # When someone leaves, there is room again.
        coach.close()
        assert eventually(lambda: ask(url, mid, tokens["third"])[0] == 200)


def ask(url: str, mid: str, token: str) -> tuple[int, dict[str, Any] | None]:
    """Ask for a stream and hang up at once: its status, and the error body if refused
    (an accepted stream would never end by itself)."""
    response = requests.get(
        f"{url}/api/v1/meetings/{mid}/events",
        headers={"Authorization": f"Bearer {token}"},
        stream=True,
        timeout=10,
    )
    with response:
        return response.status_code, None if response.ok else response.json()


def test_streams_stuck_on_a_process_count_against_their_person_there(
    world: MeetingWorld, make_app, listen
) -> None:
    """A browser that stops reading can hold its thread after its stream was replaced
    (the server cannot write the goodbye). Those still count on their web process, up to
    twice the person's cap, so even stuck streams cannot fill the process."""
    mid = world.start()["id"]
    app = make_app(VIDEOCOACH_LIVE_STREAMS_PER_USER="2")
    hub = app.extensions["videocoach.live"].hub
    stuck = [hub.subscribe(["stuck"], owner=world.studio.teacher_id) for _ in range(4)]
    try:
        with serving(app) as url:
            status, refused = ask(url, mid, world.studio.tokens["teacher"])
            assert status == 503 and refused is not None
            assert refused["error"]["code"] == "too_many_live_connections"
            assert listen(url, mid, world.studio.tokens["coach"]).events[0][0] == "hello"
            stuck.pop().close()
            assert listen(url, mid, world.studio.tokens["teacher"]).events[0][0] == "hello"
    finally:
        for subscription in stuck:
            subscription.close()


@pytest.mark.parametrize(
    ("env", "person", "meeting"),
    [
        ({}, 4, 20),
        (
            {"VIDEOCOACH_LIVE_STREAMS_PER_USER": "2", "VIDEOCOACH_LIVE_STREAMS_PER_MEETING": "6"},
            2,
            6,
        ),
        # However it is set, one person stays under half of a process's streams...
        ({"VIDEOCOACH_LIVE_STREAMS": "10", "VIDEOCOACH_LIVE_STREAMS_PER_USER": "40"}, 4, 9),
        # ...and a meeting under all of them.
        ({"VIDEOCOACH_LIVE_STREAMS": "8", "VIDEOCOACH_LIVE_STREAMS_PER_MEETING": "50"}, 3, 7),
    ],
)
def test_the_caps_come_from_the_environment(
    tmp_path, env: dict[str, Any], person: int, meeting: int
) -> None:
    settings = Settings.from_env({"VIDEOCOACH_DATA_DIR": str(tmp_path), **env})
    assert (stream.person_cap(settings), stream.meeting_cap(settings)) == (person, meeting)
