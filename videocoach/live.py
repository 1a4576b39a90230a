"""The live channel: events published on topics reach every subscriber, in every web process.

Two transports behind one small interface. On the embedded default (one web process) a
`Hub` fans events out to in-process queues. With REDIS_URL set, `publish` goes through
Redis pub/sub and each web process runs one relay thread that feeds its own `Hub`, so a
browser connected to one process hears what was done through another. Pub/sub ignores
Redis database numbers, so every channel name starts with the installation's own prefix
(VIDEOCOACH_LIVE_CHANNEL_PREFIX, derived from DATABASE_URL by default): installations
sharing a Redis never hear each other.

Services never publish directly: they `announce()` events, which wait on the database
session and go out after the commit (videocoach.transaction), so nobody is ever told of
a change that was rolled back. Meetings, clips, comments and partnerships all announce
here; the meeting stream is the one listener today.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app

from videocoach import transaction

log = logging.getLogger(__name__)

# A subscriber that cannot keep up (a stalled browser) loses its oldest events rather
# than growing without bound; its stream then tells the page to reload its state.
QUEUE_LIMIT = 1000


@dataclass(frozen=True)
class LiveEvent:
    topic: str
    kind: str
    data: dict[str, Any]

    def encode(self) -> str:
        return json.dumps({"topic": self.topic, "kind": self.kind, "data": self.data})

    @classmethod
    def decode(cls, raw: str | bytes) -> LiveEvent:
        parsed = json.loads(raw)
        return cls(topic=parsed["topic"], kind=parsed["kind"], data=parsed["data"])


def meeting_topic(meeting_id: str) -> str:
    return f"meeting:{meeting_id}"


def clip_topic(clip_id: str) -> str:
    return f"clip:{clip_id}"


def partnership_topic(partnership_id: str) -> str:
    return f"partnership:{partnership_id}"


def connection_topic(connection_id: str) -> str:
    """One open stream's own topic: what is said only to it (e.g. that it was replaced)."""
    return f"connection:{connection_id}"


# Handed to every subscription when the server stops, so open streams end at once instead
# of holding the shutdown until every browser goes away (browsers then reconnect).
SHUTDOWN = LiveEvent(topic="", kind="shutdown", data={})


class Subscription:
    """Events for a set of topics, in order, until closed. `owner` is whose it is (a user
    id), so a process can count one person's open streams."""

    def __init__(self, hub: Hub, topics: frozenset[str], owner: str | None = None):
        self._hub = hub
        self.topics = topics
        self.owner = owner
        self._events: queue.Queue[LiveEvent] = queue.Queue(QUEUE_LIMIT)
        self.overflowed = False

    def deliver(self, event: LiveEvent) -> None:
        try:
            self._events.put_nowait(event)
        except queue.Full:
            self.overflowed = True

    def get(self, timeout: float) -> LiveEvent | None:
        """The next event, or None when `timeout` seconds pass without one."""
        try:
            return self._events.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self) -> None:
        self._hub.remove(self)


