"""The redaction job: make what the partnership may see, then make it the clip's files.

From the unredacted web rendition (upright, H.264, always kept), one render blurs faces
and areas, cuts the ends and silences the muted parts (videocoach.media.redaction); one
decode of that render makes its poster, storyboard and waveform; the caption tracks are
cut to match. Then, in one commit: the first time, the clip's unredacted files are
renamed under files.UNREDACTED_DIR (their storage keys stay), later renders replace the
previous redacted files; the clip's facts (length, storyboard layout) become the
render's; comment times move with the start of the shared part, and comments left
outside it are marked for their authors. Settings that hide nothing bring the unredacted
files back the same way.

A render whose settings were changed meanwhile is thrown away: the newer settings have a
job of their own.
"""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path
from typing import Any

from sqlalchemy import delete, or_, update

from videocoach import db, live, transaction
from videocoach.clips import files
from videocoach.clips import redaction as clip_redaction
from videocoach.clips.models import (
    AssetKind,
    Clip,
    ClipAsset,
    ClipFacePreview,
    ClipRedaction,
    ClipStatus,
    RedactionStatus,
)
from videocoach.comments.models import Comment
from videocoach.config import current_settings
from videocoach.media import commands, progress, webvtt
from videocoach.media.probe import probe
from videocoach.media.redaction import (
    BlurRegion,
    InvalidRedaction,
    RedactionSettings,
    render_redacted,
)
from videocoach.storage import current_storage
from workers import pipeline

log = logging.getLogger(__name__)
# The files a rendition is made of (not the original, nor the fast path's quick copy).
RENDITION_KINDS = {
    AssetKind.WEB.value,
    AssetKind.POSTER.value,
    AssetKind.STORYBOARD_VTT.value,
    AssetKind.STORYBOARD_SHEET.value,
    AssetKind.WAVEFORM.value,
    AssetKind.CAPTIONS.value,
}
# Of the job's progress: the render, then the images and waveform of what it made.
RENDERED = 0.85
PROGRESS_EVERY_S = 1.0
LAYOUT_FACTS = (
    "duration_ms",
    "storyboard_interval_s",
    "storyboard_thumb_w",
    "storyboard_thumb_h",
    "storyboard_columns",
    "storyboard_rows",
)


def redact_clip(clip_id: str, version: int) -> None:
    """Render redaction `version` of the clip, unless it was replaced or is done."""
    clip = db.session.get(Clip, clip_id)
    redaction = clip.redaction if clip is not None else None
    if clip is None or redaction is None or redaction.version != version:
        log.info("clip %s: redaction %d was replaced or removed; nothing to do", clip_id, version)
        return
    if redaction.status == RedactionStatus.READY.value:
        return
    if clip.status != ClipStatus.READY.value:
        log.info("clip %s: redaction waits for the clip to be ready", clip_id)
        return  # the pipeline asks again once it is (clips.redaction.request_render)
    redaction.status = RedactionStatus.PROCESSING.value
    redaction.progress = 0.0
    transaction.commit()
    scratch = files.scratch_dir(current_settings().data_dir, clip_id) / f"redaction-{version}"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    try:
        _render_and_show(clip, version, scratch)
    except InvalidRedaction as problem:
        _failed(clip_id, version, str(problem))
    except (progress.FfmpegFailed, progress.FfmpegTimeout) as error:
        log.warning("the redaction of clip %s failed in ffmpeg: %s", clip_id, error)
        _failed(clip_id, version, clip_redaction.FAILED)
    except Exception:
        log.exception("the redaction of clip %s failed", clip_id)
        _failed(clip_id, version, clip_redaction.FAILED)
        raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _failed(clip_id: str, version: int, sentence: str) -> None:
    db.session.rollback()
    db.session.execute(
        update(ClipRedaction)
        .where(ClipRedaction.clip_id == clip_id, ClipRedaction.version == version)
        .values(status=RedactionStatus.FAILED.value, error=sentence)
    )
    transaction.commit()


def unredacted_assets(clip: Clip) -> list[ClipAsset]:
    """The files of the unredacted rendition, wherever they are now."""
    first = clip.redaction is None or clip.redaction.unredacted_facts is None
    return [
        asset
        for asset in clip.assets
        if asset.kind in RENDITION_KINDS and files.is_unredacted(asset) != first
    ]


