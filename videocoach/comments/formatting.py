"""Comment bodies: plain text in, safe HTML out.

People type plain text with light formatting: line breaks, links, **bold** and
_italic_. We escape everything first, add only those few tags, and then let nh3
(the Ammonia sanitiser) have the last word on what survives, so a body like
`<script>alert(1)</script>` always shows as text.
"""

from __future__ import annotations

import html
import re

import nh3

from videocoach import limits

BODY_MAX = limits.COMMENT_MAX
ALLOWED_TAGS = {"strong", "em", "a", "br"}
ALLOWED_ATTRIBUTES = {"a": {"href"}}
_URL = re.compile(r"\bhttps?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]]")
_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
_ITALIC = re.compile(r"(?<![\w*])_(?=\S)(.+?)(?<=\S)_(?![\w*])")


def clean_body(raw: str) -> str:
    """The text we store: newlines normalised, control characters dropped, trimmed."""
    return limits.multi_line(raw)


def body_html(text: str) -> str:
    """Safe HTML for a stored body."""
    escaped = html.escape(text, quote=True)
    linked = _URL.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', escaped)
    styled = _ITALIC.sub(r"<em>\1</em>", _BOLD.sub(r"<strong>\1</strong>", linked))
    with_breaks = styled.replace("\n", "<br>")
    return nh3.clean(
        with_breaks,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https"},
        link_rel="noopener noreferrer nofollow",
    )
