"""Who hears about what, the in-app list, and the emails (immediate or a daily digest).

Notifications are created by explicit calls from the services where things happen
(comments, invitations, sharing, the media pipeline), inside their transaction.
The ids created wait on the session (videocoach.transaction); after the commit one
email task is queued for them (never sent in the request).
Every recipient is checked against videocoach.access at creation time, and the
in-app list and the emails check again, so someone who lost access to a clip
stops hearing about it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.orm import aliased

from videocoach import access, db, jobs, mail, transaction, urls
from videocoach.accounts.models import User
from videocoach.accounts.sessions import last_sign_in_origin
from videocoach.clips.models import Clip, Visibility
from videocoach.comments.models import Comment
from videocoach.db import utcnow
from videocoach.errors import Invalid, NotFound
from videocoach.notifications.excerpts import THREAD_WORDS, excerpt
from videocoach.notifications.grouping import (
    GROUPED_EVENTS,
    Group,
    Item,
    describe,
    group_items,
)
from videocoach.notifications.models import EmailPreference, Event, Notification
from videocoach.partnerships.models import Invitation, Partnership
from videocoach.urls import comment_anchor, external_url

log = logging.getLogger(__name__)

SEND_EMAILS = "videocoach.send_notification_emails"
SEND_DIGESTS = "videocoach.send_daily_digests"
PAGE_SIZE = 50
# The notifications page groups this many of the newest notifications: enough for 50 groups
# of a busy week, few enough to load in one go.
GROUP_WINDOW = 200
PREFERENCES = [preference.value for preference in EmailPreference]


# --- creating -------------------------------------------------------------------------


def _can_see(user: User, clip_id: str | None, comment_id: str | None) -> bool:
    if clip_id:
        query = access.visible_clips(user).where(Clip.id == clip_id)
        if db.session.scalar(query.with_only_columns(Clip.id)) is None:
            return False
    if comment_id:
        query = access.visible_comments(user).where(Comment.id == comment_id)
        if db.session.scalar(query.with_only_columns(Comment.id)) is None:
            return False
    return True


def notify(
    event: Event,
    recipients: Iterable[User | None],
    *,
    actor_id: str | None = None,
    partnership_id: str | None = None,
    clip_id: str | None = None,
    comment_id: str | None = None,
    meeting_id: str | None = None,
    emailed: bool = False,
) -> list[Notification]:
    """One notification per recipient who may see what it is about; never to the actor.

    `emailed=True` records that the event already sent its own email (an invitation).
    """
    created: list[Notification] = []
    seen: set[str] = set()
    for user in recipients:
        if user is None or user.id in seen or user.id == actor_id or not user.is_active:
            continue
        seen.add(user.id)
        if not _can_see(user, clip_id, comment_id):
            continue
        notification = Notification(
            recipient_id=user.id,
            event=Event(event).value,
            actor_id=actor_id,
            partnership_id=partnership_id,
            clip_id=clip_id,
            comment_id=comment_id,
            meeting_id=meeting_id,
            emailed_at=utcnow() if emailed else None,
        )
        db.session.add(notification)
        created.append(notification)
    if created:
        db.session.flush()
        if not emailed:
            for notification in created:
                transaction.after_commit(_queue_emails, notification.id)
    return created


def comment_created(comment: Comment) -> None:
    """The clip's uploader hears of new comments; a reply's parent author hears of replies."""
    if comment.private:
        return
    clip = db.session.get(Clip, comment.clip_id)
    assert clip is not None
    refs: dict[str, Any] = {
        "actor_id": comment.author_id,
        "partnership_id": clip.partnership_id,
        "clip_id": clip.id,
        "comment_id": comment.id,
    }
    told: set[str] = set()
    if comment.parent_id:
        parent = db.session.get(Comment, comment.parent_id)
        if parent is not None and parent.author_id != comment.author_id:
            notify(Event.REPLY_TO_MY_COMMENT, [db.session.get(User, parent.author_id)], **refs)
            told.add(parent.author_id)
    if clip.uploaded_by_id not in told:
        notify(Event.COMMENT_ON_MY_CLIP, [db.session.get(User, clip.uploaded_by_id)], **refs)


def invitation_created(invitation: Invitation) -> None:
    """An invitee who already has an account sees it in the app too (the email has gone)."""
    user = db.session.scalar(select(User).where(User.email == invitation.email))
    notify(
        Event.INVITATION,
        [user],
        actor_id=invitation.invited_by_id,
        partnership_id=invitation.partnership_id,
        emailed=True,  # the invitation email, with its single-use link, was sent by invite()
    )


def clip_shared(clip: Clip, actor: User) -> None:
    """A clip turned from private to shared: the other members hear of it."""
    if clip.visibility != Visibility.SHARED.value:
        return
    notify_members(Event.CLIP_SHARED, clip.partnership_id, actor_id=actor.id, clip_id=clip.id)


def notify_members(event: Event, partnership_id: str, **refs: Any) -> list[Notification]:
    """Every member of a partnership who may see what it is about, but the actor."""
    members = db.session.scalars(access.partnership_members(partnership_id)).all()
    return notify(event, members, partnership_id=partnership_id, **refs)


def clip_processed(clip_id: str, *, ready: bool) -> None:
    """The pipeline finished a clip (ready) or gave up on it (failed): tell its uploader."""
    clip = db.session.get(Clip, clip_id)
    if clip is None:
        return
    notify(
        Event.CLIP_READY if ready else Event.CLIP_FAILED,
        [db.session.get(User, clip.uploaded_by_id)],
        partnership_id=clip.partnership_id,
        clip_id=clip.id,
    )


def _queue_emails(notification_ids: list[str]) -> None:
    """After the commit: one email job for the notifications a change created, told the
    address of the request that made them, so its links lead back there (urls.links_from)."""
    jobs.enqueue_or_log(SEND_EMAILS, notification_ids, urls.request_origin())


# --- reading --------------------------------------------------------------------------


def visible_notifications(user: User) -> Select[tuple[Notification]]:
    """The user's own notifications whose subject they can still see."""
    clip_ids = access.visible_clips(user).with_only_columns(Clip.id)
    comment_ids = access.visible_comments(user).with_only_columns(Comment.id)
    partnership_ids = access.member_partnership_ids(user)
    return select(Notification).where(
        Notification.recipient_id == user.id,
        or_(Notification.clip_id.is_(None), Notification.clip_id.in_(clip_ids)),
        or_(Notification.comment_id.is_(None), Notification.comment_id.in_(comment_ids)),
        or_(
            Notification.partnership_id.is_(None),
            Notification.event == Event.INVITATION.value,  # not a member yet, by definition
            Notification.partnership_id.in_(partnership_ids),
        ),
    )


