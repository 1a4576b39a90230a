"""Browser fixtures: Debian's Chromium driven by Playwright's sync API, and a live app
whose jobs run inline (VIDEOCOACH_TASKS_EAGER=1), so an upload is processed as it ends.

Playwright never downloads a browser here: it launches /usr/bin/chromium
(`scripts/ensure-system-deps --test` installs it). Without it the tests skip, unless
CI is set, where a missing browser is a failure.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from flask import Flask

from tests.conftest import PASSWORD, Api, serving
from tests.helpers.chromium import CHROMIUM, launch_chromium, sign_in_with
from tests.helpers.media import make_lesson_clip_with
from videocoach import db
from videocoach.accounts.models import User
from videocoach.partnerships.models import Membership

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page

DEFAULT_TIMEOUT_MS = 15_000
CLIP_SECONDS = 3


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: run scripts/ensure-system-deps --test"
        if _in_ci():
            pytest.fail(message + " (CI is set: the browser tests must run)")
        pytest.skip(message)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - the test extra installs it
        message = "the playwright package is missing: pip install -e '.[test]'"
        if _in_ci():
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as playwright:
        launched = launch_chromium(playwright)
        try:
            yield launched
        finally:
            launched.close()


class ConsoleLog:
    """What the pages said on the console: errors, warnings, uncaught exceptions."""

    def __init__(self) -> None:
        self.entries: list[str] = []

    def watch(self, page: Page) -> None:
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.entries.append(f"pageerror: {error}"))

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type in {"error", "warning"}:
            self.entries.append(f"{message.type}: {message.text} ({message.location.get('url')})")

    def problems(self, *, allow: tuple[str, ...] = ()) -> list[str]:
        """Entries not matching `allow`; the browser's own favicon probe is never a problem."""
        allow = (*allow, "/favicon.ico)")
        return [entry for entry in self.entries if not any(text in entry for text in allow)]


@pytest.fixture
def console() -> ConsoleLog:
    return ConsoleLog()


@pytest.fixture
def context_options() -> dict[str, object]:
    """Extra browser-context options; a test module may override this fixture."""
    return {}


@pytest.fixture
def new_page(
    browser: Browser, console: ConsoleLog, context_options: dict[str, object]
) -> Iterator[Callable[..., Page]]:
    """Open a page in a fresh context (own cookies): one per person in the test."""
    contexts: list[BrowserContext] = []

    def factory(viewport: tuple[int, int] = (1024, 768)) -> Page:
        context = browser.new_context(
            viewport={"width": viewport[0], "height": viewport[1]}, **context_options
        )
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        console.watch(page)
        return page

    yield factory
    for context in contexts:
        context.close()
    if console.entries:
        print("\nbrowser console:\n  " + "\n  ".join(console.entries))


@pytest.fixture
def page(new_page: Callable[..., Page]) -> Page:
    return new_page()


def sign_in(page: Page, base_url: str, user: User) -> None:
    """Sign in through the real login form, as a person would."""
    sign_in_with(page, base_url, user.email, PASSWORD)


def signed_in_page(
    new_page: Callable[..., Page],
    base_url: str,
    user: User,
    viewport: tuple[int, int] = (1024, 768),
) -> Page:
    """A fresh page (own cookies) where `user` has signed in: how most browser tests start."""
    page = new_page(viewport=viewport)
    sign_in(page, base_url, user)
    return page


@pytest.fixture
def eager_server(eager_app: Flask) -> Iterator[str]:
    """An upload is processed inside its last request: the clip is ready when it ends."""
    with serving(eager_app) as base_url:
        yield base_url


@pytest.fixture
def queued_app(app: Flask, make_app: Callable[..., Flask]) -> Flask:
    """No worker: jobs wait in this test's own queue folder until the test runs them."""
    return make_app()


@pytest.fixture
def queued_server(queued_app: Flask) -> Iterator[str]:
    with serving(queued_app) as base_url:
        yield base_url


def make_lesson_clip(out: Path, seconds: float, size: str = "320x240") -> Path:
    """An H.264/AAC MP4 made with lavfi sources, with its index at the end as phones write it."""
    ffmpeg = os.environ.get("FFMPEG_BINARY") or shutil.which("ffmpeg")
    if not ffmpeg:
        pytest.fail("ffmpeg is missing: run scripts/ensure-system-deps")
    return make_lesson_clip_with(ffmpeg, out, seconds, size)


@pytest.fixture(scope="session")
def phone_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3 s phone-style clip."""
    return make_lesson_clip(tmp_path_factory.mktemp("browser-media") / "lesson.mp4", CLIP_SECONDS)


class Review:
    """A ready clip in a teacher + coach partnership, with one goal."""

    def __init__(self, app: Flask, eager_app: Flask, make_user, api_for, clip: Path, **form):
        self.teacher: User = make_user("Tess Teacher")
        self.coach: User = make_user("Cole Coach")
        teacher_api = api_for(self.teacher)
        created = teacher_api.post(
            "/api/v1/partnerships", json={"name": "Tess + Cole", "role": "teacher"}
        )
        self.pid = created.get_json()["partnership"]["id"]
        with app.app_context():
            db.session.add(Membership(partnership_id=self.pid, user_id=self.coach.id, role="coach"))
            db.session.commit()
        self.teacher_api = Api(eager_app.test_client(), teacher_api.token)
        self.coach_api = Api(eager_app.test_client(), api_for(self.coach).token)
        with clip.open("rb") as handle:
            uploaded = self.teacher_api.post(
                f"/api/v1/partnerships/{self.pid}/clips",
                data={"file": (handle, "lesson.mp4"), "title": "Fractions", **form},
                content_type="multipart/form-data",
            )
        assert uploaded.status_code == 202, uploaded.get_json()
        self.cid = uploaded.get_json()["clip"]["id"]
        assert self.teacher_api.get(f"/api/v1/clips/{self.cid}").get_json()["clip"]["status"] == (
            "ready"
        )
        goal = self.teacher_api.post(
            f"/api/v1/partnerships/{self.pid}/goals", json={"title": "Wait time"}
        )
        self.goal_id = goal.get_json()["goal"]["id"]

    def comment(self, api: Api, **body) -> dict:
        response = api.post(f"/api/v1/clips/{self.cid}/comments", json=body)
        assert response.status_code == 201, response.get_json()
        return response.get_json()["comment"]


@pytest.fixture
def review_factory(app, eager_app, make_user, api_for, phone_clip) -> Callable[..., Review]:
    return lambda **form: Review(app, eager_app, make_user, api_for, phone_clip, **form)
