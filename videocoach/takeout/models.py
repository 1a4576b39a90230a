"""A person's data export: the zip a worker builds, and its one-time download."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Float, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from videocoach.db import ID_LENGTH, Base, CreatedMixin, IdMixin, UTCDateTime


class ExportStatus(StrEnum):
    QUEUED = "queued"
    BUILDING = "building"
    READY = "ready"
    FAILED = "failed"


class DataExport(IdMixin, CreatedMixin, Base):
    __tablename__ = "data_exports"

    user_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), default=ExportStatus.QUEUED.value)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    # The zip in storage while it may be downloaded (None before it is built and after
    # it was downloaded or expired: the object is deleted then).
    key: Mapped[str | None] = mapped_column(String(512), default=None)
    size: Mapped[int | None] = mapped_column(BigInteger, default=None)
    ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    # The one-time link was used: a second use is refused (410).
    downloaded_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
