"""A meeting's live stream as Server-Sent Events.

SSE, not WebSockets: the browser's EventSource reconnects by itself, it is plain HTTP
(cookies, CSRF-free GETs, proxies, the embedded cheroot server and gunicorn's gthread
workers all carry it), and everything a person *does* in a meeting is an ordinary
API request that is checked, stored and then published. The stream only listens.

A stream holds a server thread while it is open but no database connection: it checks
in (presence, access) every HEARTBEAT_S with a short transaction of its own.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Generator, Iterator
from typing import Any

from flask import Flask

from videocoach import db, live, transaction
from videocoach.accounts import sessions
from videocoach.accounts.models import User
from videocoach.config import Settings
from videocoach.db import new_id
from videocoach.errors import Conflict, NotFound
from videocoach.meetings import services
from videocoach.meetings.models import Meeting

log = logging.getLogger(__name__)

HEARTBEAT_S = 10
# A server learns that a browser has gone only when a write to its stream fails (the
# second write after it left): a comment line this often lets the others see within a
# few seconds that someone left (a driver's "Take over" appears), for a few bytes.
KEEPALIVE_S = 2.0
RETRY_MS = 1000
# Events after which the stream asks the database whether its person may still listen.
ACCESS_EVENTS = {"members_changed", "access_changed"}
GONE_MESSAGE = "You can no longer take part in this meeting."
SIGNED_OUT_MESSAGE = "You were signed out. Sign in again to take part in this meeting."
REPLACED_MESSAGE = (
    "You opened this meeting in another tab or on another device, so this page stopped "
    "following it."
)
# `bye` says why the stream ends, so a page knows whether to come back: never by itself
# after `replaced`, or it would push out the newer page, which would push it out again.
BYE_GONE = {"reason": GONE_MESSAGE, "code": "no_access"}
BYE_SIGNED_OUT = {"reason": SIGNED_OUT_MESSAGE, "code": "signed_out"}
BYE_REPLACED = {"reason": REPLACED_MESSAGE, "code": "replaced"}
# Streams of one person in one process, counting replaced ones that have not ended yet
# (a browser that stopped reading holds its thread until a write fails): this many times
# their cap, so even those cannot fill a process.
STUCK_FACTOR = 2

TooManyStreams = services.TooManyStreams


def sse(kind: str, data: Any) -> str:
    return f"event: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def topics_of(meeting: Meeting) -> list[str]:
    return [
        live.meeting_topic(meeting.id),
        live.clip_topic(meeting.clip_id),
        live.partnership_topic(meeting.partnership_id),
    ]


def person_cap(settings: Settings) -> int:
    """Streams one person may hold: VIDEOCOACH_LIVE_STREAMS_PER_USER, kept below half of
    a process's streams however it is set, so one person alone never fills a process."""
    return max(1, min(settings.live_streams_per_user, (settings.live_stream_limit - 1) // 2))


def meeting_cap(settings: Settings) -> int:
    """Streams one meeting may hold: VIDEOCOACH_LIVE_STREAMS_PER_MEETING, below a process's."""
    return max(1, min(settings.live_streams_per_meeting, settings.live_stream_limit - 1))


class MeetingStream:
    """The response body. It is started in the view (subscribed, recorded, first event
    ready), so a refusal is still an HTTP error; the server closes it when the browser goes,
    started or not, and the stream's record is closed with it."""

    def __init__(self, events: Generator[str, None, None]):
        self._events = events
        self._first = next(events)

    def __iter__(self) -> Iterator[str]:
        yield self._first
        yield from self._events

    def close(self) -> None:
        self._events.close()


def open_meeting_stream(app: Flask, user: User, meeting_id: str) -> MeetingStream:
    """Check now, while the request can still get an error answer, then hand back the
    stream to send: 404 for outsiders, 409 once ended, 503 past the caps (this process's
    streams, the meeting's, or this person's stuck ones here)."""
    meeting = services.get_meeting(user, meeting_id)
    if meeting.ended_at is not None:
        raise Conflict("This meeting has ended.", code="meeting_ended")
    settings: Settings = app.extensions["videocoach.settings"]
    hub = app.extensions["videocoach.live"].hub
    if hub.subscriber_count() >= settings.live_stream_limit:
        raise TooManyStreams()
    if hub.subscriber_count(owner=user.id) >= STUCK_FACTOR * person_cap(settings):
        raise TooManyStreams(
            "You have too many live connections open. Close some tabs and try again."
        )
    credential = sessions.current_credential()
    if credential is None:  # login_required let it through: a session or a token it is
        raise RuntimeError("a meeting stream needs the credential it is opened with")
    return MeetingStream(meeting_events(app, user.id, meeting, credential, settings))


def meeting_events(
    app: Flask,
    user_id: str,
    meeting: Meeting,
    credential: sessions.Credential,
    settings: Settings,
) -> Generator[str, None, None]:
    """Runs as the server sends the response (its first step in the view: MeetingStream).
    Each database visit gets an app context of its own, and none is held across a `yield`:
    the stream may wait for hours, and whoever closes it (the server, or the garbage
    collector) must not find a context of someone else's. It subscribes before it records
    itself and reads the state it sends first, so nothing in between is missed."""
    meeting_id = meeting.id
    connection_id = new_id()
    subscription = app.extensions["videocoach.live"].subscribe(
        [*topics_of(meeting), live.connection_topic(connection_id)], owner=user_id
    )
    opened = False
    try:
        with app.app_context():
            state = _open(user_id, meeting_id, connection_id, settings)
        opened = True
        yield f"retry: {RETRY_MS}\n\n" + sse("hello", state | {"server_time": time.time()})
        yield from _follow(app, subscription, user_id, meeting_id, connection_id, credential)
    finally:
        # The record first: once the process counts the stream gone, so does the ledger.
        if opened:
            with app.app_context():
                _close(connection_id)
        subscription.close()


def _follow(
    app: Flask,
    subscription: live.Subscription,
    user_id: str,
    meeting_id: str,
    connection_id: str,
    credential: sessions.Credential,
) -> Iterator[str]:
    heartbeat_s = HEARTBEAT_S
    next_check = time.monotonic() + heartbeat_s
    while True:
        wake_by = min(next_check, time.monotonic() + KEEPALIVE_S)
        event = subscription.get(timeout=max(0.0, wake_by - time.monotonic()))
        if subscription.overflowed:
            # This browser fell behind; it reloads the whole state instead.
            yield sse("resync", {})
            return
        if event is live.SHUTDOWN:
            return  # the server is stopping; the browser reconnects by itself
        if event is not None and event.kind == services.REPLACED:
            yield sse("bye", BYE_REPLACED)
            return
        # Checked when due even while events keep coming: a busy meeting must not keep a
        # removed member or a revoked credential listening.
        due = (event is not None and event.kind in ACCESS_EVENTS) or time.monotonic() >= next_check
        if due:
            with app.app_context():
                bye = _check_in(user_id, meeting_id, connection_id, credential)
            if bye is not None:
                yield sse("bye", bye)
                return
            next_check = time.monotonic() + heartbeat_s
        if event is None:
            yield ": still here\n\n"  # finds out when the browser has gone (KEEPALIVE_S)
        elif event.kind not in ACCESS_EVENTS:
            yield sse(event.kind, event.data | {"server_time": time.time()})
            if event.kind == "ended":
                return


def _open(user_id: str, meeting_id: str, connection_id: str, settings: Settings) -> dict[str, Any]:
    """Record the connection (presence), within the caps, and read the state to start
    from. Raises what the view should answer when the person may not open it."""
    user = db.session.get(User, user_id)
    if user is None or not user.is_active:
        raise NotFound("That meeting does not exist, or you are not a member of its partnership.")
    try:
        with services.OPENING:
            meeting = services.open_connection(
                user,
                meeting_id,
                connection_id=connection_id,
                per_person=person_cap(settings),
                per_meeting=meeting_cap(settings),
            )
            state = services.meeting_json(meeting)
            transaction.commit()
    except Exception:
        db.session.rollback()
        raise
    return state


def _check_in(
    user_id: str,
    meeting_id: str,
    connection_id: str,
    credential: sessions.Credential,
) -> dict[str, str] | None:
    """None while the person may still listen (a member who may see the clip, with the
    token or sign-in the stream was opened with still working, and this stream not
    replaced by a newer one of theirs), else the `bye` that ends it."""
    try:
        if not sessions.credential_is_live(credential):
            bye = BYE_SIGNED_OUT
        elif not services.still_allowed(user_id, meeting_id):
            bye = BYE_GONE
        elif not services.touch_connection(connection_id):
            bye = BYE_REPLACED  # closed for a newer stream of this person's
        else:
            bye = None
        transaction.commit()
        return bye
    except Exception:
        db.session.rollback()
        log.exception("live stream check-in failed; ending the stream")
        return BYE_GONE


def _close(connection_id: str) -> None:
    try:
        services.close_connection(connection_id)
        transaction.commit()
    except Exception:
        db.session.rollback()
        log.exception("could not record a closed live stream")
