"""Imports every model so the metadata is complete (Alembic, tests, table cleanup)."""

from videocoach.accounts.models import ApiToken, PasswordReset, User, UserSession
from videocoach.background import WorkerHeartbeat
from videocoach.clips.models import Clip, ClipAsset, ClipView, Upload, UploadChunk
from videocoach.comments.models import Comment, comment_goals
from videocoach.db import Base
from videocoach.meetings.models import Meeting, MeetingConnection
from videocoach.notifications.models import Notification
from videocoach.partnerships.models import Goal, Invitation, Membership, NextStep, Partnership
from videocoach.takeout.models import DataExport

__all__ = [
    "ApiToken",
    "Base",
    "Clip",
    "ClipAsset",
    "ClipView",
    "Comment",
    "DataExport",
    "Goal",
    "Invitation",
    "Meeting",
    "MeetingConnection",
    "Membership",
    "NextStep",
    "Notification",
    "Partnership",
    "PasswordReset",
    "Upload",
    "UploadChunk",
    "User",
    "UserSession",
    "WorkerHeartbeat",
    "comment_goals",
]
