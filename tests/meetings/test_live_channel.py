"""The live channel on its own: in-process fan-out, Redis pub/sub between two channels
(as two web processes have), and events that wait for the commit."""

from __future__ import annotations

import secrets

import pytest
import sqlalchemy as sa

from videocoach import db, live
from videocoach.live import Hub, InProcessChannel, LiveEvent, RedisChannel

REDIS_URL = "redis://127.0.0.1:6379/0"


def test_events_reach_the_subscribers_of_their_topic_only() -> None:
    channel = InProcessChannel()
    meeting, other = channel.subscribe(["meeting:a", "clip:c"]), channel.subscribe(["meeting:b"])
    channel.publish(LiveEvent("meeting:a", "playback", {"position": 1}))
    channel.publish(LiveEvent("clip:c", "comment", {"id": "x"}))
    assert meeting.get(1).kind == "playback"
    assert meeting.get(1).kind == "comment"
    assert other.get(0.05) is None
    meeting.close()
    channel.publish(LiveEvent("meeting:a", "playback", {"position": 2}))
    assert meeting.get(0.05) is None
    assert channel.hub.subscriber_count() == 1


def test_a_subscriber_that_falls_behind_is_told_instead_of_growing(monkeypatch) -> None:
    monkeypatch.setattr(live, "QUEUE_LIMIT", 3)
    hub = Hub()
    slow = hub.subscribe(["t"])
    for n in range(5):
        hub.deliver(LiveEvent("t", "playback", {"n": n}))
    assert slow.overflowed
    assert [slow.get(0.01).data["n"] for _ in range(3)] == [0, 1, 2]


@pytest.mark.parametrize("options", ["", "?decode_responses=true"])
def test_redis_carries_events_between_two_channels(options: str) -> None:
    topic = f"meeting:{secrets.token_hex(8)}"
    prefix = f"videocoach-test-{secrets.token_hex(4)}:live:"
    listening = RedisChannel(REDIS_URL + options, prefix=prefix)
    publishing = RedisChannel(REDIS_URL + options, prefix=prefix)
    subscription = listening.subscribe([topic])
    publishing.publish(LiveEvent(topic, "playback", {"position": 4.5}))
    received = subscription.get(5)
    assert received == LiveEvent(topic, "playback", {"position": 4.5})
    subscription.close()


def test_a_prefix_that_starts_another_installations_hears_nothing_of_it() -> None:
    # PSUBSCRIBE "school:*" also matches "school:a:...": the relay checks the whole name.
    school = f"school-{secrets.token_hex(4)}:"
    topic = f"meeting:{secrets.token_hex(8)}"
    outer = RedisChannel(REDIS_URL, prefix=school)
    inner = RedisChannel(REDIS_URL, prefix=school + "a:")
    outer_hears, inner_hears = outer.subscribe([topic]), inner.subscribe([topic])
    inner.publish(LiveEvent(topic, "playback", {"position": 1}))
    assert inner_hears.get(5) == LiveEvent(topic, "playback", {"position": 1})
    outer.publish(LiveEvent(topic, "playback", {"position": 2}))
    # Had the inner installation's event reached it, that would have come first.
    assert outer_hears.get(5) == LiveEvent(topic, "playback", {"position": 2})
    outer_hears.close()
    inner_hears.close()


def test_nothing_is_published_before_the_commit_or_after_a_rollback(app) -> None:
    from videocoach import transaction

    with app.app_context():
        subscription = live.current_channel().subscribe(["meeting:m"])
        db.session.execute(sa.select(1))  # a service always reads or writes first
        sent: list[list[str]] = []
        live.announce("meeting:m", "notes", {"notes": "rolled back"})
        transaction.after_commit(sent.append, "rolled back")  # emails wait the same way
        assert subscription.get(0.05) is None  # announced, not yet committed
        db.session.rollback()
        db.session.execute(sa.select(1))
        live.announce("meeting:m", "notes", {"notes": "kept"})
        transaction.after_commit(sent.append, "kept")
        transaction.after_commit(sent.append, "and this")
        transaction.commit()
        assert subscription.get(1).data == {"notes": "kept"}
        assert subscription.get(0.05) is None
        assert sent == [["kept", "and this"]]  # one call with everything queued for it
        subscription.close()


@pytest.mark.parametrize("transport", ["in-process", "redis"])
def test_the_app_picks_its_transport_from_redis_url(make_app, transport) -> None:
    app = make_app(REDIS_URL=REDIS_URL if transport == "redis" else "")
    assert app.extensions["videocoach.live"].name == transport
