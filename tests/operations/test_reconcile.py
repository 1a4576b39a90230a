"""`videocoach reconcile [--apply]`: stuck clips, stored objects no clip owns and abandoned
uploads are listed without being touched, and cleaned up with --apply; what a live job is
writing, what a clip owns and what is younger than --min-age are never counted."""

from __future__ import annotations

import os
import secrets
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.conftest import BUCKET
from tests.helpers.tus import metadata_header
from tests.studio import make_studio
from videocoach import db
from videocoach.clips import files, uploads
from videocoach.clips.models import Clip, ClipAsset, Upload
from videocoach.db import utcnow
from videocoach.storage import LocalStorage, open_storage

HOUR_AGO = time.time() - 2 * 3600


def test_storage_lists_the_objects_under_a_prefix(tmp_path, s3_endpoint):
    local = LocalStorage(tmp_path / "media")
    s3 = open_storage(f"s3://{BUCKET}/list-{secrets.token_hex(4)}", endpoint_url=s3_endpoint)
    for storage in (local, s3):
        storage.put_bytes("clips/a/poster.jpg", b"12345", "image/jpeg")
        storage.put_bytes("clips/a/storyboard/000.jpg", b"1", "image/jpeg")
        storage.put_bytes("clips/ab/web.mp4", b"123", "video/mp4")
        storage.put_bytes("other/x", b"1", "text/plain")
        listed = {item.key: item for item in storage.list_objects("clips/a")}
        assert sorted(listed) == ["clips/a/poster.jpg", "clips/a/storyboard/000.jpg"]
        assert listed["clips/a/poster.jpg"].size == 5
        assert abs(listed["clips/a/poster.jpg"].modified_at - utcnow()) < timedelta(minutes=5)
        assert len(list(storage.list_objects("clips/"))) == 3
        assert list(storage.list_objects("nothing/")) == []
    # A write in progress (or one a crash cut short) is not an object.
    (tmp_path / "media" / "clips" / "a" / "~tmp-abc").write_bytes(b"half")
    assert len(list(local.list_objects("clips/"))) == 3


@pytest.fixture
def leftovers(make_app, make_user, media_samples):
    """A processed clip and one of each leftover, on an app whose jobs wait in the queue."""
    eager = make_app(VIDEOCOACH_TASKS_EAGER="1")
    studio = make_studio(eager, make_user)
    sample = media_samples["h264_aac.mp4"]
    ready = studio.upload(sample, visibility="shared").json["clip"]["id"]
    assert studio.clip(ready)["status"] == "ready"
    studio.app = make_app()  # from here on, jobs wait in the embedded queue
    stuck = studio.upload(sample).json["clip"]["id"]
    busy = studio.upload(sample).json["clip"]["id"]
    storage = studio.storage()
    media = studio.app.extensions["videocoach.settings"].data_dir / "media"
    now = utcnow()
    with studio.app.app_context():
        # Its job never reached the broker; and a clip a live job is working on.
        db.session.get(Clip, stuck).dispatched_at = None
        clip = db.session.get(Clip, busy)
        clip.status, clip.job_token, clip.heartbeat_at = "processing", "alive", now
        db.session.commit()
    gone = secrets.token_hex(16)
    keys = {
        "gone": files.key(gone, files.WEB),  # its clip was deleted
        "unrecorded": files.key(ready, "stray.bin"),  # no asset row
        "in_flight": files.key(busy, files.WEB),  # the live job is writing it
        "young": files.key(secrets.token_hex(16), files.POSTER),  # an upload finishing
    }
    for name, key in keys.items():
        storage.put_bytes(key, b"x" * 10, "application/octet-stream")
        if name != "young":
            os.utime(media / key, (HOUR_AGO, HOUR_AGO))

    # An abandoned resumable upload, and a staged file nobody knows.
    created = studio.client().post(
        "/api/v1/uploads",
        headers={
            **studio.headers(),
            "Tus-Resumable": "1.0.0",
            "Upload-Length": "1000",
            "Upload-Metadata": metadata_header(partnership_id=studio.pid, filename="a.mp4"),
        },
    )
    assert created.status_code == 201, created.data
    upload_id = created.headers["Location"].rsplit("/", 1)[1]
    with studio.app.app_context():
        db.session.get(Upload, upload_id).expires_at = now - timedelta(hours=1)
        db.session.commit()
        stray = uploads.staging_dir() / secrets.token_hex(16)
    stray.write_bytes(b"lost")
    os.utime(stray, (HOUR_AGO, HOUR_AGO))
    studio.ids = {"ready": ready, "stuck": stuck, "busy": busy, "upload": upload_id}
    studio.keys, studio.stray = keys, stray
    return studio


