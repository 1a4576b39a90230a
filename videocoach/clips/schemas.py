from __future__ import annotations

from typing import Any

from flask import url_for
from marshmallow import fields

from videocoach.api import BaseSchema
from videocoach.clips import dispatch, files
from videocoach.clips.models import Clip


def media_urls(clip: Clip) -> dict[str, str | None]:
    return {
        kind: url_for("clips_api.media", cid=clip.id, name=name) if name else None
        for kind, name in files.public_media(clip.assets).items()
    }


def caption_json(clip: Clip) -> list[dict[str, Any]]:
    return [
        {
            "url": url_for("clips_api.media", cid=clip.id, name=track.name),
            "language": track.language,
            "label": track.label,
        }
        for track in files.caption_tracks(clip.assets)
    ]


class MediaSchema(BaseSchema):
    video = fields.String(allow_none=True, metadata={"description": "Playable as soon as possible"})
    poster = fields.String(allow_none=True)
    storyboard = fields.String(allow_none=True, metadata={"description": "WebVTT, #xywh= cues"})
    waveform = fields.String(allow_none=True, metadata={"description": "JSON peaks"})


class ClipSchema(BaseSchema):
    id = fields.String()
    partnership_id = fields.String()
    title = fields.String()
    visibility = fields.String(metadata={"enum": ["private", "shared"]})
    uploaded_by = fields.String(attribute="uploaded_by_id", metadata={"description": "User id"})
    created_at = fields.DateTime()
    recorded_on = fields.Date(allow_none=True)
    status = fields.String(metadata={"enum": ["queued", "processing", "ready", "failed"]})
    step = fields.String(allow_none=True)
    progress = fields.Float()
    error = fields.String(allow_none=True)
    can_retry = fields.Boolean(
        metadata={"description": "Failed clips: whether POST /clips/{cid}/retry can help"}
    )
    delay = fields.Method(
        "_delay",
        allow_none=True,
        metadata={"description": "While waiting too long: a sentence saying so, else null"},
    )
    duration_s = fields.Method("_duration", allow_none=True)
    width = fields.Integer(allow_none=True)
    height = fields.Integer(allow_none=True)
    original_filename = fields.String()
    original_size = fields.Integer(allow_none=True)
    playable_at = fields.DateTime(allow_none=True)
    ready_at = fields.DateTime(allow_none=True)
    media = fields.Method("_media", metadata={"type": "object"})
    captions = fields.Method(
        "_captions",
        metadata={"type": "array", "description": "WebVTT caption tracks: url, language, label"},
    )

    def _duration(self, clip: Clip) -> float | None:
        return None if clip.duration_ms is None else clip.duration_ms / 1000

    def _delay(self, clip: Clip) -> str | None:
        return dispatch.processing_delay(clip)

    def _media(self, clip: Clip) -> dict[str, Any]:
        return media_urls(clip)

    def _captions(self, clip: Clip) -> list[dict[str, Any]]:
        return caption_json(clip)


class ClipEnvelope(BaseSchema):
    clip = fields.Nested(ClipSchema)


class ClipList(BaseSchema):
    items = fields.List(fields.Nested(ClipSchema))


class ClipUpdateSchema(BaseSchema):
    title = fields.String()
    visibility = fields.String()
    recorded_on = fields.String(allow_none=True)


class ClipUploadForm(BaseSchema):
    """Documentation of the multipart form (parsed by hand so it streams)."""

    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})
    title = fields.String()
    visibility = fields.String(metadata={"enum": ["private", "shared"]})
    recorded_on = fields.String(metadata={"format": "date"})
