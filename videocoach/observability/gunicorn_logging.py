"""gunicorn's access log without secrets: paths that carry a token (a password-reset
link, a one-click unsubscribe link) are logged with the token replaced. Query strings,
where invitation tokens travel, are never logged (docker/gunicorn.conf.py's format)."""

from __future__ import annotations

import re
from typing import Any

from gunicorn.glogging import Logger

# The routes whose last path segment is a secret token.
TOKEN_PATHS = re.compile(r"^(/password/reset/|/notifications/unsubscribe/)[^/?\s]+")
REDACTED = r"\1[token]"


def redact_path(path: str) -> str:
    return TOKEN_PATHS.sub(REDACTED, path)


class RedactingLogger(Logger):
    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> dict:  # type: ignore[type-arg]
        atoms = super().atoms(resp, req, environ, request_time)
        if isinstance(atoms.get("U"), str):
            atoms["U"] = redact_path(atoms["U"])
        if isinstance(atoms.get("r"), str):  # the request line: METHOD PATH?QUERY PROTOCOL
            method, _, rest = atoms["r"].partition(" ")
            atoms["r"] = f"{method} {redact_path(rest)}"
        return atoms
