"""What a clip's uploader hides before anyone else sees it: faces, areas of the picture,
the ends of the lesson, moments of sound (issue 14).

The uploader saves the settings; a worker renders the redacted rendition (workers/
redaction.py) and then, in one commit, makes it the clip's files (video, poster,
storyboard, waveform, captions), keeps the unredacted rendition under
`files.UNREDACTED_DIR` for the uploader alone, and moves comment times to the new
rendition. Until a render is ready, nobody but the uploader sees the clip's media: the
clip reads as processing to them (`hides_media`). Every media URL goes through
clips.services.find_media, which asks the same question.

Times are stored in milliseconds of the lesson as recorded (the unredacted rendition);
the API speaks seconds.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from videocoach import access, db, jobs, live
from videocoach.accounts.models import User
from videocoach.clips import files
from videocoach.clips.models import (
    AssetKind,
    Clip,
    ClipAsset,
    ClipRedaction,
    ClipStatus,
    RedactionStatus,
)
from videocoach.errors import Invalid

log = logging.getLogger(__name__)

# The worker's task (workers/tasks.py registers it under this name).
REDACT_CLIP = "videocoach.redact_clip"
# Enough for any lesson a person edits by hand; more is a script, not a teacher.
MAX_RANGES = 200
MIN_SHARED_MS = 500
HIDDEN_STATUSES = (
    RedactionStatus.PENDING.value,
    RedactionStatus.PROCESSING.value,
    RedactionStatus.FAILED.value,
)
SETTINGS = ("blur_faces", "trim_start_ms", "trim_end_ms", "mute", "blur_regions")
FAILED = "The shared version could not be made. Save the settings again to try again."


def hides_media(clip: Clip, user: User) -> bool:
    """Whether `user` must not get any of the clip's media now: a redaction the uploader
    asked for is not rendered yet (or failed), so what is stored may still show what they
    want hidden."""
    redaction = clip.redaction
    return (
        redaction is not None
        and redaction.status in HIDDEN_STATUSES
        and user.id != clip.uploaded_by_id
    )


def hides_file(clip: Clip, asset: ClipAsset, user: User) -> bool:
    """Whether the file must not reach `user`: to everyone but the uploader, a redacted
    clip's unredacted files and its original do not exist, nor, until a render is ready,
    any of its files."""
    if clip.redaction is None or user.id == clip.uploaded_by_id:
        return False
    unredacted = files.is_unredacted(asset) or asset.kind == AssetKind.ORIGINAL.value
    return unredacted or hides_media(clip, user)


def status(clip: Clip) -> str | None:
    """The clip's `redaction_status`: None when the uploader never asked for one."""
    return None if clip.redaction is None else clip.redaction.status


def shown_status(clip: Clip, user: User) -> str:
    """The clip's status as `user` sees it: processing while its redaction hides it."""
    if hides_media(clip, user) and clip.status == ClipStatus.READY.value:
        return ClipStatus.PROCESSING.value
    return clip.status


def get_settings(user: User, clip_id: str) -> ClipRedaction | None:
    """The uploader's settings (None: nothing hidden). Other members get 403."""
    return access.get_own_clip(user, clip_id, "see what is hidden in").redaction


def settings_json(redaction: ClipRedaction | None) -> dict[str, Any]:
    """The API's shape, in seconds: what PUT takes, plus the status."""
    if redaction is None:
        return {
            "blur_faces": False,
            "trim": None,
            "mute": [],
            "blur_regions": [],
            "status": None,
            "progress": None,
            "error": None,
        }
    trim = None
    if redaction.trim_start_ms is not None or redaction.trim_end_ms is not None:
        trim = [_s(redaction.trim_start_ms or 0), _s(redaction.trim_end_ms)]
    return {
        "blur_faces": redaction.blur_faces,
        "trim": trim,
        "mute": [[_s(a), _s(b)] for a, b in redaction.mute],
        "blur_regions": [
            {
                "t_start": _s(region["t_start_ms"]),
                "t_end": _s(region["t_end_ms"]),
                **{side: region[side] for side in ("x", "y", "w", "h")},
            }
            for region in redaction.blur_regions
        ],
        "status": redaction.status,
        "progress": redaction.progress,
        "error": redaction.error,
    }


