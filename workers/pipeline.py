"""The processing chain, as explicit steps recorded on the clip.

probe -> playable (fast-path remux) -> checksum -> transcode with images and
waveform in one ffmpeg process -> images (store them, pick the poster) -> finishing
(store the web rendition, drop the fast-path remux) -> ready. The steps and their shares
of the progress bar are in videocoach/clips/steps.py. Each step is idempotent (it skips
work whose output is already recorded), reports progress on the clip, and can be run
again by a person ("try again"). A job claims the clip with a token and keeps a
heartbeat, so a crashed job's clip is picked up again and two jobs never work
on the same clip at once. The transcode waits for a fair turn (workers/turns.py).
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError

from videocoach import db, transaction
from videocoach.clips import dispatch, files, redaction, steps
from videocoach.clips import services as clips
from videocoach.clips.models import AssetKind, Clip, ClipAsset, ClipStatus
from videocoach.config import current_settings
from videocoach.db import new_id, utcnow
from videocoach.media import commands, frames, progress, storyboard, waveform, webvtt
from videocoach.media.probe import MediaProblem, ProbeFacts, can_remux_for_web, probe_video
from videocoach.notifications import services as notifications
from videocoach.observability import metrics
from videocoach.storage import StorageError, current_storage
from videocoach.storage.base import file_sha256
from workers import turns

log = logging.getLogger(__name__)

# A claim's heartbeat goes stale after settings.job_stale_after; beat well within it.
HEARTBEATS_PER_STALE_PERIOD = 6
PROGRESS_EVERY_S = 1.0
UNEXPECTED = (
    "Something went wrong while preparing this clip. Try again; if it keeps failing, "
    "export the video from your camera app as MP4 and upload that."
)
CONVERSION_FAILED = (
    "We could not convert this video. It may be damaged; try exporting it again as MP4."
)
STORAGE_FAILED = (
    "The server could not save this clip's video files (its storage refused them). "
    "Your administrator can check the storage; then Try again."
)
GAVE_UP = (
    "Processing this clip stopped the server's worker {attempts} times, so it was not tried "
    "again. The file may be too large or damaged: Try again, or export the video again as "
    "MP4 and upload that."
)
# How much lower a long clip's transcode runs in the CPU's order (nice(1)).
LONG_TRANSCODE_NICENESS = 10


class TransientError(Exception):
    """A fault worth retrying: storage or database unreachable for a moment."""


class JobCancelled(Exception):
    """The clip was deleted or claimed by another job while we worked."""


class WaitingTurn(Exception):
    """Not the clip's turn to transcode (workers/turns.py): it was handed back; look at it
    again on `queue` (None: the default queue) in a few seconds."""

    def __init__(self, queue: str | None) -> None:
        super().__init__(queue)
        self.queue = queue


def claim(clip_id: str) -> str | None:
    """Take the clip for this job, unless a live job already holds it or it has used up
    its attempts (each claim is one; a clean release gives it back)."""
    token, now = new_id(), utcnow()
    claimed = db.session.execute(
        update(Clip)
        .where(
            Clip.id == clip_id,
            Clip.status.in_(dispatch.WAITING),
            dispatch.unheld(now),
            Clip.attempts < current_settings().max_attempts,
        )
        .values(
            job_token=token,
            heartbeat_at=now,
            status=ClipStatus.PROCESSING.value,
            attempts=Clip.attempts + 1,
            error=None,
        )
    )
    transaction.commit()
    return token if claimed.rowcount == 1 else None  # type: ignore[attr-defined]


def hand_back(clip_id: str, token: str) -> None:
    """Not the clip's turn: give it back without using an attempt, marked as waiting. The
    heartbeat and hand-over times are fresh, so reconcile leaves it to the job that looks
    at it again, and hands it over itself if that job is lost (after job_stale_after)."""
    db.session.rollback()
    now = utcnow()
    db.session.execute(
        update(Clip)
        .where(Clip.id == clip_id, Clip.job_token == token)
        .values(
            job_token=None,
            attempts=Clip.attempts - 1,
            step=dispatch.WAITING_TURN,
            heartbeat_at=now,
            dispatched_at=now,
        )
    )
    transaction.commit()


def release(clip_id: str, token: str) -> None:
    """Give the clip back (status stays processing) so a retry can claim it at once; an
    attempt that ended cleanly like this does not count against the cap."""
    db.session.rollback()
    db.session.execute(
        update(Clip)
        .where(Clip.id == clip_id, Clip.job_token == token)
        .values(job_token=None, attempts=Clip.attempts - 1)
    )
    transaction.commit()


class Reporter:
    """Writes step and progress to the clip, at most once a second, and checks the claim.

    `fraction` is how far the step itself is (0..1); the clip's progress is its place on
    the whole bar (steps.overall), which never goes back within a job."""

    def __init__(self, clip_id: str, token: str, *, floor: float = 0.0):
        self.clip_id, self.token = clip_id, token
        self._last = 0.0
        self._highest = floor
        self.step = "probe"  # from the claim: fetch the original, probe it
        self._step_started = time.monotonic()

    def __call__(self, step: str, fraction: float, *, force: bool = False) -> None:
        now = time.monotonic()
        if step != self.step:
            self.step_done()
            self.step, self._step_started = step, now
            force = True  # a new step shows at once
        if not force and now - self._last < PROGRESS_EVERY_S:
            return
        self._last = now
        self._highest = max(self._highest, round(steps.overall(step, fraction), 4))
        with transaction.separate_transaction() as connection:
            result = connection.execute(
                update(Clip)
                .where(Clip.id == self.clip_id, Clip.job_token == self.token)
                .values(step=step, progress=self._highest, heartbeat_at=utcnow())
            )
        if result.rowcount != 1:
            raise JobCancelled()

    def step_done(self) -> None:
        """The step under way has ended: its time goes into the metrics."""
        metrics.step_took(self.step, time.monotonic() - self._step_started)
        self._step_started = time.monotonic()

    def of(self, step: str) -> Callable[[float], None]:
        """A progress callback for step `step` (ffmpeg's fractions)."""
        return lambda fraction: self(step, fraction)


@contextmanager
def heartbeat(clip_id: str, token: str) -> Iterator[None]:
    """Beat while long silent work (uploads to S3, OpenCV) runs, so the claim stays fresh."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    every_s = current_settings().job_stale_after.total_seconds() / HEARTBEATS_PER_STALE_PERIOD
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(every_s):
            try:
                with transaction.separate_transaction(app) as connection:
                    connection.execute(
                        update(Clip)
                        .where(Clip.id == clip_id, Clip.job_token == token)
                        .values(heartbeat_at=utcnow())
                    )
            except OperationalError:
                log.warning("heartbeat for clip %s failed; will try again", clip_id)

    thread = threading.Thread(target=beat, name=f"heartbeat-{clip_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


def process_clip(clip_id: str) -> bool:
    """Run every step that is not done yet. Raises TransientError to ask for a retry.

    Returns False when another job holds the clip with a fresh heartbeat: ask again once
    that heartbeat could have gone stale (a worker restarted right after a crash must not
    give up on the clip the crash interrupted). Raises WaitingTurn when the clip's transcode
    has to wait for its turn.
    """
    token = claim(clip_id)
    if token is None:
        return _not_claimed(clip_id)
    scratch = files.scratch_dir(current_settings().data_dir, clip_id)
    shutil.rmtree(scratch, ignore_errors=True)  # what an interrupted attempt left
    report = Reporter(clip_id, token, floor=_progress_so_far(clip_id))
    outcome = "failed"
    try:
        scratch.mkdir(parents=True)
        with heartbeat(clip_id, token):
            run_steps(clip_id, report, scratch)
        outcome = "ready"
    except JobCancelled:
        log.info("clip %s was deleted or taken over; stopping", clip_id)
        outcome = "cancelled"
        forget_if_deleted(clip_id)
    except turns.NotYourTurn as wait:
        log.info("clip %s waits for its turn to transcode: %s", clip_id, wait)
        outcome = "waiting_turn"
        hand_back(clip_id, token)
        raise WaitingTurn(wait.queue) from None
    except MediaProblem as problem:
        fail(clip_id, token, problem.sentence, can_retry=False)
    except (progress.FfmpegFailed, progress.FfmpegTimeout) as error:
        log.warning("ffmpeg failed on clip %s: %s", clip_id, error)
        fail(clip_id, token, CONVERSION_FAILED)
    except (StorageError, OperationalError) as error:
        log.warning("transient fault on clip %s: %s", clip_id, error)
        outcome = "retried"
        release(clip_id, token)
        raise TransientError(str(error)) from error
    except OSError:
        log.exception("could not write the files of clip %s", clip_id)
        fail(clip_id, token, STORAGE_FAILED)
    except Exception:
        log.exception("unexpected failure on clip %s", clip_id)
        fail(clip_id, token, UNEXPECTED)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        report.step_done()
        metrics.job_ended(report.step, outcome)
    return True


def _progress_so_far(clip_id: str) -> float:
    """Where a clip handed back to wait for its turn had got: its bar does not go back
    while the next job quickly redoes the probe. Any other claim starts from the start."""
    clip = db.session.get(Clip, clip_id)
    return clip.progress if clip is not None and clip.step == dispatch.WAITING_TURN else 0.0


def _not_claimed(clip_id: str) -> bool:
    """Why claim() said no: done, gone, held by a live job, or out of attempts."""
    db.session.rollback()
    clip = db.session.get(Clip, clip_id)
    if clip is None or clip.status not in dispatch.WAITING:
        log.info("clip %s is finished or gone; nothing to do", clip_id)
        return True
    unheld = db.session.scalar(select(Clip.id).where(Clip.id == clip_id, dispatch.unheld(utcnow())))
    if unheld and clip.attempts >= current_settings().max_attempts:
        log.error("clip %s stopped its worker %d times; giving up", clip_id, clip.attempts)
        fail(clip_id, None, GAVE_UP.format(attempts=clip.attempts))
        return True
    log.info("clip %s is held by another job; will look again", clip_id)
    return False


def forget_if_deleted(clip_id: str) -> None:
    """A clip deleted while its job ran: remove what the job stored after the deletion."""
    db.session.rollback()
    if db.session.get(Clip, clip_id) is None:
        current_storage().delete_prefix(files.clip_prefix(clip_id))


def fail(clip_id: str, token: str | None, sentence: str, *, can_retry: bool = True) -> None:
    """The clip failed: a sentence for a person, and whether "Try again" can help."""
    db.session.rollback()
    condition = [Clip.id == clip_id]
    if token is not None:
        condition.append(Clip.job_token == token)
    result = db.session.execute(
        update(Clip)
        .where(*condition)
        .values(
            status=ClipStatus.FAILED.value,
            error=sentence,
            can_retry=can_retry,
            job_token=None,
            step=None,
        )
    )
    transaction.commit()
    if result.rowcount:  # type: ignore[attr-defined]
        notify_uploader(clip_id, ready=False)


def run_steps(clip_id: str, report: Reporter, work: Path) -> None:
    clip = db.session.get(Clip, clip_id)
    if clip is None:
        raise JobCancelled()
    settings = current_settings()
    with ExitStack() as turn:
        # Probed on an earlier run (it waited for its turn, or failed later): take the turn
        # before fetching the original again, which from S3 means downloading it.
        has_turn = clip.duration_ms is not None and not has_asset(clip, AssetKind.WEB)
        if has_turn:
            turn.enter_context(turns.transcode_turn(clip))
        source = original_file(clip, work)
        facts = step_probe(clip, source, settings.ffprobe_binary, settings.max_clip_duration_s)
        report("probe", 1.0, force=True)
        if can_remux_for_web(facts) and not has_asset(clip, AssetKind.PLAYABLE, AssetKind.WEB):
            step_fast_path(clip, source, facts, work, report)
        report("checksum", 0.0, force=True)
        step_checksum(clip, source)
        report("checksum", 1.0, force=True)
        if not has_asset(clip, AssetKind.WEB):
            if not has_turn:
                turn.enter_context(turns.transcode_turn(clip))
            step_transcode(clip, source, facts, work, report)
    report("finishing", 0.5, force=True)
    step_drop_quick_copy(clip)
    clip.status = ClipStatus.READY.value
    clip.progress = 1.0
    clip.step = None
    clip.job_token = None
    clip.ready_at = utcnow()
    clip.playable_at = clip.playable_at or clip.ready_at
    redaction.request_render(clip)  # asked for while the clip was processed
    transaction.commit()
    log.info("clip %s is ready", clip_id)
    notify_uploader(clip_id, ready=True)


def notify_uploader(clip_id: str, *, ready: bool) -> None:
    """Tell the uploader the clip is ready or failed (after the status is committed)."""
    notifications.clip_processed(clip_id, ready=ready)
    transaction.commit()


def original_file(clip: Clip, work: Path) -> Path:
    storage = current_storage()
    key = files.key(clip.id, files.ORIGINAL)
    local = storage.local_path(key)
    return local if local is not None else storage.fetch_to(key, work / "original")


def has_asset(clip: Clip, *kinds: AssetKind) -> bool:
    wanted = {kind.value for kind in kinds}
    return any(asset.kind in wanted for asset in clip.assets)


def record_asset(
    clip: Clip,
    kind: AssetKind,
    name: str,
    path: Path,
    content_type: str,
    *,
    label: str | None = None,
    key: str | None = None,
) -> None:
    """Store a finished file under the clip's prefix and note it (replacing a same-named
    one). `key`: where it is stored, when not at its name (a redaction's files)."""
    key = key or files.key(clip.id, name)
    stored = current_storage().put_file(key, path, content_type, move=True, checksum=False)
    existing = db.session.scalars(
        select(ClipAsset).where(ClipAsset.clip_id == clip.id, ClipAsset.name == name)
    ).first()
    if existing is None:
        existing = ClipAsset(clip_id=clip.id, name=name, key=key)
        clip.assets.append(existing)
    existing.kind = kind.value
    existing.size = stored.size
    existing.sha256 = stored.sha256
    existing.content_type = content_type
    existing.label = label


def step_probe(clip: Clip, source: Path, ffprobe: str, max_duration_s: float) -> ProbeFacts:
    clip.step = "probe"
    facts = probe_video(source, max_duration_s=max_duration_s, ffprobe=ffprobe)
    clip.duration_ms = round((facts.duration_s or 0) * 1000)
    clip.width, clip.height = facts.display_width, facts.display_height
    clip.fps = facts.fps
    clip.video_codec = facts.video_codec
    clip.audio_codec = facts.audio_codec
    clip.rotation = facts.rotation
    transaction.commit()
    return facts


def step_fast_path(
    clip: Clip, source: Path, facts: ProbeFacts, work: Path, report: Reporter
) -> None:
    """H.264 + AAC from a phone: copy the streams with faststart; playable in seconds."""
    ffmpeg = current_settings().ffmpeg_binary
    playable = work / "playable.mp4"
    report("playable", 0.0, force=True)
    progress.run_ffmpeg(
        commands.remux_args(source, playable, facts, ffmpeg=ffmpeg),
        timeout_s=ffmpeg_time_limit(facts, speed=20),
        on_progress=report.of("playable"),
        duration_s=facts.duration_s,
    )
    record_asset(clip, AssetKind.PLAYABLE, files.PLAYABLE, playable, "video/mp4")
    clip.playable_at = utcnow()
    transaction.commit()
    # A first poster by input seeking (fractions of a second); the transcode picks a better one.
    early = work / "poster-early.jpg"
    try:
        progress.run_ffmpeg(
            commands.poster_seek_args(
                source, early, (facts.duration_s or 0) * 0.1, facts, ffmpeg=ffmpeg
            ),
            timeout_s=60,
            on_progress=None,
            duration_s=None,
        )
    except (progress.FfmpegFailed, progress.FfmpegTimeout):
        log.info("no early poster for clip %s", clip.id)
        return
    if early.exists() and early.stat().st_size:
        record_asset(clip, AssetKind.POSTER, files.POSTER, early, "image/jpeg")
        transaction.commit()


def step_checksum(clip: Clip, source: Path) -> None:
    original = next(a for a in clip.assets if a.kind == AssetKind.ORIGINAL.value)
    if original.sha256 is None:
        original.sha256 = file_sha256(source)
        original.size = source.stat().st_size
    clip.original_sha256 = original.sha256
    clip.original_size = original.size
    transaction.commit()


def ffmpeg_time_limit(facts: ProbeFacts, speed: float) -> float:
    """Generous: `speed` is how many times faster than real time the run should be at worst."""
    return max(120.0, (facts.duration_s or 0) / speed * 10 + 60)


def step_transcode(
    clip: Clip, source: Path, facts: ProbeFacts, work: Path, report: Reporter
) -> None:
    """One ffmpeg process: web rendition, storyboard sheets, poster candidates, waveform."""
    settings = current_settings()
    duration = facts.duration_s or 0.0
    max_height = settings.rendition_max_height
    width, height = commands.rendition_size(facts, max_height)
    layout = commands.storyboard_layout(duration, width, height)
    out = work / "out"
    out.mkdir(exist_ok=True)
    report("transcode", 0.0, force=True)
    track, bytes_per_second = commands.progress_track(out, facts)
    progress.run_ffmpeg(
        commands.transcode_args(
            source, out, facts, layout, max_height=max_height, ffmpeg=settings.ffmpeg_binary
        ),
        timeout_s=ffmpeg_time_limit(facts, speed=0.25),
        on_progress=report.of("transcode"),
        duration_s=duration,
        # A short clip's job on the same machine gets the CPU first; alone, nothing changes.
        niceness=LONG_TRANSCODE_NICENESS if dispatch.is_long(clip) else 0,
        # ffmpeg's own report waits for the first storyboard sheet (commands.progress_track).
        position_s=progress.growing_file_position(track, bytes_per_second),
    )
    # Storing the sheets, picking the poster, the waveform and the captions: "images".
    # Each part is committed before the next report: the report writes through a connection
    # of its own, which an uncommitted change to the clip would block.
    report("images", 0.0, force=True)

    def stored(fraction: float) -> None:
        transaction.commit()
        report("images", fraction)

    record_derived_files(clip, out, layout, duration, stored=stored)
    step_captions(clip, source, facts, out)
    transaction.commit()
    # Storing the web rendition (an upload to S3 can take a while): "finishing".
    report("finishing", 0.0, force=True)
    web = out / commands.WEB_RENDITION
    record_asset(clip, AssetKind.WEB, files.WEB, web, "video/mp4")
    transaction.commit()
    shutil.rmtree(out, ignore_errors=True)


def record_derived_files(
    clip: Clip,
    out: Path,
    layout: commands.StoryboardLayout,
    duration: float,
    *,
    key: Callable[[str], str] | None = None,
    stored: Callable[[float], None] | None = None,
) -> None:
    """Record what transcode_args made beside the video: storyboard sheets and their VTT,
    the best poster, the waveform. `key(name)`: where each is stored, when not at its name;
    `stored(fraction)` after each part (the pipeline commits and reports there)."""

    def keep(kind: AssetKind, name: str, path: Path, content_type: str) -> None:
        record_asset(clip, kind, name, path, content_type, key=key(name) if key else None)

    def part_done(fraction: float) -> None:
        if stored is not None:
            stored(fraction)

    sheets = [sheet for sheet in commands.storyboard_sheet_paths(out, layout) if sheet.exists()]
    for index, sheet in enumerate(sheets):
        keep(AssetKind.STORYBOARD_SHEET, files.storyboard_sheet(index), sheet, "image/jpeg")
    clip.storyboard_interval_s = layout.interval_s
    clip.storyboard_thumb_w, clip.storyboard_thumb_h = layout.thumb_w, layout.thumb_h
    clip.storyboard_columns, clip.storyboard_rows = layout.columns, layout.rows
    vtt = out / "storyboard.vtt"
    vtt.write_text(storyboard.storyboard_vtt(layout, duration, files.storyboard_sheet))
    keep(AssetKind.STORYBOARD_VTT, files.STORYBOARD, vtt, "text/vtt")
    part_done(0.4)
    candidates = commands.poster_candidate_paths(out)
    if candidates:
        keep(AssetKind.POSTER, files.POSTER, frames.pick_poster(candidates), "image/jpeg")
    part_done(0.6)
    peaks_file = out / "waveform.json"
    pcm = out / commands.WAVEFORM_PCM
    if pcm.exists():
        peaks = waveform.waveform_peaks(pcm, duration_s=duration)
        peaks["has_audio"] = True
    else:
        length = max(1, math.ceil(duration * 10))
        peaks = {
            "version": 1,
            "peaks_per_second": 10,
            "length": length,
            "data": [0] * length,
            "has_audio": False,
        }
    peaks_file.write_text(json.dumps(peaks, separators=(",", ":")))
    keep(AssetKind.WAVEFORM, files.WAVEFORM, peaks_file, "application/json")
    part_done(0.8)


def step_drop_quick_copy(clip: Clip) -> None:
    """After the commit that recorded the web rendition: the fast path's remux goes."""
    clips.drop_replaced_quick_copy(clip)


def step_captions(clip: Clip, source: Path, facts: ProbeFacts, out: Path) -> None:
    """Text subtitle tracks (phone apps, screen recorders) become WebVTT caption tracks."""
    args = commands.captions_args(source, out, facts, ffmpeg=current_settings().ffmpeg_binary)
    if not args:
        return
    try:
        progress.run_ffmpeg(args, timeout_s=300, on_progress=None, duration_s=None)
    except (progress.FfmpegFailed, progress.FfmpegTimeout) as error:
        log.warning("captions of clip %s could not be converted: %s", clip.id, error)
        return  # captions are a bonus: the clip is still worth watching without them
    for track, (file_name, language, label) in enumerate(commands.caption_file_names(facts)):
        made = out / file_name
        if made.exists():
            # ffmpeg copies the text as it is: a "<" or "-->" in it would cut the cue short.
            text = made.read_text(encoding="utf-8", errors="replace")
            made.write_text(webvtt.repair_captions(text), encoding="utf-8")
            name = files.caption_name(track, language)
            record_asset(clip, AssetKind.CAPTIONS, name, made, "text/vtt", label=label)