def unread_count(user: User) -> int:
    query = visible_notifications(user).where(Notification.read_at.is_(None))
    return db.session.scalar(query.with_only_columns(func.count())) or 0


def _comment_words(comment_ids: set[str]) -> dict[str, tuple[str, str | None, str | None]]:
    """For each comment: its first words, the comment it answers and that one's first words
    (one query for a whole page)."""
    if not comment_ids:
        return {}
    answered = aliased(Comment)
    rows = db.session.execute(
        select(Comment.id, Comment.body, Comment.parent_id, answered.body)
        .outerjoin(answered, (answered.id == Comment.parent_id) & answered.deleted_at.is_(None))
        .where(Comment.id.in_(comment_ids))
    ).all()
    return {
        comment_id: (
            excerpt(body),
            parent_id,
            excerpt(parent_body, THREAD_WORDS) if parent_body is not None else None,
        )
        for comment_id, body, parent_id, parent_body in rows
    }


def _items(notifications: Sequence[Notification]) -> list[Item]:
    """Names, titles and comment words for a page of notifications, in four queries."""

    def names(model: Any, column: Any, ids: set[str | None]) -> dict[str, str]:
        wanted = {i for i in ids if i}
        if not wanted:
            return {}
        return dict(db.session.execute(select(model.id, column).where(model.id.in_(wanted))).all())

    actors = names(User, User.name, {n.actor_id for n in notifications})
    clips = names(Clip, Clip.title, {n.clip_id for n in notifications})
    groups = names(Partnership, Partnership.name, {n.partnership_id for n in notifications})
    words = _comment_words({n.comment_id for n in notifications if n.comment_id})
    items = []
    for n in notifications:
        actor = actors.get(n.actor_id or "")
        clip = clips.get(n.clip_id or "")
        group = groups.get(n.partnership_id or "")
        said, thread_id, thread = words.get(n.comment_id or "", (None, None, None))
        text = describe(n, actor, clip, group, thread)
        items.append(Item(n, text, actor, clip, group, said, thread_id, thread))
    return items


def list_notifications(user: User, limit: int = PAGE_SIZE) -> list[Item]:
    """The user's newest notifications, one by one (the API)."""
    rows = db.session.scalars(
        visible_notifications(user).order_by(Notification.created_at.desc()).limit(limit)
    ).all()
    return _items(rows)


