"""The `videocoach` command: serve, worker, db upgrade, create-user, send-digests."""

from __future__ import annotations

import os
import sys

import click
from flask import Flask

from videocoach.errors import ConfigError, DomainError


def _make_app() -> Flask:
    from videocoach.app import create_app

    try:
        return create_app()
    except ConfigError as error:
        click.echo(error.explain(), err=True)
        sys.exit(2)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """videocoach: video coaching for schools.

    Reads its configuration from environment variables (see README); with none
    set it runs the embedded default under ./instance.
    """


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=int, help="Port to listen on.")
@click.option("--no-worker", is_flag=True, help="Do not start the embedded background worker.")
# Each open live meeting stream holds a thread (see VIDEOCOACH_LIVE_STREAMS).
@click.option("--threads", default=64, show_default=True, type=int, help="Web server threads.")
def serve(host: str, port: int, no_worker: bool, threads: int) -> None:
    """Apply migrations, then serve the web UI and API.

    On the embedded default (no CELERY_BROKER_URL) a worker process runs alongside.
    """
    from videocoach.migrate import upgrade
    from videocoach.server import serve_app

    # Live meeting streams may take three quarters of the threads; the rest serve pages.
    os.environ.setdefault("VIDEOCOACH_LIVE_STREAMS", str(max(1, threads * 3 // 4)))
    app = _make_app()
    settings = app.extensions["videocoach.settings"]
    run_worker = settings.embedded_broker and not no_worker
    if run_worker:
        _require_media_tools(app)
    upgrade(app)
    app.extensions["videocoach.engine"].dispose()  # no connection crosses the fork
    click.echo(f"videocoach is running on http://{host}:{port}/ (Ctrl+C to stop)")
    serve_app(app, host=host, port=port, threads=threads, with_worker=run_worker)


@main.command()
@click.option("--concurrency", type=int, default=None, help="Jobs run at once.")
def worker(concurrency: int | None) -> None:
    """Run a background worker for the configured broker (the media pipeline)."""
    from workers.celery_app import run_worker

    app = _make_app()
    _require_media_tools(app)
    settings = app.extensions["videocoach.settings"]
    run_worker(app, concurrency=concurrency or settings.worker_concurrency)


def _require_media_tools(app: Flask) -> None:
    from videocoach.media.tools import missing_media_tools

    problems = missing_media_tools(app.extensions["videocoach.settings"])
    if problems:
        click.echo("\n".join(problems), err=True)
        sys.exit(2)


@main.group()
def db() -> None:
    """Database migrations."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION."""
    from videocoach.migrate import upgrade

    upgrade(_make_app(), revision)
    click.echo("Database is up to date.")


@db.command("revision")
@click.option("-m", "--message", required=True, help="What the migration changes.")
def db_revision(message: str) -> None:
    """Write a new migration from the difference between the models and the database."""
    from videocoach.migrate import revision

    revision(_make_app(), message)


@main.command("create-user")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--admin", is_flag=True, help="Site admin: manages accounts, sees no content.")
def create_user(email: str, name: str, admin: bool) -> None:
    """Create an account. The password is read from VIDEOCOACH_PASSWORD or asked for."""
    from videocoach import transaction
    from videocoach.accounts.services import create_user as create
    from videocoach.migrate import upgrade

    password = os.environ.get("VIDEOCOACH_PASSWORD") or click.prompt(
        "Password", hide_input=True, confirmation_prompt=True
    )
    app = _make_app()
    upgrade(app)
    with app.app_context():
        try:
            user = create(email, password, name, is_admin=admin)
        except DomainError as error:
            click.echo(f"Could not create the account: {error.message}", err=True)
            sys.exit(1)
        transaction.commit()
        click.echo(f"Created {'admin ' if admin else ''}account {user.email} (id {user.id}).")


@main.command("send-digests")
def send_digests() -> None:
    """Email each user who chose a daily digest what they have not seen (run once a day)."""
    from videocoach.notifications.services import send_daily_digests

    app = _make_app()
    with app.app_context():
        sent = send_daily_digests()
    click.echo(f"Sent {sent} digest email{'s' if sent != 1 else ''}.")


if __name__ == "__main__":
    main()