def _s(ms: int | None) -> float | None:
    return None if ms is None else ms / 1000


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def save_settings(user: User, clip_id: str, body: dict[str, Any]) -> ClipRedaction | None:
    """Replace the clip's redaction (uploader only) and ask for a new shared rendition.

    Settings that hide nothing remove the redaction: at once if none was ever rendered,
    else by a render that brings the unredacted files back."""
    clip = access.get_own_clip(user, clip_id, "change what is hidden in")
    wanted = _parse(body, clip.duration_ms)
    redaction = clip.redaction
    if not _hides_anything(wanted) and (redaction is None or _never_rendered(redaction)):
        if redaction is not None:
            clip.redaction = None
            db.session.flush()
        return None
    if redaction is None:
        redaction = ClipRedaction(clip_id=clip.id, version=0, shown_start_ms=0)
        clip.redaction = redaction
    for column, value in wanted.items():
        setattr(redaction, column, value)
    redaction.version += 1
    redaction.status = RedactionStatus.PENDING.value
    redaction.error = None
    db.session.flush()
    if clip.status == ClipStatus.READY.value:
        request_render(clip)
    # Members' pages hide the media from now on; their open pages hear it at once.
    live.announce(live.clip_topic(clip.id), "access_changed", {})
    log.info("clip %s: redaction %d asked for by its uploader", clip.id, redaction.version)
    return redaction


def request_render(clip: Clip) -> None:
    """Hand the pending redaction to a worker (after the commit that saved it)."""
    if clip.redaction is not None and clip.redaction.status == RedactionStatus.PENDING.value:
        jobs.enqueue_after_commit(REDACT_CLIP, clip.id, clip.redaction.version)


def _never_rendered(redaction: ClipRedaction) -> bool:
    return redaction.unredacted_facts is None


def hides_anything(redaction: ClipRedaction) -> bool:
    return _hides_anything({column: getattr(redaction, column) for column in SETTINGS})


def _hides_anything(columns: dict[str, Any]) -> bool:
    return bool(
        columns["blur_faces"]
        or columns["trim_start_ms"]
        or columns["trim_end_ms"] is not None
        or columns["mute"]
        or columns["blur_regions"]
    )


def parse_moment(text: str) -> float:
    """A moment as a person types it: `75`, `1:15`, `1:15.5` or `1:01:15`."""
    not_a_time = Invalid(f"“{text.strip()}” is not a time: write minutes:seconds, like 12:05.")
    try:
        numbers = [float(part) for part in text.strip().split(":")]
    except ValueError:
        raise not_a_time from None
    if len(numbers) > 3 or any(number < 0 for number in numbers):
        raise not_a_time
    return sum(value * 60**power for power, value in enumerate(reversed(numbers)))


def settings_from_form(form: Mapping[str, str]) -> dict[str, Any]:
    """The clip page's form as the API's settings: a share-from/to pair, and one muted
    part per line (`12:05-12:09`)."""
    start, end = form.get("share_from", "").strip(), form.get("share_to", "").strip()
    trim = None
    if start or end:
        trim = [parse_moment(start) if start else 0.0, parse_moment(end) if end else 24 * 3600.0]
    mute = []
    for line in form.get("mute", "").splitlines():
        if not line.strip():
            continue
        parts = line.replace("\u2013", "-").split("-")  # an en dash, as typed on a Mac
        if len(parts) != 2:
            raise Invalid(f"“{line.strip()}”: write each muted part as from-to, like 12:05-12:09.")
        mute.append([parse_moment(parts[0]), parse_moment(parts[1])])
    return {"blur_faces": form.get("blur_faces") == "on", "trim": trim, "mute": mute}


