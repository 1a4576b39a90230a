"""The tus 1.0 endpoint (core, creation, creation-with-upload, termination, expiration).

Same authentication and partnership check as the rest of the API; when the last
byte arrives the response carries `Videocoach-Clip-Id`.
"""

from __future__ import annotations

from email.utils import format_datetime
from typing import BinaryIO

from flask import Response, request, url_for
from flask_login import login_required
from flask_smorest import Blueprint

from videocoach import transaction
from videocoach.accounts.auth import api_user
from videocoach.api import API_PREFIX
from videocoach.clips import uploads
from videocoach.clips.models import Upload
from videocoach.config import current_settings
from videocoach.errors import DomainError, Invalid

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,creation-with-upload,termination,expiration"
OFFSET_CONTENT_TYPE = "application/offset+octet-stream"
# wsgi.input types that never read past the request's Content-Length.
BOUNDED_INPUTS = frozenset({"KnownLengthRFile", "Body"})

blp = Blueprint("tus", __name__, url_prefix=API_PREFIX, description="Resumable uploads (tus 1.0)")


class VersionMismatch(DomainError):
    status = 412
    code = "tus_version_unsupported"
    default_message = "Only tus 1.0.0 is supported."


class WrongContentType(DomainError):
    status = 415
    code = "unsupported_media_type"
    default_message = f"PATCH bodies must be sent as {OFFSET_CONTENT_TYPE}."


@blp.after_request
def tus_headers(response: Response) -> Response:
    response.headers["Tus-Resumable"] = TUS_VERSION
    response.headers["Cache-Control"] = "no-store"
    if response.status_code == 412:
        response.headers["Tus-Version"] = TUS_VERSION
    return response


def _require_tus_version() -> None:
    if request.headers.get("Tus-Resumable") != TUS_VERSION:
        raise VersionMismatch()


def _int_header(name: str) -> int:
    raw = request.headers.get(name, "")
    if not (raw.isascii() and raw.isdigit()):  # isdigit alone takes "²", which int() refuses
        raise Invalid(f"{name} must be a non-negative whole number.", code="bad_header")
    return int(raw)


def request_body() -> BinaryIO:
    """The PATCH body as the server hands it over, when the server bounds it by
    Content-Length itself (cheroot, gunicorn); werkzeug's wrapper costs two extra copies
    per chunk, a third of upload throughput (bench/upload_bench.py)."""
    raw = request.environ.get("wsgi.input")
    if type(raw).__name__ in BOUNDED_INPUTS:
        return raw  # type: ignore[no-any-return]
    return request.stream


def _upload_headers(upload: Upload) -> dict[str, str]:
    return {
        "Upload-Offset": str(upload.offset),
        "Upload-Length": str(upload.length),
        "Upload-Expires": format_datetime(upload.expires_at, usegmt=True),
    }


@blp.route("/uploads", methods=["OPTIONS"])
def capabilities() -> Response:
    response = Response(status=204)
    response.headers.update(
        {
            "Tus-Version": TUS_VERSION,
            "Tus-Extension": TUS_EXTENSIONS,
            "Tus-Max-Size": str(current_settings().max_upload_bytes),
        }
    )
    return response


@blp.route("/uploads", methods=["POST"])
@login_required
def create() -> Response:
    """Start an upload: Upload-Length, and Upload-Metadata with partnership_id, filename, title,
    visibility (private/shared) and recorded_on."""
    _require_tus_version()
    uploads.sweep_expired()
    upload = uploads.create_upload(
        api_user(),
        _int_header("Upload-Length"),
        uploads.parse_metadata(request.headers.get("Upload-Metadata")),
    )
    transaction.commit()
    clip = None
    if request.content_length and request.mimetype == OFFSET_CONTENT_TYPE:
        clip = uploads.append(upload, 0, request_body())
    response = Response(status=201)
    response.headers["Location"] = url_for("tus.upload", uid=upload.id, _external=True)
    response.headers.update(_upload_headers(upload))
    if clip is not None:
        response.headers["Videocoach-Clip-Id"] = clip.id
    return response


@blp.route("/uploads/<uid>", methods=["HEAD"])
@login_required
def upload(uid: str) -> Response:
    """How many bytes the server has: resume from Upload-Offset."""
    _require_tus_version()
    found = uploads.get_upload(api_user(), uid)
    clip = uploads.current_state(found)
    response = Response(status=200)
    response.headers.update(_upload_headers(found))
    if clip is not None:
        response.headers["Videocoach-Clip-Id"] = clip.id
    return response


@blp.route("/uploads/<uid>", methods=["PATCH"])
@login_required
def patch(uid: str) -> Response:
    _require_tus_version()
    if request.mimetype != OFFSET_CONTENT_TYPE:
        raise WrongContentType()
    found = uploads.get_upload(api_user(), uid)
    clip = uploads.append(found, _int_header("Upload-Offset"), request_body())
    response = Response(status=204)
    response.headers["Upload-Offset"] = str(found.offset)
    if clip is not None:
        response.headers["Videocoach-Clip-Id"] = clip.id
    else:
        response.headers["Upload-Expires"] = format_datetime(found.expires_at, usegmt=True)
    return response


@blp.route("/uploads/<uid>", methods=["DELETE"])
@login_required
def terminate(uid: str) -> Response:
    _require_tus_version()
    uploads.terminate(uploads.get_upload(api_user(), uid))
    return Response(status=204)