class Hub:
    """In-process fan-out from topics to subscriptions."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_topic: dict[str, set[Subscription]] = {}

    def subscribe(self, topics: Iterable[str], owner: str | None = None) -> Subscription:
        subscription = Subscription(self, frozenset(topics), owner)
        with self._lock:
            for topic in subscription.topics:
                self._by_topic.setdefault(topic, set()).add(subscription)
        return subscription

    def remove(self, subscription: Subscription) -> None:
        with self._lock:
            for topic in subscription.topics:
                subscribers = self._by_topic.get(topic)
                if subscribers is not None:
                    subscribers.discard(subscription)
                    if not subscribers:
                        del self._by_topic[topic]

    def deliver(self, event: LiveEvent) -> None:
        with self._lock:
            subscribers = list(self._by_topic.get(event.topic, ()))
        for subscription in subscribers:
            subscription.deliver(event)

    def shut_down(self) -> None:
        """End every open subscription (the server is stopping)."""
        with self._lock:
            subscribers = {s for subs in self._by_topic.values() for s in subs}
        for subscription in subscribers:
            try:
                subscription._events.put_nowait(SHUTDOWN)
            except queue.Full:
                subscription.overflowed = True

    def subscriber_count(self, owner: str | None = None) -> int:
        """Open subscriptions in this process: all, or those of one owner."""
        with self._lock:
            subscribers = {s for subs in self._by_topic.values() for s in subs}
        if owner is None:
            return len(subscribers)
        return sum(1 for s in subscribers if s.owner == owner)


class InProcessChannel:
    """The embedded default: one web process, events never leave it."""

    name = "in-process"

    def __init__(self) -> None:
        self.hub = Hub()

    def publish(self, event: LiveEvent) -> None:
        self.hub.deliver(event)

    def subscribe(self, topics: Iterable[str], owner: str | None = None) -> Subscription:
        return self.hub.subscribe(topics, owner)


class RedisChannel:
    """Across web processes: PUBLISH to Redis; one relay thread per process listens to
    every live topic and feeds the local hub. The relay starts with the first subscriber,
    so processes that only publish (CLI, workers) never hold a listening connection."""

    name = "redis"
    RECONNECT_DELAY_S = 1.0

    def __init__(self, url: str, *, prefix: str):
        import redis

        self.hub = Hub()
        self.prefix = prefix
        self._redis = redis.Redis.from_url(url)
        self._relay: threading.Thread | None = None
        self._relay_lock = threading.Lock()
        self._relay_ready = threading.Event()

    def publish(self, event: LiveEvent) -> None:
        self._redis.publish(self.prefix + event.topic, event.encode())

    def subscribe(self, topics: Iterable[str], owner: str | None = None) -> Subscription:
        self._ensure_relay()
        return self.hub.subscribe(topics, owner)

    def _ensure_relay(self) -> None:
        with self._relay_lock:
            if self._relay is None or not self._relay.is_alive():
                self._relay_ready.clear()
                self._relay = threading.Thread(
                    target=self._relay_forever, name="videocoach-live-relay", daemon=True
                )
                self._relay.start()
        # Events published before the relay listens would be lost to this subscriber.
        self._relay_ready.wait(timeout=5)

    def _relay_forever(self) -> None:
        import redis

        while True:
            pubsub = self._redis.pubsub()
            try:
                pubsub.psubscribe(self.prefix + "*")
                # Redis confirms the subscription first; only then is nothing missed.
                confirmed = None
                while confirmed is None or confirmed.get("type") != "psubscribe":
                    confirmed = pubsub.get_message(timeout=1.0)
                self._relay_ready.set()
                for message in pubsub.listen():
                    if message.get("type") == "pmessage":
                        self._relay_one(message["channel"], message["data"])
            except redis.RedisError as error:
                log.warning("live relay lost Redis (%s); reconnecting", error)
                time.sleep(self.RECONNECT_DELAY_S)
            finally:
                pubsub.close()

    def _relay_one(self, channel: bytes | str, raw: bytes | str) -> None:
        try:
            event = LiveEvent.decode(raw)
        except (ValueError, KeyError, TypeError):
            log.warning("live relay dropped a malformed message")
            return
        # The pattern also matches the channels of an installation whose prefix starts with
        # ours ("school:" and "school:a:"); only our own channel for the event's topic counts.
        # str when REDIS_URL asks for ?decode_responses=true
        name = channel.decode() if isinstance(channel, bytes) else channel
        if name != self.prefix + event.topic:
            return
        self.hub.deliver(event)


LiveChannel = InProcessChannel | RedisChannel


def init_live(app: Flask, redis_url: str | None, channel_prefix: str) -> LiveChannel:
    channel: LiveChannel = (
        RedisChannel(redis_url, prefix=channel_prefix) if redis_url else InProcessChannel()
    )
    app.extensions["videocoach.live"] = channel
    return channel


def current_channel() -> LiveChannel:
    return current_app.extensions["videocoach.live"]


def announce(topic: str, kind: str, data: dict[str, Any]) -> None:
    """Queue an event to publish once the current transaction commits."""
    transaction.after_commit(publish, LiveEvent(topic, kind, data))


def publish(events: list[LiveEvent]) -> None:
    """After the commit: publish what a change announced. Live events are a courtesy on
    top of what is stored, so a broken channel is logged, never fatal to the request."""
    channel = current_channel()
    for event in events:
        try:
            channel.publish(event)
        except Exception:  # the change is committed; pages reload state on reconnect
            log.exception("could not publish live event %s on %s", event.kind, event.topic)
