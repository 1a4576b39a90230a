from __future__ import annotations


def test_readyz_is_503_when_the_broker_is_unreachable(make_app):
    app = make_app(CELERY_BROKER_URL="redis://127.0.0.1:1/0")
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json == {"status": "unavailable"}  # says nothing about what failed


def test_readyz_checks_a_redis_broker(make_app):
    app = make_app(CELERY_BROKER_URL="redis://127.0.0.1:6379/14")
    assert app.test_client().get("/readyz").status_code == 200


def test_readyz_is_503_when_s3_storage_is_unreachable(make_app):
    app = make_app(VIDEOCOACH_STORAGE="s3://missing-bucket", S3_ENDPOINT_URL="http://127.0.0.1:1")
    assert app.test_client().get("/readyz").status_code == 503
