from __future__ import annotations

from typing import Any

from flask import url_for
from flask_login import current_user
from marshmallow import fields, validate

from videocoach.accounts.schemas import PersonSchema
from videocoach.api import (
    DATE_OR_EMPTY,
    BaseSchema,
    Derived,
    ResponseSchema,
    describe,
    header_parameter,
)
from videocoach.clips import dispatch, files, redaction, retention
from videocoach.clips import steps as clip_steps
from videocoach.clips.models import Clip, ClipStatus, RedactionStatus, Visibility, WatchAction
from videocoach.clips.tus import OFFSET_CONTENT_TYPE, TUS_EXTENSIONS, TUS_VERSION
from videocoach.config import current_settings

VISIBILITIES = [visibility.value for visibility in Visibility]


def _hidden(clip: Clip) -> bool:
    """The signed-in person may not have the clip's media now (clips.redaction)."""
    return redaction.hides_media(clip, current_user)


def media_urls(clip: Clip) -> dict[str, str | None]:
    names = files.public_media([] if _hidden(clip) else clip.assets)
    return {
        kind: url_for("clips_api.media", cid=clip.id, name=name) if name else None
        for kind, name in names.items()
    }


def caption_json(clip: Clip) -> list[dict[str, Any]]:
    if _hidden(clip):
        return []
    return [
        {
            "url": url_for("clips_api.media", cid=clip.id, name=track.name),
            "language": track.language,
            "label": track.label,
        }
        for track in files.caption_tracks(clip.assets)
    ]


class MediaSchema(ResponseSchema):
    video = fields.String(allow_none=True, metadata={"description": "Playable as soon as possible"})
    poster = fields.String(allow_none=True)
    storyboard = fields.String(allow_none=True, metadata={"description": "WebVTT, #xywh= cues"})
    waveform = fields.String(allow_none=True, metadata={"description": "JSON peaks"})


class CaptionSchema(ResponseSchema):
    url = fields.String(metadata={"description": "A WebVTT media URL"})
    language = fields.String(allow_none=True, metadata={"description": "As tagged in the file"})
    label = fields.String()


class StepSchema(ResponseSchema):
    name = fields.String(metadata={"enum": [step.name for step in clip_steps.STEPS]})
    label = fields.String(metadata={"description": "For a person"})
    state = fields.String(
        metadata={"enum": ["pending", "active", "waiting", "done", "skipped", "failed"]}
    )


class ClipSchema(ResponseSchema):
    id = fields.String()
    partnership_id = fields.String()
    title = fields.String()
    visibility = fields.String(metadata={"enum": VISIBILITIES})
    uploaded_by = fields.String(attribute="uploaded_by_id", metadata={"description": "User id"})
    created_at = fields.DateTime()
    recorded_on = fields.Date(allow_none=True)
    status = fields.Method(
        "_status",
        metadata={
            "type": "string",
            "enum": [status.value for status in ClipStatus],
            "description": "To members other than the uploader, `processing` while a redaction "
            "the uploader asked for is not rendered yet",
        },
    )
    redaction_status = fields.Method(
        "_redaction_status",
        allow_none=True,
        metadata={
            "type": "string",
            "enum": [status.value for status in RedactionStatus],
            "description": "The uploader's redaction (PUT /clips/{cid}/redaction); null when "
            "nothing is hidden, and always null to other members",
        },
    )
    step = fields.String(allow_none=True)
    progress = fields.Float(metadata={"minimum": 0, "maximum": 1})
    steps = Derived(
        StepSchema,
        clip_steps.step_list,
        many=True,
        metadata={"description": "Every processing step, in order, with its state"},
    )
    step_progress = fields.Method(
        "_step_progress",
        allow_none=True,
        metadata={
            "type": "number",
            "minimum": 0,
            "maximum": 1,
            "description": "How far the step under way is; null when none is",
        },
    )
    error = fields.String(allow_none=True)
    can_retry = fields.Boolean(
        metadata={"description": "Failed clips: whether POST /clips/{cid}/retry can help"}
    )
    delay = fields.Method(
        "_delay",
        allow_none=True,
        metadata={
            "type": "string",
            "description": "While waiting too long: a sentence saying so, else null",
        },
    )
    duration_s = fields.Method("_duration", allow_none=True, metadata={"type": "number"})
    width = fields.Integer(allow_none=True)
    height = fields.Integer(allow_none=True)
    original_filename = fields.String()
    original_size = fields.Integer(allow_none=True)
    playable_at = fields.DateTime(allow_none=True)
    ready_at = fields.DateTime(allow_none=True)
    delete_after = fields.Method(
        "_delete_after",
        allow_none=True,
        metadata={
            "type": "string",
            "format": "date-time",
            "description": "When the installation's retention deletes the clip (null: never)",
        },
    )
    kept_until = fields.DateTime(
        allow_none=True, metadata={"description": "Kept at least until (Keep for another year)"}
    )
    media = Derived(MediaSchema, media_urls)
    captions = Derived(
        CaptionSchema, caption_json, many=True, metadata={"description": "WebVTT caption tracks"}
    )

    def _duration(self, clip: Clip) -> float | None:
        if clip.duration_ms is None or _hidden(clip):
            return None
        return clip.duration_ms / 1000

    def _status(self, clip: Clip) -> str:
        return redaction.shown_status(clip, current_user)

    def _redaction_status(self, clip: Clip) -> str | None:
        return redaction.status(clip) if clip.uploaded_by_id == current_user.id else None

    def _delay(self, clip: Clip) -> str | None:
        return dispatch.processing_delay(clip)

    def _step_progress(self, clip: Clip) -> float | None:
        return clip_steps.step_progress(clip)

    def _delete_after(self, clip: Clip) -> str | None:
        when = retention.deletion_date(clip, current_settings())
        return None if when is None else when.isoformat()


