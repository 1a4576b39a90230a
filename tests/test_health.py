"""/readyz: 200 only when every dependency answers and a worker is alive; otherwise 503 with
one plain sentence per problem (no host names, ports or stack traces).

Each test takes the `app` fixture too: it empties the tables afterwards, so no worker row
outlives its test.
"""

from __future__ import annotations

from datetime import timedelta

from videocoach import background
from videocoach.db import utcnow


def worker_beats(app, *, ago: timedelta = timedelta(0)) -> None:
    """A worker row as `videocoach worker` writes it (ago: when it last beat)."""
    with app.app_context():
        background.record_beat("test-host:1", 1, utcnow())
        if ago:
            from videocoach import db

            db.session.execute(
                background.WorkerHeartbeat.__table__.update().values(beat_at=utcnow() - ago)
            )
            db.session.commit()


def test_readyz_is_503_when_the_broker_is_unreachable(make_app, app):
    app = make_app(CELERY_BROKER_URL="redis://127.0.0.1:1/0")
    worker_beats(app)
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json == {
        "status": "unavailable",
        "problems": ["The job queue (CELERY_BROKER_URL) does not answer."],
    }
    assert b"127.0.0.1" not in response.data  # a sentence, not the configuration


def test_readyz_checks_a_redis_broker(make_app, app):
    app = make_app(CELERY_BROKER_URL="redis://127.0.0.1:6379/14")
    worker_beats(app)
    assert app.test_client().get("/readyz").status_code == 200


def test_readyz_is_503_when_redis_is_unreachable(make_app, app):
    """Seen: with REDIS_URL at a closed port /readyz said 200 while sign-in answered 500."""
    # Rate limits stay in memory: the limiter is one object shared by every app in the run.
    app = make_app(REDIS_URL="redis://127.0.0.1:1/0", RATELIMIT_STORAGE_URI="memory://")
    worker_beats(app)
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["problems"] == ["Redis (REDIS_URL) does not answer."]


def test_readyz_is_503_when_s3_storage_is_unreachable(make_app, app):
    app = make_app(VIDEOCOACH_STORAGE="s3://missing-bucket", S3_ENDPOINT_URL="http://127.0.0.1:1")
    worker_beats(app)
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["problems"] == ["The media storage cannot be used."]


def test_readyz_says_when_no_worker_is_alive(make_app, app):
    app = make_app()
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    (problem,) = response.json["problems"]
    assert problem.startswith("No background worker has reported in the last")
    worker_beats(app)
    assert app.test_client().get("/readyz").json == {"status": "ok"}
    worker_beats(app, ago=background.WORKER_STALE_AFTER + timedelta(seconds=1))  # stalled
    assert app.test_client().get("/readyz").status_code == 503


def test_readyz_needs_no_worker_when_jobs_run_inline(make_app, app):
    app = make_app(VIDEOCOACH_TASKS_EAGER="1")
    assert app.test_client().get("/readyz").json == {"status": "ok"}
