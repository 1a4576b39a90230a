"""/metrics (Prometheus text behind a bearer token), request ids and log lines.

The metric files are real prometheus-client multiprocess files; the numbers are read
back through the exposition text a Prometheus server would scrape, parsed with
prometheus-client's own parser. Every process of this test run writes into one folder
(tests/conftest.py METRICS_DIR), so counts are compared before and after.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import METRICS_DIR
from tests.studio import make_studio
from videocoach.clips import dispatch
from videocoach.observability import logs, metrics

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "9c1e5b7a0f3d48e2b6a4c8d1e7f20a9b5c3d6e8f1a2b4c7d"  # fixed: test ids name it


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def watched(make_app):
    return make_app(VIDEOCOACH_METRICS_TOKEN=TOKEN, VIDEOCOACH_TASKS_EAGER="1")


def scrape(app) -> str:
    response = app.test_client().get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.data
    assert response.content_type.startswith("text/plain; version=0.0.4")
    assert response.headers["Cache-Control"] == "no-store"
    return response.get_data(as_text=True)


# --- who may read it ---------------------------------------------------------------------


def test_metrics_do_not_exist_without_the_token_setting(app):
    for headers in ({}, {"Authorization": "Bearer anything"}):
        response = app.test_client().get("/metrics", headers=headers)
        assert response.status_code == 404
        assert b"videocoach_" not in response.data


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", f"Bearer {TOKEN[:-1]}", f"Basic {TOKEN}", f"Bearer {TOKEN}x", TOKEN],
)
def test_metrics_answer_404_to_anything_but_the_token(watched, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    response = watched.test_client().get("/metrics", headers=headers)
    assert response.status_code == 404
    assert response.is_json is False or response.json["error"]["code"] == "not_found"
    assert b"videocoach_http" not in response.data


def test_an_api_token_does_not_open_the_metrics(watched, make_user):
    studio = make_studio(watched, make_user)
    assert studio.get("/metrics").status_code == 404


# --- what they say -----------------------------------------------------------------------


def test_requests_are_counted_by_endpoint_method_and_status(watched):
    client = watched.test_client()
    before = scrape(watched)
    for _ in range(3):
        assert client.get("/healthz").status_code == 200
    assert client.get("/no/such/page").status_code == 404
    after = scrape(watched)
    name = "videocoach_http_request_duration_seconds_count"
    labels = {"endpoint": "health.healthz", "method": "GET", "status": "200"}
    assert value(after, name, **labels) - value(before, name, **labels) == 3
    unmatched = {"endpoint": "unmatched", "method": "GET", "status": "404"}
    assert value(after, name, **unmatched) - value(before, name, **unmatched) == 1
    assert value(after, "videocoach_http_request_duration_seconds_bucket", le="+Inf", **labels) >= 3


def test_a_processed_clip_shows_in_jobs_steps_clips_and_emails(watched, make_user, media_samples):
    studio = make_studio(watched, make_user)
    before = scrape(watched)
    response = studio.upload(media_samples["h264_aac.mp4"])
    assert response.status_code == 202, response.data
    assert studio.clip(response.json["clip"]["id"])["status"] == "ready"
    after = scrape(watched)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("videocoach_jobs_total", step="finishing", outcome="ready") == 1
    for step in ("probe", "playable", "checksum", "transcode", "images", "finishing"):
        assert grew("videocoach_job_step_duration_seconds_count", step=step) == 1, step
    assert value(after, "videocoach_clips", status="ready") == 1
    assert value(after, "videocoach_clips", status="failed") == 0
    # The teacher is told the clip is ready; without SMTP the email is kept in the outbox.
    assert grew("videocoach_emails_total", outcome="kept") >= 1


def test_a_failed_clip_is_counted_with_the_step_it_failed_in(watched, make_user, media_samples):
    studio = make_studio(watched, make_user)
    before = scrape(watched)
    response = studio.upload(media_samples["empty.mp4"])
    assert studio.clip(response.json["clip"]["id"])["status"] == "failed"
    after = scrape(watched)
    name, labels = "videocoach_jobs_total", {"step": "probe", "outcome": "failed"}
    assert value(after, name, **labels) - value(before, name, **labels) == 1


def test_queue_depth_live_streams_and_workers_come_from_the_installation(make_app, make_user):
    app = make_app(VIDEOCOACH_METRICS_TOKEN=TOKEN)  # jobs are queued, not run
    studio = make_studio(app, make_user)
    text = scrape(app)
    assert value(text, "videocoach_queue_depth", queue="videocoach") == 0
    assert value(text, "videocoach_workers_alive") == 0
    assert value(text, "videocoach_live_streams_open") == 0
    studio.add_clip_row()
    app.extensions["celery"].tasks[dispatch.PROCESS_CLIP].apply_async(args=["not-a-clip"])
    text = scrape(app)
    assert value(text, "videocoach_queue_depth", queue="videocoach") == 1
    assert value(text, "videocoach_queue_depth", queue="videocoach.long") == 0
    assert value(text, "videocoach_clips", status="ready") == 1


def test_the_queue_depth_is_left_out_when_the_broker_is_away(make_app, caplog):
    app = make_app(VIDEOCOACH_METRICS_TOKEN=TOKEN, CELERY_BROKER_URL="redis://127.0.0.1:9/0")
    with caplog.at_level(logging.WARNING, logger="videocoach.monitoring"):
        text = scrape(app)
    assert "videocoach_queue_depth" not in text
    assert "videocoach_clips" in text
    assert "the broker is unreachable" in caplog.text


# --- several processes -------------------------------------------------------------------

RECORD_TWO_REQUESTS = """
import sys
from pathlib import Path
from videocoach.observability import metrics
metrics.start_recording(Path(sys.argv[1]))
metrics.request_answered("health.healthz", "GET", 200, 0.01)
metrics.request_answered("health.healthz", "GET", 200, 0.02)
"""


def test_what_each_process_records_is_added_up_and_ended_processes_are_forgotten(tmp_path):
    folder = tmp_path / "metrics"
    for _ in range(2):
        subprocess.run([sys.executable, "-c", RECORD_TWO_REQUESTS, folder], check=True)
    text = metrics.exposition(folder).decode()
    labels = {"endpoint": "health.healthz", "method": "GET", "status": "200"}
    assert value(text, "videocoach_http_request_duration_seconds_count", **labels) == 4
    # Another container sharing the folder: its processes are not ours to judge.
    other_host = folder / "histogram_otherhost-1.db"
    other_host.write_bytes(next(folder.glob("histogram_*.db")).read_bytes())
    assert metrics.forget_ended_processes(folder) == 2  # both processes have ended
    assert sorted(path.name for path in folder.glob("*.db")) == [other_host.name]


def test_this_process_records_into_the_test_runs_folder(make_app, tmp_path):
    # The conftest's folder, whatever folder the first app of the process names: else
    # every scrape above would read an empty one (seen when a test made its own app).
    app = make_app(VIDEOCOACH_METRICS_DIR=str(tmp_path / "elsewhere"))
    assert app.test_client().get("/healthz").status_code == 200
    assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(METRICS_DIR)
    assert list(METRICS_DIR.glob(f"*_{metrics._process_identifier()}.db"))


# --- request ids and log lines -----------------------------------------------------------


def test_a_request_id_is_taken_from_the_proxy_or_made_and_always_answered(app):
    client = app.test_client()
    assert client.get("/healthz", headers={"X-Request-Id": "lb-42.a"}).headers["X-Request-Id"] == (
        "lb-42.a"
    )
    made = client.get("/healthz").headers["X-Request-Id"]
    assert len(made) == 32 and made != client.get("/healthz").headers["X-Request-Id"]
    # Not a plain token (a header injection, an overlong value): replaced, never echoed.
    for sent in ("a b", "x" * 129, "id\u00e9", "<script>"):
        answered = client.get("/healthz", headers={"X-Request-Id": sent}).headers["X-Request-Id"]
        assert answered != sent and len(answered) == 32


def test_error_answers_carry_the_request_id_a_teacher_can_quote(app, client):
    api = client.get("/api/v1/clips/nope", headers={"X-Request-Id": "quote-me-1"})
    assert api.status_code in (401, 404)
    assert api.json["error"]["request_id"] == "quote-me-1"
    page = client.get("/no/such/page", headers={"X-Request-Id": "quote-me-2"})
    assert page.status_code == 404
    assert "quote-me-2" in page.get_data(as_text=True)


def test_json_log_lines_carry_the_request_id_of_the_request_and_of_its_jobs(
    make_app, make_user, media_samples
):
    app = make_app(VIDEOCOACH_TASKS_EAGER="1")
    studio = make_studio(app, make_user)
    written = io.StringIO()
    handler = logging.StreamHandler(written)
    handler.setFormatter(logs.formatter_for("json"))
    handler.addFilter(logs.RequestIdFilter())
    logging.getLogger().addHandler(handler)
    try:
        response = studio.client().post(
            f"/api/v1/partnerships/{studio.pid}/clips",
            data={"file": (media_samples["h264_aac.mp4"].open("rb"), "lesson.mp4")},
            headers={**studio.headers(), "X-Request-Id": "upload-7"},
            content_type="multipart/form-data",
        )
    finally:
        logging.getLogger().removeHandler(handler)
    assert response.status_code == 202
    lines = [json.loads(line) for line in written.getvalue().splitlines()]
    ready = [line for line in lines if line["message"].endswith("is ready")]
    assert ready and ready[0]["request_id"] == "upload-7"  # logged by the job it queued
    assert {"time", "level", "logger", "message", "request_id"} <= ready[0].keys()
    assert ready[0]["time"].endswith("Z") and ready[0]["level"] == "INFO"
    emails = [line for line in lines if line["logger"] == "videocoach.mail"]
    assert emails and all(line["request_id"] == "upload-7" for line in emails)


LOG_ONE_LINE = """
import logging
from videocoach.app import create_app
create_app()
logging.getLogger("videocoach.probe").warning("the %s is here", "line")
"""


@pytest.mark.parametrize(
    ("env", "is_json"), [({}, False), ({"VIDEOCOACH_LOG_FORMAT": "json"}, True)]
)
def test_a_process_logs_plain_lines_by_default_and_json_when_asked(tmp_path, env, is_json):
    run = subprocess.run(
        [sys.executable, "-c", LOG_ONE_LINE],
        env={**os.environ, "VIDEOCOACH_DATA_DIR": str(tmp_path), **env},
        capture_output=True,
        text=True,
        check=True,
    )
    [line] = [line for line in run.stderr.splitlines() if "the line is here" in line]
    if is_json:
        assert json.loads(line) | {"time": None} == {
            "time": None,
            "level": "WARNING",
            "logger": "videocoach.probe",
            "message": "the line is here",
            "request_id": "-",
        }
    else:
        assert line.endswith("WARNING videocoach.probe [-]: the line is here")


def test_json_lines_hold_an_exception_as_one_field():
    handler = logging.StreamHandler()
    handler.setFormatter(logs.formatter_for("json"))
    handler.addFilter(logs.RequestIdFilter())
    try:
        raise ValueError("bad\nthing")
    except ValueError:
        record = logging.LogRecord(
            "videocoach.x", logging.ERROR, __file__, 1, "it %s", ("broke",), sys.exc_info()
        )
    handler.filter(record)
    line = handler.format(record)
    assert "\n" not in line
    parsed = json.loads(line)
    assert parsed["message"] == "it broke" and "ValueError: bad\nthing" in parsed["exc_info"]
    assert parsed["request_id"] == "-"


def test_the_grafana_dashboard_asks_only_for_metrics_videocoach_exports(
    watched, make_user, media_samples
):
    dashboard = json.loads((ROOT / "docker" / "grafana-dashboard.json").read_text())
    asked = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"\bvideocoach_[a-z_]+", target["expr"])
    }
    studio = make_studio(watched, make_user)
    studio.upload(media_samples["h264_aac.mp4"])  # a request, a job, its steps, an email
    exported = {name for name, _labels in samples(scrape(watched))}
    assert asked and asked <= exported, asked - exported
    assert len({panel["id"] for panel in dashboard["panels"]}) == len(dashboard["panels"])


LOSE_THE_FOLDER = """
import logging, shutil, sys
from pathlib import Path
from videocoach.observability import metrics
logging.basicConfig()
folder = Path(sys.argv[1])
metrics.start_recording(folder)
metrics.job_ended("probe", "ready")
shutil.rmtree(folder)  # a cleaner took /tmp's old folders, say
metrics.job_ended("transcode", "failed")  # a new series: a new file, in no folder
metrics.request_answered("health.healthz", "GET", 200, 0.01)
print("still working")
"""


def test_a_metrics_folder_that_went_away_costs_the_numbers_not_the_work(tmp_path):
    # Seen in a test run: a folder deleted under a process made every job fail.
    run = subprocess.run(
        [sys.executable, "-c", LOSE_THE_FOLDER, tmp_path / "metrics"],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "still working"
    assert run.stderr.count("metrics are not recorded") == 1
