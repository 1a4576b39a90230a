"""The first words of a comment, as plain text, for notifications and the activity feed.

Pure functions: no database, no Flask. Templates escape what these return.
"""

from __future__ import annotations

import re

# The light formatting people type (videocoach.comments.formatting): **bold** and _italic_.
# A list of notifications shows the words without the markers.
_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
_ITALIC = re.compile(r"(?<![\w*])_(?=\S)(.+?)(?<=\S)_(?![\w*])")
_SPACE = re.compile(r"\s+")
ELLIPSIS = "…"
COMMENT_WORDS = 90  # characters: about two lines of a notification on a phone
THREAD_WORDS = 40  # the comment a reply answers, named inside a sentence


def plain_text(body: str) -> str:
    """A comment body on one line, without its formatting markers."""
    unmarked = _ITALIC.sub(r"\1", _BOLD.sub(r"\1", body))
    return _SPACE.sub(" ", unmarked).strip()


def excerpt(body: str, limit: int = COMMENT_WORDS) -> str:
    """The first words of `body`, at most `limit` characters and cut between words, with an
    ellipsis when something was left off."""
    text = plain_text(body)
    if len(text) <= limit:
        return text
    room = limit - len(ELLIPSIS)
    cut = text[: room + 1]
    space = cut.rfind(" ")
    # A single very long word (a link) is cut inside it rather than dropped.
    words = cut[:space] if space > room // 2 else text[:room]
    return words.rstrip(" ,;:.-\u2013\u2014") + ELLIPSIS  # no dangling dash or comma
