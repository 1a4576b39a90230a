"""Absolute links for emails and API responses."""

from __future__ import annotations

from typing import Any

from flask import url_for

from videocoach.config import current_settings


def external_url(endpoint: str, **values: Any) -> str:
    """An absolute URL, on VIDEOCOACH_PUBLIC_URL when set (behind a proxy), else this host."""
    public = current_settings().public_url
    if public:
        return public + url_for(endpoint, **values)
    return url_for(endpoint, _external=True, **values)


def invitation_link(raw_token: str) -> str:
    return external_url("partnerships.accept_invitation", token=raw_token)