class ClipEnvelope(ResponseSchema):
    clip = fields.Nested(ClipSchema)


class ClipList(ResponseSchema):
    items = fields.List(fields.Nested(ClipSchema))


class ClipUpdateSchema(BaseSchema):
    title = fields.String()
    visibility = fields.String(metadata={"enum": VISIBILITIES})
    recorded_on = fields.String(allow_none=True, metadata=DATE_OR_EMPTY)


class ClipUploadForm(BaseSchema):
    """Documentation of the multipart form (parsed by hand so it streams)."""

    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})
    title = fields.String()
    visibility = fields.String(metadata={"enum": VISIBILITIES})
    recorded_on = fields.String(metadata=DATE_OR_EMPTY)


class WaveformSchema(ResponseSchema):
    version = fields.Integer()
    sample_rate = fields.Integer()
    peaks_per_second = fields.Integer()
    length = fields.Integer()
    data = fields.List(fields.Integer(), metadata={"description": "Peaks, 0..100"})


UPLOAD_LIMIT = (
    "The caller's uploads for today (a number of clips, or of bytes) are used up "
    "(`upload_limit`); Retry-After says when the day turns"
)
UPLOADER_ONLY = "A member who did not upload the clip (`forbidden`)"
describe(
    "POST /partnerships/{pid}/clips",
    errors={
        413: "The file is larger than the upload limit or a day's allowance (`too_large`)",
        415: "The body is not multipart/form-data (`unsupported_media_type`)",
        429: UPLOAD_LIMIT,
        422: "No `file` part, a field is not valid, or the body was cut off "
        "(`validation_failed`, `bad_multipart`, `too_long`)",
    },
)
describe("PATCH /clips/{cid}", errors={403: UPLOADER_ONLY})
describe("DELETE /clips/{cid}", errors={403: UPLOADER_ONLY})
describe("POST /clips/{cid}/keep", errors={403: UPLOADER_ONLY})
describe(
    "POST /clips/{cid}/retry",
    errors={
        403: UPLOADER_ONLY,
        422: "The clip has not failed (`not_failed`), or its file itself is the problem "
        "(`retry_cannot_help`)",
    },
)


def _binary(*types: str) -> dict[str, Any]:
    return {kind: {"schema": {"type": "string", "format": "binary"}} for kind in types}


_PRIVATE = {
    "Cache-Control": {
        "description": "`private, no-cache`: shared caches never keep media",
        "schema": {"type": "string"},
        "required": True,
    }
}
_CONTENT_RANGE = {"schema": {"type": "string"}, "required": True}
describe(
    "GET /clips/{cid}/media/{name}",
    parameters=[
        header_parameter("Range", "A byte range of a file served by the app", {"type": "string"}),
        header_parameter(
            "If-None-Match", "An ETag from an earlier answer: 304 if unchanged", {"type": "string"}
        ),
    ],
    responses={
        "200": {
            "description": "The file: video.mp4, poster.jpg, storyboard.vtt, "
            "storyboard/NNN.jpg, waveform.json, captions/<n>-<language>.vtt or original",
            "content": {
                **_binary("video/mp4", "image/jpeg", "text/vtt", "application/octet-stream"),
                "application/json": {"schema": WaveformSchema},
            },
            "headers": _PRIVATE,
        },
        "206": {
            "description": "The requested byte range (files served by the app from local storage)",
            "content": _binary("video/mp4", "image/jpeg", "application/octet-stream"),
            "headers": {**_PRIVATE, "Content-Range": _CONTENT_RANGE},
        },
        "302": {
            "description": "S3 storage: a short-lived presigned URL of the file",
            "headers": {"Location": {"schema": {"type": "string"}, "required": True}},
        },
        "304": {"description": "Not modified since the ETag sent in If-None-Match"},
    },
    errors={
        404: "No such clip or file, the file does not exist yet, or the caller may not see "
        "the clip (`not_found`)",
        416: "The Range lies outside the file (`range_not_satisfiable`)",
    },
)

