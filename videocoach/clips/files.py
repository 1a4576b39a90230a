"""A clip's stored files: every name and storage key is built and parsed here, and only here.

Each file a clip owns is a ClipAsset row with a `name` and a storage `key`
(`clips/<clip id>/<name>`, so deleting the prefix deletes everything). The name is also
how the file is asked for: `/api/v1/clips/<id>/media/<name>`, after the access check;
the one exception is VIDEO, the public name of whichever playable file is best so far.
The pipeline records files through these names, delivery finds them, deletion removes
the prefix, and the tests read them from here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from videocoach.clips.models import AssetKind, ClipAsset
from videocoach.media.commands import language_name

ORIGINAL = "original"  # the upload, byte for byte (served to the uploader as a download)
PLAYABLE = "playable.mp4"  # the fast path's stream copy, deleted once the web rendition exists
WEB = "web.mp4"  # the web rendition (H.264 High + AAC, faststart)
VIDEO = "video.mp4"  # public name only: WEB once it exists, else PLAYABLE
POSTER = "poster.jpg"
STORYBOARD = "storyboard.vtt"  # WebVTT whose cues point at the sheets with #xywh=
WAVEFORM = "waveform.json"
STORYBOARD_SHEET_DIR = "storyboard/"
CAPTIONS_DIR = "captions/"
UNDETERMINED_LANGUAGE = "und"
_CAPTION_NAME = re.compile(r"^captions/(?P<track>\d+)-(?P<language>[A-Za-z0-9-]+)\.vtt$")
CLIPS_PREFIX = "clips/"  # every stored object of every clip lies under it
# A redacted clip keeps its unredacted rendition for the uploader alone under this name
# prefix (clips.redaction): `unredacted/web.mp4`, `unredacted/poster.jpg`, ...
UNREDACTED_DIR = "unredacted/"


@dataclass(frozen=True)
class ReadyFile:
    """One kind of object a ready clip keeps in storage, written as docs/configuration.md
    writes it: a name, or a pattern with placeholders (`NNN`, `<track>`, `<language>`)."""

    pattern: str
    always: bool  # every ready clip has it (else only some: captions need subtitle tracks)

    def matches(self, name: str) -> bool:
        regex = re.escape(self.pattern)
        for placeholder, part in _PLACEHOLDERS.items():
            regex = regex.replace(re.escape(placeholder), part)
        return re.fullmatch(regex, name) is not None


_PLACEHOLDERS = {"NNN": r"\d{3,}", "<track>": r"\d+", "<language>": r"[A-Za-z0-9-]+"}

# Everything a ready clip stores, and nothing more: no second copy of the video (the fast
# path's PLAYABLE is deleted once WEB is recorded). docs/configuration.md lists the same
# names, and the tests compare a ready clip's storage listing with this.
READY_FILES = (
    ReadyFile(ORIGINAL, always=True),
    ReadyFile(WEB, always=True),
    ReadyFile(POSTER, always=True),
    ReadyFile(STORYBOARD, always=True),
    ReadyFile(f"{STORYBOARD_SHEET_DIR}NNN.jpg", always=True),
    ReadyFile(WAVEFORM, always=True),
    ReadyFile(f"{CAPTIONS_DIR}<track>-<language>.vtt", always=False),
)


def kept_when_ready(name: str) -> bool:
    """Whether a ready clip keeps the object called `name` (one of READY_FILES)."""
    return any(ready.matches(name) for ready in READY_FILES)


def clip_prefix(clip_id: str) -> str:
    """Every stored object of the clip lies under this prefix."""
    return f"{CLIPS_PREFIX}{clip_id}/"


def scratch_root(data_dir: Path) -> Path:
    """Where jobs on this machine keep their scratch folders, one per clip."""
    return data_dir / "work"


def scratch_dir(data_dir: Path, clip_id: str) -> Path:
    """The one local folder a job works in for this clip (removed on retry, restart,
    reconcile and deletion: a crash must not leave private video behind)."""
    return scratch_root(data_dir) / clip_id


def key(clip_id: str, name: str) -> str:
    return clip_prefix(clip_id) + name


def redacted_key(clip_id: str, version: int, name: str) -> str:
    """Where render `version` of the clip's redacted files is stored: each render has keys
    of its own, so a presigned link to an earlier one never shows the newer's bytes (nor
    the reverse), and the unredacted files keep theirs."""
    return clip_prefix(clip_id) + f"redacted-{version}/{name}"


def is_unredacted(asset: ClipAsset) -> bool:
    """One of the files a redaction hides from everyone but the uploader."""
    return asset.name.startswith(UNREDACTED_DIR)


def unredacted_name(name: str) -> str:
    return UNREDACTED_DIR + name


def shown(assets: Iterable[ClipAsset]) -> list[ClipAsset]:
    """The files the clip shows (the redacted ones, once a redaction is rendered)."""
    return [asset for asset in assets if not is_unredacted(asset)]


def storyboard_sheet(index: int) -> str:
    """The name of sprite sheet `index` (0-based), as the storyboard VTT links it."""
    return f"{STORYBOARD_SHEET_DIR}{index:03d}.jpg"


def caption_name(track: int, language: str | None) -> str:
    """The name of the original's text caption track `track` (0-based, in stream order)."""
    return f"{CAPTIONS_DIR}{track}-{language or UNDETERMINED_LANGUAGE}.vtt"


