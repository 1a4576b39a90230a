"""API v1: clip upload (multipart), clip CRUD, retry, and protected media delivery."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import IO, Any

from flask import Response, redirect, request, send_file
from flask_login import login_required
from flask_smorest import Blueprint
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.formparser import parse_form_data

from videocoach import transaction
from videocoach.accounts.auth import api_user
from videocoach.api import API_PREFIX
from videocoach.clips import access_log, face_preview, files, quotas, redaction, retention, services
from videocoach.clips.models import AssetKind
from videocoach.clips.schemas import (
    AccessLog,
    ClipEnvelope,
    ClipList,
    ClipUpdateSchema,
    ClipUploadForm,
    FacePreviewSchema,
    RedactionSchema,
    RedactionSettingsSchema,
)
from videocoach.clips.uploads import TooLarge, too_large_message
from videocoach.config import current_settings
from videocoach.errors import DomainError, Invalid, NotFound
from videocoach.storage import current_storage

blp = Blueprint("clips_api", __name__, url_prefix=API_PREFIX, description="Clips and media")

MULTIPART_OVERHEAD = 1024 * 1024  # room for the form's other fields and boundaries
PRESIGNED_TTL_S = 300
# A player keeps using the URL it was redirected to while the lesson plays and seeks.
PRESIGNED_VIDEO_TTL_S = 3 * 3600
SERVED_THROUGH_APP = {
    AssetKind.STORYBOARD_VTT.value,
    AssetKind.WAVEFORM.value,
    AssetKind.CAPTIONS.value,  # <track> needs same-origin (or CORS) text
}


class UnsupportedMediaType(DomainError):
    status = 415
    code = "unsupported_media_type"


def incoming_dir() -> Path:
    folder = current_settings().data_dir / "incoming"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class _Incoming:
    """Werkzeug writes each file part into one of these, chunk by chunk: memory stays
    bounded, and every file made is known, so none is left behind when parsing fails."""

    def __init__(self) -> None:
        self.handles: list[IO[bytes]] = []

    def __call__(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        # Not a with-block: werkzeug writes into it after this returns; remove_all closes it.
        handle = tempfile.NamedTemporaryFile(  # noqa: SIM115
            dir=incoming_dir(), prefix="upload-", delete=False
        )
        self.handles.append(handle)
        return handle

    def remove_all(self) -> None:
        for handle in self.handles:
            handle.close()
            Path(handle.name).unlink(missing_ok=True)  # moved into storage when it worked


def _parse_multipart(incoming: _Incoming, limit: int) -> tuple[Any, FileStorage | None]:
    try:
        _, form, files = parse_form_data(
            request.environ,
            stream_factory=incoming,
            max_content_length=limit + MULTIPART_OVERHEAD,
            silent=False,
        )
    except RequestEntityTooLarge:
        raise TooLarge(too_large_message(limit)) from None
    except ValueError:  # no boundary, a part without headers, a body cut off mid-way
        raise Invalid(
            "The upload is not complete multipart/form-data: it may have been cut off. "
            "Send it again.",
            code="bad_multipart",
        ) from None
    for part in files.values():
        part.stream.close()
    return form, files.get("file")


@blp.route("/partnerships/<pid>/clips", methods=["POST"])
@login_required
@blp.doc(requestBody={"content": {"multipart/form-data": {"schema": ClipUploadForm}}})
@blp.response(202, ClipEnvelope)
def upload_clip(pid: str) -> dict[str, Any]:
    """Upload a clip in one request (scripts). Browsers use the resumable tus endpoint."""
    user = api_user()
    services.require_uploader(user, pid)  # before a byte of the body is read
    if request.mimetype != "multipart/form-data":
        raise UnsupportedMediaType("Send the clip as multipart/form-data with a `file` field.")
    limit = current_settings().max_upload_bytes
    # The file is at least the body less the room for the other fields: refuse before
    # reading it when even that would not fit today.
    quotas.check(user.id, max(0, (request.content_length or 0) - MULTIPART_OVERHEAD))
    incoming = _Incoming()
    try:
        form, upload = _parse_multipart(incoming, limit)
        staged = Path(upload.stream.name) if upload and hasattr(upload.stream, "name") else None
        if upload is None or staged is None:
            raise Invalid("Attach the video as the `file` field.", fields={"file": "Required."})
        size = staged.stat().st_size
        if size > limit:  # the parser allowed room for the other fields
            raise TooLarge(too_large_message(limit))
        quotas.reserve(user.id, size)  # committed with the clip, or not at all
        clip = services.create_clip(
            user,
            pid,
            staged,
            filename=upload.filename or "",
            title=form.get("title"),
            visibility=form.get("visibility"),
            recorded_on=form.get("recorded_on"),
        )
        transaction.commit()
    finally:
        incoming.remove_all()
    return {"clip": clip}


@blp.route("/partnerships/<pid>/clips", methods=["GET"])
@login_required
@blp.response(200, ClipList)
def list_clips(pid: str) -> dict[str, Any]:
    """The clips the caller may see: shared ones, and their own private ones."""
    return {"items": services.list_clips(api_user(), pid)}


@blp.route("/clips/<cid>", methods=["GET"])
@login_required
@blp.response(200, ClipEnvelope)
def get_clip(cid: str) -> dict[str, Any]:
    return {"clip": services.get_clip(api_user(), cid)}


@blp.route("/clips/<cid>", methods=["PATCH"])
@login_required
@blp.arguments(ClipUpdateSchema)
@blp.response(200, ClipEnvelope)
def update_clip(body: dict[str, Any], cid: str) -> dict[str, Any]:
    """Rename, share or unshare (uploader only)."""
    clip = services.update_clip(api_user(), cid, body)
    transaction.commit()
    return {"clip": clip}


@blp.route("/clips/<cid>", methods=["DELETE"])
@login_required
@blp.response(204)
def delete_clip(cid: str) -> None:
    """Delete the clip and every file it owns (uploader only)."""
    services.delete_clip(api_user(), cid)
    transaction.commit()


@blp.route("/clips/<cid>/retry", methods=["POST"])
@login_required
@blp.response(202, ClipEnvelope)
def retry_clip(cid: str) -> dict[str, Any]:
    """Process a failed clip again (uploader only)."""
    clip = services.retry_clip(api_user(), cid)
    transaction.commit()
    return {"clip": clip}


@blp.route("/clips/<cid>/access-log", methods=["GET"])
@login_required
@blp.response(200, AccessLog)
def clip_access_log(cid: str) -> dict[str, Any]:
    """Who else played, exported or met over the clip, and when (its uploader only; 404 for
    everyone else, site admins included)."""
    return {"items": access_log.entries(api_user(), cid)}


@blp.route("/clips/<cid>/plays", methods=["POST"])
@login_required
@blp.response(204)
def clip_played(cid: str) -> None:
    """The clip page's player started playing: one line in the uploader's access log per
    person per day (the uploader's own plays are not logged)."""
    access_log.record_play(api_user(), cid)
    transaction.commit()


@blp.route("/clips/<cid>/keep", methods=["POST"])
@login_required
@blp.response(200, ClipEnvelope)
def keep_clip(cid: str) -> dict[str, Any]:
    """Keep for another year: retention deletes the clip no sooner than a year from now
    (its uploader only)."""
    clip = retention.keep_for_another_year(api_user(), cid)
    transaction.commit()
    return {"clip": clip}


@blp.route("/clips/<cid>/redaction", methods=["GET"])
@login_required
@blp.response(200, RedactionSettingsSchema)
def get_redaction(cid: str) -> dict[str, Any]:
    """What the uploader hides from the partnership (uploader only)."""
    return redaction.settings_json(redaction.get_settings(api_user(), cid))


@blp.route("/clips/<cid>/redaction", methods=["PUT"])
@login_required
@blp.arguments(RedactionSchema)
@blp.response(202, RedactionSettingsSchema)
def put_redaction(body: dict[str, Any], cid: str) -> dict[str, Any]:
    """Replace what is hidden (uploader only): a worker makes the shared version, and until
    it is ready the other members see the clip as processing."""
    saved = redaction.save_settings(api_user(), cid, body)
    transaction.commit()
    return redaction.settings_json(saved)


@blp.route("/clips/<cid>/redaction/faces", methods=["GET"])
@login_required
@blp.response(200, FacePreviewSchema)
def get_face_preview(cid: str) -> dict[str, Any]:
    """Where the face detector sees faces in the clip as recorded (uploader only)."""
    return face_preview.preview_json(face_preview.get_preview(api_user(), cid))


@blp.route("/clips/<cid>/redaction/faces", methods=["POST"])
@login_required
@blp.response(202, FacePreviewSchema)
def find_faces(cid: str) -> dict[str, Any]:
    """Look for faces in the clip (uploader only), to preview what blurring will hide."""
    preview = face_preview.request_preview(api_user(), cid)
    transaction.commit()
    return face_preview.preview_json(preview)


@blp.route("/clips/<cid>/media/<path:name>", methods=["GET"])
@login_required
def media(cid: str, name: str) -> Response:
    """A clip's file, after the access check on every request (Range supported)."""
    asset = services.find_media(api_user(), cid, name)
    storage = current_storage()
    try:
        local = storage.local_path(asset.key)
    except FileNotFoundError:
        raise NotFound("That file is missing from storage.") from None
    if asset.kind in SERVED_THROUGH_APP:
        # Small files read by scripts and <track>: same origin, so no CORS on the bucket,
        # and the VTT's relative sprite links resolve to our access-checked URLs.
        with storage.open(asset.key) as handle:
            response = Response(handle.read(), mimetype=asset.content_type)
    elif local is None:
        download = "original" if asset.kind == AssetKind.ORIGINAL.value else None
        url = storage.presigned_url(
            asset.key,
            expires_s=PRESIGNED_VIDEO_TTL_S if name == files.VIDEO else PRESIGNED_TTL_S,
            content_type=asset.content_type,
            download_name=download,
        )
        response = redirect(url, 302)  # type: ignore[assignment]
        response.headers["Cache-Control"] = "private, no-store"
        return response
    else:
        response = send_file(
            local,
            mimetype=asset.content_type,
            conditional=True,
            etag=True,
            download_name=asset.name.rsplit("/", 1)[-1],
            as_attachment=asset.kind == AssetKind.ORIGINAL.value,
        )
    # Private: never kept by shared caches. no-cache: revalidate, since video.mp4 moves
    # from the quick remux to the web rendition and the poster may be replaced.
    response.headers["Cache-Control"] = "private, no-cache"
    return response
