"""The writer claim that keeps web hosts from writing one upload at once, when its bytes
are staged in the bucket: what two requests on different hosts would race on, driven
step by step (the real S3 server and database; no HTTP)."""

from __future__ import annotations

import io
import secrets
from collections.abc import Iterator
from datetime import timedelta

import pytest
from flask import Flask

from tests.conftest import BUCKET
from videocoach import db
from videocoach.accounts.models import User
from videocoach.clips import staged_chunks, uploads
from videocoach.clips.models import Upload, UploadChunk
from videocoach.db import utcnow
from videocoach.storage import current_storage


@pytest.fixture
def s3_app(make_app, s3_endpoint) -> Iterator[Flask]:
    app = make_app(
        VIDEOCOACH_STORAGE=f"s3://{BUCKET}/chunks-{secrets.token_hex(4)}",
        S3_ENDPOINT_URL=s3_endpoint,
    )
    yield app
    app.extensions["videocoach.engine"].dispose()


@pytest.fixture
def upload_id(s3_app, make_user, api_for) -> str:
    user = make_user()
    created = api_for(user).post("/api/v1/partnerships", json={"name": "L", "role": "teacher"})
    with s3_app.app_context():
        upload = uploads.create_upload(
            db.session.get(User, user.id), 10, {"partnership_id": created.json["partnership"]["id"]}
        )
        db.session.commit()
        return upload.id


def test_a_second_writer_gets_no_claim_while_the_first_holds_it(s3_app, upload_id):
    with s3_app.app_context():
        upload = db.session.get(Upload, upload_id)
        first = staged_chunks.claim(upload)
        assert first is not None
        assert staged_chunks.claim(upload) is None  # another host's request: 423
        staged_chunks.release(upload_id, first)
        assert staged_chunks.claim(upload) is not None  # free again


def test_a_writer_whose_claim_ran_out_cannot_record_its_chunk(s3_app, upload_id):
    """A request that stalled past its claim while another took over must not move the
    offset: its chunk is deleted, the newer writer's counts."""
    with s3_app.app_context():
        upload = db.session.get(Upload, upload_id)
        stalled = staged_chunks.claim(upload)
        late_chunk = staged_chunks.store(upload, io.BytesIO(b"late"), stalled)
        assert late_chunk is not None
        upload.writer_until = utcnow() - timedelta(seconds=1)  # it stalled past its claim
        db.session.commit()

        newer = staged_chunks.claim(upload)
        assert newer is not None
        assert not staged_chunks.record(upload, late_chunk, stalled)
        db.session.refresh(upload)
        assert upload.offset == 0
        assert not current_storage().exists(late_chunk.key)

        chunk = staged_chunks.store(upload, io.BytesIO(b"fresh"), newer)
        assert staged_chunks.record(upload, chunk, newer)
        assert upload.offset == 5
        rows = db.session.query(UploadChunk).filter_by(upload_id=upload_id).all()
        assert [(row.start, row.size) for row in rows] == [(0, 5)]


def test_a_chunk_is_recorded_only_at_the_offset_it_started_from(s3_app, upload_id):
    with s3_app.app_context():
        upload = db.session.get(Upload, upload_id)
        token = staged_chunks.claim(upload)
        first = staged_chunks.store(upload, io.BytesIO(b"abc"), token)
        second = staged_chunks.store(upload, io.BytesIO(b"xyz"), token)  # also from 0
        assert staged_chunks.record(upload, first, token)
        assert not staged_chunks.record(upload, second, token)
        assert upload.offset == 3
        assert not current_storage().exists(second.key)
