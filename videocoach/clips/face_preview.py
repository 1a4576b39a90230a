"""Where the face detector sees faces, shown to the uploader before they choose to blur
them (issue 14: "the teacher previews detections on the timeline").

The uploader asks; a worker runs the same detector and tracking the render blurs with
(videocoach.media.faces.detect_faces) on the unredacted web rendition and stores the
spans of the lesson with a face in view. Only the uploader sees the preview: like the
redaction settings, it is about the lesson as recorded.

Times are stored in milliseconds of the lesson as recorded; the API speaks seconds.
"""

from __future__ import annotations

from typing import Any

from videocoach import access, db, jobs
from videocoach.accounts.models import User
from videocoach.clips.models import ClipFacePreview, ClipStatus, RedactionStatus
from videocoach.errors import Conflict

# The worker's task (workers/tasks.py registers it under this name).
FIND_FACES = "videocoach.find_faces"
FAILED = "Faces could not be looked for in this clip. Try again in a while."
# Spans closer than this are one on a timeline: a face turned away for a moment is the
# same person in view, and a band of slivers reads as noise.
JOIN_GAP_MS = 1000
MAX_SPANS = 500
RUNNING = (RedactionStatus.PENDING.value, RedactionStatus.PROCESSING.value)


def get_preview(user: User, clip_id: str) -> ClipFacePreview | None:
    """The uploader's preview (None: never asked for). Other members get 403."""
    access.get_own_clip(user, clip_id, "see where faces are in")
    return db.session.get(ClipFacePreview, clip_id)


def request_preview(user: User, clip_id: str) -> ClipFacePreview:
    """Look for faces in the clip (uploader only), once it is processed. Asking again while
    a run is on its way changes nothing."""
    clip = access.get_own_clip(user, clip_id, "look for faces in")
    if clip.status != ClipStatus.READY.value:
        raise Conflict("Faces can be looked for once the clip is processed.", code="clip_not_ready")
    preview = db.session.get(ClipFacePreview, clip_id)
    if preview is not None and preview.status in RUNNING:
        return preview
    if preview is None:
        preview = ClipFacePreview(clip_id=clip_id, version=0, spans=[], face_count=0)
        db.session.add(preview)
    preview.version += 1
    preview.status = RedactionStatus.PENDING.value
    preview.progress = 0.0
    preview.error = None
    db.session.flush()
    jobs.enqueue_after_commit(FIND_FACES, clip_id, preview.version)
    return preview


def joined_spans(spans: list[tuple[float, float]]) -> list[list[int]]:
    """Detector spans in seconds as stored: milliseconds, near ones joined, at most
    MAX_SPANS (the last one runs to the end of what is left)."""
    joined: list[list[int]] = []
    for start, end in spans:
        start_ms, end_ms = round(start * 1000), round(end * 1000)
        if joined and start_ms - joined[-1][1] < JOIN_GAP_MS:
            joined[-1][1] = max(joined[-1][1], end_ms)
        else:
            joined.append([start_ms, end_ms])
    if len(joined) > MAX_SPANS:
        joined[MAX_SPANS - 1][1] = joined[-1][1]
        del joined[MAX_SPANS:]
    return joined


def preview_json(preview: ClipFacePreview | None) -> dict[str, Any]:
    """The API's shape, in seconds of the lesson as recorded."""
    if preview is None:
        return {"status": None, "progress": None, "error": None, "spans": [], "most_at_once": 0}
    return {
        "status": preview.status,
        "progress": preview.progress,
        "error": preview.error,
        "spans": [{"start": a / 1000, "end": b / 1000} for a, b in preview.spans],
        "most_at_once": preview.face_count,
    }
