"""create_app(config=None): wires settings, extensions, blueprints and error handlers."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path

from flask import Flask, Response, current_app, request, session

from videocoach import db
from videocoach.accounts.api import blp as accounts_api
from videocoach.accounts.auth import init_auth
from videocoach.accounts.routes import bp as accounts_pages
from videocoach.accounts.sessions import REMEMBERED_IDLE
from videocoach.admin.routes import bp as admin_pages
from videocoach.api import init_api
from videocoach.bodies import GuardChunkedBodies
from videocoach.clips.api import blp as clips_api
from videocoach.clips.routes import bp as clip_pages
from videocoach.clips.tus import blp as tus_api
from videocoach.comments.api import blp as comments_api
from videocoach.config import Settings
from videocoach.errorhandlers import register_error_handlers
from videocoach.errors import ConfigError
from videocoach.exports.routes import bp as exports
from videocoach.extensions import limiter
from videocoach.favicon import bp as favicon
from videocoach.health import bp as health
from videocoach.live import init_live
from videocoach.meetings.api import blp as meetings_api
from videocoach.meetings.routes import bp as meeting_pages
from videocoach.monitoring import bp as monitoring
from videocoach.notifications.api import blp as notifications_api
from videocoach.notifications.routes import bp as notification_pages
from videocoach.notifications.routes import init_notifications
from videocoach.observability import metrics
from videocoach.observability.logs import configure_logging
from videocoach.observability.requests import init_request_tracking
from videocoach.partnerships.api import blp as partnerships_api
from videocoach.partnerships.routes import bp as partnership_pages
from videocoach.proxies import ProxyHeaders
from videocoach.storage import STORAGE_KEY, open_storage
from videocoach.takeout.api import blp as takeout_api
from videocoach.takeout.routes import bp as takeout_pages
from workers.celery_app import init_celery

log = logging.getLogger(__name__)
PACKAGE_DIR = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """Top-level folders (templates, static, migrations) ship inside the wheel too."""
    packaged = PACKAGE_DIR / name
    return packaged if packaged.is_dir() else PACKAGE_DIR.parent / name


def create_app(config: Mapping[str, str] | None = None) -> Flask:
    """Build the app. `config` overrides environment variables of the same names."""
    settings = Settings.from_env({**os.environ, **(config or {})})
    settings.data_dir.mkdir(parents=True, exist_ok=True)

    app = Flask(
        __name__,
        template_folder=str(resource_dir("templates")),
        static_folder=str(resource_dir("static")),
    )
    app.extensions["videocoach.settings"] = settings
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.production,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=settings.production,
        # The cookie outlives no sign-in: the server ends the sign-in after as long unused.
        REMEMBER_COOKIE_DURATION=REMEMBERED_IDLE,
        # CSRF is checked in one before_request hook (see accounts.auth) for every cookie request.
        WTF_CSRF_CHECK_DEFAULT=False,
        WTF_CSRF_TIME_LIMIT=None,  # valid for the session: coaches leave tabs open for hours
        RATELIMIT_STORAGE_URI=settings.ratelimit_storage_uri,
        RATELIMIT_HEADERS_ENABLED=True,
        # Redis away: keep counting sign-in attempts in this process (limits still hold, per
        # process) and log a warning, rather than fail open silently or refuse every login.
        RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=True,
        JSON_SORT_KEYS=False,
        DEBUG=settings.debug,
    )
    app.wsgi_app = GuardChunkedBodies(app.wsgi_app)  # type: ignore[method-assign]
    # Outermost, in every mode: everything after it sees the client VIDEOCOACH_TRUSTED_PROXIES
    # allows, never one a client claimed on its own.
    app.wsgi_app = ProxyHeaders(app.wsgi_app, settings.trusted_proxies)  # type: ignore[method-assign]

    configure_logging(settings.log_format)
    metrics.start_recording(settings.metrics_dir)
    if settings.production and settings.trusted_proxies.trusts_nobody:
        log.warning(
            "VIDEOCOACH_TRUSTED_PROXIES names no proxy: every request's peer is taken as "
            "the client. Behind a proxy, set it to the proxy's address (or 1), or every "
            "client shares the proxy's sign-in rate limit."
        )
    db.init_app(app, settings.database_url)
    try:
        storage = open_storage(
            settings.storage_url,
            endpoint_url=settings.s3_endpoint_url,
            credentials=settings.s3_credentials,
        )
    except ValueError as error:
        raise ConfigError([str(error)]) from None
    app.extensions[STORAGE_KEY] = storage
    app.config["CSP"] = content_security_policy(storage.media_origin())
    init_celery(app, settings)
    init_live(app, settings.redis_url, settings.live_channel_prefix)
    register_extensions(app)
    register_blueprints(app)
    app.after_request(add_security_headers)
    app.after_request(keep_personal_responses_private)
    return app


def register_extensions(app: Flask) -> None:
    init_request_tracking(app)  # first: every later hook's log lines carry the request id
    init_auth(app)
    limiter.init_app(app)
    register_error_handlers(app)


def register_blueprints(app: Flask) -> None:
    app.register_blueprint(health)
    app.register_blueprint(favicon)
    app.register_blueprint(monitoring)
    app.register_blueprint(accounts_pages)
    app.register_blueprint(partnership_pages)
    app.register_blueprint(clip_pages)
    app.register_blueprint(exports)
    app.register_blueprint(admin_pages)
    app.register_blueprint(notification_pages)
    app.register_blueprint(meeting_pages)
    app.register_blueprint(takeout_pages)
    init_notifications(app)
    api = init_api(app)
    for blueprint in (
        accounts_api,
        partnerships_api,
        clips_api,
        tus_api,
        comments_api,
        notifications_api,
        meetings_api,
        takeout_api,
    ):
        api.register_blueprint(blueprint)


def content_security_policy(media_origin: str | None) -> str:
    """Scripts and styles from us only; media also from the storage's presigned host."""
    media = f"'self' blob: {media_origin}" if media_origin else "'self' blob:"
    return "; ".join(
        [
            "default-src 'self'",
            f"img-src {media} data:",
            f"media-src {media}",
            "style-src 'self'",
            "script-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def add_security_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", current_app.config["CSP"])
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    # Invitation tokens travel in URLs; never hand them to another site in a Referer.
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


# Flask-Login's name for its remember-me cookie when REMEMBER_COOKIE_NAME is not set.
REMEMBER_COOKIE_DEFAULT = "remember_token"


def _is_personal() -> bool:
    """The request names someone (an Authorization header, our session or remember cookie),
    or its answer sets our session cookie (a sign-in, a form's CSRF token)."""
    if request.headers.get("Authorization"):
        return True
    config = current_app.config
    cookies = (config["SESSION_COOKIE_NAME"], config.get("REMEMBER_COOKIE_NAME"))
    if any(name in request.cookies for name in (*cookies, REMEMBER_COOKIE_DEFAULT) if name):
        return True
    return bool(session)  # len() does not mark the session accessed (no Vary: Cookie)


def keep_personal_responses_private(response: Response) -> Response:
    """A page or API answer for a signed-in person is theirs: no shared cache may keep it,
    nor the browser of a shared staff-room computer. A response that set its own
    Cache-Control keeps it (media: private, no-cache; static files: revalidated)."""
    if "Cache-Control" not in response.headers and _is_personal():
        response.headers["Cache-Control"] = "private, no-store"
    return response
