"""Secret tokens handed to people (API tokens, invitation links): made here, stored hashed."""

from __future__ import annotations

import hashlib
import secrets

TOKEN_BYTES = 32


def new_token(prefix: str = "") -> str:
    """256 random bits, URL-safe; the raw value exists only in what the person receives."""
    return prefix + secrets.token_urlsafe(TOKEN_BYTES)


def token_digest(raw_token: str) -> str:
    """What the database keeps. Tokens carry 256 random bits, so a fast hash is enough;
    argon2 would slow every API request."""
    return hashlib.sha256(raw_token.encode()).hexdigest()
