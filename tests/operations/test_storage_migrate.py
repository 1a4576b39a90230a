"""`videocoach storage migrate --to s3://BUCKET[/PREFIX]`: every local object is copied to a
real S3 server (moto) and checked, the service then runs from the bucket with nothing
orphaned or missing, an interrupted run resumes with what is left, a bad copy is reported
and not left behind, and bad targets are refused with a sentence."""

from __future__ import annotations

import secrets
import subprocess
import sys
import urllib.request

import pytest
from sqlalchemy import select

from tests.conftest import BUCKET, app_config
from tests.studio import Studio, make_studio
from videocoach import db
from videocoach.cli import human_size
from videocoach.clips import files
from videocoach.clips.models import ClipAsset
from videocoach.operations import storage_migrate
from videocoach.storage import open_storage


@pytest.fixture
def lessons(make_app, make_user, media_samples) -> Studio:
    """Two ready clips on local storage: one took the fast path, one was transcoded."""
    studio = make_studio(make_app(VIDEOCOACH_TASKS_EAGER="1"), make_user)
    studio.ids = [
        studio.upload(media_samples[name], visibility="shared").json["clip"]["id"]
        for name in ("h264_aac.mp4", "vp9.webm")
    ]
    assert all(studio.clip(clip_id)["status"] == "ready" for clip_id in studio.ids)
    return studio


@pytest.fixture
def target(s3_endpoint) -> str:
    return f"s3://{BUCKET}/migrated-{secrets.token_hex(4)}"


def listing(storage) -> dict[str, int]:
    return {item.key: item.size for item in storage.list_objects(files.CLIPS_PREFIX)}


def bucket(url: str, endpoint: str):
    return open_storage(url, endpoint_url=endpoint)


def test_migrate_copies_every_object_and_the_service_then_runs_from_the_bucket(
    lessons, cli, make_app, target, s3_endpoint
):
    local = listing(lessons.storage())
    result = cli("storage", "migrate", "--to", target, S3_ENDPOINT_URL=s3_endpoint)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    total_mb = human_size(sum(local.values()))
    assert lines[0].startswith(f"[1/{len(local)}] copied clips/")
    assert lines[len(local) - 1].startswith(f"[{len(local)}/{len(local)}] copied clips/")
    assert lines[len(local) - 1].endswith(f"; {total_mb} of {total_mb}")
    assert f"Copied {len(local)} objects ({total_mb}), 2 of them checked against" in result.stdout
    assert "skipped 0 already in the bucket" in result.stdout
    assert (
        f"  2. Set (keep S3_ENDPOINT_URL={s3_endpoint} and the AWS_* key this run used):" in lines
    )
    assert f"       VIDEOCOACH_STORAGE={target}" in lines
    assert listing(bucket(target, s3_endpoint)) == local
    assert listing(lessons.storage()) == local  # the source is untouched

    # Switch over: the one printed setting, the same endpoint and key.
    switched = {"VIDEOCOACH_STORAGE": target, "S3_ENDPOINT_URL": s3_endpoint}
    lessons.app = make_app(**switched)
    clip = lessons.clip(lessons.ids[0], "coach")
    redirect = lessons.get(clip["media"]["video"], "coach")
    assert redirect.status_code == 302 and redirect.headers["Location"].startswith(s3_endpoint)
    with urllib.request.urlopen(redirect.headers["Location"], timeout=10) as answer:
        served = answer.read()
    media = lessons.app.extensions["videocoach.settings"].data_dir / "media"
    assert served == (media / files.key(lessons.ids[0], files.WEB)).read_bytes()
    reconcile = cli("reconcile", "--min-age", "0", **switched)
    assert reconcile.exit_code == 0, reconcile.output
    assert "Orphaned stored objects: 0" in reconcile.stdout
    assert "Nothing to reconcile." in reconcile.stdout
    with lessons.app.app_context():
        recorded = set(db.session.scalars(select(ClipAsset.key)))
    assert recorded == set(local)  # nothing the database names is missing from the bucket


