"""Clip tables. The media pipeline (upload, workers, delivery) fills them in."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import StrEnum

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from videocoach.accounts.models import User
from videocoach.db import ID_LENGTH, Base, CreatedMixin, IdMixin, UTCDateTime, utcnow

# Retention warns a clip's uploader this long before it deletes the clip (clips.retention).
DELETION_WARNING = timedelta(days=14)


class Visibility(StrEnum):
    PRIVATE = "private"  # only the uploader
    SHARED = "shared"  # every member of the partnership


class ClipStatus(StrEnum):
    QUEUED = "queued"
    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"


class Clip(IdMixin, CreatedMixin, Base):
    __tablename__ = "clips"

    partnership_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("partnerships.id", ondelete="CASCADE"), index=True
    )
    uploaded_by_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    recorded_on: Mapped[date | None] = mapped_column(Date, default=None)
    visibility: Mapped[str] = mapped_column(String(16), default=Visibility.PRIVATE.value)

    original_filename: Mapped[str] = mapped_column(String(255), default="")
    original_size: Mapped[int | None] = mapped_column(BigInteger, default=None)
    original_sha256: Mapped[str | None] = mapped_column(String(64), default=None)

    # Probe facts; times are integer milliseconds (the API speaks seconds).
    duration_ms: Mapped[int | None] = mapped_column(Integer, default=None)
    width: Mapped[int | None] = mapped_column(Integer, default=None)
    height: Mapped[int | None] = mapped_column(Integer, default=None)
    fps: Mapped[float | None] = mapped_column(Float, default=None)
    video_codec: Mapped[str | None] = mapped_column(String(32), default=None)
    audio_codec: Mapped[str | None] = mapped_column(String(32), default=None)
    rotation: Mapped[int | None] = mapped_column(Integer, default=None)

    # Where each storyboard thumbnail sits in the sprite sheets (moment thumbnails).
    storyboard_interval_s: Mapped[int | None] = mapped_column(Integer, default=None)
    storyboard_thumb_w: Mapped[int | None] = mapped_column(Integer, default=None)
    storyboard_thumb_h: Mapped[int | None] = mapped_column(Integer, default=None)
    storyboard_columns: Mapped[int | None] = mapped_column(Integer, default=None)
    storyboard_rows: Mapped[int | None] = mapped_column(Integer, default=None)

    status: Mapped[str] = mapped_column(String(16), default=ClipStatus.QUEUED.value)
    step: Mapped[str | None] = mapped_column(String(32), default=None)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    # created_at is when the upload completed; these mark the milestones after it.
    playable_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    # A running job's claim: a fresh heartbeat from another job means "leave it alone".
    job_token: Mapped[str | None] = mapped_column(String(32), default=None)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    # Since when the clip waits for processing (upload, or "Try again"): delays count from it.
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=utcnow)
    # When the job was last handed to the broker (None: not handed over; reconcile will).
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    # When the site admins were told this clip waits too long (once per wait).
    delay_reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    # False when the failure is in the file itself (no video, empty): trying again cannot help.
    can_retry: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # Retention (clips.retention): the uploader's "Keep for another year" keeps the clip at
    # least until kept_until; deletion_warned_at is when they were told it will be deleted.
    kept_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    deletion_warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    assets: Mapped[list[ClipAsset]] = relationship(
        back_populates="clip", cascade="all, delete-orphan"
    )
    # What the uploader chose to hide before others see the clip (clips.redaction).
    redaction: Mapped[ClipRedaction | None] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )


class AssetKind(StrEnum):
    ORIGINAL = "original"
    PLAYABLE = "playable"  # the fast-path remux: playable within seconds
    WEB = "web"  # the web rendition
    POSTER = "poster"
    STORYBOARD_VTT = "storyboard_vtt"
    STORYBOARD_SHEET = "storyboard_sheet"
    WAVEFORM = "waveform"
    CAPTIONS = "captions"  # WebVTT made from a text subtitle track of the original


class ClipAsset(IdMixin, CreatedMixin, Base):
    """One stored object owned by a clip (original, renditions, images, waveform)."""

    __tablename__ = "clip_assets"
    __table_args__ = (UniqueConstraint("clip_id", "name"),)

    clip_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("clips.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    # The name in the clip's media URL (e.g. "poster.jpg", "storyboard/001.jpg").
    name: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(512), unique=True)
    size: Mapped[int | None] = mapped_column(BigInteger, default=None)
    sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    content_type: Mapped[str] = mapped_column(String(100), default="application/octet-stream")
    # What a person sees for it, where the file has a title of its own (a caption track's).
    label: Mapped[str | None] = mapped_column(String(200), default=None)

    clip: Mapped[Clip] = relationship(back_populates="assets")


class Upload(IdMixin, CreatedMixin, Base):
    """A resumable (tus) upload in progress; becomes a Clip when the last byte arrives."""

    __tablename__ = "uploads"

    user_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    partnership_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("partnerships.id", ondelete="CASCADE")
    )
    length: Mapped[int] = mapped_column(BigInteger)
    offset: Mapped[int] = mapped_column(BigInteger, default=0)
    filename: Mapped[str] = mapped_column(String(255), default="")
    title: Mapped[str] = mapped_column(String(200), default="")
    visibility: Mapped[str] = mapped_column(String(16), default=Visibility.PRIVATE.value)
    recorded_on: Mapped[date | None] = mapped_column(Date, default=None)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    clip_id: Mapped[str | None] = mapped_column(
        String(ID_LENGTH), ForeignKey("clips.id", ondelete="SET NULL"), default=None
    )
    # When bytes are staged in the object store (clips.staged_chunks), the request writing
    # them holds this claim, on whichever web host it runs; a claim past its time is free.
    writer_token: Mapped[str | None] = mapped_column(String(32), default=None)
    writer_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class UploadChunk(Base):
    """The bytes one PATCH stored in the object store, `size` bytes from `start`: the
    upload's offset is the end of its last chunk."""

    __tablename__ = "upload_chunks"

    upload_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("uploads.id", ondelete="CASCADE"), primary_key=True
    )
    start: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    key: Mapped[str] = mapped_column(String(512), unique=True)