# tus 1.0.0 (https://tus.io/protocols/resumable-upload): every answer says the version.
TUS_RESUMABLE = {
    "Tus-Resumable": {
        "description": "The tus version of the answer",
        "schema": {"type": "string", "enum": [TUS_VERSION]},
        "required": True,
    }
}
_TUS_REQUEST = header_parameter(
    "Tus-Resumable",
    "The tus version the client speaks (412 for any other)",
    {"type": "string", "enum": [TUS_VERSION]},
    required=True,
)
_NUMBER = {"type": "string", "pattern": "^[0-9]+$"}


def _header(description: str, schema: dict[str, Any], required: bool = True) -> dict[str, Any]:
    return {"description": description, "schema": schema, "required": required}


_UPLOAD_STATE = {
    "Upload-Offset": _header("Bytes received so far", _NUMBER),
    "Upload-Length": _header("The size announced when the upload was created", _NUMBER),
    "Upload-Expires": _header(
        "When an unfinished upload is removed (RFC 7231 date)", {"type": "string"}
    ),
}
_CLIP_ID = {
    "Videocoach-Clip-Id": _header(
        "Once the last byte has arrived: the id of the clip made from the upload",
        {"type": "string"},
        required=False,
    )
}
_TUS_ERRORS = {412: "The request did not send `Tus-Resumable: 1.0.0` (`tus_version_unsupported`)"}
describe(
    "OPTIONS /uploads",
    public=True,
    headers=TUS_RESUMABLE,
    responses={
        "204": {
            "description": "What the server supports (tus discovery)",
            "headers": {
                "Tus-Version": _header("Supported tus versions", {"type": "string"}),
                "Tus-Extension": _header(
                    f"Supported extensions: {TUS_EXTENSIONS}", {"type": "string"}
                ),
                "Tus-Max-Size": _header("The largest Upload-Length accepted, in bytes", _NUMBER),
            },
        }
    },
)
describe(
    "POST /uploads",
    headers=TUS_RESUMABLE,
    parameters=[
        _TUS_REQUEST,
        header_parameter("Upload-Length", "The file's size in bytes", _NUMBER, required=True),
        header_parameter(
            "Upload-Metadata",
            "Comma-separated `key base64(value)` pairs: partnership_id (required), filename, "
            "title, visibility, recorded_on",
            {"type": "string"},
        ),
    ],
    request_body={
        "required": False,
        "description": "Optionally the first bytes (creation-with-upload)",
        "content": _binary(OFFSET_CONTENT_TYPE),
    },
    responses={
        "201": {
            "description": "Created: send the bytes to Location",
            "headers": {
                "Location": _header("The upload's absolute URL", {"type": "string"}),
                **_UPLOAD_STATE,
                **_CLIP_ID,
            },
        }
    },
    errors={
        **_TUS_ERRORS,
        404: "The partnership does not exist or the caller is not a member (`not_found`)",
        413: "Upload-Length is above Tus-Max-Size or a day's allowance (`too_large`)",
        429: UPLOAD_LIMIT,
        422: "Upload-Length is not a whole number (`bad_header`) or is 0 (`empty_upload`), "
        "Upload-Metadata is not valid (`bad_metadata`, `validation_failed`, `too_long`)",
    },
)
describe(
    "HEAD /uploads/{uid}",
    headers=TUS_RESUMABLE,
    parameters=[_TUS_REQUEST],
    responses={
        "200": {
            "description": "Where to resume from",
            "headers": {**_UPLOAD_STATE, **_CLIP_ID},
        }
    },
    errors=_TUS_ERRORS,
)
describe(
    "PATCH /uploads/{uid}",
    headers=TUS_RESUMABLE,
    parameters=[
        _TUS_REQUEST,
        header_parameter(
            "Upload-Offset", "Where these bytes start: the server's offset", _NUMBER, required=True
        ),
    ],
    request_body={"required": True, "content": _binary(OFFSET_CONTENT_TYPE)},
    responses={
        "204": {
            "description": "The bytes are stored",
            "headers": {
                "Upload-Offset": _UPLOAD_STATE["Upload-Offset"],
                "Upload-Expires": {**_UPLOAD_STATE["Upload-Expires"], "required": False},
                **_CLIP_ID,
            },
        }
    },
    errors={
        **_TUS_ERRORS,
        409: "Upload-Offset is not the server's offset (`offset_mismatch`)",
        413: "More bytes than Upload-Length (`too_large`)",
        415: f"The body is not {OFFSET_CONTENT_TYPE} (`unsupported_media_type`)",
        422: "Upload-Offset is not a whole number (`bad_header`)",
        423: "Another request is writing to this upload (`upload_busy`)",
    },
)
describe(
    "DELETE /uploads/{uid}",
    headers=TUS_RESUMABLE,
    parameters=[_TUS_REQUEST],
    responses={"204": {"description": "Abandoned (or, when finished, forgotten)"}},
    errors=_TUS_ERRORS,
)