@dataclass(frozen=True)
class CaptionTrack:
    name: str  # e.g. "captions/0-eng.vtt"
    language: str | None
    label: str


def caption_tracks(assets: Iterable[ClipAsset]) -> list[CaptionTrack]:
    """The caption tracks, in the order of the original's subtitle streams. The label is
    the track's own title, else its language's name, else "Captions N"."""
    found: list[tuple[int, ClipAsset, str | None]] = []
    for asset in shown(assets):
        match = _CAPTION_NAME.match(asset.name)
        if asset.kind != AssetKind.CAPTIONS.value or match is None:
            continue
        code = match["language"]
        language = None if code == UNDETERMINED_LANGUAGE else code
        found.append((int(match["track"]), asset, language))
    found.sort(key=lambda item: item[0])
    return [
        CaptionTrack(
            name=asset.name,
            language=language,
            label=asset.label or language_name(language) or f"Captions {number}",
        )
        for number, (_track, asset, language) in enumerate(found, start=1)
    ]


def best_video(assets: Iterable[ClipAsset]) -> ClipAsset | None:
    """The best playable file so far: the web rendition, else the fast-path remux."""
    by_kind = {asset.kind: asset for asset in shown(assets)}
    return by_kind.get(AssetKind.WEB.value) or by_kind.get(AssetKind.PLAYABLE.value)


def asset_for(assets: Iterable[ClipAsset], name: str) -> ClipAsset | None:
    """The file behind a public media name, or None. The web rendition is reached only
    as VIDEO, so there is one URL per moment of the clip's life; its unredacted one as
    `unredacted/video.mp4`."""
    assets = list(assets)
    if name == VIDEO:
        return best_video(assets)
    if name == unredacted_name(VIDEO):
        name = unredacted_name(WEB)
    elif name in (WEB, unredacted_name(WEB)):
        return None
    return next((asset for asset in assets if asset.name == name), None)


def public_media(assets: Iterable[ClipAsset]) -> dict[str, str | None]:
    """The API's `media` object as names: each None until its file exists."""
    assets = shown(assets)
    kinds = {asset.kind for asset in assets}
    return {
        "video": VIDEO if best_video(assets) else None,
        "poster": POSTER if AssetKind.POSTER.value in kinds else None,
        "storyboard": STORYBOARD if AssetKind.STORYBOARD_VTT.value in kinds else None,
        "waveform": WAVEFORM if AssetKind.WAVEFORM.value in kinds else None,
    }
