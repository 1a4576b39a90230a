"""Extensions created unbound here and bound to an app in create_app."""

from __future__ import annotations

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf import CSRFProtect

login_manager = LoginManager()
csrf = CSRFProtect()
# Keyed on request.remote_addr: the client videocoach.proxies resolved, never an address a
# client claims in X-Forwarded-For unless a trusted proxy wrote it.
limiter = Limiter(key_func=get_remote_address)