def form_values(redaction: ClipRedaction | None) -> dict[str, Any]:
    """The clip page's form, filled in with the saved settings."""
    saved = settings_json(redaction)
    trim = saved["trim"] or [None, None]
    return {
        "blur_faces": saved["blur_faces"],
        "share_from": _clock(trim[0]) if trim[0] else "",
        "share_to": _clock(trim[1]) if trim[1] is not None else "",
        "mute": "\n".join(f"{_clock(a)}-{_clock(b)}" for a, b in saved["mute"]),
        "regions": len(saved["blur_regions"]),
        "status": saved["status"],
        "progress": saved["progress"],
        "error": saved["error"],
    }


def _clock(seconds: float) -> str:
    whole, fraction = divmod(round(seconds * 10), 10)
    minutes, secs = divmod(whole, 60)
    hours, minutes = divmod(minutes, 60)
    text = f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
    return f"{text}.{fraction}" if fraction else text


def media_settings(redaction: ClipRedaction) -> dict[str, Any]:
    """The render's settings in seconds (videocoach.media.redaction.RedactionSettings)."""
    return {
        "blur_faces": redaction.blur_faces,
        "trim_start_s": (redaction.trim_start_ms or 0) / 1000,
        "trim_end_s": _s(redaction.trim_end_ms),
        "mute": tuple((a / 1000, b / 1000) for a, b in redaction.mute),
        "regions": tuple(
            (
                region["t_start_ms"] / 1000,
                region["t_end_ms"] / 1000,
                region["x"],
                region["y"],
                region["w"],
                region["h"],
            )
            for region in redaction.blur_regions
        ),
    }


def _parse(body: dict[str, Any], duration_ms: int | None) -> dict[str, Any]:
    """The validated columns of a PUT body (marshmallow checked the types)."""
    errors: dict[str, str] = {}
    length_s = None if duration_ms is None else duration_ms / 1000

    def moment_range(pair: list[float], field: str, what: str) -> tuple[int, int] | None:
        start, end = pair
        if start < 0 or end <= start:
            errors[field] = f"{what}: the end must come after the start, both from 0 s."
            return None
        if length_s is not None and start >= length_s:
            errors[field] = f"{what} must start before the end of the clip ({length_s:g} s)."
            return None
        return _ms(start), _ms(min(end, length_s) if length_s is not None else end)

    trim_start_ms: int | None = None
    trim_end_ms: int | None = None
    if body.get("trim") is not None:
        kept = moment_range(body["trim"], "trim", "The shared part")
        if kept is not None:
            trim_start_ms, trim_end_ms = kept
            if trim_end_ms - trim_start_ms < MIN_SHARED_MS:
                errors["trim"] = "The shared part must last at least half a second."
            if duration_ms is not None and trim_end_ms >= duration_ms:
                trim_end_ms = None  # to the end: the same clip, however it is rounded
            trim_start_ms = trim_start_ms or None
    mute: list[list[int]] = []
    for index, pair in enumerate(body.get("mute") or []):
        kept = moment_range(pair, f"mute.{index}", "A muted part")
        if kept is not None:
            mute.append(list(kept))
    regions: list[dict[str, float]] = []
    for index, region in enumerate(body.get("blur_regions") or []):
        field = f"blur_regions.{index}"
        kept = moment_range([region["t_start"], region["t_end"]], field, "A blurred area")
        x, y, w, h = (region[side] for side in ("x", "y", "w", "h"))
        inside = 0 <= x < 1 and 0 <= y < 1 and w > 0 and h > 0
        if not inside or x + w > 1 or y + h > 1:
            errors[field] = "A blurred area must lie inside the picture (x, y, w, h from 0 to 1)."
        elif kept is not None:
            regions.append(
                {"t_start_ms": kept[0], "t_end_ms": kept[1], "x": x, "y": y, "w": w, "h": h}
            )
    for field in ("mute", "blur_regions"):
        if len(body.get(field) or []) > MAX_RANGES:
            errors[field] = f"At most {MAX_RANGES} of them."
    if errors:
        raise Invalid(" ".join(dict.fromkeys(errors.values())), fields=errors)
    return {
        "blur_faces": bool(body.get("blur_faces")),
        "trim_start_ms": trim_start_ms,
        "trim_end_ms": trim_end_ms,
        "mute": sorted(mute),
        "blur_regions": regions,
    }
