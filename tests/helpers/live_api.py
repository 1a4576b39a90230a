"""The JSON API of a server running in another process, reached over real HTTP."""

from __future__ import annotations

import json
import urllib.request
from typing import Any


def post_json(base: str, path: str, body: dict[str, Any], token: str | None = None) -> Any:
    """POST `body` as JSON and return the decoded answer; an HTTP error status raises."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(base + path, json.dumps(body).encode(), headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def teacher_with_partnership(
    base: str, email: str, password: str, name: str, partnership: str
) -> tuple[str, str]:
    """Sign up as `name`, take an API token and start `partnership` as its teacher, the way a
    new user's script would; returns (token, partnership id)."""
    account = {"email": email, "password": password}
    post_json(base, "/api/v1/auth/register", {**account, "name": name})
    token = post_json(base, "/api/v1/auth/tokens", account)["token"]
    started = {"name": partnership, "role": "teacher"}
    created = post_json(base, "/api/v1/partnerships", started, token)
    return token, created["partnership"]["id"]