def queued_jobs(app) -> int:
    folder = app.extensions["videocoach.settings"].embedded_queue_dir
    return sum(1 for path in folder.iterdir() if path.is_file())


def read(app, model, row_id):
    with app.app_context():
        return db.session.get(model, row_id)


def test_reconcile_lists_without_changing_anything(leftovers, cli):
    studio, keys = leftovers, leftovers.keys
    jobs = queued_jobs(studio.app)
    result = cli("reconcile")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Stuck clips: 1\n" in out and f"  {studio.ids['stuck']}  queued" in out
    assert "last handed over never, attempts 0" in out
    stuck_section = out.split("Orphaned")[0]
    assert studio.ids["busy"] not in stuck_section and studio.ids["ready"] not in stuck_section
    assert "Orphaned stored objects: 2\n" in out
    assert f"  {keys['gone']}  10 bytes, its clip no longer exists" in out
    assert f"  {keys['unrecorded']}  10 bytes, no file of its clip" in out
    assert keys["in_flight"] not in out and keys["young"] not in out
    assert "Abandoned uploads: 1 expired, 1 staged files with no upload" in out
    assert f"  upload {studio.ids['upload']}  0 of 1000 bytes, expired" in out
    assert f"  staged file {studio.stray.name}  4 bytes" in out
    assert out.rstrip().endswith("Nothing was changed; run with --apply to act on this.")

    storage = studio.storage()
    assert all(storage.exists(key) for key in keys.values())
    assert read(studio.app, Clip, studio.ids["stuck"]).dispatched_at is None
    assert read(studio.app, Upload, studio.ids["upload"]) is not None
    assert studio.stray.exists() and queued_jobs(studio.app) == jobs
    # The young orphan shows once the operator says it is old enough.
    assert keys["young"] in cli("reconcile", "--min-age", "0").stdout
    # --dry-run says out loud what is the default.
    assert cli("reconcile", "--dry-run").stdout == result.stdout
    assert all(storage.exists(key) for key in keys.values())


def test_reconcile_apply_cleans_up_exactly_what_it_listed(leftovers, cli):
    studio, keys = leftovers, leftovers.keys
    jobs = queued_jobs(studio.app)
    result = cli("reconcile", "--apply")
    assert result.exit_code == 0, result.output
    assert (
        "Handed 1 clips to the workers again; deleted 2 orphaned objects, 0 replaced quick "
        "copies, 1 expired uploads and 1 stray staged files." in result.stdout
    )
    # Listed and handed over are the same clips: the listing follows dispatch.reconcile.
    assert read(studio.app, Clip, studio.ids["stuck"]).dispatched_at is not None
    assert queued_jobs(studio.app) == jobs + 1
    storage = studio.storage()
    assert not storage.exists(keys["gone"]) and not storage.exists(keys["unrecorded"])
    assert storage.exists(keys["in_flight"]) and storage.exists(keys["young"])
    ready = studio.clip(studio.ids["ready"])
    assert ready["status"] == "ready"
    assert studio.get(ready["media"]["video"]).status_code == 200  # its own files stay
    assert read(studio.app, Upload, studio.ids["upload"]) is None
    assert not studio.stray.exists()
    again = cli("reconcile")
    assert "Stuck clips: 0" in again.stdout and "Orphaned stored objects: 0" in again.stdout


def test_a_processed_clip_leaves_nothing_to_reconcile(studio, media_samples, cli):
    clip_id = studio.upload(media_samples["h264_aac.mp4"]).json["clip"]["id"]
    assert studio.clip(clip_id)["status"] == "ready"
    result = cli("reconcile", "--min-age", "0")
    assert result.exit_code == 0, result.output
    assert result.stdout.rstrip().endswith("Nothing to reconcile.")


