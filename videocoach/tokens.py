"""Secret tokens handed to people (API tokens, invitation links): made here, stored hashed.
An invitation link is a keyed_token, so its page can show it again."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

TOKEN_BYTES = 32


def new_token(prefix: str = "") -> str:
    """256 random bits, URL-safe; the raw value exists only in what the person receives."""
    return prefix + secrets.token_urlsafe(TOKEN_BYTES)


def token_digest(raw_token: str) -> str:
    """What the database keeps. Tokens carry 256 random bits, so a fast hash is enough;
    argon2 would slow every API request."""
    return hashlib.sha256(raw_token.encode()).hexdigest()


def keyed_token(secret_key: str, purpose: str, *parts: str) -> str:
    """A token the server can rebuild instead of storing: HMAC-SHA256 of `purpose` and
    `parts` under SECRET_KEY, URL-safe (43 characters, as new_token's). Anyone without
    the key cannot make one; changing a part (a nonce) retires the old token."""
    message = "\x00".join((purpose, *parts)).encode()
    mac = hmac.new(secret_key.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
