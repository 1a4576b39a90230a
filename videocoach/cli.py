"""The `videocoach` command: serve, worker, db upgrade, create-user, send-digests, and the
operator tasks (requeue, export-partnership, purge-user, reconcile, storage migrate:
docs/operations.md)."""

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
    upgrade(app, quiet=True)
    app.extensions["videocoach.engine"].dispose()  # no connection crosses the fork
    # The last line printed, once the server listens and the worker has started.
    running = f"videocoach is running on http://{host}:{port}/ (data in {settings.data_dir}; "
    serve_app(
        app,
        host=host,
        port=port,
        threads=threads,
        with_worker=run_worker,
        announce=running + "Ctrl+C to stop)",
    )


@main.command()
@click.option("--concurrency", type=int, default=None, help="Jobs run at once.")
@click.option(
    "--short-clips-only",
    is_flag=True,
    help="Never transcode long clips (VIDEOCOACH_LONG_CLIP_MINUTES): keep this worker for "
    "short ones; other workers take the long.",
)
@click.option(
    "--quiet",
    is_flag=True,
    help="No Celery banner, and Celery's own lines only from warnings up (videocoach's "
    "stay): how `videocoach serve` starts its worker.",
)
def worker(concurrency: int | None, short_clips_only: bool, quiet: bool) -> None:
    """Run a background worker for the configured broker (the media pipeline)."""
    from workers.celery_app import run_worker

    app = _make_app()
    _require_media_tools(app)
    settings = app.extensions["videocoach.settings"]
    run_worker(
        app,
        concurrency=concurrency or settings.worker_concurrency,
        takes_long_clips=not short_clips_only,
        quiet=quiet,
    )


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


# --- operator tasks (videocoach/operations, docs/operations.md) --------------------------------


def _refuse(error: DomainError) -> None:
    click.echo(error.message, err=True)
    sys.exit(1)


@main.command()
@click.argument("clip_id")
@click.option(
    "--force",
    is_flag=True,
    help="Queue a failed clip even when the failure was in the file itself (after you "
    "changed what reads it, e.g. a newer ffmpeg).",
)
def requeue(clip_id: str, force: bool) -> None:
    """Hand clip CLIP_ID to the workers again.

    A failed clip is queued with a fresh count of attempts, as the uploader's "Try again"
    does (steps already done are skipped). A queued or processing clip that no worker holds
    is handed over at once. A ready clip, and one a worker is processing right now, are
    left alone.

    Exit status: 0 queued; 1 nothing done (the reason is printed).
    """
    from videocoach.operations.requeue import requeue as requeue_clip

    app = _make_app()
    with app.app_context():
        try:
            done = requeue_clip(clip_id, even_if_hopeless=force)
        except DomainError as error:
            if error.code == "retry_cannot_help":
                error.message += " (--force queues it anyway.)"
            _refuse(error)
    if done.attempts_reset:
        click.echo(f"Clip {done.clip_id} was failed; it is queued again with fresh attempts.")
    else:
        click.echo(
            f"Clip {done.clip_id} was {done.was} with no worker holding it; it is handed to "
            "the workers again."
        )


@main.command("export-partnership")
@click.argument("partnership_id")
@click.option(
    "--to",
    "destination",
    required=True,
    metavar="FILE.zip",
    type=click.Path(dir_okay=False),
    help="The zip to write (its directory must exist).",
)
@click.option("--originals", is_flag=True, help="Also include each clip's original upload.")
@click.option(
    "--include-private-of",
    "private_of",
    metavar="EMAIL",
    help="Also include this person's own private clips and private notes.",
)
@click.option("--force", is_flag=True, help="Replace FILE.zip if it exists.")
def export_partnership(
    partnership_id: str, destination: str, originals: bool, private_of: str | None, force: bool
) -> None:
    """Write partnership PARTNERSHIP_ID to a zip, for a member who leaves.

    \b
    Inside: README.txt (the layout), partnership.json, comments.json (replies nested),
    comments.csv, goals.json, next_steps.json, meetings.json, and one folder per clip
    with video.mp4 (the web rendition), poster.jpg, captions, comments.csv,
    comments.vtt (subtitles) and clip.json.

    It holds what every member sees: shared clips and their comments. Private clips and
    private notes are their author's alone and stay out, unless --include-private-of
    names their author. The zip is written under a temporary name and renamed when
    complete: a failed export leaves no file.

    Exit status: 0 written; 1 nothing written (the reason is printed).
    """
    from pathlib import Path

    from videocoach.operations.export import export_partnership as export
    from videocoach.storage import StorageError

    app = _make_app()
    with app.app_context():
        try:
            summary = export(
                partnership_id,
                Path(destination),
                originals=originals,
                private_of=private_of,
                overwrite=force,
            )
        except DomainError as error:
            _refuse(error)
        except (StorageError, OSError) as error:
            click.echo(f"The export failed and nothing was written: {error}", err=True)
            sys.exit(1)
    for name in summary.missing:
        click.echo(f"warning: {name} was missing from storage and is not in the zip", err=True)
    private = f", {summary.private_notes} of them private" if summary.private_notes else ""
    click.echo(
        f"Wrote {summary.path}: {summary.clips} clips, {summary.comments} comments{private}, "
        f"{summary.goals} goals, {summary.next_steps} next steps, {summary.meetings} meetings, "
        f"{summary.media_files} media files ({summary.media_bytes / 1024**2:.1f} MB)."
    )