def list_groups(user: User, limit: int = PAGE_SIZE) -> list[Group]:
    """The notifications page: the newest notifications grouped by clip and person, newest
    group first. Five queries, however many notifications."""
    return group_items(list_notifications(user, GROUP_WINDOW), limit)


def item_json(item: Item) -> dict[str, Any]:
    n = item.notification
    return {
        "id": n.id,
        "event": n.event,
        "text": item.text,
        "actor": {"id": n.actor_id, "name": item.actor_name} if n.actor_id else None,
        "partnership_id": n.partnership_id,
        "clip_id": n.clip_id,
        "clip_title": item.clip_title,
        "comment_id": n.comment_id,
        "excerpt": item.comment_excerpt,
        "url": target_path(n),
        "read": n.read_at is not None,
        "created_at": n.created_at.isoformat(),
    }


def target_endpoint(notification: Notification) -> tuple[str, dict[str, str]]:
    """Where a notification leads: its meeting, its comment on the clip page, or its clip,
    else the partnerships page."""
    if notification.meeting_id:
        return "meetings.meeting_page", {"mid": notification.meeting_id}
    if notification.clip_id and notification.comment_id:
        return "clips.clip_page", {
            "cid": notification.clip_id,
            "_anchor": comment_anchor(notification.comment_id),
        }
    if notification.clip_id:
        return "clips.clip_page", {"cid": notification.clip_id}
    if notification.partnership_id and notification.event != Event.INVITATION:
        return "partnerships.detail", {"pid": notification.partnership_id}
    return "partnerships.list_page", {}


def target_path(notification: Notification) -> str:
    from flask import url_for

    endpoint, values = target_endpoint(notification)
    return url_for(endpoint, **values)


def open_notification(user: User, notification_id: str) -> Notification:
    """Mark one of the user's notifications read, with the rest of its group (the page
    links a group to its newest notification); others' do not exist: 404."""
    notification = db.session.scalars(
        visible_notifications(user).where(Notification.id == notification_id)
    ).first()
    if notification is None:
        raise NotFound("That notification does not exist.")
    _mark_group_read(user, notification)
    return notification


def _mark_group_read(user: User, notification: Notification) -> None:
    """The user's unread notifications that group_items() puts with this one, read now."""
    moment = utcnow()
    if notification.event not in GROUPED_EVENTS:
        if notification.read_at is None:
            notification.read_at = moment
            db.session.flush()
        return
    same_actor = (
        Notification.actor_id == notification.actor_id
        if notification.actor_id
        else Notification.actor_id.is_(None)
    )
    statement = update(Notification).where(
        Notification.recipient_id == user.id,
        Notification.read_at.is_(None),
        Notification.event == notification.event,
        Notification.clip_id == notification.clip_id,
        same_actor,
    )
    if notification.event == Event.REPLY_TO_MY_COMMENT and notification.comment_id:
        thread = select(Comment.parent_id).where(Comment.id == notification.comment_id)
        replies = select(Comment.id).where(Comment.parent_id == thread.scalar_subquery())
        statement = statement.where(Notification.comment_id.in_(replies))
    db.session.execute(statement.values(read_at=moment))
    if notification.read_at is None:
        notification.read_at = moment
    db.session.flush()


def mark_read(user: User, ids: list[str] | None = None) -> int:
    """Mark all (ids=None) or some of the user's unread notifications read."""
    if ids is not None and (not isinstance(ids, list) or not all(isinstance(i, str) for i in ids)):
        raise Invalid("ids must be a list of notification ids.", fields={"ids": "Not a list."})
    statement = update(Notification).where(
        Notification.recipient_id == user.id, Notification.read_at.is_(None)
    )
    if ids is not None:
        statement = statement.where(Notification.id.in_(ids))
    result = db.session.execute(statement.values(read_at=utcnow()))
    return result.rowcount or 0  # type: ignore[attr-defined]


# --- email preference and unsubscribe -------------------------------------------------


def set_email_preference(user: User, value: str) -> None:
    if value not in PREFERENCES:
        raise Invalid(
            "Choose immediate, daily or off.",
            fields={"email_notifications": f"One of: {', '.join(PREFERENCES)}."},
        )
    user.email_notifications = value
    db.session.flush()


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="unsubscribe")


def unsubscribe_token(user: User) -> str:
    return _serializer().dumps(user.id)


def user_for_unsubscribe(token: str) -> User:
    """The user a signed unsubscribe token names; a tampered token does not exist (404)."""
    try:
        user_id = _serializer().loads(token)
    except BadSignature:
        user_id = None
    user = db.session.get(User, user_id) if isinstance(user_id, str) else None
    if user is None:
        raise NotFound("That unsubscribe link is not valid.")
    return user


