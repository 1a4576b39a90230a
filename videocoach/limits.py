"""Limits on what people type, and the one check that enforces them.

Every limit on a stored value equals its column's length (tests/test_input_limits.py
compares them), so PostgreSQL never refuses a value we let through; SQLite would store
anything. Text is cleaned before it is measured: control characters, bidi overrides and
unpaired surrogates are removed, never refused. They arrive by copy and paste more often
than by intent, nobody can see them to take them out, and PostgreSQL cannot store NUL.
A name, title or label is also made one NFC line (one_line, clean_filename): it ends up
in email headers, WebVTT voices and file names, where a line break breaks things.
Pure functions: no Flask, no database.
"""

from __future__ import annotations

import re
import unicodedata

from videocoach.errors import Invalid

NAME_MAX = 120  # users.name, partnerships.name
EMAIL_MAX = 254  # users.email, invitations.email (RFC 5321's limit on an address)
PASSWORD_MAX = 1000  # not stored (a hash is); bounds what one sign-up makes us hash
TOKEN_LABEL_MAX = 120  # api_tokens.label
TITLE_MAX = 200  # clips.title, uploads.title, goals.title
FILENAME_MAX = 255  # clips.original_filename, uploads.filename
GOAL_TEXT_MAX = 5000  # goals.description, goals.success_criteria
NEXT_STEP_MAX = 2000  # next_steps.text
COMMENT_MAX = 10_000  # comments.body
NOTES_MAX = 20_000  # meetings.notes
CLIENT_ID_MAX = 100  # a meeting page's id, echoed to every listener, never stored
# Moments in a clip are integer milliseconds (comments.t_start_ms, meetings.position_ms):
# before a clip's duration is known, this is the latest moment there can be (596 hours).
MOMENT_MAX_MS = 2**31 - 1

FILENAME_FALLBACK = "upload"
# An extension longer than this is not one worth keeping when a long name is cut.
_EXTENSION_MAX = 16

# Embeddings, overrides and isolates reorder what is shown ("lesson\u202e4pm.exe" reads as
# "lessonexe.mp4"); the byte order mark is invisible.
_BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff"
# Marks (LRM, RLM, ALM) stay in a name or title with right-to-left letters: such text needs
# them. In one without, a mark is invisible and only moves the punctuation and digits next
# to it, so it goes.
_BIDI_MARKS = "\u200e\u200f\u061c"
_RIGHT_TO_LEFT = {"R", "AL"}
_LINE_BREAKS = re.compile(r"\r\n|[\r\u2028\u2029]")
_LINE_BREAKS_AND_TABS = re.compile(r"\r\n|[\t\n\r\u2028\u2029]")


def _visible(text: str, keep: str) -> str:
    return "".join(
        ch
        for ch in text
        if ch in keep or not (unicodedata.category(ch) in {"Cc", "Cs"} or ch in _BIDI_CONTROLS)
    )


def _without_idle_marks(text: str) -> str:
    if any(unicodedata.bidirectional(ch) in _RIGHT_TO_LEFT for ch in text if ch not in _BIDI_MARKS):
        return text
    return "".join(ch for ch in text if ch not in _BIDI_MARKS)


def _single_line(raw: str | None) -> str:
    """NFC (one "é" however it was typed), line breaks and tabs as spaces, no control
    characters, bidi overrides or idle marks."""
    text = _LINE_BREAKS_AND_TABS.sub(" ", unicodedata.normalize("NFC", raw or ""))
    return _without_idle_marks(_visible(text, keep=""))


def one_line(raw: str | None) -> str:
    """A title, name or label: NFC; line breaks and tabs become spaces; other control
    characters, bidi overrides and marks with no right-to-left text to serve go; the ends
    are trimmed. Every single-line field goes through this (or clean_filename)."""
    return _single_line(raw).strip()


def multi_line(raw: str | None, *, strip: bool = True) -> str:
    """A description, comment or notes: newlines (normalised to \\n) and tabs stay; other
    control characters and bidi overrides go. `strip=False` keeps the ends as typed
    (notes saved while someone is still typing)."""
    text = _visible(_LINE_BREAKS.sub("\n", raw or ""), keep="\n\t")
    return text.strip() if strip else text


def too_long(limit: int) -> str:
    """The sentence shown next to a field that is too long."""
    return f"Use at most {limit:,} characters."


def length_problem(text: str, limit: int) -> str | None:
    """The sentence for a field that is too long, or None (for forms collecting several)."""
    return too_long(limit) if len(text) > limit else None


def check_length(text: str, limit: int, field: str, what: str) -> str:
    """`text` itself, or Invalid naming `what` ("The title") and the limit."""
    problem = length_problem(text, limit)
    if problem:
        raise Invalid(
            f"{what} can be at most {limit:,} characters.", code="too_long", fields={field: problem}
        )
    return text


def clean_filename(raw: str | None, fallback: str = FILENAME_FALLBACK) -> str:
    """The name a file was uploaded under, safe to store and show: no folders (/ or \\),
    one line cleaned as one_line cleans it, at most FILENAME_MAX characters with the
    extension kept; `fallback` when nothing is left."""
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = _single_line(name).strip()
    if name in {".", ".."}:
        name = ""
    if len(name) > FILENAME_MAX:
        stem, dot, extension = name.rpartition(".")
        if stem and dot and len(extension) + 1 <= _EXTENSION_MAX:
            name = stem[: FILENAME_MAX - len(extension) - 1].rstrip() + "." + extension
        else:
            name = name[:FILENAME_MAX]
    return name or fallback
