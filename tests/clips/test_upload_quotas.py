"""Daily upload allowances per person (clips.quotas), through both doors: the multipart API
and tus (refused at creation, from Upload-Length, before a byte is sent). A refusal is a
429 in the API's error envelope whose sentence says the limit and when it resets (with
Retry-After), and the upload page shows the same sentence."""

from __future__ import annotations

import threading
from datetime import timedelta
from io import BytesIO
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conftest import sign_in_as
from tests.helpers.tus import metadata_header
from tests.studio import Studio, make_studio
from videocoach import db
from videocoach.clips import quotas
from videocoach.clips.models import Clip, Upload, UploadUsage
from videocoach.clips.uploads import sweep_expired
from videocoach.config import Settings
from videocoach.db import utcnow
from videocoach.errors import ConfigError

TUS = {"Tus-Resumable": "1.0.0"}
OFFSET_TYPE = "application/offset+octet-stream"
COUNT_REFUSAL = (
    "You have uploaded {n} clips today, the most this server accepts from one person in a "
    "day. The limit resets at midnight UTC, in "
)


@pytest.fixture
def allowance(make_app, make_user):
    """A teacher + coach partnership on an app with these daily allowances."""

    def factory(uploads: int = 0, bytes_: int = 0) -> Studio:
        app = make_app(
            VIDEOCOACH_UPLOADS_PER_DAY=str(uploads), VIDEOCOACH_UPLOAD_BYTES_PER_DAY=str(bytes_)
        )
        return make_studio(app, make_user)

    return factory


@pytest.fixture
def lesson(media_samples) -> bytes:
    return media_samples["h264_aac.mp4"].read_bytes()


def start_tus(studio: Studio, length: int, who: str = "teacher"):
    return studio.client().post(
        "/api/v1/uploads",
        headers={
            **TUS,
            **studio.headers(who),
            "Upload-Length": str(length),
            "Upload-Metadata": metadata_header(partnership_id=studio.pid, filename="lesson.mp4"),
        },
    )


def via_tus(studio: Studio, data: bytes, who: str = "teacher"):
    created = start_tus(studio, len(data), who)
    if created.status_code != 201:
        return created
    return studio.client().patch(
        created.headers["Location"],
        data=data,
        headers={**TUS, **studio.headers(who), "Upload-Offset": "0", "Content-Type": OFFSET_TYPE},
    )


def via_multipart(studio: Studio, data: bytes, who: str = "teacher"):
    return studio.client().post(
        f"/api/v1/partnerships/{studio.pid}/clips",
        data={"file": (BytesIO(data), "lesson.mp4")},
        headers=studio.headers(who),
        content_type="multipart/form-data",
    )


DOORS = {"multipart": via_multipart, "tus": via_tus}
ACCEPTED = {"multipart": 202, "tus": 204}


def clip_count(studio: Studio) -> int:
    with studio.app.app_context():
        return len(db.session.scalars(select(Clip.id)).all())


def upload_rows(studio: Studio) -> int:
    with studio.app.app_context():
        return len(db.session.scalars(select(Upload.id)).all())


def assert_refused(response, starts: str) -> str:
    assert response.status_code == 429, (response.status_code, response.data)
    error = response.json["error"]
    assert error["code"] == "upload_limit"
    assert error["message"].startswith(starts), error["message"]
    assert error["message"].endswith(" minutes.") or error["message"].endswith(" minute.")
    assert 0 < int(response.headers["Retry-After"]) <= 24 * 3600
    return error["message"]


@pytest.mark.parametrize("door", DOORS)
def test_an_upload_past_the_daily_count_is_429_with_the_limit_and_when_it_resets(
    allowance, lesson, door
):
    studio = allowance(uploads=2)
    for _ in range(2):
        assert DOORS[door](studio, lesson).status_code == ACCEPTED[door]
    uploads_before = upload_rows(studio)
    assert_refused(DOORS[door](studio, lesson), COUNT_REFUSAL.format(n=2))
    assert clip_count(studio) == 2
    assert upload_rows(studio) == uploads_before  # tus: refused at creation, nothing staged
    # The allowance is per person: the coach still uploads.
    assert DOORS[door](studio, lesson, who="coach").status_code == ACCEPTED[door]


