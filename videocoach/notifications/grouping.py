"""What a notification says, and notifications grouped by clip and person.

Five comments from the coach on one clip are one line, "Cole Coach left 5 comments on
“Fractions”", not five. Pure functions over rows the services have already loaded.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime

from videocoach.clips.models import DELETION_WARNING
from videocoach.notifications.models import Event, Notification

# Events about comments group by clip and person (and a reply by the thread it answers);
# every other event stands alone.
GROUPED_EVENTS = frozenset({Event.COMMENT_ON_MY_CLIP.value, Event.REPLY_TO_MY_COMMENT.value})
EXCERPTS_SHOWN = 2  # the latest one or two comments of a group


@dataclass(frozen=True)
class Item:
    """One notification, ready to show: what happened, who, which clip, where to go."""

    notification: Notification
    text: str
    actor_name: str | None
    clip_title: str | None
    partnership_name: str | None
    comment_excerpt: str | None = None  # the first words of the comment it is about
    thread_id: str | None = None  # the comment a reply answers
    thread_excerpt: str | None = None

    @property
    def id(self) -> str:
        return self.notification.id

    @property
    def unread(self) -> bool:
        return self.notification.read_at is None


def _quoted(title: str | None) -> str:
    return f"“{title}”" if title else "a clip"


def describe(
    notification: Notification,
    actor: str | None,
    clip: str | None,
    group: str | None,
    thread: str | None = None,
) -> str:
    """One sentence saying what happened (plain text; templates escape it). `thread` is the
    first words of the comment a reply answers."""
    who = actor or "Someone"
    quoted = _quoted(clip)
    match notification.event:
        case Event.COMMENT_ON_MY_CLIP:
            return f"{who} commented on your clip {quoted}."
        case Event.REPLY_TO_MY_COMMENT:
            if thread:
                return f"{who} replied to your comment “{thread}” on {quoted}."
            return f"{who} replied to your comment on {quoted}."
        case Event.INVITATION:
            return (
                f"{who} invited you to the partnership “{group or ''}”. "
                "Open the link in the invitation email to join."
            )
        case Event.CLIP_READY:
            return f"Your clip {quoted} is ready to watch."
        case Event.CLIP_FAILED:
            return f"Your clip {quoted} could not be processed."
        case Event.CLIP_SHARED:
            return f"{who} shared the clip {quoted} with “{group or 'your partnership'}”."
        case Event.MEETING_STARTED:
            return f"{who} started a meeting on {quoted}. Join to watch it together."
        case Event.CLIP_EXPIRING:
            # Retention deletes it DELETION_WARNING after this warning (clips.retention).
            on = (notification.created_at + DELETION_WARNING).date().isoformat()
            return (
                f"Your clip {quoted} will be deleted on {on}, as your school keeps clips "
                "for a set time. Open it and choose “Keep for another year” to keep it."
            )
    return "Something happened."


def group_key(item: Item) -> Hashable:
    n = item.notification
    if n.event not in GROUPED_EVENTS:
        return ("alone", n.id)
    thread = item.thread_id if n.event == Event.REPLY_TO_MY_COMMENT else None
    return (n.event, n.clip_id, n.actor_id, thread)


@dataclass(frozen=True)
class Group:
    """Notifications of one kind about one clip from one person, newest first."""

    items: tuple[Item, ...]

    @property
    def newest(self) -> Item:
        return self.items[0]

    @property
    def id(self) -> str:
        """The newest notification's id: opening the group opens (and links to) it."""
        return self.newest.id

    @property
    def event(self) -> str:
        return self.newest.notification.event

    @property
    def created_at(self) -> datetime:
        return self.newest.notification.created_at

    @property
    def count(self) -> int:
        return len(self.items)

    @property
    def unread_count(self) -> int:
        return sum(1 for item in self.items if item.unread)

    @property
    def unread(self) -> bool:
        return self.unread_count > 0

    @property
    def actor_name(self) -> str | None:
        return self.newest.actor_name

    @property
    def partnership_name(self) -> str | None:
        return self.newest.partnership_name

    @property
    def initials(self) -> str:
        return initials(self.actor_name)

    @property
    def excerpts(self) -> list[str]:
        """The first words of the latest one or two comments."""
        found = [item.comment_excerpt for item in self.items if item.comment_excerpt]
        return found[:EXCERPTS_SHOWN]

    @property
    def more(self) -> int:
        """Comments in the group beyond the excerpts shown."""
        return self.count - len(self.excerpts) if self.excerpts else 0

    @property
    def text(self) -> str:
        """One sentence for the whole group (plain text; templates escape it)."""
        newest = self.newest
        if self.count == 1:
            return newest.text
        who = newest.actor_name or "Someone"
        quoted = _quoted(newest.clip_title)
        if self.event == Event.REPLY_TO_MY_COMMENT:
            thread = (
                f"your comment “{newest.thread_excerpt}”"
                if newest.thread_excerpt
                else ("your comment")
            )
            return f"{who} left {self.count} replies to {thread} on {quoted}."
        return f"{who} left {self.count} comments on {quoted}."


def group_items(items: Sequence[Item], limit: int | None = None) -> list[Group]:
    """Items (newest first) grouped by clip and person; a group sits where its newest item
    was, so the groups are newest first too. At most `limit` groups."""
    grouped: dict[Hashable, list[Item]] = {}
    for item in items:
        grouped.setdefault(group_key(item), []).append(item)
    groups = [Group(tuple(members)) for members in grouped.values()]
    return groups if limit is None else groups[:limit]


def initials(name: str | None) -> str:
    """Up to two letters for a person's round badge: "Cole Coach" -> "CC"."""
    words = (name or "").split()
    if not words:
        return "?"
    letters = words[0][0] + (words[-1][0] if len(words) > 1 else "")
    return letters.upper()


def friendly_time(moment: datetime, now: datetime) -> str:
    """When, as people say it: "Today, 14:05", "Yesterday, 09:30", "3 Dec, 14:05", or
    "3 Dec 2025" for another year (times in UTC, as everywhere in the app)."""
    clock = moment.strftime("%H:%M")
    days = (now.date() - moment.date()).days
    if days == 0:
        return f"Today, {clock}"
    if days == 1:
        return f"Yesterday, {clock}"
    if moment.year == now.year:
        return f"{moment.day} {moment.strftime('%b')}, {clock}"
    return f"{moment.day} {moment.strftime('%b %Y')}"