class ClipView(Base):
    """When a person last opened a clip: comments after it are unread for them."""

    __tablename__ = "clip_views"

    user_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    clip_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("clips.id", ondelete="CASCADE"), primary_key=True
    )
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class UploadUsage(Base):
    """What one person uploaded on one UTC day, for the daily allowances (clips.quotas).

    Kept apart from the clips: deleting a clip gives nothing back, since its processing
    already cost the workers their time."""

    __tablename__ = "upload_usage"

    user_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    uploads: Mapped[int] = mapped_column(Integer, default=0)
    bytes: Mapped[int] = mapped_column(BigInteger, default=0)


class WatchAction(StrEnum):
    """What the clip's access log records (its uploader's "who watched")."""

    PLAYED = "played"
    EXPORTED = "exported"
    MEETING = "meeting"


class ClipAccess(Base):
    """Someone other than the uploader played, exported or opened the clip in a meeting:
    the first time each day, per person and action (its uploader's "who watched")."""

    __tablename__ = "clip_access_log"

    clip_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("clips.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    action: Mapped[str] = mapped_column(String(16), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user: Mapped[User] = relationship()


class RedactionStatus(StrEnum):
    PENDING = "pending"  # saved; the shared rendition is not made yet
    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"


class ClipRedaction(Base):
    """What the uploader hides from the partnership: faces, parts of the picture, the ends
    of the lesson, moments of sound. Once rendered, the clip's files are the redacted ones
    and the unredacted rendition is kept under `unredacted/` for the uploader alone.

    Times are milliseconds of the unredacted rendition (the lesson as recorded)."""

    __tablename__ = "clip_redactions"

    clip_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("clips.id", ondelete="CASCADE"), primary_key=True
    )
    blur_faces: Mapped[bool] = mapped_column(Boolean, default=False)
    trim_start_ms: Mapped[int | None] = mapped_column(Integer, default=None)
    trim_end_ms: Mapped[int | None] = mapped_column(Integer, default=None)
    # [[start_ms, end_ms], ...] and [{t_start_ms, t_end_ms, x, y, w, h}, ...] (x..h: 0..1)
    mute: Mapped[list[list[int]]] = mapped_column(JSON, default=list)
    blur_regions: Mapped[list[dict[str, float]]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default=RedactionStatus.PENDING.value)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    # Every change of the settings counts up; a render whose version is not the latest is
    # thrown away (a newer one is on its way).
    version: Mapped[int] = mapped_column(Integer, default=1)
    # Where the clip's files (and comment times) start in the recorded lesson: the trim of
    # the rendition shown now, 0 while the clip shows the unredacted one.
    shown_start_ms: Mapped[int] = mapped_column(Integer, default=0)
    # The unredacted rendition's facts, restored when the redaction is removed.
    unredacted_facts: Mapped[dict[str, int] | None] = mapped_column(JSON, default=None)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class ClipFacePreview(Base):
    """Where the face detector sees faces in the lesson as recorded: the uploader's preview
    on the redaction panel's timeline, before choosing to blur them (workers/face_preview.py).

    Made from the unredacted web rendition, which never changes, so one run stays true."""

    __tablename__ = "clip_face_previews"

    clip_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("clips.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[str] = mapped_column(String(16), default=RedactionStatus.PENDING.value)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    # Each request counts up; a run that is not the latest request's drops its result.
    version: Mapped[int] = mapped_column(Integer, default=1)
    # [[start_ms, end_ms], ...] of the recorded lesson with at least one face in view.
    spans: Mapped[list[list[int]]] = mapped_column(JSON, default=list)
    face_count: Mapped[int] = mapped_column(Integer, default=0)  # the most seen at once
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