class AccessEntrySchema(ResponseSchema):
    user = fields.Nested(PersonSchema)
    action = fields.String(metadata={"enum": [action.value for action in WatchAction]})
    at = fields.DateTime(metadata={"description": "The first time that day"})


class AccessLog(ResponseSchema):
    items = fields.List(fields.Nested(AccessEntrySchema))


_SECONDS = fields.Float(validate=validate.Range(min=0, max=24 * 3600))


class BlurRegionSchema(BaseSchema):
    t_start = fields.Float(required=True, validate=validate.Range(min=0))
    t_end = fields.Float(required=True, validate=validate.Range(min=0))
    x = fields.Float(required=True, metadata={"description": "0..1 of the picture's width"})
    y = fields.Float(required=True, metadata={"description": "0..1 of the picture's height"})
    w = fields.Float(required=True)
    h = fields.Float(required=True)


class RedactionSchema(BaseSchema):
    """What to hide from the partnership. Times are seconds of the clip as recorded."""

    blur_faces = fields.Boolean(load_default=False)
    trim = fields.List(
        _SECONDS,
        allow_none=True,
        load_default=None,
        validate=validate.Length(equal=2),
        metadata={"description": "[start, end]: share only this part; null for all of it"},
    )
    mute = fields.List(
        fields.List(_SECONDS, validate=validate.Length(equal=2)),
        load_default=list,
        metadata={"description": "[[start, end], ...]: silence the sound over these parts"},
    )
    blur_regions = fields.List(fields.Nested(BlurRegionSchema), load_default=list)


class RedactionSettingsSchema(ResponseSchema):
    blur_faces = fields.Boolean()
    trim = fields.List(fields.Float(), allow_none=True)
    mute = fields.List(fields.List(fields.Float()))
    blur_regions = fields.List(fields.Nested(BlurRegionSchema))
    status = fields.String(
        allow_none=True,
        metadata={
            "enum": [status.value for status in RedactionStatus],
            "description": "null when nothing is hidden",
        },
    )
    progress = fields.Float(allow_none=True, metadata={"minimum": 0, "maximum": 1})
    error = fields.String(allow_none=True, metadata={"description": "Why the render failed"})


class FaceSpanSchema(ResponseSchema):
    start = fields.Float(metadata={"description": "Seconds of the clip as recorded"})
    end = fields.Float()


class FacePreviewSchema(ResponseSchema):
    status = fields.String(
        allow_none=True,
        metadata={
            "enum": [status.value for status in RedactionStatus],
            "description": "null until the uploader asks for a preview",
        },
    )
    progress = fields.Float(allow_none=True, metadata={"minimum": 0, "maximum": 1})
    error = fields.String(allow_none=True)
    spans = fields.List(
        fields.Nested(FaceSpanSchema),
        metadata={"description": "Where at least one face is in view (what blurring hides)"},
    )
    most_at_once = fields.Integer(metadata={"description": "The most faces seen in one frame"})


describe("GET /clips/{cid}/redaction", errors={403: UPLOADER_ONLY})
describe(
    "PUT /clips/{cid}/redaction",
    errors={
        403: UPLOADER_ONLY,
        422: "A time or an area does not fit the clip (`validation_failed`, per field)",
    },
)
describe("GET /clips/{cid}/redaction/faces", errors={403: UPLOADER_ONLY})
describe(
    "POST /clips/{cid}/redaction/faces",
    errors={403: UPLOADER_ONLY, 409: "The clip is not processed yet (`clip_not_ready`)"},
)
