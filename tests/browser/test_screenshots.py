"""Every page of the product at desktop (1440x900), tablet (820x1180) and phone (390x844):
none is wider than the window, axe-core finds no WCAG 2.1 A/AA problem, and each run
writes docs/screenshots/<page>-<width>.png (a full-page PNG) so the look can be reviewed.

One server and one set of data for the whole module (its own SQLite database, jobs run
inline): a partnership with a ready clip and comments, a clip still processing, a failed
clip, goals, a live and an ended meeting, notifications, an invitation and an admin.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from flask import Flask
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import DEFAULT_TIMEOUT_MS
from tests.browser.test_accessibility import report, violations
from tests.browser.test_review import WAIT_FOR_METADATA
from tests.conftest import PASSWORD, Api, app_config, empty_all_tables, serving
from tests.helpers.chromium import sign_in_with
from videocoach import create_app, db
from videocoach.accounts import services as accounts
from videocoach.migrate import upgrade
from videocoach.partnerships.models import Membership

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
WIDTHS = {"desktop": (1440, 900), "tablet": (820, 1180), "phone": (390, 844)}
LOADED = "#review[data-loaded=true]"  # review.js has fetched and drawn the comments
LIVE = "#meeting[data-live=true]"  # meeting.js is connected to the meeting's events
# Full-page shots of very long pages are cut here: enough to judge the look, small files.
MAX_SHOT_HEIGHT = 2200


# A classroom in flat colours (wall, board, teacher, desks) rather than testsrc2's rainbow:
# the posters look like lessons and the PNGs stay small.
CLASSROOM = (
    "color=c=0xd9cdb8:size=480x270:rate=30:duration=3,"
    "drawbox=x=90:y=40:w=300:h=120:color=0x35513f:t=fill,"
    "drawbox=x=90:y=160:w=300:h=6:color=0x8a7152:t=fill,"
    "drawbox=x=330:y=95:w=34:h=105:color=0x2f4f7f:t=fill,"
    "drawbox=x=336:y=70:w=22:h=24:color=0xc58f6a:t=fill,"
    "drawbox=x=0:y=215:w=480:h=55:color=0x9b7b57:t=fill,"
    "drawbox=x=40:y=190:w=70:h=30:color=0x6d7f99:t=fill,"
    "drawbox=x=170:y=195:w=60:h=26:color=0xa35d4f:t=fill"
)


def calm_lesson_clip(out: Path) -> Path:
    ffmpeg = os.environ.get("FFMPEG_BINARY") or shutil.which("ffmpeg")
    if not ffmpeg:
        pytest.fail("ffmpeg is missing: run scripts/ensure-system-deps")
    command = [ffmpeg, "-nostdin", "-y", "-hide_banner", "-loglevel", "error"]
    command += ["-f", "lavfi", "-i", CLASSROOM, "-f", "lavfi", "-i", "sine=duration=3"]
    command += ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p"]
    command += ["-c:a", "aac", "-shortest", str(out)]
    subprocess.run(command, check=True, capture_output=True)
    return out


@dataclass
class Shot:
    """One page: who looks at it, where, and what marks it as ready to judge."""

    who: str | None  # a key of World.people, or None for a signed-out visitor
    path: str
    ready: str | None = None  # a selector that is visible once scripts have filled the page
    media: bool = False  # wait for the video's metadata (the poster frame)
    status: int = 200


@dataclass
class World:
    base: str
    people: dict[str, object] = field(default_factory=dict)
    states: dict[str, dict] = field(default_factory=dict)  # signed-in storage states
    shots: dict[str, Shot] = field(default_factory=dict)


@pytest.fixture(scope="module")
def screenshot_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    folder = tmp_path_factory.mktemp("screenshots")
    app = create_app(
        app_config(
            f"sqlite:///{folder / 'videocoach.sqlite3'}",
            folder / "data",
            VIDEOCOACH_TASKS_EAGER="1",
        )
    )
    upgrade(app)
    yield app
    empty_all_tables(app)
    app.extensions["videocoach.engine"].dispose()


def _user(app: Flask, name: str, email: str, admin: bool = False):
    with app.app_context():
        user = accounts.create_user(email, PASSWORD, name, is_admin=admin)
        db.session.commit()
        return user


def _api(app: Flask, user) -> Api:
    with app.app_context():
        token, _ = accounts.issue_token(user, "screenshots")
        db.session.commit()
    return Api(app.test_client(), token)


def _ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    return response.get_json()


def _upload(api: Api, pid: str, path: Path, **form: str) -> str:
    with path.open("rb") as handle:
        answer = api.post(
            f"/api/v1/partnerships/{pid}/clips",
            data={"file": (handle, path.name), **form},
            content_type="multipart/form-data",
        )
    return _ok(answer, 202)["clip"]["id"]


def _build(app: Flask, queued: Flask, base: str, clip: Path, folder: Path) -> World:
    world = World(base=base)
    teacher = _user(app, "Tess Alvarez", "tess.alvarez@school.example")
    coach = _user(app, "Cole Njoroge", "cole.njoroge@school.example")
    admin = _user(app, "Ada Admin", "ada@school.example", admin=True)
    invitee = _user(app, "Ines Okafor", "ines.okafor@school.example")
    newcomer = _user(app, "Noah Newman", "noah.newman@school.example")
    world.people = {
        "teacher": teacher, "coach": coach, "admin": admin, "invitee": invitee,
        "newcomer": newcomer,
    }  # fmt: skip
    tess, cole = _api(app, teacher), _api(app, coach)
    pid = _ok(
        tess.post(
            "/api/v1/partnerships", json={"name": "Tess + Cole · Year 5 maths", "role": "teacher"}
        ),
        201,
    )["partnership"]["id"]
    with app.app_context():
        db.session.add(Membership(partnership_id=pid, user_id=coach.id, role="coach"))
        db.session.commit()
    goal = _ok(
        tess.post(
            f"/api/v1/partnerships/{pid}/goals",
            json={
                "title": "Wait time after questions",
                "description": "Give every pupil time to think before taking answers.",
                "success_criteria": "Three seconds of quiet after each open question.",
            },
        ),
        201,
    )["goal"]
    _ok(
        tess.post(f"/api/v1/partnerships/{pid}/goals", json={"title": "Talk partners"}),
        201,
    )
    ready = _upload(
        tess, pid, clip, title="Fractions: sharing pizzas in fifths", visibility="shared",
        recorded_on="2026-11-24",
    )  # fmt: skip
    _upload(tess, pid, clip, title="Times tables warm-up", visibility="private")
    comments = [
        (cole, {"body": "Lovely **pause** after the question: count how many hands go up.",
                "t_start": 0.4, "kind": "strength", "goal_ids": [goal["id"]]}),
        (cole, {"body": "What did the back row hear here?", "t_start": 1.1, "kind": "question"}),
        (tess, {"body": "Try asking them to talk to a partner first", "t_start": 1.6,
                "t_end": 2.6, "kind": "suggestion", "goal_ids": [goal["id"]]}),
        (tess, {"body": "Note to self: the board was hard to read from the side.",
                "t_start": 2.2, "kind": "note", "private": True}),
    ]  # fmt: skip
    made = [
        _ok(api.post(f"/api/v1/clips/{ready}/comments", json=body), 201) for api, body in comments
    ]
    _ok(
        tess.post(
            f"/api/v1/clips/{ready}/comments",
            json={
                "body": "Yes, they were looking at the board.",
                "parent_id": made[1]["comment"]["id"],
            },
        ),
        201,
    )
    plain = _upload(tess, pid, clip, title="Place value with counters", visibility="shared")
    not_video = folder / "not-a-video.mp4"
    not_video.write_bytes(b"This is a lesson plan, not a video. " * 200)
    failed = _upload(tess, pid, not_video, title="Phone recording", visibility="shared")
    processing = _upload(_api(queued, teacher), pid, clip, title="Decimals on a number line")

    ended = _ok(cole.post(f"/api/v1/clips/{plain}/meetings"), 201)["meeting"]
    _ok(
        cole.request(
            "PUT",
            f"/api/v1/meetings/{ended['id']}/notes",
            json={"notes": "Tess tried the three-second wait.\nNext: talk partners before answers.",
                  "notes_version": ended["notes_version"]},
        )
    )  # fmt: skip
    _ok(
        cole.post(
            f"/api/v1/partnerships/{pid}/next-steps",
            json={"text": "Plan two open questions for Tuesday", "goal_id": goal["id"],
                  "meeting_id": ended["id"]},
        ),
        201,
    )  # fmt: skip
    _ok(cole.post(f"/api/v1/meetings/{ended['id']}/end"))
    live = _ok(cole.post(f"/api/v1/clips/{ready}/meetings"), 201)["meeting"]

    invitation = _ok(
        tess.post(
            f"/api/v1/partnerships/{pid}/invitations",
            json={"email": invitee.email, "role": "teacher"},
        ),
        201,
    )
    accept = "/invitations/accept?" + invitation["accept_url"].split("?", 1)[1]

    world.shots = {
        "sign-in": Shot(None, "/login"),
        "sign-up": Shot(None, "/signup"),
        "forgot-password": Shot(None, "/password/forgot"),
        "invitation": Shot("invitee", accept),
        "home-empty": Shot("newcomer", "/partnerships"),
        "partnerships": Shot("teacher", "/partnerships"),
        "partnership": Shot("teacher", f"/partnerships/{pid}"),
        "clips": Shot("teacher", f"/partnerships/{pid}/clips"),
        "upload": Shot("teacher", f"/partnerships/{pid}/upload"),
        "clip-processing": Shot("teacher", f"/clips/{processing}"),
        "clip-failed": Shot("teacher", f"/clips/{failed}"),
        "clip-ready": Shot("teacher", f"/clips/{plain}", ready=LOADED, media=True),
        "clip-comments": Shot("teacher", f"/clips/{ready}", ready=LOADED, media=True),
        "meeting": Shot("coach", f"/meetings/{live['id']}", ready=LIVE, media=True),
        "meeting-record": Shot("teacher", f"/meetings/{ended['id']}"),
        "goals": Shot("teacher", f"/partnerships/{pid}/goals"),
        "goal-edit": Shot("teacher", f"/goals/{goal['id']}/edit"),
        "notifications": Shot("teacher", "/notifications"),
        "account": Shot("teacher", "/account"),
        "admin-users": Shot("admin", "/admin/users"),
        "summary": Shot("teacher", f"/clips/{ready}/summary"),
        "goal-summary": Shot("teacher", f"/goals/{goal['id']}/summary"),
        "not-found": Shot("teacher", "/clips/no-such-clip", status=404),
    }  # fmt: skip
    return world


SHOT_NAMES = [
    "sign-in", "sign-up", "forgot-password", "invitation", "home-empty", "partnerships",
    "partnership", "clips", "upload", "clip-processing", "clip-failed", "clip-ready",
    "clip-comments", "meeting", "meeting-record", "goals", "goal-edit", "notifications",
    "account", "admin-users", "summary", "goal-summary", "not-found",
]  # fmt: skip


@pytest.fixture(scope="module")
def world(
    screenshot_app: Flask, browser: Browser, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    folder = tmp_path_factory.mktemp("screenshot-media")
    clip = calm_lesson_clip(folder / "lesson.mp4")
    # Same database and files, no inline jobs: an upload through it stays "processing".
    settings = screenshot_app.extensions["videocoach.settings"]
    queued = create_app(app_config(settings.database_url, settings.data_dir))
    with serving(screenshot_app) as base:
        built = _build(screenshot_app, queued, base, clip, folder)
        for key in {shot.who for shot in built.shots.values() if shot.who}:
            context = browser.new_context()
            context.set_default_timeout(DEFAULT_TIMEOUT_MS)
            page = context.new_page()
            sign_in_with(page, base, built.people[key].email, PASSWORD)
            built.states[key] = context.storage_state()
            context.close()
        yield built
    queued.extensions["videocoach.engine"].dispose()


def assert_fits(page: Page, label: str) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    window = page.evaluate("window.innerWidth")
    if width > window:
        culprits = page.evaluate(WIDEST, window)
        pytest.fail(f"{label}: {width} px wide in a {window} px window; past the edge: {culprits}")


# The elements that reach past the window's right edge, innermost first: where to look.
WIDEST = """
(limit) => [...document.querySelectorAll('body *')]
  .filter((e) => e.getBoundingClientRect().right > limit + 0.5)
  .filter((e) => ![...e.children].some((c) => c.getBoundingClientRect().right > limit + 0.5))
  .slice(0, 6)
  .map((e) => `${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''}.${[...e.classList].join('.')}`
    + ` (${Math.round(e.getBoundingClientRect().right)} px)`)