def _render_and_show(clip: Clip, version: int, scratch: Path) -> None:
    redaction = clip.redaction
    assert redaction is not None
    settings = current_settings()
    storage = current_storage()
    unredacted = {_shown_name(asset): asset for asset in unredacted_assets(clip)}
    if not clip_redaction.hides_anything(redaction):
        _show_unredacted(clip, version)
        return
    web = unredacted[files.WEB]
    source = storage.local_path(web.key) or storage.fetch_to(web.key, scratch / "source.mp4")
    facts = probe(source, settings.ffprobe_binary)
    media = clip_redaction.media_settings(redaction)
    chosen = RedactionSettings(
        blur_faces=media["blur_faces"],
        regions=tuple(BlurRegion(*region) for region in media["regions"]),
        trim_start_s=media["trim_start_s"],
        trim_end_s=media["trim_end_s"],
        mute=media["mute"],
    )
    report = RowProgress(ClipRedaction, clip.id, version)
    rendered = scratch / commands.WEB_RENDITION
    render_redacted(
        source,
        rendered,
        chosen,
        facts=facts,
        timeout_s=pipeline.ffmpeg_time_limit(facts, speed=0.1),
        on_progress=lambda fraction: report(fraction * RENDERED),
        ffmpeg=settings.ffmpeg_binary,
        ffprobe=settings.ffprobe_binary,
    )
    start_s, end_s = chosen.kept(facts.duration_s or 0.0)
    shared = probe(rendered, settings.ffprobe_binary)
    duration = shared.duration_s or (end_s - start_s)
    out = scratch / "out"
    out.mkdir()
    width, height = commands.rendition_size(shared, settings.rendition_max_height)
    layout = commands.storyboard_layout(duration, width, height)
    progress.run_ffmpeg(
        commands.transcode_args(
            rendered, out, shared, layout, ffmpeg=settings.ffmpeg_binary, web_rendition=False
        ),
        timeout_s=pipeline.ffmpeg_time_limit(shared, speed=1),
        on_progress=lambda fraction: report(RENDERED + fraction * (1 - RENDERED)),
        duration_s=duration,
    )
    captions = _cut_captions(unredacted, out, start_s, end_s, media["mute"])
    _show_redacted(clip, version, rendered, out, layout, duration, captions, start_s)


def _shown_name(asset: ClipAsset) -> str:
    return asset.name.removeprefix(files.UNREDACTED_DIR)


def _cut_captions(
    unredacted: dict[str, ClipAsset],
    out: Path,
    start_s: float,
    end_s: float,
    mute: tuple[tuple[float, float], ...],
) -> list[tuple[ClipAsset, Path]]:
    storage = current_storage()
    cut: list[tuple[ClipAsset, Path]] = []
    for asset in unredacted.values():
        if asset.kind != AssetKind.CAPTIONS.value:
            continue
        with storage.open(asset.key) as handle:
            text = handle.read().decode("utf-8", errors="replace")
        path = out / f"captions-{len(cut)}.vtt"
        path.write_text(webvtt.cut_captions(text, start_s, end_s, list(mute)), encoding="utf-8")
        cut.append((asset, path))
    return cut


def _still_wanted(clip: Clip, version: int) -> bool:
    """Re-read: the uploader may have changed the settings while this job rendered."""
    db.session.expire_all()
    return clip.redaction is not None and clip.redaction.version == version


def _commit_if_still(version: int, statement: Any) -> bool:
    """Run the statement that finishes the job on the redaction row, if it still has
    `version` (checked in the same UPDATE or DELETE, so a PUT that came in since keeps its
    pending state and its own job), then commit; else undo everything."""
    done = db.session.execute(statement.where(ClipRedaction.version == version)).rowcount
    if not done:
        db.session.rollback()
        log.info("redaction %d was replaced while it rendered; its render is dropped", version)
        return False
    transaction.commit()
    return True


