"""WebVTT text (https://www.w3.org/TR/webvtt1/): what people typed, escaped into cue text,
and the caption files ffmpeg writes, repaired.

Cue text is markup: a browser reads "<15%) & you moved on" as the start of a tag and
shows nothing after "(". So `&`, `<` and `>` are written as `&amp;`, `&lt;` and `&gt;`
(which also keeps the string "-->" out of a cue), and a cue has no blank line (it would
end the cue). ffmpeg's WebVTT encoder copies subtitle text as it is, so a caption track
with "a < b" or "-->" in it breaks the same way; `repair_captions` escapes what is not one
of WebVTT's own tags or character references and keeps the rest (<i>, <b>, <c.yellow>...).
Pure functions: no Flask, no database.
"""

from __future__ import annotations

import re

from videocoach import limits
from videocoach.media.storyboard import vtt_timestamp

_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_SPECIAL = re.compile(r"[&<>]")
_TAG_NAMES = r"(?:c|i|b|u|v|lang|ruby|rt)"
_TIMESTAMP = r"(?:\d{2,}:)?[0-5]\d:[0-5]\d\.\d{3}"
_KEEP = re.compile(
    r"<" + _TAG_NAMES + r"(?:\.[^\s.&<>]+)*(?:[ \t][^\r\n<>]*)?>"  # a start tag
    r"|</" + _TAG_NAMES + r">"  # an end tag
    r"|<" + _TIMESTAMP + r">"  # a timestamp (karaoke)
    r"|&(?:amp|lt|gt|lrm|rlm|nbsp|#\d+|#[xX][0-9a-fA-F]+);"  # a character reference
)
_KEEP_OR_SPECIAL = re.compile(f"(?P<keep>{_KEEP.pattern})|[&<>]")
_BLANK_LINES = re.compile(r"\n(?:[ \t]*\n)+")
_TIMING_LINE = re.compile(rf"{_TIMESTAMP}[ \t]+-->[ \t]+{_TIMESTAMP}(?:[ \t]|$)")


def escape(text: str) -> str:
    """Plain text as WebVTT cue text (or annotation) that shows exactly that text."""
    return _SPECIAL.sub(lambda match: _ESCAPES[match.group(0)], text)


def cue_text(text: str) -> str:
    """A comment (any number of lines) as a cue payload: escaped, control characters
    gone, blank lines left out."""
    lines = limits.multi_line(text).split("\n")
    return "\n".join(escape(line) for line in lines if line.strip())


def annotation(text: str) -> str:
    """A name for a voice span (<v Name>): one line, escaped."""
    return escape(limits.one_line(text))


def _repair_line(line: str) -> str:
    return _KEEP_OR_SPECIAL.sub(lambda match: match.group("keep") or _ESCAPES[match.group(0)], line)


def repair_captions(vtt: str) -> str:
    """A WebVTT file as ffmpeg wrote it, with every cue's text made valid: stray `&`, `<`
    and `>` escaped (so "-->" no longer ends a cue early), WebVTT's own tags and
    character references kept. A block of text with no timing line after a cue was part
    of that cue's text (it had a blank line): it goes back into the cue."""
    blocks = _BLANK_LINES.split(vtt.replace("\r\n", "\n").replace("\r", "\n").strip("\n"))
    repaired: list[list[str]] = [blocks[0].split("\n")]  # the WEBVTT header, as it is
    after_cue = False
    for block in blocks[1:]:
        lines = block.split("\n")
        timing = next((n for n, line in enumerate(lines[:2]) if _TIMING_LINE.match(line)), None)
        if timing is not None:
            repaired.append(
                lines[: timing + 1] + [_repair_line(line) for line in lines[timing + 1 :]]
            )
            after_cue = True
        elif after_cue and not lines[0].startswith(("NOTE", "STYLE", "REGION")):
            repaired[-1] += [_repair_line(line) for line in lines]
        else:
            repaired.append(lines)
    return "\n\n".join("\n".join(lines) for lines in repaired) + "\n"


_CUE_TIMES = re.compile(
    rf"^(?P<start>{_TIMESTAMP})([ \t]+-->[ \t]+)(?P<end>{_TIMESTAMP})(?P<rest>.*)$"
)


def _seconds(stamp: str) -> float:
    parts = [float(part) for part in stamp.split(":")]
    return sum(value * 60**power for power, value in enumerate(reversed(parts)))


def cut_captions(vtt: str, start_s: float, end_s: float, silent: list[tuple[float, float]]) -> str:
    """The captions of the part [start_s, end_s) of a clip, timed from its start: cues
    outside it are left out, cues across its ends shortened, and cues that overlap a
    `silent` range (seconds of the whole clip) left out, since muting a student's name
    must not leave it in the captions."""
    blocks = _BLANK_LINES.split(vtt.replace("\r\n", "\n").replace("\r", "\n").strip("\n"))
    kept = [blocks[0]]
    for block in blocks[1:]:
        lines = block.split("\n")
        timing = next((n for n, line in enumerate(lines[:2]) if _CUE_TIMES.match(line)), None)
        if timing is None:
            kept.append(block)  # NOTE, STYLE, REGION
            continue
        times = _CUE_TIMES.match(lines[timing])
        assert times is not None
        cue_start, cue_end = _seconds(times["start"]), _seconds(times["end"])
        if cue_end <= start_s or cue_start >= end_s:
            continue
        if any(cue_start < b and a < cue_end for a, b in silent):
            continue
        new_start, new_end = max(cue_start, start_s) - start_s, min(cue_end, end_s) - start_s
        start, end = vtt_timestamp(new_start), vtt_timestamp(new_end)
        lines[timing] = f"{start}{times[2]}{end}{times['rest']}"
        kept.append("\n".join(lines))
    return "\n\n".join(kept) + "\n"
