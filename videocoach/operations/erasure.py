"""`videocoach purge-user EMAIL`: erase a person on request, leaving no trace of them.

What happens (docs/operations.md says the same for people; keep the two in step):

- The account row is deleted, with every sign-in, API token and password-reset link,
  the notifications they received and those about what they did, their upload
  allowance, their clip views and meeting connections.
- Their comments are deleted: private notes and shared comments alike. A comment says
  who wrote it by what it says and when, so keeping the text under "Former member" would
  not erase the person. Replies other members wrote to them are kept, as comments of their
  own at the same moment of the clip (only the link to the deleted comment goes).
- Their clips are deleted with every stored object and scratch folder, and with the
  comments and meeting records on them: a lesson video shows the person, and the teacher
  owns their clips. `keep_shared_clips` hands their *shared* clips to the partnership
  instead (the longest-standing remaining member becomes the uploader); private clips are
  deleted either way, since nobody else has ever seen them.
- Their memberships end. A partnership left with no member is deleted with all its
  content (clips of former members too, goals, next steps, meetings, invitations).
- Invitations addressed to them or accepted by them are deleted, and their unfinished
  uploads with the staged bytes.
- Where their id stood beside someone else's content (the creator of a goal or of a
  partnership, a next step's owner, who started or drove a meeting, who sent an open
  invitation), the foreign key is set to NULL: the content stays, without their name.

Kept, and said so: words others wrote about them (comments, meeting notes written
together, partnership names), and the service's log, which names only ids.

The database work is one transaction; stored objects are deleted after it commits (a
failure there leaves orphans that `videocoach reconcile --apply` removes, never a clip
whose files are gone). Every count and id is logged, never content.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field

from sqlalchemy import Column, delete, func, or_, select, update

from videocoach import db, live, transaction
from videocoach.accounts.models import ApiToken, PasswordReset, User, UserSession
from videocoach.clips import files, uploads
from videocoach.clips.models import Clip, Upload, Visibility
from videocoach.comments.models import Comment
from videocoach.config import current_settings
from videocoach.errors import NotFound
from videocoach.models import Base
from videocoach.notifications.models import Notification
from videocoach.operations import find_user
from videocoach.partnerships.models import Invitation, Membership, Partnership
from videocoach.storage import StorageError, current_storage
from videocoach.takeout.models import DataExport

log = logging.getLogger(__name__)


@dataclass
class ErasurePlan:
    """What erasing one person does, counted before anything changes (ids, never text)."""

    user_id: str
    email: str
    keep_shared_clips: bool
    sign_ins: int = 0
    api_tokens: int = 0
    password_resets: int = 0
    notifications: int = 0
    private_notes: int = 0
    shared_comments: int = 0
    replies_kept: int = 0  # others' replies to their comments, kept as comments of their own
    others_comments_removed: int = 0  # on the clips that are deleted
    clips_removed: list[str] = field(default_factory=list)
    clips_handed_over: dict[str, str] = field(default_factory=dict)  # clip id -> new uploader
    memberships: list[str] = field(default_factory=list)  # partnership ids
    partnerships_removed: list[str] = field(default_factory=list)
    uploads: list[str] = field(default_factory=list)
    invitations: int = 0
    # Every other row that names them, by "table.column": deleted or set to NULL by the
    # foreign key (found from the schema, so a table added later is never missed).
    references: dict[str, int] = field(default_factory=dict)

    def lines(self) -> list[str]:
        """The plan in sentences, for the operator (counts only)."""
        handed = len(self.clips_handed_over)
        kept_refs = ", ".join(f"{name} {count}" for name, count in sorted(self.references.items()))
        return [
            f"account {self.email} (id {self.user_id}): deleted",
            f"sign-ins ended and deleted: {self.sign_ins}; API tokens: {self.api_tokens}; "
            f"password-reset links: {self.password_resets}",
            f"notifications deleted (theirs, or about what they did): {self.notifications}",
            f"private notes deleted: {self.private_notes}",
            f"shared comments deleted: {self.shared_comments} "
            f"(replies by others kept as comments of their own: {self.replies_kept})",
            f"clips deleted with their stored files: {len(self.clips_removed)} "
            f"(comments by others on them deleted too: {self.others_comments_removed})",
            f"shared clips handed to their partnership: {handed}",
            f"memberships ended: {len(self.memberships)}; partnerships left with no member, "
            f"deleted with all their content: {len(self.partnerships_removed)}",
            f"unfinished uploads deleted: {len(self.uploads)}; invitations to them deleted: "
            f"{self.invitations}",
            f"other rows naming them (deleted, or the name removed): {kept_refs or 'none'}",
        ]


@dataclass
class ErasureResult:
    plan: ErasurePlan
    stored_objects_deleted: int = 0
    storage_problems: list[str] = field(default_factory=list)  # clip ids left in storage


def plan_erasure(email: str, *, keep_shared_clips: bool = False) -> ErasurePlan:
    """Count what erasing the person would do; changes nothing. NotFound for no account."""
    plan = _plan(find_user(email), keep_shared_clips)
    db.session.rollback()  # no read transaction stays open while the operator decides
    return plan


def _plan(user: User, keep_shared_clips: bool) -> ErasurePlan:
    plan = ErasurePlan(user_id=user.id, email=user.email, keep_shared_clips=keep_shared_clips)
    uid = user.id

    def count(model: type[Base], *where: object) -> int:
        return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0

    plan.sign_ins = count(UserSession, UserSession.user_id == uid)
    plan.api_tokens = count(ApiToken, ApiToken.user_id == uid)
    plan.password_resets = count(PasswordReset, PasswordReset.user_id == uid)
    plan.notifications = count(
        Notification, or_(Notification.recipient_id == uid, Notification.actor_id == uid)
    )
    plan.invitations = count(
        Invitation, or_(Invitation.email == user.email, Invitation.accepted_by_id == uid)
    )

    plan.memberships = list(
        db.session.scalars(select(Membership.partnership_id).where(Membership.user_id == uid))
    )
    heirs: dict[str, str] = {}  # partnership -> its longest-standing other member
    for partnership_id in plan.memberships:
        heir = db.session.scalar(
            select(Membership.user_id)
            .where(Membership.partnership_id == partnership_id, Membership.user_id != uid)
            .order_by(Membership.created_at, Membership.id)
            .limit(1)
        )
        if heir is None:
            plan.partnerships_removed.append(partnership_id)
        else:
            heirs[partnership_id] = heir

    removed: list[str] = []
    for clip_id, partnership_id, visibility in db.session.execute(
        select(Clip.id, Clip.partnership_id, Clip.visibility)
        .where(Clip.uploaded_by_id == uid)
        .order_by(Clip.created_at)
    ):
        heir = heirs.get(partnership_id)
        if keep_shared_clips and visibility == Visibility.SHARED.value and heir is not None:
            plan.clips_handed_over[clip_id] = heir
        elif partnership_id not in plan.partnerships_removed:
            removed.append(clip_id)
    # Every clip of a partnership that goes, whoever uploaded it.
    removed += db.session.scalars(
        select(Clip.id)
        .where(Clip.partnership_id.in_(plan.partnerships_removed))
        .order_by(Clip.created_at)
    ).all()
    plan.clips_removed = removed

    on_kept_clips = Comment.clip_id.not_in(removed)
    plan.private_notes = count(
        Comment, Comment.author_id == uid, Comment.private.is_(True), on_kept_clips
    )
    plan.shared_comments = count(
        Comment, Comment.author_id == uid, Comment.private.is_(False), on_kept_clips
    )
    theirs = select(Comment.id).where(Comment.author_id == uid)
    plan.replies_kept = count(
        Comment, Comment.parent_id.in_(theirs), Comment.author_id != uid, on_kept_clips
    )
    plan.others_comments_removed = count(
        Comment, Comment.clip_id.in_(removed), Comment.author_id != uid
    )
    plan.uploads = list(
        db.session.scalars(
            select(Upload.id).where(
                or_(Upload.user_id == uid, Upload.partnership_id.in_(plan.partnerships_removed))
            )
        )
    )
    handled = {
        "api_tokens.user_id",
        "user_sessions.user_id",
        "password_resets.user_id",
        "notifications.recipient_id",
        "notifications.actor_id",
        "invitations.accepted_by_id",
        "memberships.user_id",
        "comments.author_id",
        "clips.uploaded_by_id",
        "uploads.user_id",
    }
    for column in user_references():
        name = f"{column.table.name}.{column.name}"
        if name not in handled:
            found = count_rows(column, uid)
            if found:
                plan.references[name] = found
    return plan


def user_references() -> list[Column]:  # type: ignore[type-arg]
    """Every column of the schema that holds a user id (a foreign key to users.id)."""
    users_id = User.__table__.c.id
    return [
        fk.parent
        for table in Base.metadata.sorted_tables
        for fk in table.foreign_keys
        if fk.column is users_id
    ]


def count_rows(column: Column, user_id: str) -> int:  # type: ignore[type-arg]
    return (
        db.session.scalar(select(func.count()).select_from(column.table).where(column == user_id))
        or 0
    )


def erase(plan: ErasurePlan) -> ErasureResult:
    """Erase the person `plan` was made for. The plan is made again first, under a lock on
    their account row, so what changed while the operator read it (a clip uploaded since)
    is erased too and nothing new can be added until the commit; the result holds the
    plan that was carried out."""
    session = db.session
    session.rollback()
    # PostgreSQL: FOR UPDATE conflicts with the key-share lock every insert of a row that
    # references the user takes. SQLite: the write takes the database's write lock now.
    user = session.scalar(select(User).where(User.id == plan.user_id).with_for_update())
    if user is None:
        raise NotFound("That account was erased or removed meanwhile.")
    session.execute(update(User).where(User.id == user.id).values(email=User.email))
    plan = _plan(user, plan.keep_shared_clips)
    uid = plan.user_id
    removed = plan.clips_removed

    # Replies by others lose only their link to the comment that goes: the row's foreign
    # key would otherwise delete them with it (comments.parent_id ON DELETE CASCADE).
    theirs = select(Comment.id).where(Comment.author_id == uid)
    session.execute(
        update(Comment)
        .where(Comment.parent_id.in_(theirs), Comment.author_id != uid)
        .values(parent_id=None)
        .execution_options(synchronize_session=False)
    )
    session.execute(delete(Comment).where(Comment.author_id == uid))
    for clip_id, heir in plan.clips_handed_over.items():
        session.execute(update(Clip).where(Clip.id == clip_id).values(uploaded_by_id=heir))
    # Assets, comments, meetings, views and notifications go with the rows (ON DELETE
    # CASCADE); the stored objects after the commit.
    session.execute(delete(Clip).where(Clip.id.in_(removed)))
    session.execute(delete(Upload).where(Upload.id.in_(plan.uploads)))
    session.execute(delete(Partnership).where(Partnership.id.in_(plan.partnerships_removed)))
    session.execute(
        delete(Invitation).where(
            or_(Invitation.email == plan.email, Invitation.accepted_by_id == uid)
        )
    )
    session.execute(
        delete(Notification).where(
            or_(Notification.recipient_id == uid, Notification.actor_id == uid)
        )
    )
    session.execute(delete(UserSession).where(UserSession.user_id == uid))
    session.execute(delete(ApiToken).where(ApiToken.user_id == uid))
    session.execute(delete(PasswordReset).where(PasswordReset.user_id == uid))
    session.execute(delete(Membership).where(Membership.user_id == uid))
    # Their "Download everything I own" zips: the rows go with the user, the objects after.
    export_keys = list(
        session.scalars(
            select(DataExport.key).where(DataExport.user_id == uid, DataExport.key.is_not(None))
        )
    )
    # The rest (views, meeting connections, upload allowance: deleted; creators, owners,
    # drivers: set to NULL) is what the schema's foreign keys say, on both databases.
    session.execute(delete(User).where(User.id == uid))
    left = {f"{c.table.name}.{c.name}": count_rows(c, uid) for c in user_references()}
    left = {name: n for name, n in left.items() if n}
    if left:  # a foreign key without ON DELETE would have refused the delete; be sure
        raise RuntimeError(f"rows still name user {uid} after the erasure: {left}")
    for partnership_id in plan.memberships:
        live.announce(live.partnership_topic(partnership_id), "members_changed", {})
    for clip_id in removed:
        live.announce(live.clip_topic(clip_id), "access_changed", {})
    transaction.commit()
    session.expunge_all()

    result = ErasureResult(plan=plan)
    storage = current_storage()
    data_dir = current_settings().data_dir
    for clip_id in removed:
        try:
            result.stored_objects_deleted += storage.delete_prefix(files.clip_prefix(clip_id))
        except StorageError as error:
            log.error("purge-user: stored objects of clip %s not deleted: %s", clip_id, error)
            result.storage_problems.append(clip_id)
        shutil.rmtree(files.scratch_dir(data_dir, clip_id), ignore_errors=True)
    for upload_id in plan.uploads:
        uploads.discard_staged(upload_id)
    for key in export_keys:
        try:
            storage.delete(key)
            result.stored_objects_deleted += 1
        except StorageError as error:
            log.error("purge-user: data export %s not deleted: %s", key, error)
    _log(result)
    return result


def _log(result: ErasureResult) -> None:
    plan = result.plan
    counts = dict(
        sign_ins=plan.sign_ins,
        api_tokens=plan.api_tokens,
        password_resets=plan.password_resets,
        notifications=plan.notifications,
        private_notes=plan.private_notes,
        shared_comments=plan.shared_comments,
        replies_kept=plan.replies_kept,
        others_comments_removed=plan.others_comments_removed,
        invitations=plan.invitations,
        stored_objects=result.stored_objects_deleted,
    )
    log.warning(
        "purge-user: user %s erased: %s; references %s; clips deleted %s; clips handed over "
        "%s; memberships ended %s; partnerships deleted %s; uploads deleted %s; "
        "stored objects left for reconcile %s",
        plan.user_id,
        ", ".join(f"{name}={value}" for name, value in counts.items()),
        plan.references or "none",
        plan.clips_removed or "none",
        plan.clips_handed_over or "none",
        plan.memberships or "none",
        plan.partnerships_removed or "none",
        plan.uploads or "none",
        result.storage_problems or "none",
    )
