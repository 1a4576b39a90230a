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
from collections.abc import Iterator
from typing import Any

from flask import Flask

from videocoach import db, live, transaction
from videocoach.accounts import sessions
from videocoach.accounts.models import User
from videocoach.errors import Conflict, DomainError
from videocoach.meetings import services
from videocoach.meetings.models import Meeting

log = logging.getLogger(__name__)

HEARTBEAT_S = 10
RETRY_MS = 1000
# Events after which the stream asks the database whether its person may still listen.
ACCESS_EVENTS = {"members_changed", "access_changed"}
GONE_MESSAGE = "You can no longer take part in this meeting."


def sse(kind: str, data: Any) -> str:
    return f"event: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def topics_of(meeting: Meeting) -> list[str]:
    return [
        live.meeting_topic(meeting.id),
        live.clip_topic(meeting.clip_id),
        live.partnership_topic(meeting.partnership_id),
    ]


class TooManyStreams(DomainError):
    status = 503
    code = "too_many_live_connections"
    default_message = "This server has too many live connections open. Try again shortly."


def open_meeting_stream(app: Flask, user: User, meeting_id: str) -> Iterator[str]:
    """Check now, while the request can still get an error answer, then hand back the
    stream to send (404 for outsiders, 409 once ended, 503 past the per-process cap)."""
    meeting = services.get_meeting(user, meeting_id)
    if meeting.ended_at is not None:
        raise Conflict("This meeting has ended.", code="meeting_ended")
    hub = app.extensions["videocoach.live"].hub
    if hub.subscriber_count() >= app.extensions["videocoach.settings"].live_stream_limit:
        raise TooManyStreams()
    credential = sessions.current_credential()
    if credential is None:  # login_required let it through: a session or a token it is
        raise RuntimeError("a meeting stream needs the credential it is opened with")
    return meeting_events(app, user.id, meeting, credential)


def meeting_events(
    app: Flask, user_id: str, meeting: Meeting, credential: sessions.Credential
) -> Iterator[str]:
    """The view has checked access; this runs as the server sends the response. Each
    database visit gets an app context of its own, and none is held across a `yield`:
    the stream may wait for hours, and whoever closes it (the server, or the garbage
    collector) must not find a context of someone else's. It subscribes before it reads
    the state it sends first, so nothing in between is missed."""
    meeting_id = meeting.id
    subscription = app.extensions["videocoach.live"].subscribe(topics_of(meeting))
    connection_id: str | None = None
    try:
        with app.app_context():
            opened = _open(user_id, meeting_id)
        if opened is None:
            yield sse("bye", {"reason": GONE_MESSAGE})
            return
        connection_id, state = opened
        yield f"retry: {RETRY_MS}\n\n" + sse("hello", state | {"server_time": time.time()})
        yield from _follow(app, subscription, user_id, meeting_id, connection_id, credential)
    finally:
        subscription.close()
        if connection_id is not None:
            with app.app_context():
                _close(connection_id)


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
        event = subscription.get(timeout=max(0.0, next_check - time.monotonic()))
        if subscription.overflowed:
            # This browser fell behind; it reloads the whole state instead.
            yield sse("resync", {})
            return
        if event is live.SHUTDOWN:
            return  # the server is stopping; the browser reconnects by itself
        # Check in on time even while events keep coming: a busy meeting must not keep a
        # revoked token or an ended sign-in listening.
        due = time.monotonic() >= next_check
        if event is None or due or event.kind in ACCESS_EVENTS:
            with app.app_context():
                allowed = _check_in(user_id, meeting_id, connection_id, credential)
            if not allowed:
                yield sse("bye", {"reason": GONE_MESSAGE})
                return
            next_check = time.monotonic() + heartbeat_s
            if event is None:
                yield ": still here\n\n"  # also finds out when the browser has gone
            if event is None or event.kind in ACCESS_EVENTS:
                continue
        yield sse(event.kind, event.data | {"server_time": time.time()})
        if event.kind == "ended":
            return


def _open(user_id: str, meeting_id: str) -> tuple[str, dict[str, Any]] | None:
    """Record the connection (presence) and read the state to start from; None when the
    person lost access (or the meeting ended) since the view checked."""
    user = db.session.get(User, user_id)
    if user is None or not user.is_active:
        return None
    try:
        connection_id, meeting = services.open_connection(user, meeting_id)
    except DomainError:
        db.session.rollback()
        return None
    state = services.meeting_json(meeting)
    transaction.commit()
    return connection_id, state


def _check_in(
    user_id: str, meeting_id: str, connection_id: str, credential: sessions.Credential
) -> bool:
    """Whether the person may still listen: still a member who may see the clip, and the
    token or sign-in the stream was opened with still works (not revoked or signed out)."""
    try:
        allowed = services.still_allowed(user_id, meeting_id) and sessions.credential_is_live(
            credential
        )
        if allowed:
            services.touch_connection(connection_id)
        transaction.commit()
        return allowed
    except Exception:
        db.session.rollback()
        log.exception("live stream check-in failed; ending the stream")
        return False


def _close(connection_id: str) -> None:
    try:
        services.close_connection(connection_id)
        transaction.commit()
    except Exception:
        db.session.rollback()
        log.exception("could not record a closed live stream")