@main.command("purge-user")
@click.argument("email")
@click.option("--yes", is_flag=True, help="Erase without asking (after printing the plan).")
@click.option(
    "--keep-shared-clips",
    is_flag=True,
    help="Hand the person's shared clips (and the comments on them) to their partnership "
    "instead of deleting them; the longest-standing remaining member becomes the uploader.",
)
def purge_user(email: str, yes: bool, keep_shared_clips: bool) -> None:
    """Erase the person with address EMAIL, on their request.

    \b
    Deleted: the account; its sign-ins, API tokens, reset links and notifications;
    all their comments, private notes and shared ones (replies by others stay, as
    comments of their own); their clips with every stored file and the comments and
    meetings on them (unless --keep-shared-clips: then shared clips stay with the
    partnership, private ones are still deleted); their memberships, and any
    partnership left with no member, with all its content; invitations to them and
    their unfinished uploads.
    Kept without their name: goals, next steps, meetings and invitations they made.

    Prints what it will do (counts) and asks first, unless --yes. Logs counts and ids,
    never content. See docs/operations.md.

    Exit status: 0 erased; 1 nothing done (no such account, or not confirmed), or erased
    but some stored files could not be deleted (run `videocoach reconcile --apply`).
    """
    from videocoach.operations import erasure

    app = _make_app()
    with app.app_context():
        try:
            plan = erasure.plan_erasure(email, keep_shared_clips=keep_shared_clips)
        except DomainError as error:
            _refuse(error)
        click.echo("This erases, and cannot be undone:")
        for line in plan.lines():
            click.echo(f"  - {line}")
        if not yes and not click.confirm(f"Erase {plan.email}?", default=False):
            click.echo("Nothing was changed.", err=True)
            sys.exit(1)
        result = erasure.erase(plan)
    click.echo(
        f"Erased {plan.email} (user {plan.user_id}); "
        f"{result.stored_objects_deleted} stored objects deleted."
    )
    if result.storage_problems:
        click.echo(
            f"The stored files of {len(result.storage_problems)} clips could not be deleted; "
            "run `videocoach reconcile --apply` when the storage answers again.",
            err=True,
        )
        sys.exit(1)


@main.command()
@click.option(
    "--dry-run/--apply",
    "dry_run",
    default=True,
    help="--dry-run (the default) only lists what is found; --apply acts on it.",
)
@click.option(
    "--min-age",
    default=60,
    show_default=True,
    type=click.IntRange(min=0),
    metavar="MINUTES",
    help="Stored objects and staged files younger than this are never counted as orphans "
    "(an upload may be finishing).",
)
def reconcile(dry_run: bool, min_age: int) -> None:
    """List what housekeeping would clean up; with --apply, clean it up.

    \b
    Stuck clips: waiting with no worker holding them and no recent hand-over
      (--apply hands them to the workers again, as every worker's reconcile does).
    Orphaned stored objects: files under clips/ that no clip owns
      (--apply deletes them).
    Replaced quick copies: the fast path's copy of a clip whose web rendition
      exists, kept by clips processed before the pipeline deleted it
      (--apply deletes them).
    Abandoned uploads: resumable uploads past their expiry, and staged files
      with no upload (--apply deletes them).

    Exit status: 0 listed (or done); 1 could not finish (the reason is printed).
    """
    from datetime import timedelta

    from videocoach.operations import reconcile as housekeeping
    from videocoach.storage import StorageError

    app = _make_app()
    with app.app_context():
        try:
            found = housekeeping.survey(timedelta(minutes=min_age))
            for line in found.lines():
                click.echo(line)
            if found.empty:
                click.echo("Nothing to reconcile.")
                return
            if dry_run:
                click.echo("Nothing was changed; run with --apply to act on this.")
                return
            done = housekeeping.apply(found)
        except (StorageError, OSError) as error:
            click.echo(f"Reconcile could not finish: {error}", err=True)
            sys.exit(1)
    click.echo(
        f"Handed {len(done.handed_over)} clips to the workers again; deleted "
        f"{done.objects_deleted} orphaned objects, {done.quick_copies_deleted} replaced "
        f"quick copies, {done.uploads_removed} expired uploads and "
        f"{done.staged_files_removed} stray staged files."
    )