def test_quick_copies_kept_from_before_are_listed_and_deleted_with_their_rows(
    studio, media_samples, cli
):
    """A clip made ready before the pipeline deleted the fast path's remux still has it:
    reconcile lists it, and --apply removes its row, then the object."""
    clip_id = studio.upload(media_samples["h264_aac.mp4"]).json["clip"]["id"]
    assert studio.clip(clip_id)["status"] == "ready"
    storage, quick = studio.storage(), files.key(clip_id, files.PLAYABLE)
    with studio.app.app_context():  # as such a clip was left
        with storage.open(files.key(clip_id, files.WEB)) as web:
            stored = storage.put_bytes(quick, web.read(), "video/mp4")
        db.session.add(
            ClipAsset(
                clip_id=clip_id, kind="playable", name=files.PLAYABLE, key=quick, size=stored.size
            )
        )
        db.session.commit()

    listed = cli("reconcile", "--min-age", "0")
    assert "Quick copies the web rendition replaced: 1\n" in listed.stdout
    assert f"  {quick}  {stored.size} bytes\n" in listed.stdout
    assert "Orphaned stored objects: 0" in listed.stdout and storage.exists(quick)
    applied = cli("reconcile", "--apply", "--min-age", "0")
    assert applied.exit_code == 0, applied.output
    assert "deleted 0 orphaned objects, 1 replaced quick copies," in applied.stdout
    assert not storage.exists(quick)
    with studio.app.app_context():
        names = db.session.scalars(select(ClipAsset.name).where(ClipAsset.clip_id == clip_id))
        assert files.PLAYABLE not in set(names)
    assert studio.get(studio.clip(clip_id)["media"]["video"]).status_code == 200
    again = cli("reconcile", "--min-age", "0")
    assert again.stdout.rstrip().endswith("Nothing to reconcile.")


def test_files_a_purge_could_not_delete_are_found_and_removed_later(
    make_app, make_user, media_samples, s3_proxy, cli
):
    """S3 goes away during purge-user: the account is erased all the same, the operator is
    told, and reconcile --apply removes the clip's objects once S3 answers again."""
    settings = {
        "VIDEOCOACH_STORAGE": f"s3://{BUCKET}/reconcile-{secrets.token_hex(4)}",
        "S3_ENDPOINT_URL": f"http://127.0.0.1:{s3_proxy.port}",
    }
    studio = make_studio(make_app(VIDEOCOACH_TASKS_EAGER="1", **settings), make_user)
    clip_id = studio.upload(media_samples["h264_aac.mp4"]).json["clip"]["id"]
    assert studio.clip(clip_id)["status"] == "ready"
    prefix = files.clip_prefix(clip_id)
    stored = len(list(studio.storage().list_objects(prefix)))
    assert stored > 3
    with studio.app.app_context():
        from videocoach.accounts.models import User

        email = db.session.get(User, studio.teacher_id).email

    s3_proxy.cut()
    # The database is reachable, storage is not: erasure goes ahead, files stay behind.
    purged = cli("purge-user", email, "--yes", **settings)
    assert purged.exit_code == 1, purged.output
    assert "The stored files of 1 clips could not be deleted" in purged.stderr
    assert "videocoach reconcile --apply" in purged.stderr
    assert read(studio.app, Clip, clip_id) is None
    s3_proxy.restore()

    listed = cli("reconcile", "--min-age", "0", **settings)
    assert f"Orphaned stored objects: {stored}\n" in listed.stdout
    assert "its clip no longer exists" in listed.stdout
    applied = cli("reconcile", "--apply", "--min-age", "0", **settings)
    assert applied.exit_code == 0, applied.output
    assert f"deleted {stored} orphaned objects" in applied.stdout
    assert list(studio.storage().list_objects(prefix)) == []
    with studio.app.app_context():
        assert db.session.scalars(select(Clip.id)).all() == []


def test_objects_staged_in_s3_for_no_upload_are_found_and_removed(
    make_app, make_user, s3_endpoint, cli
):
    """With S3 media, tus bytes are staged in the bucket: a host that died between storing
    a chunk and its upload's removal leaves objects only reconcile can find."""
    settings = {
        "VIDEOCOACH_STORAGE": f"s3://{BUCKET}/reconcile-{secrets.token_hex(4)}",
        "S3_ENDPOINT_URL": s3_endpoint,
    }
    studio = make_studio(make_app(**settings), make_user)
    live_upload = studio.start_upload(100, sent=b"live", filename="a.mp4")
    storage = studio.storage()
    stray_upload = secrets.token_hex(16)
    storage.put_bytes(f"tus-staging/{stray_upload}/00000000000000000000-x", b"lost!", "a/b")

    listed = cli("reconcile", "--min-age", "0", **settings)
    assert listed.exit_code == 0, listed.output
    assert "Abandoned uploads: 0 expired, 1 staged files with no upload" in listed.stdout
    assert f"  staged objects tus-staging/{stray_upload}/  5 bytes" in listed.stdout
    assert live_upload not in listed.stdout
    assert len(list(storage.list_objects(f"tus-staging/{stray_upload}/"))) == 1

    applied = cli("reconcile", "--apply", "--min-age", "0", **settings)
    assert applied.exit_code == 0, applied.output
    assert list(storage.list_objects(f"tus-staging/{stray_upload}/")) == []
    assert len(list(storage.list_objects(f"tus-staging/{live_upload}/"))) == 1