"""


def screenshot(page: Page, name: str) -> None:
    """A full-page PNG (cut at MAX_SHOT_HEIGHT), reduced to 128 colours without dithering:
    interface pictures look the same and weigh a third."""
    page.evaluate("document.activeElement && document.activeElement.blur()")  # no autofocus ring
    # Comments off screen skip rendering (content-visibility); a full-page picture needs them.
    page.add_style_tag(content="* { content-visibility: visible !important; }")
    height = min(page.evaluate("document.documentElement.scrollHeight"), MAX_SHOT_HEIGHT)
    width = page.viewport_size["width"]
    png = page.screenshot(
        full_page=True,
        clip={"x": 0, "y": 0, "width": width, "height": height},
        animations="disabled",
        caret="hide",
    )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    picture = Image.open(io.BytesIO(png)).convert("RGB")
    picture = picture.quantize(
        colors=128, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE
    )
    picture.save(SCREENSHOTS / f"{name}.png", optimize=True)


@pytest.mark.parametrize("width", list(WIDTHS))
@pytest.mark.parametrize("name", SHOT_NAMES)
def test_page_fits_is_axe_clean_and_is_photographed(
    world: World, browser: Browser, name: str, width: str
) -> None:
    shot = world.shots[name]
    size = WIDTHS[width]
    context = browser.new_context(
        viewport={"width": size[0], "height": size[1]},
        bypass_csp=True,  # axe's injected script tag (as in test_accessibility)
        storage_state=world.states[shot.who] if shot.who else None,
        reduced_motion="reduce",
    )
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        response = page.goto(world.base + shot.path, wait_until="load")
        assert response is not None and response.status == shot.status, (name, response)
        if shot.ready:
            expect(page.locator(shot.ready)).to_have_count(1)
        if shot.media:
            page.locator("video").first.evaluate(WAIT_FOR_METADATA)
        page.evaluate("document.fonts.ready.then(() => true)")
        label = f"{name} at {width} ({size[0]} px)"
        assert_fits(page, label)
        problems = violations(page, label)
        screenshot(page, f"{name}-{width}")
        assert problems == [], report(problems)
        assert errors == [], errors
    finally:
        context.close()


def test_the_screenshots_stay_small() -> None:
    """Checked after the pages (file order): every shot exists and all together stay small."""
    shots = sorted(SCREENSHOTS.glob("*.png"))
    total = sum(p.stat().st_size for p in shots)
    assert total < 10 * 1024 * 1024, f"docs/screenshots holds {total / 1e6:.1f} MB"
    missing = [f"{n}-{w}.png" for n in SHOT_NAMES for w in WIDTHS
               if not (SCREENSHOTS / f"{n}-{w}.png").exists()]  # fmt: skip
    assert missing == []
