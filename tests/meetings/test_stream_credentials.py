"""A meeting stream lives only as long as the credential it was opened with: revoking the
token, signing out, or a password change ends it within one check-in, over real HTTP."""

from __future__ import annotations

import threading

import pytest
import requests

from tests.conftest import PASSWORD, post_form, serving, sign_in_as
from tests.meetings.conftest import Listener, MeetingWorld
from videocoach.meetings import stream


@pytest.fixture
def base_url(world: MeetingWorld):
    with serving(world.studio.app) as url:
        yield url


@pytest.fixture(autouse=True)
def quick_heartbeat(monkeypatch) -> None:
    monkeypatch.setattr(stream, "HEARTBEAT_S", 0.3)


def open_stream(base_url: str, mid: str, **credentials) -> Listener:
    response = requests.get(
        f"{base_url}/api/v1/meetings/{mid}/events", stream=True, timeout=30, **credentials
    )
    assert response.status_code == 200, response.text
    listener = Listener(response)
    threading.Thread(target=listener.read, daemon=True).start()
    listener.wait_for("hello")
    return listener


def comment(world: MeetingWorld, body: str) -> str:
    response = world.api(
        "teacher", "POST", f"/clips/{world.clip_id}/comments", {"body": body, "t_start": 1}
    )
    assert response.status_code == 201
    return response.json["comment"]["id"]


def assert_ended_and_deaf(world: MeetingWorld, listener: Listener) -> None:
    assert listener.closed.wait(5), "the stream stayed open"
    later = comment(world, "Said after the credential ended")
    assert all(later not in str(data) for _, data in listener.events)


def test_revoking_the_token_ends_its_stream(world: MeetingWorld, base_url: str) -> None:
    mid = world.start()["id"]
    token = world.studio.tokens["coach"]
    listener = open_stream(base_url, mid, headers={"Authorization": f"Bearer {token}"})
    heard = comment(world, "Before")
    assert listener.wait_for("comment")["id"] == heard
    revoked = requests.delete(
        f"{base_url}/api/v1/auth/tokens/current",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert revoked.status_code == 204
    assert_ended_and_deaf(world, listener)


def test_signing_out_ends_the_streams_of_that_sign_in(world: MeetingWorld, base_url: str) -> None:
    mid = world.start()["id"]
    browser = world.studio.client()
    sign_in_as(browser, world.studio.coach_id)
    cookie = browser.get_cookie("session").value
    listener = open_stream(base_url, mid, cookies={"session": cookie})
    assert post_form(browser, "/logout").status_code == 302
    assert_ended_and_deaf(world, listener)


def test_a_password_change_ends_the_streams_of_other_sign_ins(
    world: MeetingWorld, base_url: str
) -> None:
    mid = world.start()["id"]
    elsewhere = world.studio.client()
    sign_in_as(elsewhere, world.studio.coach_id)
    listener = open_stream(
        base_url, mid, cookies={"session": elsewhere.get_cookie("session").value}
    )
    here = world.studio.client()
    sign_in_as(here, world.studio.coach_id)
    changed = post_form(
        here,
        "/account/password",
        {"current_password": PASSWORD, "new_password": "a new and longer sentence"},
    )
    assert changed.status_code == 302
    assert_ended_and_deaf(world, listener)


def test_a_busy_meeting_still_checks_the_credential(world: MeetingWorld, base_url: str) -> None:
    """Events arriving faster than the check-in interval must not postpone the check."""
    mid = world.start()["id"]
    token = world.studio.tokens["coach"]
    listener = open_stream(base_url, mid, headers={"Authorization": f"Bearer {token}"})
    requests.delete(
        f"{base_url}/api/v1/auth/tokens/current",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    stop = threading.Event()

    def chatter() -> None:
        position = 0.0
        while not stop.is_set():
            position += 0.1
            world.api("teacher", "PUT", f"/meetings/{mid}/playback", {"position": position})

    talker = threading.Thread(target=chatter, daemon=True)
    talker.start()
    try:
        assert listener.closed.wait(5), "a stream of events kept a revoked token listening"
    finally:
        stop.set()
        talker.join(5)