def _show_redacted(
    clip: Clip,
    version: int,
    rendered: Path,
    out: Path,
    layout: commands.StoryboardLayout,
    duration: float,
    captions: list[tuple[ClipAsset, Path]],
    start_s: float,
) -> None:
    if not _still_wanted(clip, version):
        log.info("clip %s: redaction %d was replaced while it rendered", clip.id, version)
        return
    redaction = clip.redaction
    assert redaction is not None
    replaced: list[str] = []
    if redaction.unredacted_facts is None:
        redaction.unredacted_facts = {fact: getattr(clip, fact) for fact in LAYOUT_FACTS}
        for asset in _shown_renditions(clip):
            asset.name = files.unredacted_name(asset.name)
    else:
        for asset in _shown_renditions(clip):
            replaced.append(asset.key)
            clip.assets.remove(asset)
    db.session.flush()

    def key(name: str) -> str:
        return files.redacted_key(clip.id, version, name)

    pipeline.record_derived_files(clip, out, layout, duration, key=key)
    for source, path in captions:
        name = _shown_name(source)
        pipeline.record_asset(
            clip, AssetKind.CAPTIONS, name, path, "text/vtt", label=source.label, key=key(name)
        )
    pipeline.record_asset(clip, AssetKind.WEB, files.WEB, rendered, "video/mp4", key=key(files.WEB))
    clip.duration_ms = round(duration * 1000)
    start_ms = round(start_s * 1000)
    _move_comments(clip, redaction.shown_start_ms - start_ms)
    shown = (
        update(ClipRedaction)
        .where(ClipRedaction.clip_id == clip.id)
        .values(
            status=RedactionStatus.READY.value,
            progress=1.0,
            error=None,
            shown_start_ms=start_ms,
            unredacted_facts=redaction.unredacted_facts,
        )
    )
    if not _commit_if_still(version, shown):
        return
    _delete_objects(replaced)
    live.announce(live.clip_topic(clip.id), "access_changed", {})
    log.info("clip %s: redaction %d is what the partnership sees", clip.id, version)


def _show_unredacted(clip: Clip, version: int) -> None:
    """Settings that hide nothing: the unredacted files are the clip's again."""
    if not _still_wanted(clip, version):
        return
    redaction = clip.redaction
    assert redaction is not None
    replaced = []
    for asset in _shown_renditions(clip):
        replaced.append(asset.key)
        clip.assets.remove(asset)
    db.session.flush()
    for asset in clip.assets:
        if files.is_unredacted(asset):
            asset.name = _shown_name(asset)
    for fact, value in (redaction.unredacted_facts or {}).items():
        setattr(clip, fact, value)
    _move_comments(clip, redaction.shown_start_ms)
    db.session.flush()
    db.session.expunge(redaction)  # the DELETE below removes its row, if it still may
    if not _commit_if_still(version, delete(ClipRedaction).where(ClipRedaction.clip_id == clip.id)):
        return
    _delete_objects(replaced)
    live.announce(live.clip_topic(clip.id), "access_changed", {})
    log.info("clip %s: nothing is hidden any more", clip.id)


def _shown_renditions(clip: Clip) -> list[ClipAsset]:
    return [
        asset
        for asset in clip.assets
        if asset.kind in RENDITION_KINDS and not files.is_unredacted(asset)
    ]


def _move_comments(clip: Clip, shift: int) -> None:
    """Comment times follow the start of what is shown (`shift` ms later in it); those it
    no longer shows are kept, marked for their authors."""
    if shift:
        db.session.execute(
            update(Comment)
            .where(Comment.clip_id == clip.id)
            .values(
                t_start_ms=Comment.t_start_ms + shift,
                t_end_ms=Comment.t_end_ms + shift,
            )
        )
    length = clip.duration_ms or 0
    db.session.execute(
        update(Comment)
        .where(Comment.clip_id == clip.id)
        .values(outside_shared=or_(Comment.t_start_ms < 0, Comment.t_start_ms > length))
    )


def _delete_objects(keys: list[str]) -> None:
    storage = current_storage()
    for key in keys:
        storage.delete(key)


class RowProgress:
    """A job's progress on its row (a redaction or a face preview), at most once a second,
    while the row still has the job's version."""

    def __init__(self, model: type[ClipRedaction | ClipFacePreview], clip_id: str, version: int):
        self.model = model
        self.clip_id = clip_id
        self.version = version
        self.last = 0.0

    def __call__(self, fraction: float) -> None:
        now = time.monotonic()
        if now - self.last < PROGRESS_EVERY_S:
            return
        self.last = now
        db.session.execute(
            update(self.model)
            .where(self.model.clip_id == self.clip_id, self.model.version == self.version)
            .values(progress=min(1.0, max(0.0, fraction)))
        )
        transaction.commit()
