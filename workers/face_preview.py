"""The face preview job: where the detector the render blurs with sees faces in the
lesson as recorded (videocoach.clips.face_preview), for the uploader's timeline.

It decodes the unredacted web rendition once, at the detector's size, and runs the same
detection and tracking as the render (videocoach.media.faces.detect_faces), so a span on
the preview is where "Blur every face" will blur.
"""

from __future__ import annotations

import logging
import shutil

from sqlalchemy import update

from videocoach import db, transaction
from videocoach.clips import face_preview, files
from videocoach.clips.models import AssetKind, Clip, ClipFacePreview, RedactionStatus
from videocoach.config import current_settings
from videocoach.media import progress
from videocoach.media.faces import ModelMissing, detect_faces
from videocoach.media.probe import probe
from videocoach.storage import current_storage
from workers import pipeline
from workers.redaction import RowProgress, unredacted_assets

log = logging.getLogger(__name__)


def find_faces(clip_id: str, version: int) -> None:
    """Run preview request `version` of the clip, unless a newer one replaced it."""
    preview = db.session.get(ClipFacePreview, clip_id)
    clip = db.session.get(Clip, clip_id)
    if clip is None or preview is None or preview.version != version:
        log.info("clip %s: face preview %d was replaced or removed", clip_id, version)
        return
    if preview.status not in face_preview.RUNNING:
        return
    preview.status = RedactionStatus.PROCESSING.value
    transaction.commit()
    settings = current_settings()
    scratch = files.scratch_dir(settings.data_dir, clip_id) / f"faces-{version}"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    try:
        web = next(a for a in unredacted_assets(clip) if a.kind == AssetKind.WEB.value)
        storage = current_storage()
        source = storage.local_path(web.key) or storage.fetch_to(web.key, scratch / "source.mp4")
        facts = probe(source, settings.ffprobe_binary)
        timeline = detect_faces(
            source,
            facts,
            timeout_s=pipeline.ffmpeg_time_limit(facts, speed=0.2),
            on_progress=RowProgress(ClipFacePreview, clip_id, version),
            ffmpeg=settings.ffmpeg_binary,
        )
    except (progress.FfmpegFailed, progress.FfmpegTimeout, ModelMissing, StopIteration) as error:
        log.warning("clip %s: faces could not be looked for: %s", clip_id, error)
        _finish(clip_id, version, status=RedactionStatus.FAILED.value, error=face_preview.FAILED)
        return
    except Exception:
        log.exception("clip %s: the face preview failed", clip_id)
        _finish(clip_id, version, status=RedactionStatus.FAILED.value, error=face_preview.FAILED)
        raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    spans = face_preview.joined_spans(timeline.spans())
    most = max((len(boxes) for boxes in timeline.frames), default=0)
    _finish(
        clip_id,
        version,
        status=RedactionStatus.READY.value,
        progress=1.0,
        spans=spans,
        face_count=most,
    )
    log.info("clip %s: faces in view over %d spans", clip_id, len(spans))


def _finish(clip_id: str, version: int, **values: object) -> None:
    """Store the result, unless a newer request replaced this run meanwhile."""
    db.session.rollback()
    db.session.execute(
        update(ClipFacePreview)
        .where(ClipFacePreview.clip_id == clip_id, ClipFacePreview.version == version)
        .values(**values)
    )
    transaction.commit()
