"""Extensions created unbound here and bound to an app in create_app."""

from __future__ import annotations

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, current_user
from flask_wtf import CSRFProtect

login_manager = LoginManager()
csrf = CSRFProtect()
# Keyed on request.remote_addr: the client videocoach.proxies resolved, never an address a
# client claims in X-Forwarded-For unless a trusted proxy wrote it.
limiter = Limiter(key_func=get_remote_address)


def per_account() -> str:
    """The key of a limit on what a signed-in person does (resending invitations): their
    account, wherever they connect from; the address for anyone else."""
    if current_user.is_authenticated:
        return f"account:{current_user.id}"
    return get_remote_address()