@pytest.mark.parametrize("door", DOORS)
def test_an_upload_past_the_daily_bytes_is_429_with_what_is_left(allowance, lesson, door):
    size = len(lesson)
    studio = allowance(bytes_=size * 2 + size // 2)
    for _ in range(2):
        assert DOORS[door](studio, lesson).status_code == ACCEPTED[door]
    refused = DOORS[door](studio, lesson)
    message = assert_refused(
        refused,
        f"This file ({quotas.size_text(size)}) would take your uploads today past the "
        f"{quotas.size_text(size * 2 + size // 2)} a day this server accepts from one person: "
        f"{quotas.size_text(size // 2)} is left for today. The limit resets at midnight UTC, in ",
    )
    assert "KB" in message
    assert clip_count(studio) == 2
    # What is left still takes a smaller file; then nothing more is taken today.
    assert DOORS[door](studio, lesson[: size // 2]).status_code == ACCEPTED[door]
    assert_refused(
        DOORS[door](studio, lesson[:100]),
        f"You have uploaded {quotas.size_text(size * 2 + size // 2)} today, the most this "
        "server accepts from one person in a day. The limit resets at midnight UTC, in ",
    )


def larger_than_a_day(response, starts: str) -> None:
    """No day would take it: 413, like a file over the server's size limit."""
    assert response.status_code == 413, (response.status_code, response.data)
    assert response.json["error"]["code"] == "too_large"
    assert response.json["error"]["message"].startswith(starts)
    assert response.json["error"]["message"].endswith(
        "Export a shorter or smaller version and upload that."
    )


def test_tus_is_refused_at_creation_from_upload_length_before_any_byte(allowance, lesson):
    studio = allowance(bytes_=10 * 1024**2)
    larger_than_a_day(
        start_tus(studio, 10 * 1024**2 + 1),
        "This file (10 MB) is more than the 10 MB this server accepts from one person in a day",
    )
    assert start_tus(studio, 10 * 1024**2 - len(lesson)).status_code == 201
    refused = start_tus(studio, len(lesson) + 1)  # past what is left: refused before any byte
    assert_refused(refused, "This file (")
    assert upload_rows(studio) == 1


class UnreadBody(BytesIO):
    """A request body that notes whether anybody read it."""

    read_at_all = False

    def read(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.read_at_all = True
        return super().read(*args, **kwargs)


def test_multipart_past_the_bytes_left_is_refused_before_the_body_is_read(allowance):
    studio = allowance(bytes_=10 * 1024**2)
    assert start_tus(studio, 6 * 1024**2).status_code == 201  # 4 MB left today

    def post(size: int) -> tuple[object, UnreadBody]:
        body = UnreadBody(b"x" * size)
        response = studio.client().post(
            f"/api/v1/partnerships/{studio.pid}/clips",
            input_stream=body,
            content_length=size,
            content_type="multipart/form-data; boundary=x",
            headers=studio.headers(),
        )
        return response, body

    # 8 MB of body holds a file of at least 7 MB (the rest is room for the other fields).
    refused, body = post(8 * 1024**2)
    assert_refused(refused, "This file (7 MB) would take your uploads today past the 10 MB")
    assert not body.read_at_all
    refused, body = post(12 * 1024**2)
    larger_than_a_day(refused, "This file (11 MB) is more than the 10 MB this server accepts")
    assert not body.read_at_all


def move_usage_to_yesterday(studio: Studio) -> None:
    with studio.app.app_context():
        for usage in db.session.scalars(select(UploadUsage)).all():
            usage.day -= timedelta(days=1)
        db.session.commit()


@pytest.mark.parametrize("door", DOORS)
def test_the_allowance_comes_back_the_next_day(allowance, lesson, door):
    studio = allowance(uploads=1, bytes_=len(lesson))
    assert DOORS[door](studio, lesson).status_code == ACCEPTED[door]
    assert DOORS[door](studio, lesson).status_code == 429
    move_usage_to_yesterday(studio)  # midnight UTC has passed
    assert DOORS[door](studio, lesson).status_code == ACCEPTED[door]


@pytest.mark.parametrize("door", DOORS)
def test_zero_means_no_limit(allowance, lesson, door):
    studio = allowance(uploads=0, bytes_=0)
    for _ in range(4):
        assert DOORS[door](studio, lesson).status_code == ACCEPTED[door]
    with studio.app.app_context():  # still counted, should an operator set a limit later
        usage = db.session.scalars(select(UploadUsage)).one()
        assert (usage.uploads, usage.bytes) == (4, 4 * len(lesson))


def test_settings_defaults_and_zero(tmp_path: Path):
    defaults = Settings.from_env({"VIDEOCOACH_DATA_DIR": str(tmp_path)})
    assert (defaults.uploads_per_day, defaults.upload_bytes_per_day) == (20, 20 * 1024**3)
    unlimited = Settings.from_env(
        {
            "VIDEOCOACH_DATA_DIR": str(tmp_path),
            "VIDEOCOACH_UPLOADS_PER_DAY": "0",
            "VIDEOCOACH_UPLOAD_BYTES_PER_DAY": "0",
        }
    )
    assert (unlimited.uploads_per_day, unlimited.upload_bytes_per_day) == (0, 0)
    for bad in ("-1", "ten", "2.5"):
        with pytest.raises(ConfigError, match="VIDEOCOACH_UPLOADS_PER_DAY must be a whole"):
            Settings.from_env(
                {"VIDEOCOACH_DATA_DIR": str(tmp_path), "VIDEOCOACH_UPLOADS_PER_DAY": bad}
            )


def test_an_abandoned_tus_upload_gives_its_place_back(allowance, lesson):
    studio = allowance(uploads=1)
    first = start_tus(studio, len(lesson))
    assert first.status_code == 201
    assert start_tus(studio, len(lesson)).status_code == 429
    terminated = studio.client().delete(
        first.headers["Location"], headers={**TUS, **studio.headers()}
    )
    assert terminated.status_code == 204
    second = start_tus(studio, len(lesson))
    assert second.status_code == 201
    with studio.app.app_context():  # and one that expires unfinished
        db.session.get(Upload, second.headers["Location"].rsplit("/", 1)[1]).expires_at = utcnow()
        db.session.commit()
        sweep_expired()
    assert start_tus(studio, len(lesson)).status_code == 201


def test_a_finished_upload_or_a_deleted_clip_gives_nothing_back(allowance, lesson):
    """Its processing already cost the workers their time."""
    studio = allowance(uploads=2)
    created = start_tus(studio, len(lesson))
    finished = via_tus_patch(studio, created.headers["Location"], lesson)
    clip_id = finished.headers["Videocoach-Clip-Id"]
    forgotten = studio.client().delete(
        created.headers["Location"], headers={**TUS, **studio.headers()}
    )
    assert forgotten.status_code == 204
    uploaded = via_multipart(studio, lesson).json["clip"]["id"]
    for cid in (clip_id, uploaded):
        assert (
            studio.client().delete(f"/api/v1/clips/{cid}", headers=studio.headers()).status_code
            == 204
        )
    assert_refused(via_multipart(studio, lesson), COUNT_REFUSAL.format(n=2))
    assert_refused(start_tus(studio, len(lesson)), COUNT_REFUSAL.format(n=2))


def via_tus_patch(studio: Studio, location: str, data: bytes):
    patched = studio.client().patch(
        location,
        data=data,
        headers={**TUS, **studio.headers(), "Upload-Offset": "0", "Content-Type": OFFSET_TYPE},
    )
    assert patched.status_code == 204
    return patched


def test_two_uploads_at_once_cannot_both_take_the_last_place(allowance):
    studio = allowance(uploads=1)
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def take() -> None:
        with studio.app.app_context():
            start.wait()
            try:
                quotas.reserve(studio.teacher_id, 1000)
                db.session.commit()
                outcomes.append("counted")
            except quotas.OverAllowance:
                db.session.rollback()
                outcomes.append("refused")

    threads = [threading.Thread(target=take) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["counted", "refused"]


def test_the_upload_page_shows_the_same_sentence(allowance, lesson):
    studio = allowance(uploads=1)
    page_client = studio.client()
    sign_in_as(page_client, studio.teacher_id)
    page = page_client.get(f"/partnerships/{studio.pid}/upload").get_data(as_text=True)
    assert 'id="file-error" hidden' in page  # nothing to say yet
    assert via_multipart(studio, lesson).status_code == 202
    refused = via_multipart(studio, lesson).json["error"]["message"]
    page = page_client.get(f"/partnerships/{studio.pid}/upload").get_data(as_text=True)
    shown = page.split('<p class="error" id="file-error">', 1)[1].split("</p>", 1)[0]
    # The same sentence (the minutes to midnight may have ticked between the two).
    assert shown.rsplit(" in ", 1)[0] == refused.rsplit(" in ", 1)[0]
    assert shown.startswith(COUNT_REFUSAL.format(n=1).replace("clips", "clip"))


def test_the_upload_page_says_when_todays_bytes_are_used_up(allowance, lesson):
    studio = allowance(bytes_=len(lesson))
    page_client = studio.client()
    sign_in_as(page_client, studio.teacher_id)
    assert via_tus(studio, lesson).status_code == 204
    page = page_client.get(f"/partnerships/{studio.pid}/upload").get_data(as_text=True)
    assert (
        f'<p class="error" id="file-error">You have uploaded {quotas.size_text(len(lesson))} '
        "today, the most this server accepts from one person in a day. The limit resets at "
        "midnight UTC, in "
    ) in page