def test_an_interrupted_migration_copies_only_the_rest_when_run_again(
    lessons, cli, make_app, target, s3_endpoint
):
    local = listing(lessons.storage())

    def interrupt_after_three(step: storage_migrate.Step) -> None:
        if step.tally.copied == 3:
            raise KeyboardInterrupt  # as the operator's Ctrl+C

    with make_app(S3_ENDPOINT_URL=s3_endpoint).app_context(), pytest.raises(KeyboardInterrupt):
        storage_migrate.migrate(target, on_step=interrupt_after_three)
    first = listing(bucket(target, s3_endpoint))
    assert len(first) == 3

    result = cli("storage", "migrate", "--to", target, S3_ENDPOINT_URL=s3_endpoint)
    assert result.exit_code == 0, result.output
    outcomes = [line.split()[1] for line in result.stdout.splitlines() if line.startswith("[")]
    assert outcomes == ["skipped"] * 3 + ["copied"] * (len(local) - 3)  # in key order
    assert f"Copied {len(local) - 3} objects" in result.stdout
    skipped_mb = human_size(sum(first.values()))
    assert f"skipped 3 already in the bucket ({skipped_mb})" in result.stdout
    assert listing(bucket(target, s3_endpoint)) == local


def test_a_copy_that_does_not_match_its_checksum_is_reported_and_not_left_in_the_bucket(
    lessons, cli, target, s3_endpoint
):
    media = lessons.app.extensions["videocoach.settings"].data_dir / "media"
    damaged = files.key(lessons.ids[1], files.ORIGINAL)
    original = media / damaged
    data = bytearray(original.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped bit: the same size, other bytes
    original.write_bytes(bytes(data))

    result = cli("storage", "migrate", "--to", target, S3_ENDPOINT_URL=s3_endpoint)
    assert result.exit_code == 1, result.output
    assert "1 objects could not be copied:" in result.stderr
    assert f"  {damaged}: the local file no longer matches the SHA-256" in result.stderr
    assert "VIDEOCOACH_STORAGE=" not in result.stdout  # no switch-over advice
    copied = listing(bucket(target, s3_endpoint))
    assert damaged not in copied
    assert set(copied) == set(listing(lessons.storage())) - {damaged}


def test_a_bucket_that_stops_answering_stops_the_migration_with_a_sentence(
    lessons, cli, target, s3_proxy
):
    s3_proxy.cut()
    result = cli(
        "storage", "migrate", "--to", target, S3_ENDPOINT_URL=f"http://127.0.0.1:{s3_proxy.port}"
    )
    assert result.exit_code == 1
    assert result.stderr.startswith("The migration stopped: ")
    assert "run the same command again to copy the rest." in result.stderr


@pytest.mark.parametrize(
    ("to", "sentence"),
    [
        ("file:///srv/media", "--to 'file:///srv/media' is not an S3 bucket"),
        ("/srv/media", "--to '/srv/media' is not an S3 bucket"),
        ("s3://", "--to 's3://' must look like s3://bucket or s3://bucket/prefix."),
        ("s3://bucket/two  spaces", "--to 's3://bucket/two  spaces' has an unusable prefix"),
    ],
)
def test_a_target_that_is_not_an_s3_bucket_is_refused_as_a_usage_error(
    app, cli, s3_endpoint, to, sentence
):
    result = cli("storage", "migrate", "--to", to, S3_ENDPOINT_URL=s3_endpoint)
    assert result.exit_code == 2
    assert result.stderr.startswith(sentence)


def test_a_missing_bucket_is_refused_with_a_sentence(app, cli, s3_endpoint):
    result = cli("storage", "migrate", "--to", "s3://no-such-bucket", S3_ENDPOINT_URL=s3_endpoint)
    assert result.exit_code == 1
    assert "The S3 bucket 'no-such-bucket' is not usable" in result.stderr


def test_media_already_in_object_storage_are_not_migrated(app, cli, target, s3_endpoint):
    result = cli(
        "storage",
        "migrate",
        "--to",
        target,
        VIDEOCOACH_STORAGE=f"s3://{BUCKET}/current",
        S3_ENDPOINT_URL=s3_endpoint,
    )
    assert result.exit_code == 1
    assert result.stderr.startswith("The media are already in object storage")


def test_sizes_are_printed_for_people():
    assert human_size(512) == "512 bytes"
    assert human_size(3482) == "3.4 KB"
    assert human_size(21_600_000) == "20.6 MB"
    assert human_size(5 * 1024**4) == "5120.0 GB"


def test_storage_migrate_explains_itself_as_a_real_process(database_url, tmp_path):
    env = {"PATH": "/usr/bin:/bin", **app_config(database_url, tmp_path / "data")}
    shown = subprocess.run(
        [sys.executable, "-m", "videocoach.cli", "storage", "migrate", "--help"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shown.returncode == 0, shown.stderr
    assert "Copy the media from local files to an S3 bucket" in shown.stdout
    assert "Exit status" in shown.stdout and "--to s3://BUCKET[/PREFIX]" in shown.stdout
