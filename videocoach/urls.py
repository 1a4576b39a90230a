"""Absolute links for emails and API responses."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any
from urllib.parse import quote, urlsplit

from flask import current_app, has_request_context, request, url_for

from videocoach.config import current_settings

log = logging.getLogger(__name__)
FALLBACK_ORIGIN = "http://localhost:5000"
ANCHOR_SAFE = "%!#$&'()*+,/:;=?@"  # as url_for quotes an _anchor


def comment_anchor(comment_id: str) -> str:
    """The fragment of a link to one comment on its clip's page: /clips/<cid>#comment-<id>.

    A link to a moment is /clips/<cid>#t=<seconds>. The review page seeks to either."""
    return f"comment-{comment_id}"


def comment_path(clip_id: str, comment_id: str) -> str:
    """The link to one comment on its clip's page (templates call it)."""
    return url_for("clips.clip_page", cid=clip_id, _anchor=comment_anchor(comment_id))


def external_url(endpoint: str, **values: Any) -> str:
    """An absolute URL, on VIDEOCOACH_PUBLIC_URL when set (behind a proxy), else this host.
    `_anchor` adds a fragment, as with url_for."""
    public = current_settings().public_url
    if not has_request_context():
        # A worker (emails) knows no host of its own: VIDEOCOACH_PUBLIC_URL names it.
        # Else the address of the request that caused this work (links_from), if known.
        origin = public or _origin.get()
        if not origin:
            log.warning("VIDEOCOACH_PUBLIC_URL is not set; links use %s", FALLBACK_ORIGIN)
        parts = urlsplit(origin or FALLBACK_ORIGIN)
        adapter = current_app.url_map.bind(
            parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme
        )
        anchor = values.pop("_anchor", None)
        url = adapter.build(endpoint, values, force_external=True)
        return f"{url}#{quote(anchor, safe=ANCHOR_SAFE)}" if anchor else url
    if public:
        return public + url_for(endpoint, **values)
    return url_for(endpoint, _external=True, **values)


def invitation_link(raw_token: str) -> str:
    return external_url("partnerships.accept_invitation", token=raw_token)


# The address of the request that caused the work a worker is doing (links_from).
_origin: ContextVar[str | None] = ContextVar("videocoach_link_origin", default=None)


def request_origin() -> str | None:
    """The address the current request came in on (scheme, host, any path prefix), for a
    job queued by it to build links on; None outside a request."""
    if not has_request_context():
        return None
    return request.url_root.rstrip("/")


@contextmanager
def links_from(origin: str | None) -> Iterator[None]:
    """Outside a request, build links on `origin` (a request_origin() a job was given)
    when VIDEOCOACH_PUBLIC_URL is not set."""
    token = _origin.set(origin)
    try:
        yield
    finally:
        _origin.reset(token)


@contextmanager
def links_for_person(origin: str | None) -> Iterator[None]:
    """Inside links_from: when no request's address came with the work (a clip processed,
    the daily digest), build links on `origin`, the address its recipient signed in on."""
    token = _origin.set(_origin.get() or origin or None)
    try:
        yield
    finally:
        _origin.reset(token)