@main.group()
def storage() -> None:
    """Where the media live (VIDEOCOACH_STORAGE)."""


@storage.command("migrate")
@click.option(
    "--to",
    "target",
    required=True,
    metavar="s3://BUCKET[/PREFIX]",
    help="The bucket (and prefix) to copy the media to; the endpoint and key come from "
    "S3_ENDPOINT_URL and AWS_*, as for the service.",
)
def storage_migrate(target: str) -> None:
    """Copy the media from local files to an S3 bucket, for a switch to object storage.

    \b
    Copies every stored object (originals, renditions, images, captions) and checks
    each copy: its size, and the SHA-256 of originals read back from the bucket.
    Objects already in the bucket with the same size are skipped, so an interrupted
    run resumes when run again. Nothing local is changed or deleted. At the end it
    prints the setting that switches the service to the bucket. See
    docs/operations.md.

    Exit status: 0 every object is in the bucket; 1 some are not (the reason is
    printed; run it again); 2 the target is not an S3 bucket.
    """
    from videocoach.errors import Invalid
    from videocoach.operations import storage_migrate as migration
    from videocoach.storage import StorageError

    last: list[migration.Step] = []

    def show(step: migration.Step) -> None:
        last[:] = [step]
        tally = step.tally
        click.echo(
            f"[{tally.done}/{tally.total}] {step.outcome} {step.key} ({human_size(step.size)}); "
            f"{human_size(tally.done_bytes)} of {human_size(tally.total_bytes)}"
        )

    app = _make_app()
    with app.app_context():
        try:
            done = migration.migrate(target, on_step=show)
        except Invalid as error:
            click.echo(error.message, err=True)
            sys.exit(2)
        except DomainError as error:
            _refuse(error)
        except (StorageError, OSError, KeyboardInterrupt) as error:
            so_far = f" after {last[0].tally.done} objects" if last else ""
            why = "it was interrupted" if isinstance(error, KeyboardInterrupt) else str(error)
            click.echo(
                f"The migration stopped{so_far}: {why}. Nothing local was changed; run the "
                "same command again to copy the rest.",
                err=True,
            )
            sys.exit(1)
    click.echo(
        f"Copied {done.copied} objects ({human_size(done.copied_bytes)}), "
        f"{done.checksums_verified} of them checked against their SHA-256; skipped "
        f"{done.skipped} already in the bucket ({human_size(done.skipped_bytes)})"
        + (f"; {done.gone} deleted locally meanwhile" if done.gone else "")
        + "."
    )
    if done.problems:
        click.echo(f"{len(done.problems)} objects could not be copied:", err=True)
        for problem in done.problems:
            click.echo(f"  {problem}", err=True)
        click.echo("Run the same command again once the cause is fixed.", err=True)
        sys.exit(1)
    click.echo("Every object is in the bucket. To switch over:")
    click.echo("  1. Stop videocoach (web and workers), then run this command once more.")
    endpoint = f"S3_ENDPOINT_URL={done.endpoint_url} and " if done.endpoint_url else ""
    click.echo(f"  2. Set (keep {endpoint}the AWS_* key this run used):")
    for name, value in done.settings_to_set().items():
        click.echo(f"       {name}={value}")
    click.echo("  3. Start videocoach again.")
    click.echo(
        f"The local files in {done.source_root} were not changed: delete them once the "
        "service runs from the bucket."
    )


def human_size(size: int) -> str:
    """A byte count for people: "512 bytes", "3.4 KB", "20.6 MB", "1.2 GB" (powers of 1024)."""
    if size < 1024:
        return f"{size} bytes"
    value, unit = size / 1024, "KB"
    for bigger in ("MB", "GB"):
        if value < 1024:
            break
        value, unit = value / 1024, bigger
    return f"{value:.1f} {unit}"


if __name__ == "__main__":
    main()
