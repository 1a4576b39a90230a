"""Clip visits are remembered with one upsert: seen under load (bench/load_bench.py), several
sessions of one account opening a clip for the first time at once made the later ones fail
with a unique violation, a 500 on the clip page."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from videocoach import db, transaction
from videocoach.accounts.models import User
from videocoach.clips import services
from videocoach.clips.models import Clip, ClipView

SESSIONS = 8


def test_first_visits_from_many_sessions_at_once_all_succeed(pair, media_samples):
    clip_id = pair.upload(media_samples["h264_aac.mp4"]).json["clip"]["id"]
    start = threading.Barrier(SESSIONS)
    failures: list[BaseException] = []

    def visit() -> None:
        with pair.app.app_context():
            user = db.session.get(User, pair.coach_id)
            clip = db.session.get(Clip, clip_id)
            start.wait()
            try:
                services.mark_clip_seen(user, clip)
                transaction.commit()
            except BaseException as error:
                failures.append(error)

    threads = [threading.Thread(target=visit) for _ in range(SESSIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    with pair.app.app_context():
        views = db.session.scalar(
            select(func.count()).select_from(ClipView).where(ClipView.clip_id == clip_id)
        )
        assert views == 1
        first = db.session.get(ClipView, (pair.coach_id, clip_id)).seen_at
        services.mark_clip_seen(db.session.get(User, pair.coach_id), db.session.get(Clip, clip_id))
        transaction.commit()
        db.session.expire_all()
        assert db.session.get(ClipView, (pair.coach_id, clip_id)).seen_at >= first