def unsubscribe(token: str) -> User:
    user = user_for_unsubscribe(token)
    user.email_notifications = EmailPreference.OFF.value
    db.session.flush()
    return user


# --- email (run by the worker tasks in workers/tasks.py) ------------------------------


def _links_for(user: User) -> AbstractContextManager[None]:
    """Links in `user`'s email: on the address of the request that caused it, else on the
    one they last signed in on (VIDEOCOACH_PUBLIC_URL, when set, wins over both)."""
    return urls.links_for_person(last_sign_in_origin(user.id))


def _email_headers(user: User) -> tuple[str, dict[str, str]]:
    link = external_url("notifications.unsubscribe", token=unsubscribe_token(user))
    headers = {
        "List-Unsubscribe": f"<{link}>",
        # RFC 8058: mail clients may unsubscribe with one POST to that link, no login.
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    return link, headers


def _email_lines(group: Group) -> str:
    """What happened, the first words of the latest comments, and the link to the newest."""
    endpoint, values = target_endpoint(group.newest.notification)
    quotes = "".join(f"  “{words}”\n" for words in group.excerpts)
    return f"{group.text}\n{quotes}{external_url(endpoint, **values)}"


def _footer(unsubscribe_link: str, preference: str) -> str:
    how = "a daily digest" if preference == EmailPreference.DAILY else "each notification"
    return (
        f"\n\n--\nYou receive {how} by email. Change this on your account page, "
        f"or stop these emails with one click:\n{unsubscribe_link}\n"
    )


def _still_visible(user: User, notifications: Sequence[Notification]) -> list[Notification]:
    if not notifications:
        return []
    ids = {n.id for n in notifications}
    allowed = set(
        db.session.scalars(
            visible_notifications(user)
            .where(Notification.id.in_(ids))
            .with_only_columns(Notification.id)
        )
    )
    return [n for n in notifications if n.id in allowed]


def send_immediate_emails(notification_ids: list[str]) -> int:
    """One email per notification, to recipients who chose "immediate". Returns emails sent."""
    notifications = db.session.scalars(
        select(Notification)
        .where(Notification.id.in_(notification_ids), Notification.emailed_at.is_(None))
        .order_by(Notification.created_at)
    ).all()
    sent = 0
    for notification in notifications:
        user = db.session.get(User, notification.recipient_id)
        if user is None or not user.is_active:
            continue
        if user.email_notifications != EmailPreference.IMMEDIATE:
            continue  # daily: the digest takes it; off: never emailed
        if not _still_visible(user, [notification]):
            continue
        (item,) = _items([notification])
        with _links_for(user):
            link, headers = _email_headers(user)
            body = f"{_email_lines(Group((item,)))}{_footer(link, user.email_notifications)}"
        subject = item.text if len(item.text) <= 120 else item.text[:117] + "..."
        if mail.send(user.email, subject, body, headers=headers):
            notification.emailed_at = utcnow()
            sent += 1
        transaction.commit()
    return sent


def send_daily_digests() -> int:
    """Each "daily" user gets one email listing their unread, not yet emailed notifications."""
    user_ids = db.session.scalars(
        select(Notification.recipient_id)
        .join(User, User.id == Notification.recipient_id)
        .where(
            Notification.emailed_at.is_(None),
            Notification.read_at.is_(None),
            User.email_notifications == EmailPreference.DAILY.value,
            User.disabled_at.is_(None),
        )
        .distinct()
    ).all()
    sent = 0
    for user_id in user_ids:
        user = db.session.get(User, user_id)
        assert user is not None
        pending = db.session.scalars(
            select(Notification)
            .where(
                Notification.recipient_id == user.id,
                Notification.emailed_at.is_(None),
                Notification.read_at.is_(None),
            )
            .order_by(Notification.created_at)
        ).all()
        visible = _still_visible(user, pending)
        if visible:
            with _links_for(user):
                link, headers = _email_headers(user)
                newest_first = _items(visible[::-1])
                lines = "\n\n".join(_email_lines(group) for group in group_items(newest_first))
            count = len(visible)
            subject = f"videocoach: {count} new notification{'s' if count != 1 else ''}"
            body = f"Here is what happened since your last digest:\n\n{lines}"
            body += _footer(link, user.email_notifications)
            if not mail.send(user.email, subject, body, headers=headers):
                db.session.rollback()
                continue
            sent += 1
        moment = utcnow()
        for notification in pending:  # unseeable ones are settled too: never mailed later
            notification.emailed_at = moment
        transaction.commit()
    return sent
